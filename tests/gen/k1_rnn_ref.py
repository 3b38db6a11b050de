#!/usr/bin/python3
"""k1_rnn_ref.py - float64 NumPy outputs of the Keras 1 recurrent fixtures
(tests/gen/make_k1_rnn.py), for tests/unit/test_k1_rnn.c.

The forward pass runs on the arrays exactly as each file stores them: gate by gate, looked
up by their Keras 1 names (lstm_1_W_i, gru_1_U_r, ...), never through the Keras 2 layout
tlreport converts them to.  Equations of Keras 1.2.2 keras/layers/recurrent.py step():

  SimpleRNN  h = act(x W + b + h U)
  GRU        z = iact(x W_z + b_z + h U_z),  r = iact(x W_r + b_r + h U_r)
             hh = act(x W_h + b_h + (r * h) U_h),  h = z * h + (1 - z) * hh
  LSTM       i = iact(x W_i + b_i + h U_i),  f = iact(x W_f + b_f + h U_f)
             c = f * c + i * act(x W_c + b_c + h U_c)
             o = iact(x W_o + b_o + h U_o),  h = o * act(c)
  consume_less='gpu' keeps one W, U, b with the gates side by side (LSTM i f c o, GRU z r h).
  inner_activation defaults to hard_sigmoid: clip(0.2 x + 0.5, 0, 1) in both backends.
  go_backwards reads the steps last to first; a Bidirectional runs a copy of its layer with
  go_backwards negated, flips that copy's sequence back, and merges (concat, sum, mul, ave).
  TimeDistributed(Dense) applies the Dense at every step.

Reads tests/fixtures/rnn/k1_*.h5 and tests/ref/rnn/k1_*/x.npy; writes .../out.npy.
Usage: /usr/bin/python3 tests/gen/k1_rnn_ref.py
"""

import json
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
FIX = os.path.join(ROOT, 'tests', 'fixtures', 'rnn')
REF = os.path.join(ROOT, 'tests', 'ref', 'rnn')


def act(name, x):
    if name == 'tanh':
        return np.tanh(x)
    if name == 'sigmoid':
        return 1.0 / (1.0 + np.exp(-x))
    if name == 'hard_sigmoid':
        return np.clip(0.2 * x + 0.5, 0.0, 1.0)
    if name == 'relu':
        return np.maximum(x, 0.0)
    if name == 'softmax':
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    assert name == 'linear', name
    return x


def stored(group):
    """{short name: float64 array}: 'lstm_1_W_i:0' -> 'lstm_1_W_i'."""
    out = {}
    for n in group.attrs['weight_names']:
        n = n.decode() if isinstance(n, bytes) else n
        out[n.split(':')[0]] = np.asarray(group[n], np.float64)
    return out


def gate(w, prefix, part, k, units, order):
    """One gate's W/U/b: '<prefix>_<part>_<k>' gate-wise, or its columns of '<prefix>_<part>'."""
    if prefix + '_' + part + '_' + k in w:
        return w[prefix + '_' + part + '_' + k]
    j = order.index(k)
    return w[prefix + '_' + part][..., j * units:(j + 1) * units]


def rnn(cls, cfg, w, prefix, x, backwards):
    """x (N, T, F) -> (N, T, u) in step order, or (N, u)."""
    u = cfg['output_dim']
    a, ia = cfg.get('activation', 'tanh'), cfg.get('inner_activation', 'hard_sigmoid')
    order = {'LSTM': 'ifco', 'GRU': 'zrh', 'SimpleRNN': ''}[cls]
    n, steps = x.shape[0], x.shape[1]
    h, c = np.zeros((n, u)), np.zeros((n, u))
    seq = []
    for t in (range(steps - 1, -1, -1) if backwards else range(steps)):
        xt = x[:, t, :]
        if cls == 'SimpleRNN':
            h = act(a, xt @ w[prefix + '_W'] + w[prefix + '_b'] + h @ w[prefix + '_U'])
        else:
            def pre(k, hin):
                W, U, b = (gate(w, prefix, p, k, u, order) for p in 'WUb')
                return xt @ W + b + hin @ U
            if cls == 'GRU':
                z, r = act(ia, pre('z', h)), act(ia, pre('r', h))
                hh = act(a, pre('h', r * h))
                h = z * h + (1 - z) * hh
            else:
                i, f, o = act(ia, pre('i', h)), act(ia, pre('f', h)), act(ia, pre('o', h))
                c = f * c + i * act(a, pre('c', h))
                h = o * act(a, c)
        seq.append(h)
    return np.stack(seq, axis=1) if cfg['return_sequences'] else h


def layer(spec, group, x):
    cls, cfg = spec['class_name'], spec['config']
    if cls == 'Embedding':
        return stored(group)[cfg['name'] + '_W'][x.astype(np.int64)]
    if cls == 'Dropout':
        return x
    if cls == 'Dense':
        w = stored(group)
        return act(cfg['activation'], x @ w[cfg['name'] + '_W'] + w[cfg['name'] + '_b'])
    if cls == 'TimeDistributed':
        return layer(cfg['layer'], group, x)
    if cls in ('LSTM', 'GRU', 'SimpleRNN'):
        return rnn(cls, cfg, stored(group), cfg['name'], x, cfg['go_backwards'])
    assert cls == 'Bidirectional', cls
    inner = cfg['layer']
    w = stored(group)
    name, icfg = inner['config']['name'], inner['config']
    y = rnn(inner['class_name'], icfg, w, 'forward_' + name, x, icfg['go_backwards'])
    yr = rnn(inner['class_name'], icfg, w, 'backward_' + name, x, not icfg['go_backwards'])
    if icfg['return_sequences']:
        yr = yr[:, ::-1, :]
    mode = cfg['merge_mode']
    return {'concat': lambda: np.concatenate([y, yr], axis=-1), 'sum': lambda: y + yr,
            'mul': lambda: y * yr, 'ave': lambda: (y + yr) / 2}[mode]()


def main():
    for fname in sorted(os.listdir(FIX)):
        if not (fname.startswith('k1_') and fname.endswith('.h5')) or 'bad' in fname:
            continue
        case = fname[:-3]
        x = np.load(os.path.join(REF, case, 'x.npy')).astype(np.float64)
        with h5py.File(os.path.join(FIX, fname), 'r') as f:
            specs = json.loads(f.attrs['model_config'])['config']
            for spec in specs:
                x = layer(spec, f['model_weights'][spec['config']['name']], x)
        np.save(os.path.join(REF, case, 'out.npy'), x.astype(np.float32))
        print(case, x.shape)


if __name__ == '__main__':
    main()
