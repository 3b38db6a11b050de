#!/usr/bin/python3
"""make_numeric.py - small Keras models and their per-layer reference activations, for
tlreport's forward-pass tests.

Writes, for each model M:
  tests/fixtures/numeric/M.h5          tf.keras 2.9 `model.save('M.h5')` layout (h5py 3
                                       strings), random but deterministic weights
  tests/fixtures/numeric/M_input.npy   the input, (1, H, W, C) float32 (conv1d: (1, L, C))
  tests/ref/numeric/M/<layer path>.npy every layer's output, float32, Keras layout
  tests/ref/numeric/M/manifest.json    layer path -> shape, and which oracle made them

References come from the PyTorch oracle (../shared/oracle/oracle_torch.py, float64) for the
models it supports, and from tests/gen/numpy_ref.py (float64 NumPy, our own) for the layers
it does not support (extra_layers, conv1d).  numpy_ref is checked against the torch oracle
on every layer of the torch models (max relative error <= 1e-6 asserted), and optionally
against tfjs / ONNX Runtime (--second-oracle).

Weights are drawn uniformly and then scaled on the actual input so that each layer's
pre-activation has a standard deviation near 1 (BatchNormalization statistics are taken
from the data, lightly perturbed): activations neither vanish nor explode, so a relative
tolerance stays meaningful in every layer.

Usage (from the repository root; needs python3-numpy, python3-h5py, python3-torch):
  /usr/bin/python3 tests/gen/make_numeric.py [--oracle /tmp/oracle] [--second-oracle]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy_ref as R  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FIX = os.path.join(ROOT, 'tests', 'fixtures', 'numeric')
REF = os.path.join(ROOT, 'tests', 'ref', 'numeric')
PY = '/usr/bin/python3'
KERAS_VERSION = '2.9.0'
MAX_FILE = 100 * 1024


# ============================================================================ graph builder
def keras_snake(cls):
    """Keras' default layer name for a class: 'Conv2DTranspose' -> 'conv2d_transpose'."""
    s = re.sub(r'(.)([A-Z][a-z0-9]+)', r'\1_\2', cls)
    return re.sub(r'([a-z])([A-Z])', r'\1_\2', s).lower()


class Ctx:
    """One 'Python session': unique layer names and the random stream."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.seen = {}

    def name(self, base, zero_based=True):
        n = self.seen.get(base, 0)
        self.seen[base] = n + 1
        if zero_based:
            return base if n == 0 else '%s_%d' % (base, n)
        return '%s_%d' % (base, n + 1)


class KT:
    """A symbolic tensor: output `index` of node `node` of `layer`, plus its value on the
    model's input (used to size and scale the weights)."""

    def __init__(self, layer, node, index, value):
        self.layer, self.node, self.index, self.value = layer, node, index, value


def init(cls, **cfg):
    return {'class_name': cls, 'config': cfg}


def glorot():
    return init('GlorotUniform', seed=None)


class Layer:
    def __init__(self, ctx, cls, cfg, name=None, trainable=True, input_shape=None):
        self.ctx, self.cls, self.cfg = ctx, cls, cfg
        self.name = name or ctx.name(keras_snake(cls))
        self.trainable = trainable
        self.batch_input_shape = None if input_shape is None else [None] + list(input_shape)
        self.vars = []            # [short name, float32 array, trainable variable?]
        self.nodes = []           # list of input KT lists
        self.built = False

    def config(self):
        c = {'name': self.name, 'trainable': self.trainable}
        if self.batch_input_shape is not None:
            c['batch_input_shape'] = self.batch_input_shape
        c['dtype'] = 'float32'
        c.update(self.cfg)
        return c

    def weights(self):
        return {n: a.astype(np.float64) for n, a, _ in self.vars}

    def compute(self, xs):
        return R.apply_layer(self.cls, self.config(), self.weights(), xs)

    def __call__(self, x):
        xs = x if isinstance(x, list) else [x]
        vals = [t.value for t in xs]
        if not self.built:
            make_weights(self, vals)
            self.built = True
        self.nodes.append(xs)
        return KT(self, len(self.nodes) - 1, 0, self.compute(vals))

    def set_trainable(self, v):
        self.trainable = v


class InputLayer(Layer):
    def __init__(self, ctx, shape, value, name=None):
        super().__init__(ctx, 'InputLayer', {}, name or ctx.name('input', zero_based=False))
        self.batch_input_shape = [None] + list(shape)
        self.nodes = [[]]
        self.built = True

    def config(self):
        return {'batch_input_shape': self.batch_input_shape, 'dtype': 'float32',
                'sparse': False, 'ragged': False, 'name': self.name}


def Input(ctx, value, name=None):
    """value: the model input with its batch dim, (1, ...)."""
    il = InputLayer(ctx, value.shape[1:], value, name)
    return KT(il, 0, 0, value)


def make_weights(layer, xs):
    """Creates a layer's variables (Keras names and shapes), scaled on the data."""
    cls, c, rng = layer.cls, layer.cfg, layer.ctx.rng
    x = xs[0]
    slots = R.own_weight_slots(cls, c)
    if not slots:
        return
    cf = c.get('data_format', 'channels_last') == 'channels_first'
    cin = x.shape[1] if cf else x.shape[-1]
    u = lambda lo, hi, shape: rng.uniform(lo, hi, size=shape)   # noqa: E731
    w = {}
    if cls in ('Conv1D', 'Conv2D'):
        k = c['kernel_size']
        w['kernel'] = u(-1, 1, tuple(k) + (cin // c.get('groups', 1), c['filters']))
        nout = c['filters']
    elif cls == 'Conv2DTranspose':
        w['kernel'] = u(-1, 1, tuple(c['kernel_size']) + (c['filters'], cin))
        nout = c['filters']
    elif cls == 'Dense':
        w['kernel'] = u(-1, 1, (x.shape[-1], c['units']))
        nout = c['units']
    elif cls == 'DepthwiseConv2D':
        w['depthwise_kernel'] = u(-1, 1, tuple(c['kernel_size']) + (cin, c['depth_multiplier']))
        nout = cin * c['depth_multiplier']
    elif cls == 'SeparableConv2D':
        dm = c['depth_multiplier']
        w['depthwise_kernel'] = u(-1, 1, tuple(c['kernel_size']) + (cin, dm))
        w['pointwise_kernel'] = u(-1, 1, (1, 1, cin * dm, c['filters']))
        nout = c['filters']
    if cls in ('Conv1D', 'Conv2D', 'Conv2DTranspose', 'Dense', 'DepthwiseConv2D',
               'SeparableConv2D'):
        # scale the (last) kernel so the linear part has std ~1 on this input
        lin = dict(layer.config(), activation='linear', use_bias=False)
        y = R.apply_layer(cls, lin, w, xs)
        key = 'pointwise_kernel' if cls == 'SeparableConv2D' else (
            'depthwise_kernel' if cls == 'DepthwiseConv2D' else 'kernel')
        w[key] = w[key] / max(float(y.std()), 1e-3)
        if c.get('use_bias', True):
            w['bias'] = u(-0.2, 0.2, (nout,))
    elif cls in ('BatchNormalization', 'Normalization'):
        ax = c['axis']
        ax = R._axis(x, ax[0] if isinstance(ax, list) else ax)
        red = tuple(d for d in range(x.ndim) if d != ax)
        m, v = x.mean(axis=red), x.var(axis=red)
        v = np.where(v > 1e-6, v, 1.0)
        w['gamma'] = u(0.6, 1.4, m.shape)
        w['beta'] = u(-0.2, 0.2, m.shape)
        w['moving_mean'] = w['mean'] = m + 0.1 * np.sqrt(v) * u(-1, 1, m.shape)
        w['moving_variance'] = w['variance'] = v * u(0.8, 1.25, m.shape)
        w['count'] = np.array(4096, np.int64)
    elif cls == 'PReLU':
        shape = list(x.shape[1:])
        for a in c.get('shared_axes') or []:
            shape[a - 1] = 1
        w['alpha'] = u(0.05, 0.5, tuple(shape))
    layer.vars = [[n, np.asarray(w[n], np.int64 if n == 'count' else np.float32), t]
                  for n, t in slots]


# ---------------------------------------------------------------------------- layer makers
def _t(v, n=2):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


CONV_TAIL = {'kernel_regularizer': None, 'bias_regularizer': None,
             'activity_regularizer': None, 'kernel_constraint': None, 'bias_constraint': None}


def conv_cfg(filters, k, strides, padding, data_format, dilation, groups, act, use_bias, n=2):
    c = {'filters': filters, 'kernel_size': _t(k, n), 'strides': _t(strides, n),
         'padding': padding, 'data_format': data_format, 'dilation_rate': _t(dilation, n),
         'groups': groups, 'activation': act, 'use_bias': use_bias,
         'kernel_initializer': glorot(), 'bias_initializer': init('Zeros')}
    c.update(CONV_TAIL)
    return c


def Conv2D(ctx, filters, k, strides=1, padding='valid', activation='linear', dilation=1,
           groups=1, use_bias=True, data_format='channels_last', **kw):
    return Layer(ctx, 'Conv2D', conv_cfg(filters, k, strides, padding, data_format, dilation,
                                         groups, activation, use_bias), **kw)


def Conv1D(ctx, filters, k, strides=1, padding='valid', activation='linear', dilation=1, **kw):
    return Layer(ctx, 'Conv1D', conv_cfg(filters, k, strides, padding, 'channels_last',
                                         dilation, 1, activation, True, n=1), **kw)


def Conv2DTranspose(ctx, filters, k, strides=1, padding='valid', output_padding=None,
                    activation='linear', **kw):
    c = conv_cfg(filters, k, strides, padding, 'channels_last', 1, 1, activation, True)
    c['output_padding'] = None if output_padding is None else _t(output_padding)
    return Layer(ctx, 'Conv2DTranspose', c, **kw)


def DepthwiseConv2D(ctx, k, strides=1, padding='valid', depth_multiplier=1,
                    activation='linear', use_bias=True, **kw):
    c = conv_cfg(None, k, strides, padding, 'channels_last', 1, 1, activation, use_bias)
    for key in ('filters', 'kernel_initializer', 'kernel_regularizer', 'kernel_constraint'):
        del c[key]
    c.update({'depth_multiplier': depth_multiplier, 'depthwise_initializer': glorot(),
              'depthwise_regularizer': None, 'depthwise_constraint': None})
    return Layer(ctx, 'DepthwiseConv2D', c, **kw)


def SeparableConv2D(ctx, filters, k, padding='valid', depth_multiplier=1, activation='linear',
                    **kw):
    c = conv_cfg(filters, k, 1, padding, 'channels_last', 1, 1, activation, True)
    c.update({'depth_multiplier': depth_multiplier, 'depthwise_initializer': glorot(),
              'pointwise_initializer': glorot(), 'depthwise_regularizer': None,
              'pointwise_regularizer': None, 'depthwise_constraint': None,
              'pointwise_constraint': None})
    return Layer(ctx, 'SeparableConv2D', c, **kw)


def Dense(ctx, units, activation='linear', use_bias=True, **kw):
    c = {'units': units, 'activation': activation, 'use_bias': use_bias,
         'kernel_initializer': glorot(), 'bias_initializer': init('Zeros')}
    c.update(CONV_TAIL)
    return Layer(ctx, 'Dense', c, **kw)


def Pool(ctx, cls, pool=2, strides=None, padding='valid', **kw):
    n = 1 if cls.endswith('1D') else 2
    return Layer(ctx, cls, {'pool_size': _t(pool, n),
                            'padding': padding,
                            'strides': _t(strides if strides is not None else pool, n),
                            'data_format': 'channels_last'}, **kw)


def GlobalPool(ctx, cls, keepdims=False, **kw):
    return Layer(ctx, cls, {'data_format': 'channels_last', 'keepdims': keepdims}, **kw)


def BatchNorm(ctx, epsilon=1e-3, momentum=0.99, center=True, scale=True, **kw):
    c = {'axis': [3], 'momentum': momentum, 'epsilon': epsilon, 'center': center,
         'scale': scale, 'beta_initializer': init('Zeros'), 'gamma_initializer': init('Ones'),
         'moving_mean_initializer': init('Zeros'), 'moving_variance_initializer': init('Ones'),
         'beta_regularizer': None, 'gamma_regularizer': None, 'beta_constraint': None,
         'gamma_constraint': None}
    return Layer(ctx, 'BatchNormalization', c, **kw)


def ReLU(ctx, max_value=None, negative_slope=0.0, threshold=0.0, **kw):
    return Layer(ctx, 'ReLU', {'max_value': max_value, 'negative_slope': negative_slope,
                               'threshold': threshold}, **kw)


def Simple(ctx, cls, **cfg):
    """Layers whose config is just their own keys (names from Keras get_config)."""
    kw = {k: cfg.pop(k) for k in ('name', 'trainable', 'input_shape') if k in cfg}
    return Layer(ctx, cls, cfg, **kw)


# ---------------------------------------------------------------------------- models
class Model(Layer):
    """keras.Model(inputs, outputs) (class_name 'Functional'); callable as a layer."""

    def __init__(self, ctx, inputs, outputs, name=None):
        super().__init__(ctx, 'Functional', {}, name or ctx.name('model'))
        self.inputs = inputs if isinstance(inputs, list) else [inputs]
        self.outputs = outputs if isinstance(outputs, list) else [outputs]
        self.layers, self.network_nodes = self._order_layers()
        self.nodes = [list(self.inputs)]         # node 0: the model's own graph
        self.built = True

    def _order_layers(self):
        """Keras Functional layer order: by depth from the outputs (deepest, i.e. the
        inputs, first); ties in order of first visit of a depth-first walk from the
        outputs (keras.engine.functional._map_graph_network)."""
        finished, post, first_seen = set(), [], {}

        def walk(layer, node):
            if (layer, node) in finished:
                return
            first_seen.setdefault(layer, len(first_seen))
            for src in layer.nodes[node]:
                walk(src.layer, src.node)
            finished.add((layer, node))
            post.append((layer, node))

        for t in self.outputs:
            walk(t.layer, t.node)
        node_depth, layer_depth = {}, {}
        for layer, node in reversed(post):
            d = max(node_depth.setdefault((layer, node), 0), layer_depth.get(layer, 0))
            layer_depth[layer] = node_depth[(layer, node)] = d
            for src in layer.nodes[node]:
                key = (src.layer, src.node)
                node_depth[key] = max(d + 1, node_depth.get(key, 0))
        order = sorted(layer_depth, key=lambda l: (-layer_depth[l], first_seen[l]))
        return order, set(post)

    def set_trainable(self, v):
        self.trainable = v
        for l in self.layers:
            l.set_trainable(v)

    @staticmethod
    def _skips_first_node(layer):
        return isinstance(layer, Model)

    def _node_id(self, layer, node):
        """Index of a node in the saved config: only nodes of this graph are counted, and a
        nested model's own node 0 is skipped (so its first call is 1)."""
        kept = 1 if self._skips_first_node(layer) else 0
        for i in range(len(layer.nodes)):
            if (layer, i) in self.network_nodes:
                if i == node:
                    return kept
                kept += 1
        raise ValueError('node not in graph')

    def config(self):
        layers = []
        for l in self.layers:
            inbound = []
            if not isinstance(l, InputLayer):
                for i, srcs in enumerate(l.nodes):
                    if (l, i) in self.network_nodes:
                        inbound.append([[s.layer.name, self._node_id(s.layer, s.node),
                                         s.index, {}] for s in srcs])
            layers.append({'class_name': l.cls, 'config': l.config(), 'name': l.name,
                           'inbound_nodes': inbound})
        return {'name': self.name, 'layers': layers,
                'input_layers': [[t.layer.name, self._node_id(t.layer, t.node), t.index]
                                 for t in self.inputs],
                'output_layers': [[t.layer.name, self._node_id(t.layer, t.node), t.index]
                                  for t in self.outputs]}

    def layer_config(self):
        return {'class_name': self.cls, 'config': self.config()}

    def weights_by_path(self, prefix=''):
        out = {}
        for l in self.layers:
            if isinstance(l, Model):
                out.update(l.weights_by_path(prefix + l.name + '/'))
            elif l.vars:
                out[prefix + l.name] = l.weights()
        return out

    def run(self, xs):
        r = R.Runner(self.layer_config(), self.weights_by_path())
        outs = r.run_model(self.layer_config(), xs, '')
        return outs[0] if len(outs) == 1 else outs

    def __call__(self, x):
        xs = x if isinstance(x, list) else [x]
        self.nodes.append(xs)
        return KT(self, len(self.nodes) - 1, 0, self.run([t.value for t in xs]))

    # Keras Layer.trainable_weights / non_trainable_weights, flattened to (var name, array)
    def trainable_vars(self):
        return [v for l in self.layers for v in layer_trainable(l)] if self.trainable else []

    def non_trainable_vars(self):
        out = []
        for l in self.layers:
            out += layer_non_trainable(l) if self.trainable else \
                layer_trainable(l) + layer_non_trainable(l)
        return out


def layer_trainable(l):
    if isinstance(l, Model):
        return l.trainable_vars()
    return [(l.name + '/' + n + ':0', a) for n, a, t in l.vars if t and l.trainable]


def layer_non_trainable(l):
    if isinstance(l, Model):
        return l.non_trainable_vars()
    return [(l.name + '/' + n + ':0', a) for n, a, t in l.vars if not (t and l.trainable)]


class Sequential(Model):
    def __init__(self, ctx, layers, value=None, name=None):
        """value: the input (needed when the first layer is a plain layer with
        input_shape; a nested model brings its own)."""
        Layer.__init__(self, ctx, 'Sequential', {}, name or ctx.name('sequential'))
        first = layers[0]
        # Sequential.add names the implicit input '<first layer>_input'
        if isinstance(first, Model):
            value = first.inputs[0].value
        x = Input(ctx, value, name=first.name + '_input')
        self.input_layer = x.layer
        self.inputs = [x]
        for l in layers:
            x = l(x)
        self.outputs = [x]
        self.seq = layers
        self.layers = list(layers)
        self.nodes = [list(self.inputs)]
        self.built = True

    def config(self):
        return {'name': self.name,
                'layers': [{'class_name': 'InputLayer', 'config': self.input_layer.config()}] +
                          [{'class_name': l.cls, 'config': l.config()} for l in self.seq]}

    def run(self, xs):
        r = R.Runner(self.layer_config(), self.weights_by_path())
        return r.run_model(self.layer_config(), xs, '')[0]


# ============================================================================ saving
def _attr_names(group, name, names):
    # h5py 3 stores a list of bytes as a variable-length string array; an empty list
    # becomes an empty float64 array, exactly as Keras' save_attributes_to_hdf5_group
    group.attrs[name] = [n.encode('utf8') for n in names]


def _save_weights(group, named):
    _attr_names(group, 'weight_names', [n for n, _ in named])
    for n, a in named:
        d = group.create_dataset(n, a.shape, dtype=a.dtype)
        if a.shape:
            d[:] = a
        else:
            d[()] = a


def save_h5(model, path, training_config=None, optimizer=None):
    with h5py.File(path, 'w') as f:
        f.attrs['keras_version'] = KERAS_VERSION
        f.attrs['backend'] = 'tensorflow'
        f.attrs['model_config'] = json.dumps(model.layer_config()).encode('utf8')
        if training_config is not None:
            f.attrs['training_config'] = json.dumps(training_config).encode('utf8')
        mw = f.create_group('model_weights')
        _attr_names(mw, 'layer_names', [l.name for l in model.layers])
        mw.attrs['backend'] = b'tensorflow'
        mw.attrs['keras_version'] = KERAS_VERSION.encode('utf8')
        for l in sorted(model.layers, key=lambda l: l.name):
            _save_weights(mw.create_group(l.name), layer_trainable(l) + layer_non_trainable(l))
        _save_weights(mw.create_group('top_level_model_weights'), [])
        if optimizer == 'rmsprop':
            og = f.create_group('optimizer_weights')
            rng = np.random.default_rng(11)
            ws = [('RMSprop/iter:0', np.array(250, np.int64))]
            ws += [('RMSprop/%s/rms:0' % n[:-2], rng.uniform(0, 1e-4, a.shape).astype(np.float32))
                   for n, a in model.trainable_vars()]
            _save_weights(og, ws)


RMSPROP_BCE = {
    'loss': 'binary_crossentropy',
    'metrics': [[{'class_name': 'MeanMetricWrapper',
                  'config': {'name': 'acc', 'dtype': 'float32', 'fn': 'binary_accuracy'}}]],
    'weighted_metrics': None, 'loss_weights': None,
    'optimizer_config': {'class_name': 'RMSprop', 'config': {
        'name': 'RMSprop', 'learning_rate': float(np.float32(2e-5)), 'decay': 0.0,
        'rho': float(np.float32(0.9)), 'momentum': 0.0, 'epsilon': 1e-07, 'centered': False}}}


# ============================================================================ inputs
def image(h, w, c, seed, scale=1.0):
    """A smooth, image-like pattern plus noise, quantised to 8 bits and divided by 255 (as
    ImageDataGenerator(rescale=1/255) does); scale=255 keeps raw 0..255 values."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing='ij')
    chans = [0.5 + 0.3 * np.sin(2 * np.pi * ((k + 1) * xx + 0.7 * yy) + 1.3 * k)
             + 0.15 * (yy - xx) * (-1) ** k + 0.06 * rng.standard_normal((h, w))
             for k in range(c)]
    q = np.clip(np.round(np.stack(chans, -1) * 255), 0, 255)
    v = q if scale == 255 else q / 255.0
    return v[None].astype(np.float32).astype(np.float64)


def signal(n, c, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    v = np.sin(t * (0.3 + 0.2 * np.arange(c)) + np.arange(c)) + 0.2 * rng.standard_normal((n, c))
    return v[None].astype(np.float32).astype(np.float64)


# ============================================================================ the models
def build_mini_vgg(ctx):
    """The course model in miniature: Sequential[frozen nested Functional 'vgg_mini'
    (two blocks of 3x3 'same' ReLU convs + 2x2 max pooling), Conv2D valid ReLU,
    MaxPooling2D, Flatten (2x2x16), Dense ReLU, Dense sigmoid]; RMSprop-compiled."""
    x0 = image(24, 24, 3, seed=1)
    inp = Input(ctx, x0)
    x = inp
    for b, (n, f) in enumerate([(2, 8), (2, 16)], start=1):
        for i in range(1, n + 1):
            x = Conv2D(ctx, f, 3, padding='same', activation='relu',
                       name='block%d_conv%d' % (b, i))(x)
        x = Pool(ctx, 'MaxPooling2D', 2, name='block%d_pool' % b)(x)
    base = Model(ctx, inp, x, name='vgg_mini')
    base.set_trainable(False)
    m = Sequential(ctx, [base,
                         Conv2D(ctx, 16, 3, activation='relu'),        # 6x6 -> 4x4
                         Pool(ctx, 'MaxPooling2D', 2),                 # -> 2x2
                         Simple(ctx, 'Flatten', data_format='channels_last'),
                         Dense(ctx, 16, activation='relu'),
                         Dense(ctx, 1, activation='sigmoid')])
    return m, x0, dict(training_config=RMSPROP_BCE, optimizer='rmsprop')


def build_branches(ctx):
    """Branches and every padding rule: stride-2 'same' conv on an even size (pads 0/1),
    BN, DepthwiseConv2D(dm=2) || SeparableConv2D -> Add, 2x2 'same' conv (even kernel),
    asymmetric ZeroPadding2D + valid 4x4 conv, Concatenate, AveragePooling2D 3/2 'same',
    linear 1x1 conv -> MaxPooling2D 3/2 'same' on negative values, dilated conv, BN,
    ReLU(6), GAP, Dense, Dropout, Dense softmax."""
    x0 = image(24, 24, 3, seed=2)
    inp = Input(ctx, x0)
    c1 = Conv2D(ctx, 8, 3, strides=2, padding='same', activation='relu')(inp)  # 24->12
    b1 = BatchNorm(ctx)(c1)
    a = DepthwiseConv2D(ctx, 3, padding='same', depth_multiplier=2, activation='relu')(b1)
    b = SeparableConv2D(ctx, 16, 3, padding='same')(b1)
    s = Simple(ctx, 'Add')([a, b])
    c = Conv2D(ctx, 4, 2, padding='same')(b1)
    d = Simple(ctx, 'ZeroPadding2D', padding=[[1, 2], [2, 1]], data_format='channels_last')(b1)
    d = Conv2D(ctx, 4, 4, activation='relu')(d)                               # 15x15 -> 12
    cat = Simple(ctx, 'Concatenate', axis=-1)([s, c, d])
    p = Pool(ctx, 'AveragePooling2D', 3, 2, 'same')(cat)                      # 12 -> 6
    e = Conv2D(ctx, 12, 1)(p)
    m = Pool(ctx, 'MaxPooling2D', 3, 2, 'same')(e)                            # 6 -> 3
    f = Conv2D(ctx, 12, 3, padding='same', dilation=2, activation='relu')(m)
    bn = BatchNorm(ctx)(f)
    r = ReLU(ctx, max_value=6.0)(bn)
    g = GlobalPool(ctx, 'GlobalAveragePooling2D')(r)
    h = Dense(ctx, 8, activation='relu')(g)
    h = Simple(ctx, 'Dropout', rate=0.5, noise_shape=None, seed=None)(h)
    out = Dense(ctx, 4, activation='softmax')(h)
    return Model(ctx, inp, out), x0, {}


def _ir_block(ctx, x, cin, expansion, cout, stride, bid):
    """A MobileNetV2 inverted residual block (keras.applications naming)."""
    pre = 'block_%d_' % bid
    h = x
    if expansion != 1:
        h = Conv2D(ctx, cin * expansion, 1, padding='same', use_bias=False, name=pre + 'expand')(h)
        h = BatchNorm(ctx, epsilon=1e-3, momentum=0.999, name=pre + 'expand_BN')(h)
        h = ReLU(ctx, 6.0, name=pre + 'expand_relu')(h)
    if stride == 2:
        h = Simple(ctx, 'ZeroPadding2D', padding=[[0, 1], [0, 1]], data_format='channels_last',
                   name=pre + 'pad')(h)
    h = DepthwiseConv2D(ctx, 3, strides=stride, use_bias=False,
                        padding='same' if stride == 1 else 'valid', name=pre + 'depthwise')(h)
    h = BatchNorm(ctx, epsilon=1e-3, momentum=0.999, name=pre + 'depthwise_BN')(h)
    h = ReLU(ctx, 6.0, name=pre + 'depthwise_relu')(h)
    h = Conv2D(ctx, cout, 1, padding='same', use_bias=False, name=pre + 'project')(h)
    h = BatchNorm(ctx, epsilon=1e-3, momentum=0.999, name=pre + 'project_BN')(h)
    if cin == cout and stride == 1:
        h = Simple(ctx, 'Add', name=pre + 'add')([x, h])
    return h


def build_mnv2_mini(ctx):
    """Sequential[nested trainable Functional 'mnv2_mini' (MobileNetV2-style), GAP, Dropout,
    Dense softmax]: its single weight group lists all trainable weights, then all moving
    statistics."""
    x0 = image(24, 24, 3, seed=3)
    inp = Input(ctx, x0)
    x = Conv2D(ctx, 8, 3, strides=2, padding='same', use_bias=False, name='Conv1')(inp)
    x = BatchNorm(ctx, epsilon=1e-3, momentum=0.999, name='bn_Conv1')(x)
    x = ReLU(ctx, 6.0, name='Conv1_relu')(x)
    x = _ir_block(ctx, x, 8, 1, 8, 1, 0)
    x = _ir_block(ctx, x, 8, 4, 12, 2, 1)
    x = _ir_block(ctx, x, 12, 4, 12, 1, 2)
    x = Conv2D(ctx, 24, 1, use_bias=False, name='Conv_1')(x)
    x = BatchNorm(ctx, epsilon=1e-3, momentum=0.999, name='Conv_1_bn')(x)
    x = ReLU(ctx, 6.0, name='out_relu')(x)
    base = Model(ctx, inp, x, name='mnv2_mini')
    m = Sequential(ctx, [base, GlobalPool(ctx, 'GlobalAveragePooling2D'),
                         Simple(ctx, 'Dropout', rate=0.2, noise_shape=None, seed=None),
                         Dense(ctx, 5, activation='softmax')])
    return m, x0, {}


def build_seqflat(ctx):
    """Sequential with input_shape on the first layer: Flatten of a 4x4x8 map (NHWC order
    matters), stride-2 'same' tanh conv on an odd size, even-kernel 'same' conv."""
    x0 = image(15, 15, 3, seed=4)
    m = Sequential(ctx, [
        Conv2D(ctx, 6, 3, activation='relu', input_shape=(15, 15, 3)),      # -> 13
        Pool(ctx, 'MaxPooling2D', 2, padding='same'),                       # -> 7, pad (0,1)
        Conv2D(ctx, 8, 4, padding='same', activation='relu'),               # pad (1,2)
        Conv2D(ctx, 8, 3, strides=2, padding='same', activation='tanh'),    # 7 -> 4
        Simple(ctx, 'Flatten', data_format='channels_last'),
        Dense(ctx, 16, activation='relu'),
        Dense(ctx, 5, activation='softmax')], x0)
    return m, x0, {}


def build_nested_functional(ctx):
    """A Functional calling a nested Functional 'feature_extractor' (referenced as node 1),
    whose first conv is frozen; Flatten of an 8x8x8 map."""
    x0 = image(16, 16, 3, seed=5)
    iin = Input(ctx, x0)
    y = Conv2D(ctx, 8, 3, padding='same', name='fe_conv1')(iin)
    y = BatchNorm(ctx, name='fe_bn1')(y)
    y = Simple(ctx, 'Activation', activation='relu', name='fe_relu1')(y)
    y = Pool(ctx, 'MaxPooling2D', 2, name='fe_pool1')(y)
    y = Conv2D(ctx, 8, 3, padding='same', activation='relu', name='fe_conv2')(y)
    fe = Model(ctx, iin, y, name='feature_extractor')
    fe.layers[1].set_trainable(False)
    inp = Input(ctx, x0)
    z = fe(inp)
    z = Conv2D(ctx, 8, 3, padding='same', activation='sigmoid')(z)
    z = Simple(ctx, 'Flatten', data_format='channels_last')(z)
    z = Dense(ctx, 3, activation='softmax')(z)
    return Model(ctx, inp, z), x0, {}


def build_merges_misc(ctx):
    """Every merge (Add, Subtract, Multiply, Average of 3, Maximum, Minimum, Concatenate on
    the H axis), LeakyReLU, ReLU with slope+threshold+max, Softmax layers (last and middle
    axis), BN without center, Dense on a 4-D map, GlobalMaxPooling2D, GAP keepdims."""
    x0 = image(8, 8, 4, seed=6)
    inp = Input(ctx, x0)
    a = Conv2D(ctx, 6, 3, padding='same')(inp)
    b = Conv2D(ctx, 6, 3, padding='same')(inp)
    c = Conv2D(ctx, 6, 1)(inp)
    sub = Simple(ctx, 'Subtract')([a, b])
    mul = Simple(ctx, 'Multiply')([a, b])
    avg = Simple(ctx, 'Average')([a, b, c])
    mx = Simple(ctx, 'Maximum')([a, c])
    mn = Simple(ctx, 'Minimum')([b, c])
    lk = Simple(ctx, 'LeakyReLU', alpha=0.2)(sub)
    rl = ReLU(ctx, max_value=1.5, negative_slope=0.1, threshold=0.25)(mul)
    s = Simple(ctx, 'Add')([lk, rl, avg])
    bn = BatchNorm(ctx, center=False)(s)
    cat = Simple(ctx, 'Concatenate', axis=1)([mx, mn])                      # (16, 8, 6)
    sm = Simple(ctx, 'Softmax', axis=-1)(cat)
    sm1 = Simple(ctx, 'Softmax', axis=1)(cat)
    d4 = Dense(ctx, 5, activation='tanh')(bn)                                # (8, 8, 5)
    gmp = GlobalPool(ctx, 'GlobalMaxPooling2D')(d4)
    gk = GlobalPool(ctx, 'GlobalAveragePooling2D', keepdims=True)(sm)        # (1, 1, 6)
    gk2 = GlobalPool(ctx, 'GlobalAveragePooling2D')(sm1)
    f = Simple(ctx, 'Flatten', data_format='channels_last')(gk)
    h = Simple(ctx, 'Concatenate', axis=-1)([gmp, f, gk2])
    out = Dense(ctx, 4, activation='softmax', use_bias=False)(h)
    return Model(ctx, inp, out), x0, {}


def build_extra_layers(ctx):
    """Layers the torch oracle does not support, checked by numpy_ref only: Rescaling,
    Normalization (adapted weights and config values), grouped Conv2D, ELU, PReLU (shared
    and full alpha), Conv2DTranspose ('same' and 'valid', output_padding), Cropping2D,
    Resizing (bilinear down, nearest to an odd size), UpSampling2D (nearest, bilinear),
    Permute, channels_first Conv2D, every Keras 2.9 activation by name, Reshape with -1,
    Dense on a 3-D tensor."""
    x0 = image(10, 10, 4, seed=7, scale=255)                                 # raw 0..255
    inp = Input(ctx, x0)
    r = Simple(ctx, 'Rescaling', scale=1 / 127.5, offset=-1.0)(inp)
    n = Simple(ctx, 'Normalization', axis=[-1], mean=None, variance=None)(r)
    n2 = Simple(ctx, 'Normalization', axis=[-1], mean=0.1, variance=0.5)(r)
    g = Conv2D(ctx, 8, 3, padding='same', groups=2)(n)                       # (10,10,8)
    e = Simple(ctx, 'ELU', alpha=0.7)(g)
    p = Simple(ctx, 'PReLU', alpha_initializer=init('Zeros'), alpha_regularizer=None,
               alpha_constraint=None, shared_axes=[1, 2])(g)
    t1 = Conv2DTranspose(ctx, 6, 3, strides=2, padding='same')(e)           # (20,20,6)
    t2 = Conv2DTranspose(ctx, 4, 3, strides=2, padding='valid')(p)          # (21,21,4)
    t3 = Conv2DTranspose(ctx, 2, 3, strides=2, padding='same', output_padding=1)(n2)  # 20
    # k=1, s=2, output_padding=1: the last row/column lies past the full output (bias only)
    t4 = Conv2DTranspose(ctx, 2, 1, strides=2, padding='valid', output_padding=1)(n2)
    cr = Simple(ctx, 'Cropping2D', cropping=[[1, 0], [0, 1]], data_format='channels_last')(t2)
    cat = Simple(ctx, 'Concatenate', axis=-1)([t1, cr, t3, t4])              # (20,20,14)
    rz = Simple(ctx, 'Resizing', height=8, width=8, interpolation='bilinear',
                crop_to_aspect_ratio=False)(cat)                             # (8,8,14)
    un = Simple(ctx, 'UpSampling2D', size=[2, 2], data_format='channels_last',
                interpolation='nearest')(rz)
    ub = Simple(ctx, 'UpSampling2D', size=[2, 3], data_format='channels_last',
                interpolation='bilinear')(rz)                                # (16,24,14)
    ub = Simple(ctx, 'Resizing', height=16, width=16, interpolation='bilinear',
                crop_to_aspect_ratio=False)(ub)
    s = Simple(ctx, 'Add')([un, ub])
    rn = Simple(ctx, 'Resizing', height=7, width=9, interpolation='nearest',
                crop_to_aspect_ratio=False)(s)                               # (7,9,14)
    pf = Simple(ctx, 'Permute', dims=[3, 1, 2])(rn)                          # (14,7,9)
    cf = Conv2D(ctx, 6, 3, padding='same', data_format='channels_first')(pf)  # (6,7,9)
    pl = Simple(ctx, 'Permute', dims=[2, 3, 1])(cf)                          # (7,9,6)
    acts = [Simple(ctx, 'Activation', activation=a)(pl)
            for a in ('selu', 'elu', 'softplus', 'softsign', 'swish', 'gelu', 'hard_sigmoid',
                      'exponential', 'tanh', 'sigmoid')]
    ac = Simple(ctx, 'Concatenate', axis=-1)(acts)                           # (7,9,60)
    c1 = Conv2D(ctx, 8, 1)(ac)                                               # (7,9,8)
    rs = Simple(ctx, 'Reshape', target_shape=[-1, 24])(c1)                   # (21,24)
    pr = Simple(ctx, 'PReLU', alpha_initializer=init('Zeros'), alpha_regularizer=None,
                alpha_constraint=None, shared_axes=None)(rs)
    tp = Simple(ctx, 'Permute', dims=[2, 1])(pr)                             # (24,21)
    d3 = Dense(ctx, 5, activation='relu')(tp)                                # (24,5)
    fl = Simple(ctx, 'Flatten', data_format='channels_last')(d3)
    out = Dense(ctx, 4, activation='softmax')(fl)
    return Model(ctx, inp, out), x0, {}


def build_conv1d(ctx):
    """1-D layers: Conv1D ('same', strided 'same' with an even kernel, causal dilated),
    MaxPooling1D ('valid', 'same'), AveragePooling1D 'same', GlobalAveragePooling1D."""
    x0 = signal(32, 3, seed=8)
    m = Sequential(ctx, [
        Conv1D(ctx, 8, 3, padding='same', activation='relu', input_shape=(32, 3)),  # 32
        Pool(ctx, 'MaxPooling1D', 2),                                               # 16
        Conv1D(ctx, 8, 4, strides=2, padding='same'),                               # 8
        Pool(ctx, 'MaxPooling1D', 3, 1, 'same'),                                    # 8
        Conv1D(ctx, 6, 3, padding='causal', dilation=2, activation='tanh'),         # 8
        Pool(ctx, 'AveragePooling1D', 3, 2, 'same'),                                # 4
        GlobalPool(ctx, 'GlobalAveragePooling1D'),
        Dense(ctx, 3, activation='softmax')], x0)
    return m, x0, {}


def build_torchcheck(ctx):
    """Not committed: layers that both numpy_ref and the torch oracle implement but the
    committed torch models do not exercise (activations by name, grouped conv), used only
    for the numpy_ref-vs-torch check."""
    x0 = image(9, 9, 4, seed=9)
    inp = Input(ctx, x0)
    g = Conv2D(ctx, 8, 3, padding='same', groups=2)(inp)
    acts = [Simple(ctx, 'Activation', activation=a)(g)
            for a in ('selu', 'elu', 'softplus', 'softsign', 'swish', 'gelu', 'hard_sigmoid',
                      'exponential', 'tanh', 'sigmoid', 'relu', 'linear')]
    c = Simple(ctx, 'Concatenate', axis=-1)(acts)
    out = Conv2D(ctx, 4, 3, strides=2, padding='same', groups=4, activation='softmax')(c)
    return Model(ctx, inp, out), x0, {}


def build_tfjs_extra(ctx):
    """Not committed: the extra_layers that tfjs-layers implements with Keras 2.9 semantics
    (it has no Normalization, grouped conv, 'exponential'; its resizes use other pixel
    centres), for a model-level second opinion on numpy_ref."""
    x0 = image(10, 10, 4, seed=17, scale=255)
    inp = Input(ctx, x0)
    r = Simple(ctx, 'Rescaling', scale=1 / 127.5, offset=-1.0)(inp)
    g = Conv2D(ctx, 8, 3, padding='same')(r)
    e = Simple(ctx, 'ELU', alpha=1.0)(g)                                 # tfjs: alpha 1 only
    p = Simple(ctx, 'PReLU', alpha_initializer=init('Zeros'), alpha_regularizer=None,
               alpha_constraint=None, shared_axes=[1, 2])(g)
    t1 = Conv2DTranspose(ctx, 6, 3, strides=2, padding='same')(e)
    t2 = Conv2DTranspose(ctx, 4, 3, strides=2, padding='valid')(p)
    cr = Simple(ctx, 'Cropping2D', cropping=[[1, 0], [0, 1]], data_format='channels_last')(t2)
    cat = Simple(ctx, 'Concatenate', axis=-1)([t1, cr])                      # (20,20,10)
    mp = Pool(ctx, 'MaxPooling2D', 3, 3)(cat)                                # (6,6,10)
    un = Simple(ctx, 'UpSampling2D', size=[2, 2], data_format='channels_last',
                interpolation='nearest')(mp)                                 # (12,12,10)
    pf = Simple(ctx, 'Permute', dims=[3, 1, 2])(un)
    cf = Conv2D(ctx, 6, 3, padding='same', data_format='channels_first')(pf)
    pl = Simple(ctx, 'Permute', dims=[2, 3, 1])(cf)
    acts = [Simple(ctx, 'Activation', activation=a)(pl)
            for a in ('selu', 'elu', 'softplus', 'softsign', 'swish', 'gelu', 'hard_sigmoid',
                      'tanh', 'sigmoid')]
    ac = Simple(ctx, 'Concatenate', axis=-1)(acts)
    c1 = Conv2D(ctx, 8, 1)(ac)
    rs = Simple(ctx, 'Reshape', target_shape=[48, 24])(c1)
    pr = Simple(ctx, 'PReLU', alpha_initializer=init('Zeros'), alpha_regularizer=None,
                alpha_constraint=None, shared_axes=None)(rs)
    tp = Simple(ctx, 'Permute', dims=[2, 1])(pr)
    d3 = Dense(ctx, 5, activation='relu')(tp)
    fl = Simple(ctx, 'Flatten', data_format='channels_last')(d3)
    out = Dense(ctx, 4, activation='softmax')(fl)
    return Model(ctx, inp, out), x0, {}


def build_tfjs_conv1d(ctx):
    """Not committed: conv1d without 'causal' padding (tfjs lacks it)."""
    x0 = signal(32, 3, seed=18)
    m = Sequential(ctx, [
        Conv1D(ctx, 8, 3, padding='same', activation='relu', input_shape=(32, 3)),
        Pool(ctx, 'MaxPooling1D', 2),
        Conv1D(ctx, 8, 4, strides=2, padding='same'),
        Pool(ctx, 'MaxPooling1D', 3, 1, 'same'),
        Conv1D(ctx, 6, 3, padding='valid', dilation=2, activation='tanh'),
        Pool(ctx, 'AveragePooling1D', 3, 2, 'same'),
        GlobalPool(ctx, 'GlobalAveragePooling1D'),
        Dense(ctx, 3, activation='softmax')], x0)
    return m, x0, {}


TORCH_MODELS = ['mini_vgg', 'branches', 'mnv2_mini', 'seqflat', 'nested_functional',
                'merges_misc']
NUMPY_MODELS = ['extra_layers', 'conv1d']
BUILDERS = {'mini_vgg': build_mini_vgg, 'branches': build_branches,
            'mnv2_mini': build_mnv2_mini, 'seqflat': build_seqflat,
            'nested_functional': build_nested_functional, 'merges_misc': build_merges_misc,
            'extra_layers': build_extra_layers, 'conv1d': build_conv1d,
            'torchcheck': build_torchcheck, 'tfjs_extra': build_tfjs_extra,
            'tfjs_conv1d': build_tfjs_conv1d}
CHECK_ONLY = ('torchcheck', 'tfjs_extra', 'tfjs_conv1d')


# ============================================================================ references
def max_rel(a, b):
    """max |a - b| / max |b| (b = reference), as the oracle's compare.py."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float('inf')
    ref = np.abs(b).max() if b.size else 0.0
    d = np.abs(a - b).max() if b.size else 0.0
    return float(d / ref) if ref > 0 else float(d)


def load_dir(d):
    out = {}
    for dp, _, fns in os.walk(d):
        for fn in fns:
            if fn.endswith('.npy'):
                rel = os.path.relpath(os.path.join(dp, fn), d)[:-4]
                out[rel] = np.load(os.path.join(dp, fn))
    return out


def write_refs(name, arrays, manifest):
    d = os.path.join(REF, name)
    shutil.rmtree(d, ignore_errors=True)
    for p, a in arrays.items():
        fn = os.path.join(d, p + '.npy')
        os.makedirs(os.path.dirname(fn), exist_ok=True)
        np.save(fn, np.ascontiguousarray(a, np.float32))
        assert os.path.getsize(fn) < MAX_FILE, fn
    text = json.dumps(manifest, indent=1)
    text = re.sub(r'\[\s*([-0-9,\s]*?)\s*\]', lambda m: '[' + re.sub(r'\s+', ' ', m.group(1)) + ']',
                  text)                                     # shapes on one line
    with open(os.path.join(d, 'manifest.json'), 'w') as fh:
        fh.write(text + '\n')


def run_torch(oracle, h5, inp, outdir):
    subprocess.run([PY, os.path.join(oracle, 'oracle_torch.py'), h5, inp, '--all',
                    '--dtype', 'float64', '--outdir', outdir], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(outdir, 'manifest.json')) as fh:
        return load_dir(outdir), json.load(fh)


def build(name, h5_path, in_path):
    ctx = Ctx(seed=1000 + sorted(BUILDERS).index(name))
    model, x0, extra = BUILDERS[name](ctx)
    save_h5(model, h5_path, extra.get('training_config'), extra.get('optimizer'))
    np.save(in_path, x0.astype(np.float32))
    # the file must reproduce the builder's own evaluation exactly
    layers, outs = R.run_file(h5_path, np.load(in_path))
    want = model.outputs[0].value
    assert np.array_equal(outs[0], want), '%s: file and builder disagree' % name
    return layers, outs


def relpath(p):
    return os.path.relpath(p, ROOT)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--oracle', default='/tmp/oracle', help='writable copy of shared/oracle')
    ap.add_argument('--only', nargs='*', default=None)
    ap.add_argument('--second-oracle', action='store_true',
                    help='also run tfjs (node) and ONNX Runtime where they apply')
    a = ap.parse_args()
    os.makedirs(FIX, exist_ok=True)
    os.makedirs(REF, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='tlr_numeric_')
    report = {}
    names = a.only or (TORCH_MODELS + NUMPY_MODELS + ['torchcheck'])
    if a.second_oracle and not a.only:
        names += ['tfjs_extra', 'tfjs_conv1d']
    for name in names:
        keep = name not in CHECK_ONLY
        h5 = os.path.join(FIX if keep else tmp, name + '.h5')
        inp = os.path.join(FIX if keep else tmp, name + '_input.npy')
        layers, outs = build(name, h5, inp)
        arrays = dict(layers)
        arrays.update({'__output__%d' % i: o for i, o in enumerate(outs)})
        rec = {'layers': len(layers), 'h5_bytes': os.path.getsize(h5)}
        assert rec['h5_bytes'] < MAX_FILE, h5
        if name in TORCH_MODELS or name == 'torchcheck':
            torch_arrays, manifest = run_torch(a.oracle, h5, inp, os.path.join(tmp, 'torch', name))
            if set(torch_arrays) != set(arrays):
                raise SystemExit('%s: layer sets differ: torch %s, numpy_ref %s' % (
                    name, sorted(set(torch_arrays) - set(arrays)),
                    sorted(set(arrays) - set(torch_arrays))))
            worst = max((max_rel(arrays[p], torch_arrays[p]), p) for p in torch_arrays)
            rec['numpy_ref_vs_torch64'] = worst
            assert worst[0] <= 1e-6, '%s: numpy_ref vs torch %s' % (name, worst)
            ref, source = torch_arrays, manifest['oracle']
        else:
            ref, source = arrays, 'numpy_ref float64 (tests/gen/numpy_ref.py)'
            manifest = {'layers': {p: list(v.shape) for p, v in layers.items()}}
            manifest['layers'].update({'__output__%d' % i: list(o.shape)
                                       for i, o in enumerate(outs)})
        rec['f32_rounding'] = max(max_rel(v.astype(np.float32), v) for v in ref.values())
        stats = [(float(np.abs(v).max()), p) for p, v in layers.items()]
        rec['min_layer_absmax'] = min(stats)
        rec['max_layer_absmax'] = max(stats)
        if keep:
            manifest = {'oracle': source, 'stored_dtype': 'float32', 'model': relpath(h5),
                        'input': relpath(inp), 'layers': manifest['layers']}
            write_refs(name, ref, manifest)
        report[name] = rec
        print('%-18s %3d layers  h5 %6d B  numpy_ref vs torch64 %s  |act| %.3g..%.3g' % (
            name, rec['layers'], rec['h5_bytes'],
            '%.2e (%s)' % rec['numpy_ref_vs_torch64'] if 'numpy_ref_vs_torch64' in rec else '-',
            rec['min_layer_absmax'][0], rec['max_layer_absmax'][0]))
    ops = check_ops_with_torch()
    report['op_checks'] = ops
    print('numpy_ref ops vs torch float64: %d checks, worst %.2e (%s)' % (
        len(ops), max(ops.values()), max(ops, key=ops.get)))
    if a.second_oracle:
        second_oracles(a.oracle, names, tmp, report)
    with open(os.path.join(tmp, 'report.json'), 'w') as fh:
        json.dump(report, fh, indent=1)
    print('report: %s' % os.path.join(tmp, 'report.json'))


# ============================================================================ op checks
def check_ops_with_torch():
    """numpy_ref ops that no model-level oracle checks with Keras semantics, compared with
    PyTorch float64 ops that implement the same definition independently.  Returns
    {check: max rel error}; each must be <= 1e-6 (they come out near 1e-15)."""
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(5)
    res = {}
    T = lambda a: torch.from_numpy(np.ascontiguousarray(a))          # noqa: E731
    nchw = lambda a: T(a.transpose(0, 3, 1, 2))                      # noqa: E731
    nhwc = lambda t: t.numpy().transpose(0, 2, 3, 1)                 # noqa: E731
    # tf.image.resize bilinear / nearest (half-pixel centres, no antialias) ==
    # torch interpolate bilinear align_corners=False / 'nearest-exact', up and down
    for (h, w, oh, ow) in [(20, 20, 8, 8), (8, 8, 16, 24), (16, 24, 16, 16), (16, 16, 7, 9),
                           (5, 7, 13, 4)]:
        x = rng.standard_normal((1, h, w, 3))
        tb = nhwc(F.interpolate(nchw(x), size=(oh, ow), mode='bilinear', align_corners=False))
        tn = nhwc(F.interpolate(nchw(x), size=(oh, ow), mode='nearest-exact'))
        res['resize bilinear %dx%d->%dx%d' % (h, w, oh, ow)] = max_rel(R.resize_bilinear(x, oh, ow), tb)
        res['resize nearest %dx%d->%dx%d' % (h, w, oh, ow)] = max_rel(R.resize_nearest(x, oh, ow), tn)
    # Conv2DTranspose is by definition (tf.nn.conv2d_transpose) the gradient, with respect
    # to its input, of a Conv2D with TF padding whose input has the transposed output's shape
    for (h, k, s, pad, op) in [(10, 3, 2, 'same', None), (10, 3, 2, 'valid', None),
                               (10, 3, 2, 'same', 1), (10, 1, 2, 'valid', 1), (5, 4, 3, 'same', 2),
                               (6, 2, 1, 'same', None)]:
        x = rng.standard_normal((1, h, h, 3))
        ker = rng.standard_normal((k, k, 2, 3))                     # (kh, kw, cout, cin)
        y = R.conv2d_transpose(x, ker, None, (s, s), (1, 1), pad, None if op is None else (op, op))
        o = y.shape[1]
        z = torch.zeros((1, 2, o, o), dtype=torch.float64, requires_grad=True)
        if pad == 'same':
            t, b = R.same_pads(o, k, s)
            zp = F.pad(z, (t, b, t, b))
        else:
            zp = z
        fwd = F.conv2d(zp, T(ker.transpose(3, 2, 0, 1)), stride=s)   # (cin, cout, kh, kw)
        assert fwd.shape[2] == h, (fwd.shape, h)
        (fwd * nchw(x)).sum().backward()
        res['conv2d_transpose %s k%d s%d op%s' % (pad, k, s, op)] = max_rel(y, nhwc(z.grad))
    # Conv1D 'causal' = left zero padding of (k-1)*d, then a valid dilated conv
    x = rng.standard_normal((1, 12, 3))
    ker = rng.standard_normal((3, 3, 4))
    c = {'kernel_size': [3], 'strides': [1], 'dilation_rate': [2], 'padding': 'causal',
         'activation': 'linear'}
    mine = R.apply_layer('Conv1D', c, {'kernel': ker}, [x])
    t = F.conv1d(F.pad(T(x.transpose(0, 2, 1)), (4, 0)), T(ker.transpose(2, 1, 0)), dilation=2)
    res['conv1d causal d2'] = max_rel(mine, t.numpy().transpose(0, 2, 1))
    # ELU(alpha) and the Normalization formula
    x = rng.standard_normal((1, 4, 4, 3)) * 2
    res['ELU alpha 0.7'] = max_rel(R.apply_layer('ELU', {'alpha': 0.7}, {}, [x]),
                                   F.elu(T(x), alpha=0.7).numpy())
    mean, var = rng.standard_normal(3), rng.uniform(0.1, 2, 3)
    var[0] = 0.0                                                    # hits the 1e-7 floor
    want = (T(x) - T(mean)) / torch.clamp(torch.sqrt(T(var)), min=1e-7)
    res['Normalization'] = max_rel(R.apply_layer('Normalization', {'axis': [-1]},
                                                 {'mean': mean, 'variance': var}, [x]),
                                   want.numpy())
    worst = max(res.values())
    assert worst <= 1e-6, res
    return res


# ============================================================================ second oracles
def first_error(stderr):
    lines = [l.strip() for l in stderr.splitlines()]
    hits = [l for l in lines if 'Error' in l and not l.startswith('at ')]
    return (hits or lines or ['?'])[-1][:160]


def second_oracles(oracle, names, tmp, report):
    """tfjs-layers (node, cpu backend) and ONNX Runtime on the same files; each compared
    with the committed reference (max rel error per model, worst layer)."""
    for name in names:
        keep = name not in CHECK_ONLY
        base = FIX if keep else tmp
        h5, inp = os.path.join(base, name + '.h5'), os.path.join(base, name + '_input.npy')
        if keep:
            ref = load_dir(os.path.join(REF, name))
        elif name == 'torchcheck':
            ref = load_dir(os.path.join(tmp, 'torch', name))
        else:                      # check-only numpy models: numpy_ref is the reference
            layers, outs = R.run_file(h5, np.load(inp))
            ref = dict(layers, **{'__output__%d' % i: o for i, o in enumerate(outs)})
        out = os.path.join(tmp, 'tfjs', name)
        r = subprocess.run(['node', os.path.join(oracle, 'oracle_tfjs.mjs'), h5, inp, '--all',
                            '--outdir', out], capture_output=True, text=True)
        if r.returncode == 0:
            got = load_dir(out)
            common = [p for p in got if p in ref]
            worst = max((max_rel(got[p], ref[p]), p) for p in common)
            report[name]['tfjs_cpu'] = (worst[0], worst[1], len(common))
            print('%-18s tfjs-cpu: %d layers, worst max_rel %.2e (%s)' % (name, len(common), *worst))
        else:
            msg = first_error(r.stderr)
            report[name]['tfjs_cpu'] = ('failed', msg)
            print('%-18s tfjs-cpu: failed: %s' % (name, msg))
        onnx = os.path.join(tmp, name + '.onnx')
        r = subprocess.run([PY, os.path.join(oracle, 'make_onnx.py'), h5, onnx, '--debug-outputs'],
                           capture_output=True, text=True)
        if r.returncode == 0:
            out = os.path.join(tmp, 'ort', name)
            r = subprocess.run(['node', os.path.join(oracle, 'oracle_ort.mjs'), onnx, inp,
                                '--outdir', out], capture_output=True, text=True)
        if r.returncode == 0:
            got = load_dir(out)
            common = [p for p in got if p in ref]
            worst = max((max_rel(got[p], ref[p]), p) for p in common)
            report[name]['ort'] = (worst[0], worst[1], len(common))
            print('%-18s ort:      %d layers, worst max_rel %.2e (%s)' % (name, len(common), *worst))
        else:
            msg = first_error(r.stderr)
            report[name]['ort'] = ('failed', msg)
            print('%-18s ort:      failed: %s' % (name, msg))


if __name__ == '__main__':
    main()
