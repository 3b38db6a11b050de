#!/usr/bin/python3
"""rnn_ref.py - float64 NumPy references for the recurrent ops (tests/unit/test_ops_rnn.c).

Written from the Keras layer definitions (Keras 3 keras/src/layers/rnn/{simple_rnn,gru,lstm,
bidirectional}.py, standalone Keras 2.1 keras/layers/recurrent.py; both compute the same
equations), not from tlreport.  Each cell is written out gate by gate, one time step at a
time, in float64:

  SimpleRNN  h = act(x W + b + h U)
  GRU        gates z, r, h~ side by side in W (F, 3u), U (u, 3u):
             z = ract(x W_z + b_z + h U_z [+ b'_z]),  r = ract(x W_r + b_r + h U_r [+ b'_r])
             reset_after:      h~ = act(x W_h + b_h + r * (h U_h + b'_h))   bias (2, 3u)
             not reset_after:  h~ = act(x W_h + b_h + (r * h) U_h)          bias (3u)
             h = z * h + (1 - z) * h~
  LSTM       gates i, f, c, o:  i, f, o = ract(x W_. + b_. + h U_.),
             c = f * c + i * act(x W_c + b_c + h U_c),  h = o * act(c)
  go_backwards reads t = T-1 .. 0 and returns the sequence in that (reversed) order.
  Bidirectional: y = forward(x), y_rev = backward(x) (the backward layer has go_backwards
  negated, or is given), y_rev flipped in time when sequences are returned, then
  concat / sum / mul / ave.
  Embedding: ids cast to int32 (truncation toward zero), rows of the table.

Weights and inputs are drawn at random, rounded to float32 (the C op reads float32) and the
reference is computed from those float32 values in float64.

Usage:  rnn_ref.py [--out tests/ref/rnn]
Writes <out>/<case>/{x, fw_kernel, fw_recurrent, [fw_bias], [bw_...], out}.npy; the case
table must agree with the one in test_ops_rnn.c.
"""

import argparse
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))

GATES = {'simple': 1, 'gru': 3, 'lstm': 4}


def act_fn(name, v):
    if name == 'linear':
        return v
    if name == 'tanh':
        return np.tanh(v)
    if name == 'sigmoid':
        return 1.0 / (1.0 + np.exp(-v))
    if name == 'hard_sigmoid':            # Keras 2: clip(0.2 v + 0.5, 0, 1)
        return np.clip(0.2 * v + 0.5, 0.0, 1.0)
    if name == 'relu':
        return np.maximum(v, 0.0)
    raise ValueError(name)


def run_layer(spec, x, W, U, b):
    """One recurrent layer over x (N, T, F).  Returns (N, T, u) or (N, u)."""
    kind, u = spec['kind'], spec['units']
    act = lambda v: act_fn(spec['act'], v)          # noqa: E731
    ract = lambda v: act_fn(spec.get('ract', 'sigmoid'), v)  # noqa: E731
    n, t, _ = x.shape
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    if b is None:
        b_in = np.zeros(GATES[kind] * u)
        b_rec = np.zeros(GATES[kind] * u)
    elif kind == 'gru' and spec['reset_after']:
        b_in, b_rec = b[0], b[1]
    else:
        b_in, b_rec = b, None
    seq = []
    times = range(t - 1, -1, -1) if spec['go_backwards'] else range(t)
    for ti in times:
        xt = x[:, ti, :]
        if kind == 'simple':
            h = act(xt @ W + b_in + h @ U)
        elif kind == 'lstm':
            sl = [slice(k * u, (k + 1) * u) for k in range(4)]
            i = ract(xt @ W[:, sl[0]] + b_in[sl[0]] + h @ U[:, sl[0]])
            f = ract(xt @ W[:, sl[1]] + b_in[sl[1]] + h @ U[:, sl[1]])
            cand = act(xt @ W[:, sl[2]] + b_in[sl[2]] + h @ U[:, sl[2]])
            o = ract(xt @ W[:, sl[3]] + b_in[sl[3]] + h @ U[:, sl[3]])
            c = f * c + i * cand
            h = o * act(c)
        else:
            Wz, Wr, Wh = W[:, :u], W[:, u:2 * u], W[:, 2 * u:]
            Uz, Ur, Uh = U[:, :u], U[:, u:2 * u], U[:, 2 * u:]
            bz, br, bh = b_in[:u], b_in[u:2 * u], b_in[2 * u:]
            if spec['reset_after']:
                rz, rr, rh = b_rec[:u], b_rec[u:2 * u], b_rec[2 * u:]
                z = ract(xt @ Wz + bz + h @ Uz + rz)
                r = ract(xt @ Wr + br + h @ Ur + rr)
                cand = act(xt @ Wh + bh + r * (h @ Uh + rh))
            else:
                z = ract(xt @ Wz + bz + h @ Uz)
                r = ract(xt @ Wr + br + h @ Ur)
                cand = act(xt @ Wh + bh + (r * h) @ Uh)
            h = z * h + (1.0 - z) * cand
        seq.append(h)
    if spec['return_sequences']:
        return np.stack(seq, axis=1)
    return h


def run_bidirectional(fw, bw, merge, x, wf, wb):
    y = run_layer(fw, x, *wf)
    y_rev = run_layer(bw, x, *wb)
    if fw['return_sequences']:
        y_rev = y_rev[:, ::-1, :]
    if merge == 'concat':
        return np.concatenate([y, y_rev], axis=-1)
    if merge == 'sum':
        return y + y_rev
    if merge == 'mul':
        return y * y_rev
    if merge == 'ave':
        return (y + y_rev) / 2.0
    raise ValueError(merge)


def layer(kind, units, act='tanh', ract='sigmoid', reset_after=False, go_backwards=False,
          return_sequences=False, use_bias=True):
    return dict(kind=kind, units=units, act=act, ract=ract, reset_after=reset_after,
                go_backwards=go_backwards, return_sequences=return_sequences,
                use_bias=use_bias)


# name, (N, T, F), forward layer, backward layer (None: not bidirectional; 'auto': the
# forward layer with go_backwards negated), merge mode.  Mirrored in test_ops_rnn.c.
CASES = [
    ('simple_last', (2, 5, 3), layer('simple', 4), None, None),
    ('simple_seq_back_relu', (2, 5, 3),
     layer('simple', 4, act='relu', go_backwards=True, return_sequences=True), None, None),
    ('gru_after_seq', (2, 6, 3), layer('gru', 4, reset_after=True, return_sequences=True),
     None, None),
    ('gru_before_last_hard', (2, 6, 3), layer('gru', 4, ract='hard_sigmoid'), None, None),
    ('gru_before_seq_back_nobias', (2, 6, 3),
     layer('gru', 4, go_backwards=True, return_sequences=True, use_bias=False), None, None),
    ('gru_after_last_nobias', (2, 6, 3), layer('gru', 4, reset_after=True, use_bias=False),
     None, None),
    ('lstm_last', (2, 6, 3), layer('lstm', 4), None, None),
    ('lstm_seq_back_hard', (2, 6, 3),
     layer('lstm', 4, ract='hard_sigmoid', go_backwards=True, return_sequences=True),
     None, None),
    ('lstm_big', (3, 7, 19), layer('lstm', 37), None, None),
    ('gru_big', (2, 9, 21), layer('gru', 33, reset_after=True, return_sequences=True),
     None, None),
    ('bidi_lstm_concat_seq', (2, 5, 3), layer('lstm', 4, return_sequences=True), 'auto',
     'concat'),
    ('bidi_gru_sum_last', (2, 5, 3), layer('gru', 4, reset_after=True), 'auto', 'sum'),
    ('bidi_simple_ave_seq', (2, 5, 3), layer('simple', 4, return_sequences=True), 'auto', 'ave'),
    ('bidi_simple_mul_last', (2, 5, 3), layer('simple', 4), 'auto', 'mul'),
    ('bidi_lstm_given_backward', (2, 5, 3), layer('lstm', 3, return_sequences=True),
     layer('lstm', 5, act='relu', go_backwards=True, return_sequences=True), 'concat'),
]


def f32(a):
    return np.asarray(a, np.float32)


def draw_weights(rng, spec, feat):
    g, u = GATES[spec['kind']], spec['units']
    W = f32(rng.uniform(-0.7, 0.7, (feat, g * u)))
    U = f32(rng.uniform(-0.7, 0.7, (u, g * u)))
    if not spec['use_bias']:
        return W, U, None
    shape = (2, g * u) if spec['kind'] == 'gru' and spec['reset_after'] else (g * u,)
    return W, U, f32(rng.uniform(-0.5, 0.5, shape))


def save(d, name, a):
    np.save(os.path.join(d, name + '.npy'), a)


def write_case(out, rng, name, shape, fw, bw, merge):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    x = f32(rng.uniform(-1.0, 1.0, shape))
    save(d, 'x', x)
    wf = draw_weights(rng, fw, shape[2])
    for nm, a in zip(('fw_kernel', 'fw_recurrent', 'fw_bias'), wf):
        if a is not None:
            save(d, nm, a)
    w64 = lambda w: tuple(None if a is None else a.astype(np.float64) for a in w)  # noqa: E731
    if bw is None:
        y = run_layer(fw, x.astype(np.float64), *w64(wf))
    else:
        if bw == 'auto':
            bw = dict(fw, go_backwards=not fw['go_backwards'])
        wb = draw_weights(rng, bw, shape[2])
        for nm, a in zip(('bw_kernel', 'bw_recurrent', 'bw_bias'), wb):
            if a is not None:
                save(d, nm, a)
        y = run_bidirectional(fw, bw, merge, x.astype(np.float64), w64(wf), w64(wb))
    save(d, 'out', y)
    return y.shape


def write_embedding(out, rng):
    d = os.path.join(out, 'embedding')
    os.makedirs(d, exist_ok=True)
    table = f32(rng.uniform(-1, 1, (11, 6)))
    # ids as float values, some fractional: int32 casting truncates toward zero
    ids = f32(rng.integers(0, 11, (3, 7)) + rng.choice([0.0, 0.25, 0.75], (3, 7)))
    ids[0, 0] = -0.5                                # truncates to 0: valid
    ids[2, 6] = 10.99                               # truncates to 10: the last row
    y = table.astype(np.float64)[np.trunc(ids).astype(np.int64)]
    save(d, 'x', ids)
    save(d, 'table', table)
    save(d, 'out', y)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(ROOT, 'tests', 'ref', 'rnn'))
    a = ap.parse_args()
    rng = np.random.default_rng(20240611)
    for name, shape, fw, bw, merge in CASES:
        y = write_case(a.out, rng, name, shape, fw, bw, merge)
        print('%-28s x %s -> out %s' % (name, shape, y))
    write_embedding(a.out, rng)


if __name__ == '__main__':
    main()
