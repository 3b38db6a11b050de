#!/usr/bin/python3
"""torch_rnn.py - a second, PyTorch float64 evaluation of the corpus's recurrent models, to
check tests/gen/numpy_ref.py where the torch oracle (oracle_torch.py) has no recurrent
layers.  Uses no tlreport code and none of numpy_ref's layer code.

Scope: Sequential models of InputLayer, Embedding, SimpleRNN, GRU, LSTM, Bidirectional (of
those), Dense, Dropout and Activation; anything else raises NotImplementedError.

How Keras's recurrent weights map to torch.nn (Keras kernel (F, g*u), recurrent_kernel
(u, g*u), bias; torch weight_ih (g*u, F), weight_hh (g*u, u), bias_ih, bias_hh):
  * SimpleRNN -> nn.RNN(nonlinearity tanh / relu): transposes, bias_ih = bias, bias_hh = 0.
  * LSTM (tanh, sigmoid) -> nn.LSTM: the gate blocks are in the same order in both
    (Keras i, f, c, o; torch i, f, g, o): transposes, bias_ih = bias, bias_hh = 0.
  * GRU reset_after (tanh, sigmoid) -> nn.GRU, whose candidate is
    tanh(W_in x + b_in + r * (W_hn h + b_hn)) as Keras's reset_after; the blocks are
    reordered (Keras z, r, h; torch r, z, n); bias row 0 -> bias_ih, row 1 -> bias_hh.
  * Any other GRU (reset before: h~ = act(x W_h + b_h + (r * h) U_h), Keras 2.0-2.2, or
    other activations, e.g. Keras 2's hard_sigmoid = clip(0.2 v + 0.5, 0, 1)) has no torch.nn
    module: it is stepped here with torch tensor ops, written from the Keras 2.1
    keras/layers/recurrent.py GRUCell equations.
  * LSTM / SimpleRNN with other activations are refused (no such model in the corpus).
  * go_backwards: the layer reads the time-reversed input (its sequence output stays in
    that reversed order); Bidirectional runs nn.LSTM/GRU/RNN(bidirectional=True) when both
    directions share one config, and concatenates (merge_mode concat only).
"""

import numpy as np
import torch
import torch.nn.functional as F

MODEL_CLASSES = ('Sequential', 'Functional', 'Model')


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _act(name, v):
    if name in (None, 'linear'):
        return v
    if name == 'tanh':
        return torch.tanh(v)
    if name == 'sigmoid':
        return torch.sigmoid(v)
    if name == 'hard_sigmoid':
        return torch.clamp(0.2 * v + 0.5, 0.0, 1.0)
    if name == 'relu':
        return F.relu(v)
    if name == 'softmax':
        return torch.softmax(v, dim=-1)
    raise NotImplementedError('activation %r' % name)


def _gru_blocks_to_torch(a, u):
    """Keras gate blocks (z, r, h) along the last axis -> torch's (r, z, n)."""
    return np.concatenate([a[..., u:2 * u], a[..., :u], a[..., 2 * u:]], axis=-1)


def _module(cls, c, W, bidirectional):
    """A torch.nn recurrent module with the Keras weights, or None when none fits."""
    u = c['units']
    act, ract = c.get('activation', 'tanh'), c.get('recurrent_activation', 'sigmoid')
    dirs = [''] if not bidirectional else ['forward/', 'backward/']
    if cls == 'SimpleRNN' and act in ('tanh', 'relu'):
        mod = torch.nn.RNN(W[dirs[0] + 'kernel'].shape[0], u, nonlinearity=act,
                           batch_first=True, bidirectional=bidirectional)
        conv = lambda a: a                                      # noqa: E731
    elif cls == 'LSTM' and act == 'tanh' and ract == 'sigmoid':
        mod = torch.nn.LSTM(W[dirs[0] + 'kernel'].shape[0], u, batch_first=True,
                            bidirectional=bidirectional)
        conv = lambda a: a                                      # noqa: E731
    elif cls == 'GRU' and act == 'tanh' and ract == 'sigmoid' and c.get('reset_after'):
        mod = torch.nn.GRU(W[dirs[0] + 'kernel'].shape[0], u, batch_first=True,
                           bidirectional=bidirectional)
        conv = lambda a: _gru_blocks_to_torch(a, u)             # noqa: E731
    else:
        return None
    mod = mod.double()
    with torch.no_grad():
        for d, sfx in zip(dirs, ['', '_reverse']):
            k, rk = W[d + 'kernel'], W[d + 'recurrent_kernel']
            b = W.get(d + 'bias') if c.get('use_bias', True) else None
            g = k.shape[1]
            if b is None:
                b_ih, b_hh = np.zeros(g), np.zeros(g)
            elif b.ndim == 2:                                   # GRU reset_after (2, 3u)
                b_ih, b_hh = b[0], b[1]
            else:
                b_ih, b_hh = b, np.zeros(g)
            getattr(mod, 'weight_ih_l0' + sfx).copy_(_t(conv(k).T))
            getattr(mod, 'weight_hh_l0' + sfx).copy_(_t(conv(rk).T))
            getattr(mod, 'bias_ih_l0' + sfx).copy_(_t(conv(b_ih)))
            getattr(mod, 'bias_hh_l0' + sfx).copy_(_t(conv(b_hh)))
    return mod


def _gru_steps(c, W, x):
    """GRU by hand (torch ops), for what nn.GRU cannot express.  x (N, T, F), already in
    reading order; returns the sequence (N, T, u)."""
    u = c['units']
    act, ract = c.get('activation', 'tanh'), c['recurrent_activation']
    k, rk = _t(W['kernel']), _t(W['recurrent_kernel'])
    b = W.get('bias') if c.get('use_bias', True) else None
    reset_after = bool(c.get('reset_after', False))
    if b is None:
        b_in, b_rec = torch.zeros(3 * u, dtype=torch.float64), None
    elif reset_after:
        b_in, b_rec = _t(b[0]), _t(b[1])
    else:
        b_in, b_rec = _t(b), None
    h = torch.zeros(x.shape[0], u, dtype=torch.float64)
    out = []
    for t in range(x.shape[1]):
        xz, xr, xh = (x[:, t] @ k + b_in).split(u, dim=1)
        if reset_after:
            hz, hr, hh = (h @ rk + (b_rec if b_rec is not None else 0.0)).split(u, dim=1)
            z, r = _act(ract, xz + hz), _act(ract, xr + hr)
            cand = _act(act, xh + r * hh)
        else:
            z = _act(ract, xz + h @ rk[:, :u])
            r = _act(ract, xr + h @ rk[:, u:2 * u])
            cand = _act(act, xh + (r * h) @ rk[:, 2 * u:])
        h = z * h + (1.0 - z) * cand
        out.append(h)
    return torch.stack(out, dim=1)


def _recurrent(cls, c, W, x):
    if c.get('return_state') or c.get('stateful') or c.get('time_major'):
        raise NotImplementedError('%s return_state / stateful / time_major' % cls)
    if c.get('go_backwards'):
        x = torch.flip(x, dims=[1])
    mod = _module(cls, c, W, False)
    if mod is not None:
        seq = mod(x)[0]
    elif cls == 'GRU':
        seq = _gru_steps(c, W, x)
    else:
        raise NotImplementedError('%s with activations %s / %s' % (
            cls, c.get('activation'), c.get('recurrent_activation')))
    return seq if c.get('return_sequences') else seq[:, -1]


def _bidirectional(c, W, x):
    if c.get('merge_mode', 'concat') != 'concat' or c.get('backward_layer'):
        raise NotImplementedError('Bidirectional other than concat of one layer config')
    cls, lc = c['layer']['class_name'], c['layer']['config']
    if lc.get('go_backwards'):
        raise NotImplementedError('Bidirectional of a go_backwards layer')
    mod = _module(cls, lc, W, True)
    if mod is None:
        raise NotImplementedError('Bidirectional %s with these activations' % cls)
    seq = mod(x)[0]                                  # (N, T, 2u), backward re-aligned in time
    u = lc['units']
    if lc.get('return_sequences'):
        return seq
    # last state of each direction: forward after t = T-1, backward after t = 0
    return torch.cat([seq[:, -1, :u], seq[:, 0, u:]], dim=1)


def _layer(cls, c, W, x):
    if cls in ('InputLayer', 'Dropout'):
        return x
    if cls == 'Embedding':
        if c.get('mask_zero'):
            raise NotImplementedError('Embedding mask_zero')
        return F.embedding(x.long(), _t(W['embeddings']))
    if cls == 'Dense':
        y = x @ _t(W['kernel'])
        if c.get('use_bias', True):
            y = y + _t(W['bias'])
        return _act(c.get('activation'), y)
    if cls == 'Activation':
        return _act(c['activation'], x)
    if cls in ('SimpleRNN', 'GRU', 'LSTM'):
        return _recurrent(cls, c, W, x)
    if cls == 'Bidirectional':
        return _bidirectional(c, W, x)
    raise NotImplementedError('layer class %s' % cls)


def run(m, store, xs, layers=None):
    """Outputs (float64 numpy) of a normalized Sequential config 'm' with weights 'store'
    ({layer name: {short name: array}}) on inputs 'xs'; with 'layers' (a dict), every
    layer's output is put there by name too."""
    if m['class_name'] != 'Sequential' or len(xs) != 1:
        raise NotImplementedError('only single-input Sequential models')
    x = _t(xs[0])
    with torch.no_grad():
        for e in m['config']['layers']:
            if e['class_name'] in MODEL_CLASSES:
                raise NotImplementedError('nested model')
            name = e.get('name') or e['config']['name']
            x = _layer(e['class_name'], e['config'], store.get(name, {}), x)
            if layers is not None:
                layers[name] = x.numpy()
    return [x.numpy()]


CLASSES = {'InputLayer', 'Embedding', 'SimpleRNN', 'GRU', 'LSTM', 'Bidirectional', 'Dense',
           'Dropout', 'Activation'}
