#!/usr/bin/python3
"""numpy_ref.py - a float64 NumPy reference for Keras 2.x (tf.keras 2.9) inference.

Written for tlreport's numeric tests from the Keras / TensorFlow API documentation; it does
not derive from tlreport.  It has two parts:

  * ops: one function per layer class, NHWC (batch first), float64.  The semantics that
    matter are stated next to each op.  Recurrent layers (SimpleRNN, GRU, LSTM, their
    CuDNN variants, Bidirectional) take sequences (N, T, F); Embedding takes ids.  A
    Lambda layer runs only when the caller puts its formula in the config ('formula', see
    lambda_formula): nothing here reads Python code.
  * a model runner: reads a Keras-2 .h5 file (model_config JSON + model_weights) with
    h5py, assigns the weights the way Keras' legacy loader does (positionally, by
    layer_names, with a nested model's single group ordered trainable-first), evaluates the
    graph by inbound_nodes and returns every layer's output by path ('layer' or
    'outer/inner').

Usage as a program (same output layout as the torch oracle):
    numpy_ref.py MODEL.h5 INPUT.npy --outdir DIR [--float32]
writes DIR/<layer path>.npy for every layer, DIR/__output__0.npy and DIR/manifest.json.
"""

import argparse
import json
import math
import os
import sys

import numpy as np

MODEL_CLASSES = ('Functional', 'Model', 'Sequential')

# ---------------------------------------------------------------------------- activations
# keras.activations (2.9).  selu constants are those of tf.nn.selu (Klambauer et al. 2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _erf(x):
    # math.erf is exact to double precision; vectorised over the array.
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def sigmoid(x):
    # numerically safe 1 / (1 + exp(-x)) for both signs
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def elu(x, alpha=1.0):
    # backend.elu: x if x > 0 else alpha * (exp(x) - 1)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def activation(name, x):
    if name in (None, 'linear'):
        return x
    if name == 'relu':
        return np.maximum(x, 0)
    if name == 'relu6':
        return np.clip(x, 0, 6)
    if name == 'sigmoid':
        return sigmoid(x)
    if name == 'tanh':
        return np.tanh(x)
    if name == 'softmax':                       # over the last axis
        return softmax(x, -1)
    if name == 'elu':
        return elu(x, 1.0)
    if name == 'selu':
        return SELU_SCALE * elu(x, SELU_ALPHA)
    if name == 'softplus':                      # log(1 + exp(x)), stable form
        return np.logaddexp(0.0, x)
    if name == 'softsign':                      # x / (|x| + 1)
        return x / (np.abs(x) + 1.0)
    if name in ('swish', 'silu'):               # x * sigmoid(x)
        return x * sigmoid(x)
    if name == 'gelu':                          # Keras 2.9 default approximate=False: erf form
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if name == 'hard_sigmoid':                  # Keras <= 2.10: clip(0.2 x + 0.5, 0, 1)
        return np.clip(0.2 * x + 0.5, 0.0, 1.0)
    if name == 'exponential':
        return np.exp(x)
    raise NotImplementedError('activation %r' % name)


def keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """keras.backend.relu as the ReLU layer calls it:
    f(x) = max_value           for x >= max_value
           x                   for threshold <= x < max_value
           slope * (x - thr)   otherwise.
    Implemented in the same steps as the backend: keep x where x > threshold (else 0),
    clip to [0, max_value], subtract slope * relu(threshold - x)."""
    if negative_slope and max_value is None and not threshold:
        return np.where(x >= 0, x, negative_slope * x)      # tf.nn.leaky_relu
    neg = np.maximum(threshold - x, 0) if negative_slope else None
    if threshold:
        y = np.where(x > threshold, x, 0.0)
    else:
        y = np.maximum(x, 0)
    if max_value is not None:
        y = np.clip(y, 0, max_value)
    if negative_slope:
        y = y - negative_slope * neg
    return y


# ---------------------------------------------------------------------------- padding
def same_pads(n, k, s, d=1):
    """TensorFlow 'SAME': out = ceil(n / s); the total padding needed to give every output a
    full window is split with the smaller half first (before), the extra one after."""
    keff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + keff - n, 0)
    return total // 2, total - total // 2


def out_len_valid(n, k, s, d=1):
    return (n - ((k - 1) * d + 1)) // s + 1


def _pads2d(x, cfg_padding, k, s, d):
    """(top, bottom, left, right) for an NHWC input and Keras padding 'same'/'valid'."""
    if cfg_padding == 'valid':
        return 0, 0, 0, 0
    if cfg_padding == 'same':
        t, b = same_pads(x.shape[1], k[0], s[0], d[0])
        l, r = same_pads(x.shape[2], k[1], s[1], d[1])
        return t, b, l, r
    raise NotImplementedError('padding %r' % cfg_padding)


def _window(xp, i, j, oh, ow, s, d):
    """The (N, oh, ow, C) slice of padded input xp seen by kernel tap (i, j)."""
    return xp[:, i * d[0]: i * d[0] + s[0] * (oh - 1) + 1: s[0],
              j * d[1]: j * d[1] + s[1] * (ow - 1) + 1: s[1], :]


# ---------------------------------------------------------------------------- convolutions
def conv2d(x, kernel, bias, strides, dilation, pads, groups=1):
    """y[n,oy,ox,co] = sum_{i,j,ci} xpad[n, oy*s + i*d, ox*s + j*d, g*cin_g + ci] *
    kernel[i,j,ci,co] + bias[co], where g = co // (cout / groups) (Keras kernel layout
    (kh, kw, cin/groups, cout), zero padding given as (top, bottom, left, right))."""
    kh, kw, cin_g, cout = kernel.shape
    t, b, l, r = pads
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    oh = out_len_valid(xp.shape[1], kh, strides[0], dilation[0])
    ow = out_len_valid(xp.shape[2], kw, strides[1], dilation[1])
    cout_g = cout // groups
    y = np.zeros((x.shape[0], oh, ow, cout))
    for i in range(kh):
        for j in range(kw):
            win = _window(xp, i, j, oh, ow, strides, dilation)
            for g in range(groups):
                y[..., g * cout_g:(g + 1) * cout_g] += (
                    win[..., g * cin_g:(g + 1) * cin_g] @ kernel[i, j, :, g * cout_g:(g + 1) * cout_g])
    if bias is not None:
        y += bias
    return y


def depthwise_conv2d(x, dkernel, bias, strides, dilation, pads):
    """Each input channel c is convolved with its own dm filters; output channel c*dm + m
    (kernel layout (kh, kw, cin, dm), as tf.nn.depthwise_conv2d)."""
    kh, kw, cin, dm = dkernel.shape
    t, b, l, r = pads
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    oh = out_len_valid(xp.shape[1], kh, strides[0], dilation[0])
    ow = out_len_valid(xp.shape[2], kw, strides[1], dilation[1])
    y = np.zeros((x.shape[0], oh, ow, cin, dm))
    for i in range(kh):
        for j in range(kw):
            y += _window(xp, i, j, oh, ow, strides, dilation)[..., :, None] * dkernel[i, j]
    y = y.reshape(x.shape[0], oh, ow, cin * dm)
    if bias is not None:
        y += bias
    return y


def deconv_length(n, k, padding, output_padding, s, d):
    """keras.utils.conv_utils.deconv_output_length (Keras 2.9)."""
    keff = (k - 1) * d + 1
    if output_padding is None:
        if padding == 'valid':
            return n * s + max(keff - s, 0)
        if padding == 'same':
            return n * s
        raise NotImplementedError(padding)
    pad = {'same': keff // 2, 'valid': 0}[padding]
    return (n - 1) * s + keff - 2 * pad + output_padding


def conv2d_transpose(x, kernel, bias, strides, dilation, padding, output_padding):
    """Keras Conv2DTranspose = tf.nn.conv2d_transpose = the gradient of a Conv2D whose input
    has the transposed output's shape.  Input pixel (y, x) scatters kernel[i, j, :, :]^T into
    full-output position (y*s + i*d, x*s + j*d); the full output has length (n-1)*s + keff.
    The layer's output (length from deconv_length) is the window of the full output that
    starts at the forward conv's 'before' padding (0 for 'valid'; for 'same' computed from
    the output length as TF does); cells past the full output (output_padding) are zero.
    Kernel layout (kh, kw, cout, cin)."""
    kh, kw, cout, cin = kernel.shape
    n, h, w, _ = x.shape
    s, d = strides, dilation
    op = output_padding or (None, None)
    oh = deconv_length(h, kh, padding, op[0], s[0], d[0])
    ow = deconv_length(w, kw, padding, op[1], s[1], d[1])
    fh, fw = (h - 1) * s[0] + (kh - 1) * d[0] + 1, (w - 1) * s[1] + (kw - 1) * d[1] + 1
    full = np.zeros((n, fh, fw, cout))
    for i in range(kh):
        for j in range(kw):
            full[:, i * d[0]: i * d[0] + s[0] * (h - 1) + 1: s[0],
                 j * d[1]: j * d[1] + s[1] * (w - 1) + 1: s[1], :] += x @ kernel[i, j].T
    if padding == 'same':
        top = max((h - 1) * s[0] + (kh - 1) * d[0] + 1 - oh, 0) // 2
        left = max((w - 1) * s[1] + (kw - 1) * d[1] + 1 - ow, 0) // 2
    else:
        top = left = 0
    y = np.zeros((n, oh, ow, cout))
    hh, ww = min(oh, fh - top), min(ow, fw - left)
    y[:, :hh, :ww, :] = full[:, top:top + hh, left:left + ww, :]
    if bias is not None:
        y += bias
    return y


# ---------------------------------------------------------------------------- pooling
def pool2d(x, kind, k, s, padding):
    """Max pooling ignores padded cells (TF pads with -inf); average pooling divides by the
    number of real (non-padded) cells in each window ('same' borders); 'valid' floors."""
    t, b, l, r = _pads2d(x, padding, k, s, (1, 1))
    fill = -np.inf if kind == 'max' else 0.0
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    ones = np.pad(np.ones(x.shape[1:3]), ((t, b), (l, r)))
    oh, ow = out_len_valid(xp.shape[1], k[0], s[0]), out_len_valid(xp.shape[2], k[1], s[1])
    wins = [_window(xp, i, j, oh, ow, s, (1, 1)) for i in range(k[0]) for j in range(k[1])]
    if kind == 'max':
        return np.max(wins, axis=0)
    counts = sum(ones[i: i + s[0] * (oh - 1) + 1: s[0], j: j + s[1] * (ow - 1) + 1: s[1]]
                 for i in range(k[0]) for j in range(k[1]))
    return np.sum(wins, axis=0) / counts[None, :, :, None]


# ---------------------------------------------------------------------------- resizing
def _resize_axis_bilinear(n_in, n_out):
    """tf.image.resize (v2, half_pixel_centers): source coordinate (o + 0.5) * in/out - 0.5,
    lower index floor() clamped to 0, upper ceil() clamped to n_in - 1."""
    scale = n_in / n_out
    src = (np.arange(n_out) + 0.5) * scale - 0.5
    f = np.floor(src)
    lo = np.maximum(f, 0).astype(int)
    hi = np.minimum(np.ceil(src), n_in - 1).astype(int)
    return lo, hi, src - f


def resize_bilinear(x, oh, ow):
    ylo, yhi, fy = _resize_axis_bilinear(x.shape[1], oh)
    xlo, xhi, fx = _resize_axis_bilinear(x.shape[2], ow)
    top = x[:, ylo][:, :, xlo] * (1 - fx)[None, None, :, None] + \
        x[:, ylo][:, :, xhi] * fx[None, None, :, None]
    bot = x[:, yhi][:, :, xlo] * (1 - fx)[None, None, :, None] + \
        x[:, yhi][:, :, xhi] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bot * fy[None, :, None, None]


def resize_nearest(x, oh, ow):
    """tf.image.resize NEAREST (half_pixel_centers): src = min(floor((o + 0.5) * in/out),
    in - 1)."""
    def idx(n_in, n_out):
        return np.minimum(np.floor((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(int),
                          n_in - 1)
    return x[:, idx(x.shape[1], oh)][:, :, idx(x.shape[2], ow)]


# ---------------------------------------------------------------------------- layers
def _t2(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def _channels_first_wrap(fn, x, cfg):
    """channels_first layers see (N, C, H, W): compute in NHWC and transpose back."""
    if cfg.get('data_format', 'channels_last') == 'channels_first':
        return fn(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return fn(x)


def _conv_layer(cls, c, W, x):
    if cls in ('Conv1D',):
        # A 1-D convolution is the 2-D one on an (N, 1, W, C) image; 'causal' pads
        # (k - 1) * d zeros on the left only (Keras Conv1D docs).
        x4 = x[:, None, :, :]
        k, s, d = c['kernel_size'][0], c['strides'][0], c['dilation_rate'][0]
        if c['padding'] == 'causal':
            pads = (0, 0, (k - 1) * d, 0)
        elif c['padding'] == 'same':
            pads = (0, 0) + same_pads(x.shape[1], k, s, d)
        else:
            pads = (0, 0, 0, 0)
        y = conv2d(x4, W['kernel'][None], W.get('bias'), (1, s), (1, d), pads,
                   c.get('groups', 1))
        return activation(c.get('activation'), y[:, 0])
    k, s, d = _t2(c['kernel_size']), _t2(c['strides']), _t2(c['dilation_rate'])

    def run(xl):
        pads = _pads2d(xl, c['padding'], k, s, d)
        if cls == 'Conv2D':
            return conv2d(xl, W['kernel'], W.get('bias'), s, d, pads, c.get('groups', 1))
        if cls == 'DepthwiseConv2D':
            return depthwise_conv2d(xl, W['depthwise_kernel'], W.get('bias'), s, d, pads)
        if cls == 'SeparableConv2D':
            h = depthwise_conv2d(xl, W['depthwise_kernel'], None, s, d, pads)
            return conv2d(h, W['pointwise_kernel'], W.get('bias'), (1, 1), (1, 1), (0, 0, 0, 0))
        if cls == 'Conv2DTranspose':
            return conv2d_transpose(xl, W['kernel'], W.get('bias'), s, d, c['padding'],
                                    c.get('output_padding'))
        raise NotImplementedError(cls)

    y = _channels_first_wrap(run, x, c)
    return activation(c.get('activation'), y)


def _pool_layer(cls, c, x):
    kind = 'max' if cls.startswith('Max') else 'avg'
    if cls.endswith('1D'):
        # 1-D pooling = 2-D pooling over an (N, 1, W, C) image
        k, s = c['pool_size'][0], (c['strides'] or c['pool_size'])[0]
        return pool2d(x[:, None], kind, (1, k), (1, s), c['padding'])[:, 0]
    k = _t2(c['pool_size'])
    s = _t2(c['strides']) if c.get('strides') else k
    return _channels_first_wrap(lambda xl: pool2d(xl, kind, k, s, c['padding']), x, c)


def _axis(x, a):
    return a if a >= 0 else a + x.ndim


def apply_layer(cls, c, W, xs):
    """Output of one (non-model) layer.  c: its config; W: weights by short name
    ('kernel', 'bias', 'gamma', ...); xs: list of input arrays (batch first)."""
    x = xs[0]
    if cls in ('InputLayer', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D',
               'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization'):
        return x                                           # identity at inference
    if cls in ('RandomFlip', 'RandomRotation', 'RandomZoom', 'RandomTranslation',
               'RandomContrast'):
        return x                    # augmentation layers pass inputs through at inference
    if cls in ('Conv1D', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose'):
        return _conv_layer(cls, c, W, x)
    if cls == 'Dense':                                     # acts on the last axis, any rank
        y = np.tensordot(x, W['kernel'], axes=([x.ndim - 1], [0]))
        if c.get('use_bias', True):
            y = y + W['bias']
        return activation(c.get('activation'), y)
    if cls in ('MaxPooling1D', 'AveragePooling1D', 'MaxPooling2D', 'AveragePooling2D'):
        return _pool_layer(cls, c, x)
    if cls in ('GlobalAveragePooling1D', 'GlobalMaxPooling1D', 'GlobalAveragePooling2D',
               'GlobalMaxPooling2D'):
        axes = (1,) if cls.endswith('1D') else (1, 2)
        if c.get('data_format', 'channels_last') == 'channels_first':
            axes = tuple(a + 1 for a in axes)
        f = np.mean if 'Average' in cls else np.max
        return f(x, axis=axes, keepdims=bool(c.get('keepdims', False)))
    if cls == 'Flatten':                                   # row-major over (H, W, C)
        if c.get('data_format', 'channels_last') != 'channels_last':
            raise NotImplementedError('Flatten channels_first')
        return x.reshape(x.shape[0], -1)
    if cls == 'Reshape':                                   # one -1 allowed, row-major
        return x.reshape((x.shape[0],) + tuple(c['target_shape']))
    if cls == 'Permute':                                   # dims are 1-based, batch fixed
        return x.transpose((0,) + tuple(c['dims']))
    if cls == 'ZeroPadding2D':
        (t, b), (l, r) = c['padding']
        return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    if cls == 'Cropping2D':
        (t, b), (l, r) = c['cropping']
        return x[:, t: x.shape[1] - b, l: x.shape[2] - r, :]
    if cls == 'UpSampling2D':
        fh, fw = _t2(c['size'])
        if c.get('interpolation', 'nearest') == 'nearest':   # pixel repetition
            return _channels_first_wrap(lambda xl: xl.repeat(fh, 1).repeat(fw, 2), x, c)
        if c['interpolation'] == 'bilinear':     # tf.image.resize to (H*fh, W*fw)
            return _channels_first_wrap(
                lambda xl: resize_bilinear(xl, xl.shape[1] * fh, xl.shape[2] * fw), x, c)
        raise NotImplementedError('UpSampling2D %s' % c['interpolation'])
    if cls == 'Resizing':                        # tf.image.resize, no antialias
        if c.get('crop_to_aspect_ratio'):
            raise NotImplementedError('Resizing crop_to_aspect_ratio')
        if c['interpolation'] == 'bilinear':
            return resize_bilinear(x, c['height'], c['width'])
        if c['interpolation'] == 'nearest':
            return resize_nearest(x, c['height'], c['width'])
        raise NotImplementedError('Resizing %s' % c['interpolation'])
    if cls == 'Rescaling':                       # x * scale + offset
        return x * c['scale'] + c['offset']
    if cls == 'Normalization':
        # (x - mean) / max(sqrt(var), 1e-7), mean/var broadcast over the kept axes
        axes = c['axis']
        axes = [axes] if isinstance(axes, int) else list(axes or [])
        keep = sorted(_axis(x, a) for a in axes)
        bshape = [x.shape[d] if d in keep else 1 for d in range(x.ndim)]
        if c.get('mean') is not None:
            mean = np.asarray(c['mean'], np.float64) * np.ones([x.shape[d] for d in keep])
            var = np.asarray(c['variance'], np.float64) * np.ones([x.shape[d] for d in keep])
        else:
            mean, var = W['mean'], W['variance']
        mean, var = mean.reshape(bshape), var.reshape(bshape)
        return (x - mean) / np.maximum(np.sqrt(var), 1e-7)
    if cls == 'BatchNormalization':
        # inference: (x - moving_mean) / sqrt(moving_var + eps) * gamma + beta on 'axis'
        ax = c['axis']
        ax = _axis(x, ax[0] if isinstance(ax, list) else ax)
        shp = [1] * x.ndim
        shp[ax] = -1
        y = (x - W['moving_mean'].reshape(shp)) / np.sqrt(W['moving_variance'].reshape(shp)
                                                          + c['epsilon'])
        if c.get('scale', True):
            y = y * W['gamma'].reshape(shp)
        if c.get('center', True):
            y = y + W['beta'].reshape(shp)
        return y
    if cls == 'ReLU':
        mv = c.get('max_value')
        return keras_relu(x, c.get('negative_slope') or 0.0,
                          None if mv is None else float(mv), c.get('threshold') or 0.0)
    if cls == 'LeakyReLU':
        return np.where(x >= 0, x, c.get('alpha', 0.3) * x)
    if cls == 'ELU':
        return elu(x, c.get('alpha', 1.0))
    if cls == 'PReLU':
        # relu(x) - alpha * relu(-x); alpha has the input's non-batch shape with the
        # shared axes set to 1, so it broadcasts
        return np.maximum(x, 0) - W['alpha'][None] * np.maximum(-x, 0)
    if cls == 'Softmax':
        ax = c.get('axis', -1)
        if isinstance(ax, list):
            ax = tuple(ax)
        return softmax(x, ax)
    if cls == 'Activation':
        return activation(c['activation'], x)
    if cls in ('Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum'):
        # keras _Merge.call: inputs of lower rank get axes of size 1 inserted at axis 1
        # until all ranks agree, then the op folds left to right with broadcasting
        # (so (N, C) against (N, H, W, C) acts as (N, 1, 1, C)).
        rank = max(t.ndim for t in xs)
        xs = [t.reshape(t.shape[:1] + (1,) * (rank - t.ndim) + t.shape[1:]) for t in xs]
        op = {'Add': np.add, 'Subtract': np.subtract, 'Multiply': np.multiply,
              'Average': np.add, 'Maximum': np.maximum, 'Minimum': np.minimum}[cls]
        y = xs[0]
        for t in xs[1:]:
            y = op(y, t)
        return y / len(xs) if cls == 'Average' else y
    if cls == 'Concatenate':
        return np.concatenate(xs, axis=c.get('axis', -1))
    if cls == 'Embedding':
        return embedding_layer(c, W, x)
    if cls == 'Lambda':
        return lambda_formula(c, x)
    if cls in RNN_CLASSES or cls == 'Bidirectional':
        if len(xs) != 1:
            raise NotImplementedError('%s with initial_state inputs' % cls)
        if cls == 'Bidirectional':
            return bidirectional_layer(c, W, x)
        return recurrent_layer(cls, c, W, x)
    raise NotImplementedError('layer class %s' % cls)


# ---------------------------------------------------------------------------- recurrent
# Keras's recurrent layers at inference (keras/src/layers/rnn/{simple_rnn,gru,lstm,
# bidirectional}.py; standalone Keras 2.x keras/layers/recurrent.py has the same equations).
# Input (N, T, F), batch first; zero initial state; no masking (this runner propagates no
# masks, so Embedding(mask_zero=True) is refused).  Weights: kernel (F, g*u),
# recurrent_kernel (u, g*u), bias; the g gates side by side:
#   SimpleRNN (g = 1)  h = act(x W + b + h U)
#   GRU (z, r, h~)     z = ract(x W_z + b_z + h U_z [+ b'_z]), r likewise;
#                      reset_after (bias (2, 3u): input row, recurrent row):
#                          h~ = act(x W_h + b_h + r * (h U_h + b'_h))
#                      reset before (bias (3u); Keras 2.0-2.2, whose configs have no
#                      'reset_after' key):  h~ = act(x W_h + b_h + (r * h) U_h)
#                      h = z * h + (1 - z) * h~
#   LSTM (i, f, c, o)  i, f, o = ract(...), c = f * c + i * act(x W_c + b_c + h U_c),
#                      h = o * act(c)
# go_backwards reads t = T-1 .. 0 and returns the sequence in that order.
# CuDNNGRU / CuDNNLSTM (Keras 2.x GPU layers, tanh / sigmoid fixed) store bias (6u) / (8u):
# CuDNNGRU is GRU reset_after with that bias as (2, 3u); CuDNNLSTM adds its two halves.
RNN_CLASSES = ('SimpleRNN', 'GRU', 'LSTM', 'CuDNNGRU', 'CuDNNLSTM')


def _rnn_settings(cls, c):
    """(kind, units, act, ract, reset_after) from a recurrent layer config."""
    if 'units' not in c:
        raise NotImplementedError('%s: Keras 1 recurrent config (output_dim)' % cls)
    if c.get('return_state') or c.get('time_major'):
        raise NotImplementedError('%s return_state / time_major' % cls)
    if cls == 'CuDNNGRU':
        return 'gru', c['units'], 'tanh', 'sigmoid', True
    if cls == 'CuDNNLSTM':
        return 'lstm', c['units'], 'tanh', 'sigmoid', False
    kind = {'SimpleRNN': 'simple', 'GRU': 'gru', 'LSTM': 'lstm'}[cls]
    act = c.get('activation', 'tanh')
    ract = None
    if kind != 'simple':
        ract = c.get('recurrent_activation')
        if ract is None:        # its default changed (hard_sigmoid -> sigmoid): never guess
            raise NotImplementedError('%s without recurrent_activation' % cls)
    return kind, c['units'], act, ract, bool(c.get('reset_after', False))


def rnn_sequence(kind, units, act, ract, reset_after, go_backwards, return_sequences,
                 x, kernel, recurrent, bias):
    """Runs one recurrent layer over x (N, T, F): (N, T, u) or the last state (N, u)."""
    u = units
    n, t, _ = x.shape
    g = {'simple': 1, 'gru': 3, 'lstm': 4}[kind]
    if kernel.shape[1] != g * u or recurrent.shape != (u, g * u):
        raise ValueError('%s kernels %s, %s for %d units' % (kind, kernel.shape,
                                                              recurrent.shape, u))
    b_in = np.zeros(g * u) if bias is None else bias
    b_rec = np.zeros(g * u)
    if kind == 'gru' and reset_after:
        if bias is not None:
            if bias.shape != (2, g * u):
                raise ValueError('GRU reset_after bias %s, want (2, %d)' % (bias.shape, g * u))
            b_in, b_rec = bias[0], bias[1]
    elif bias is not None and bias.shape != (g * u,):
        raise ValueError('%s bias %s, want (%d,)' % (kind, bias.shape, g * u))
    xw = x @ kernel + b_in                          # (N, T, g*u): the input part of each step
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    outs = []
    for ti in (range(t - 1, -1, -1) if go_backwards else range(t)):
        xt = xw[:, ti]
        if kind == 'simple':
            h = activation(act, xt + h @ recurrent)
        elif kind == 'lstm':
            z = xt + h @ recurrent
            i = activation(ract, z[:, :u])
            f = activation(ract, z[:, u:2 * u])
            cand = activation(act, z[:, 2 * u:3 * u])
            o = activation(ract, z[:, 3 * u:])
            c = f * c + i * cand
            h = o * activation(act, c)
        else:
            if reset_after:
                hu = h @ recurrent + b_rec
                zg = activation(ract, xt[:, :u] + hu[:, :u])
                r = activation(ract, xt[:, u:2 * u] + hu[:, u:2 * u])
                cand = activation(act, xt[:, 2 * u:] + r * hu[:, 2 * u:])
            else:
                zg = activation(ract, xt[:, :u] + h @ recurrent[:, :u])
                r = activation(ract, xt[:, u:2 * u] + h @ recurrent[:, u:2 * u])
                cand = activation(act, xt[:, 2 * u:] + (r * h) @ recurrent[:, 2 * u:])
            h = zg * h + (1.0 - zg) * cand
        outs.append(h)
    if return_sequences:
        return np.stack(outs, axis=1) if outs else np.zeros((n, 0, u))
    return h


def recurrent_layer(cls, c, W, x):
    kind, units, act, ract, reset_after = _rnn_settings(cls, c)
    bias = W.get('bias') if c.get('use_bias', True) or cls.startswith('CuDNN') else None
    if cls == 'CuDNNGRU':
        bias = bias.reshape(2, -1)
    elif cls == 'CuDNNLSTM':
        bias = bias[:4 * units] + bias[4 * units:]
    return rnn_sequence(kind, units, act, ract, reset_after, bool(c.get('go_backwards')),
                        bool(c.get('return_sequences')), x, W['kernel'],
                        W['recurrent_kernel'], bias)


def bidirectional_parts(c):
    """(forward (class, config), backward (class, config)).  tf.keras 2 / Keras 2 build
    the backward layer from the wrapped one with go_backwards negated; Keras 3 stores it
    as 'backward_layer' (go_backwards True)."""
    fw = (c['layer']['class_name'], c['layer']['config'])
    if c.get('backward_layer'):
        bw = (c['backward_layer']['class_name'], c['backward_layer']['config'])
    else:
        bw = (fw[0], dict(fw[1], go_backwards=not fw[1].get('go_backwards', False)))
    return fw, bw


def bidirectional_layer(c, W, x):
    """y = forward(x), y_rev = backward(x), flipped back in time when the layers return
    sequences, merged by merge_mode (concat on the last axis, sum, mul, ave)."""
    (fcls, fcfg), (bcls, bcfg) = bidirectional_parts(c)
    mode = c.get('merge_mode', 'concat')
    if mode is None:
        raise NotImplementedError('Bidirectional merge_mode None (two outputs)')
    sub = lambda pre: {k.split('/', 1)[1]: v for k, v in W.items()  # noqa: E731
                       if k.startswith(pre + '/')}
    y = recurrent_layer(fcls, fcfg, sub('forward'), x)
    y_rev = recurrent_layer(bcls, bcfg, sub('backward'), x)
    if fcfg.get('return_sequences'):
        y_rev = y_rev[:, ::-1]
    if mode == 'concat':
        return np.concatenate([y, y_rev], axis=-1)
    if mode == 'sum':
        return y + y_rev
    if mode == 'mul':
        return y * y_rev
    if mode == 'ave':
        return (y + y_rev) / 2.0
    raise NotImplementedError('Bidirectional merge_mode %r' % mode)


def embedding_layer(c, W, x):
    """Rows of the (input_dim, output_dim) table.  Keras casts the input to int32, which
    truncates toward zero; an index outside [0, input_dim) is an error in Keras (TF's
    gather on CPU), so it is one here too."""
    if c.get('mask_zero'):
        raise NotImplementedError('Embedding mask_zero (masking is not propagated)')
    table = W['embeddings']
    ids = np.trunc(np.asarray(x, np.float64))
    bad = ~((ids >= 0) & (ids < table.shape[0]))
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError('Embedding: index %r at %s is not in [0, %d)'
                         % (float(x[pos]), pos, table.shape[0]))
    return table[ids.astype(np.int64)]


def lambda_formula(c, x):
    """A Lambda layer is Python code; it runs only when the caller wrote its formula into
    the config as c['formula'] = [[op, constant], ...] (op: add, sub, mul, div), meaning
    y = (((x op1 c1) op2 c2) ...).  Evaluated as TF evaluates such an expression on a float32
    tensor: every constant becomes a float32 scalar and every step rounds to float32."""
    ops = c.get('formula')
    if ops is None:
        raise NotImplementedError('Lambda without a given formula (Python code)')
    y = np.asarray(x, np.float64).astype(np.float32)
    for op, k in ops:
        k32 = np.float32(k)
        if op == 'add':
            y = y + k32
        elif op == 'sub':
            y = y - k32
        elif op == 'mul':
            y = y * k32
        elif op == 'div':
            y = y / k32
        else:
            raise NotImplementedError('Lambda formula step %r' % op)
        assert y.dtype == np.float32
    return y.astype(np.float64)


# ---------------------------------------------------------------------------- weights
def own_weight_slots(cls, c):
    """A plain layer's variables in creation order, as (short name, trainable)."""
    bias = [('bias', True)] if c.get('use_bias', True) else []
    if cls in ('Conv1D', 'Conv2D', 'Conv2DTranspose', 'Dense'):
        return [('kernel', True)] + bias
    if cls == 'DepthwiseConv2D':
        return [('depthwise_kernel', True)] + bias
    if cls == 'SeparableConv2D':
        return [('depthwise_kernel', True), ('pointwise_kernel', True)] + bias
    if cls == 'BatchNormalization':
        return ([('gamma', True)] if c.get('scale', True) else []) + \
            ([('beta', True)] if c.get('center', True) else []) + \
            [('moving_mean', False), ('moving_variance', False)]
    if cls == 'PReLU':
        return [('alpha', True)]
    if cls == 'Embedding':
        return [('embeddings', True)]
    if cls in RNN_CLASSES:
        if cls.startswith('CuDNN'):         # always with a bias
            bias = [('bias', True)]
        return [('kernel', True), ('recurrent_kernel', True)] + bias
    if cls == 'Bidirectional':
        # forward layer's variables, then the backward layer's ('forward/kernel', ...)
        (fcls, fcfg), (bcls, bcfg) = bidirectional_parts(c)
        return [('forward/' + n, t) for n, t in own_weight_slots(fcls, fcfg)] + \
            [('backward/' + n, t) for n, t in own_weight_slots(bcls, bcfg)]
    if cls == 'Normalization':
        return [] if c.get('mean') is not None else [
            ('mean', False), ('variance', False), ('count', False)]
    return []


def _layer_name(lc):
    return lc.get('name') or lc['config']['name']


def _sublayers(lc):
    layers = lc['config']['layers']
    if lc['class_name'] == 'Sequential':
        layers = [l for l in layers if l['class_name'] != 'InputLayer']
    return layers


def _trainable(lc):
    return lc['config'].get('trainable', True)


def trainable_slots(lc, path):
    """Keras Layer.trainable_weights, as (layer path, short name) pairs."""
    if not _trainable(lc):
        return []
    if lc['class_name'] in MODEL_CLASSES:
        return [w for sub in _sublayers(lc)
                for w in trainable_slots(sub, path + '/' + _layer_name(sub))]
    return [(path, n) for n, t in own_weight_slots(lc['class_name'], lc['config']) if t]


def non_trainable_slots(lc, path):
    """Keras Layer.non_trainable_weights: a frozen layer lists all its variables here."""
    if lc['class_name'] in MODEL_CLASSES:
        out = []
        for sub in _sublayers(lc):
            p = path + '/' + _layer_name(sub)
            out += non_trainable_slots(sub, p) if _trainable(lc) else \
                trainable_slots(sub, p) + non_trainable_slots(sub, p)
        return out
    own = own_weight_slots(lc['class_name'], lc['config'])
    if _trainable(lc):
        return [(path, n) for n, t in own if not t]
    return [(path, n) for n, _ in own]


def legacy_slots(lc, path):
    """The order in which a layer's (or nested model's) weights sit in its .h5 group."""
    return trainable_slots(lc, path) + non_trainable_slots(lc, path)


def _attr_list(group, name):
    def s(v):
        return v.decode('utf8') if isinstance(v, (bytes, np.bytes_)) else str(v)
    if name in group.attrs:
        return [s(v) for v in group.attrs[name]]
    out, i = [], 0
    while '%s%d' % (name, i) in group.attrs:       # Keras splits long lists into name0, name1..
        out += [s(v) for v in group.attrs['%s%d' % (name, i)]]
        i += 1
    return out


def _slot_matches(wname, short):
    """A stored weight name fits a slot: 'd/dense/kernel:0' for 'kernel'; a Bidirectional
    slot 'forward/kernel' wants 'bidirectional/forward_lstm/lstm_cell_1/kernel:0'."""
    direction, _, var = short.rpartition('/')
    if not (wname.endswith('/' + var + ':0') or wname == var + ':0'):
        return False
    return not direction or ('/' + direction + '_') in ('/' + wname)


def load_h5(path):
    """Returns (model_config, {layer path: {short name: float64 array}})."""
    import h5py
    with h5py.File(path, 'r') as f:
        raw = f.attrs['model_config']
        cfg = json.loads(raw.decode('utf8') if isinstance(raw, bytes) else raw)
        mw = f['model_weights'] if 'model_weights' in f else f
        top = _sublayers(cfg)
        weighted = [l for l in top if legacy_slots(l, _layer_name(l))]
        groups = [n for n in _attr_list(mw, 'layer_names') if _attr_list(mw[n], 'weight_names')]
        if len(weighted) != len(groups):
            raise ValueError('%s: %d weighted layers, %d weight groups'
                             % (path, len(weighted), len(groups)))
        weights = {}
        for lc, gname in zip(weighted, groups):
            names = _attr_list(mw[gname], 'weight_names')
            slots = legacy_slots(lc, _layer_name(lc))
            if len(names) != len(slots):
                raise ValueError('%s: layer %s has %d weights, group %s has %d'
                                 % (path, _layer_name(lc), len(slots), gname, len(names)))
            for (lpath, short), wname in zip(slots, names):
                # our files name each weight after its variable: check it (Keras itself only
                # warns on a mismatch and assigns positionally)
                if not _slot_matches(wname, short):
                    raise ValueError('%s: weight %s does not match slot %s/%s'
                                     % (path, wname, lpath, short))
                weights.setdefault(lpath, {})[short] = np.asarray(mw[gname][wname], np.float64)
    return cfg, weights


# ---------------------------------------------------------------------------- graph
class Runner:
    """Evaluates a model config; self.outputs[path] holds every layer's output."""

    def __init__(self, cfg, weights):
        self.cfg, self.weights = cfg, weights
        self.outputs = {}

    def _record(self, path, y):
        self.outputs.setdefault(path, y)

    def call_layer(self, lc, xs, path):
        if lc['class_name'] in MODEL_CLASSES:
            outs = self.run_model(lc, xs, path + '/')
            return outs[0] if len(outs) == 1 else outs
        return apply_layer(lc['class_name'], lc['config'], self.weights.get(path, {}), xs)

    def run_model(self, mc, inputs, prefix):
        c = mc['config']
        if mc['class_name'] == 'Sequential':
            x = inputs[0]
            for lc in _sublayers(mc):
                p = prefix + _layer_name(lc)
                x = self.call_layer(lc, [x], p)
                self._record(p, x)
            return [x]
        by_name = {lc['name']: lc for lc in c['layers']}
        done = {}
        for (name, node, _), x in zip(c['input_layers'], inputs):
            done[(name, node)] = x
            self._record(prefix + name, x)

        def first_node(lc):
            # a nested model's node 0 is its own graph; its calls in this graph start at 1
            if lc['class_name'] not in MODEL_CLASSES:
                return 0
            subs = lc['config'].get('layers', [])
            return int(bool(subs) and subs[0]['class_name'] == 'InputLayer')

        def value(name, node, tensor):
            if (name, node) not in done:
                lc = by_name[name]
                inbound = lc['inbound_nodes'][node - first_node(lc)]
                args = [value(t[0], t[1], t[2]) for t in inbound]
                y = self.call_layer(lc, args, prefix + name)
                done[(name, node)] = y
                self._record(prefix + name, y)
            y = done[(name, node)]
            return y[tensor] if isinstance(y, list) else y

        return [value(*o) for o in c['output_layers']]

    def run(self, x):
        return self.run_model(self.cfg, [np.asarray(x, np.float64)], '')


def run_file(model_path, x):
    cfg, w = load_h5(model_path)
    r = Runner(cfg, w)
    outs = r.run(x)
    return r.outputs, outs


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model')
    ap.add_argument('input')
    ap.add_argument('--outdir', required=True)
    ap.add_argument('--float32', action='store_true', help='store float32 (default float64)')
    a = ap.parse_args()
    layers, outs = run_file(a.model, np.load(a.input))
    dt = np.float32 if a.float32 else np.float64
    manifest = {'oracle': 'numpy_ref float64', 'model': a.model, 'input': a.input, 'layers': {}}
    items = list(layers.items()) + [('__output__%d' % i, o) for i, o in enumerate(outs)]
    for p, y in items:
        fn = os.path.join(a.outdir, p + '.npy')
        os.makedirs(os.path.dirname(fn), exist_ok=True)
        np.save(fn, y.astype(dt))
        manifest['layers'][p] = list(y.shape)
    with open(os.path.join(a.outdir, 'manifest.json'), 'w') as fh:
        json.dump(manifest, fh, indent=1)
    print('wrote %d arrays to %s' % (len(items), a.outdir), file=sys.stderr)


if __name__ == '__main__':
    main()
