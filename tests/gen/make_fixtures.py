#!/usr/bin/python3
"""Writes the model-loader test fixtures: small Keras model files in the exact layouts that
each Keras era wrote, plus the facts a correct reader must report about them.

  tests/fixtures/models/*.h5, *.keras, *.json   the fixtures (each < 100 KB)
  tests/fixtures/models/expect.json             facts per fixture (computed here, from what
                                                this script wrote; independent of tlreport)
  tests/fixtures/bad/*                          broken inputs
  tests/fixtures/bad/expect.tsv                 file <TAB> substring the error must contain

Nothing is copied from Keras or from the corpus: every file is written by this script with
h5py + numpy, following the layouts documented in /work/shared/KERAS-NOTES.md sections 2-3
and observed in the corpus files (Keras 1.2.1/1.2.2, 2.0.x, 2.2.x, 2.3.1, tf.keras 2.4-2.15,
Keras 3.3-3.15).  Layer-name numbering, config keys, weight-name spellings, string encodings
(h5py 2 fixed-length vs h5py 3 variable-length) and the .keras zip member layout follow the era.

The course model (VGG16 base + small head, 15,321,281 params) is written WITHOUT weight data:
its datasets are created with a fill value (0.01) and never written, so HDF5 allocates no
space for them (contiguous layout, late allocation) and the files stay tiny.  A reader that
reads them gets 0.01 everywhere.  All other fixtures hold real random weights (fixed seeds).

Deterministic: fixed seeds, no timestamps (h5py writes none with these settings; zip member
dates and metadata.json's date_saved are fixed), libver='earliest', track_order=False.
Re-running produces byte-identical files.

Run: /usr/bin/python3 tests/gen/make_fixtures.py          (from anywhere)
"""

import base64
import io
import json
import os
import re
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'models')
BAD = os.path.join(ROOT, 'tests', 'fixtures', 'bad')

HEADER_LIMIT = 64512        # Keras' HDF5_OBJECT_HEADER_LIMIT: name lists above this are chunked
FILL = 0.01                 # what unwritten float datasets read back as
MAX_BYTES = 100 * 1024      # every fixture must stay below this
ZIP_DATE = (2024, 5, 1, 12, 0, 0)          # date of model.weights.h5 inside the zips
DATE_SAVED = '2024-05-01@12:00:00'         # metadata.json date_saved (same instant)
SHARED_ID = 140229311210192                # a fixed stand-in for Keras 3's shared_object_id


def f32(v):
    """A float32 hyper-parameter as Keras writes it into JSON (the float32 value, widened)."""
    return float(np.float32(v))


def snake(class_name):
    """Keras' to_snake_case: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, ReLU -> re_lu."""
    s = re.sub(r'(.)([A-Z][a-z]+)', r'\1_\2', class_name)
    return re.sub(r'([a-z])([A-Z])', r'\1_\2', s).lower()


def shape_text(shape):
    """A batch shape as Python prints the tuple: (None, 4, 4, 512)."""
    return '(' + ', '.join('None' if d is None else str(d) for d in shape) + ')'


# ============================================================================ eras
class Era:
    """One Keras release line: what its files look like.

    family: 'k1' (Keras 1.x), 'k2' (standalone Keras 2.x), 'tf' (tf.keras 2.x), 'k3'.
    strings: 'h5py2' writes name lists as fixed-length NULLPAD arrays, 'h5py3' as vlen.
    """

    def __init__(self, family, version, strings='h5py3', **flags):
        self.family, self.version, self.strings = family, version, strings
        self.flags = flags

    def has(self, flag):
        return bool(self.flags.get(flag))

    @property
    def backend(self):
        return None if self.family == 'k1' else 'tensorflow'


ERAS = {
    'k1th': Era('k1', '1.2.2', 'h5py2', dim='th', wsuffix=''),        # Theano: no ':0'
    'k1tf': Era('k1', '1.2.2', 'h5py2', dim='tf', wsuffix=':0'),
    'k208': Era('k2', '2.0.8', 'h5py2', seq_list=True),                # Sequential config = list
    'k224': Era('k2', '2.2.4', 'h5py2', flatten_df=True, amsgrad=True),
    'k231': Era('k2', '2.3.1', 'h5py2', flatten_df=True, dtype_all=True),
    'k206tf': Era('k2', '2.0.6-tf', 'h5py2'),                          # tf.contrib.keras
    'tf240': Era('tf', '2.4.0', 'h5py2'),                              # TF 2.4 pinned h5py 2.10
    'tf260': Era('tf', '2.6.0', keepdims=True),
    'tf290': Era('tf', '2.9.0', keepdims=True, top_level=True),
    'tf2100': Era('tf', '2.10.0', keepdims=True, top_level=True),
    'tf2110': Era('tf', '2.11.0', keepdims=True, top_level=True),
    'tf2131': Era('tf', '2.13.1', keepdims=True, top_level=True, new_style=True),
    'tf2150': Era('tf', '2.15.0', keepdims=True, top_level=True, new_style=True),
    'k3': Era('k3', '3.10.0', keepdims=True, top_level=True),
}


# ============================================================================ graph model
class Var:
    """One weight variable.  'kind_trainable' is the variable's own flag (False for BN moving
    statistics); whether it counts as trainable also depends on the owning layers."""

    def __init__(self, layer, short, shape, kind_trainable):
        self.layer, self.short, self.shape = layer, short, tuple(shape)
        self.kind_trainable = kind_trainable
        self.data = None          # None: dataset created without data (reads back as FILL)
        self.scope = ''           # Keras 3 name scope at build time, e.g. 'sequential/'
        self.name_override = None  # stored weight name when it differs from the layer name

    @property
    def size(self):
        return int(np.prod(self.shape)) if self.shape else 1


class Tensor:
    def __init__(self, layer, node, shape):
        self.layer, self.node, self.shape = layer, node, tuple(shape)


def conv_len(n, k, s, padding):
    if padding == 'same':
        return -(-n // s)
    return (n - k) // s + 1


class Layer:
    """A layer instance: kind (Keras 2 class name), name, flags and the calls made on it."""
    is_model = False

    def __init__(self, kind, name, trainable=True, **p):
        self.kind, self.name, self.trainable, self.p = kind, name, trainable, p
        self.calls = []      # per node: list of input Tensors
        self.outs = []       # per node: output shape without the batch dimension
        self.ins = []        # per node: input shapes
        self.vars = None

    def __call__(self, x):
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        shapes = [t.shape for t in xs]
        if self.vars is None:
            self.vars = [Var(self, s, sh, tk) for s, sh, tk in self.make_vars(shapes)]
        out = self.out_shape(shapes)
        self.calls.append(xs)
        self.ins.append(shapes)
        self.outs.append(tuple(out))
        return Tensor(self, len(self.calls) - 1, out)

    # -- per-kind weights and shapes
    def make_vars(self, shapes):
        k, p = self.kind, self.p
        if k == 'Conv2D':
            cf = p.get('data_format') == 'channels_first'
            cin = shapes[0][0] if cf else shapes[0][-1]
            kh = kw = p['kernel']
            f = p['filters']
            # Keras 1 'th' ordering stores the kernel as (nb_filter, stack, rows, cols)
            kshape = (f, cin, kh, kw) if p.get('kernel_layout') == 'th' else (kh, kw, cin, f)
            v = [('kernel', kshape, True)]
            if p.get('use_bias', True):
                v.append(('bias', (f,), True))
            return v
        if k == 'Dense':
            v = [('kernel', (shapes[0][-1], p['units']), True)]
            if p.get('use_bias', True):
                v.append(('bias', (p['units'],), True))
            return v
        if k == 'BatchNormalization':
            n = shapes[0][p.get('axis_index', -1)]
            return [('gamma', (n,), True), ('beta', (n,), True),
                    ('moving_mean', (n,), False), ('moving_variance', (n,), False)]
        if k == 'MyLayer':
            return [('w', (shapes[0][-1], p['units']), True), ('b', (p['units'],), True)]
        return []

    def out_shape(self, shapes):
        k, p = self.kind, self.p
        s = shapes[0]
        if k == 'Conv2D':
            cf = p.get('data_format') == 'channels_first'
            h, w = (s[1], s[2]) if cf else (s[0], s[1])
            st = p.get('strides', 1)
            oh = conv_len(h, p['kernel'], st, p.get('padding', 'valid'))
            ow = conv_len(w, p['kernel'], st, p.get('padding', 'valid'))
            return (p['filters'], oh, ow) if cf else (oh, ow, p['filters'])
        if k == 'MaxPooling2D':
            cf = p.get('data_format') == 'channels_first'
            h, w = (s[1], s[2]) if cf else (s[0], s[1])
            ps = p.get('pool', 2)
            oh = conv_len(h, ps, ps, p.get('padding', 'valid'))
            ow = conv_len(w, ps, ps, p.get('padding', 'valid'))
            return (s[0], oh, ow) if cf else (oh, ow, s[2])
        if k == 'GlobalAveragePooling2D':
            return (s[-1],)
        if k == 'Flatten':
            return (int(np.prod(s)),)
        if k in ('Dense', 'MyLayer'):
            return tuple(s[:-1]) + (p['units'],)
        if k == 'Concatenate' or (k == 'Merge' and p['mode'] == 'concat'):
            out = list(shapes[0])
            out[-1] = sum(x[-1] for x in shapes)
            return tuple(out)
        return s

    def all_vars(self):
        return list(self.vars or [])

    def params(self):
        return sum(v.size for v in self.all_vars())


class InputLayer(Layer):
    def __init__(self, name, shape):
        super().__init__('InputLayer', name)
        self.shape = tuple(shape)
        self.calls, self.outs, self.ins, self.vars = [[]], [self.shape], [[]], []


def Input(name, shape):
    layer = InputLayer(name, shape)
    return Tensor(layer, 0, shape)


def map_graph(inputs, outputs):
    """Keras' network ordering: visit from the outputs (first-visit index per layer), give
    every node a depth (longest path to an output), then list layers by decreasing depth,
    ties broken by first-visit index.  Returns (layers, set of (layer, node) in the graph)."""
    first_seen, finished, order = {}, set(), []

    def visit(t):
        node = (t.layer, t.node)
        if node in finished:
            return
        if t.layer not in first_seen:
            first_seen[t.layer] = len(first_seen)
        for src in t.layer.calls[t.node]:
            visit(src)
        finished.add(node)
        order.append(node)

    for o in outputs:
        visit(o)
    node_depth, layer_depth = {}, {}
    for node in reversed(order):
        d = max(node_depth.setdefault(node, 0), layer_depth.get(node[0], 0))
        layer_depth[node[0]] = d
        node_depth[node] = d
        for src in node[0].calls[node[1]]:
            key = (src.layer, src.node)
            node_depth[key] = max(d + 1, node_depth.get(key, 0))
    layers = sorted(layer_depth, key=lambda l: (-layer_depth[l], first_seen[l]))
    return layers, set(order)


class Model(Layer):
    """A functional model; usable as a layer (its node 0 links its own inputs to outputs)."""
    is_model = True

    def __init__(self, name, inputs, outputs, trainable=True):
        super().__init__('Functional', name, trainable)
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        self.layers, self.nodes = map_graph(self.inputs, self.outputs)
        self.calls = [list(self.inputs)]
        self.ins = [[t.shape for t in self.inputs]]
        self.outs = [self.outputs[0].shape]
        self.vars = []

    def __call__(self, x):
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        self.calls.append(xs)
        self.ins.append([t.shape for t in xs])
        self.outs.append(self.outputs[0].shape)
        return Tensor(self, len(self.calls) - 1, self.outputs[0].shape)

    def all_vars(self):
        out = []
        for l in self.layers:
            out += l.all_vars()
        return out

    def freeze_all(self):
        """tf.keras / Keras 3 `model.trainable = False`: the flag propagates to every layer."""
        self.trainable = False
        for l in self.layers:
            if l.is_model:
                l.freeze_all()
            elif l.kind != 'InputLayer':     # its config has no trainable flag
                l.trainable = False


class Sequential(Model):
    """A Sequential model; self.layers excludes the InputLayer (as Keras' .layers does)."""

    def __init__(self, name, layers, input_shape, input_name, first_has_shape=True):
        Layer.__init__(self, 'Sequential', name)
        self.input_layer = InputLayer(input_name, input_shape)
        x = Tensor(self.input_layer, 0, input_shape)
        self.inputs = [x]
        self.nodes = {(self.input_layer, 0)}
        for l in layers:
            x = l(x)
            self.nodes.add((l, x.node))
        self.outputs = [x]
        self.layers = list(layers)
        self.first_has_shape = first_has_shape
        self.calls = [[self.inputs[0]]]
        self.ins = [[tuple(input_shape)]]
        self.outs = [x.shape]
        self.vars = []


# -- trainable bookkeeping (tf.keras / Keras 3 / Keras 2 rules are the same here)
def trainable_weights(l):
    if not l.trainable:
        return []
    if l.is_model:
        return sum((trainable_weights(c) for c in l.layers), [])
    return [v for v in l.vars if v.kind_trainable]


def non_trainable_weights(l):
    if l.is_model:
        if l.trainable:
            return sum((non_trainable_weights(c) for c in l.layers), [])
        return sum((legacy_weights(c) for c in l.layers), [])
    if not l.trainable:
        return list(l.vars)
    return [v for v in l.vars if not v.kind_trainable]


def legacy_weights(l):
    """The order the legacy HDF5 format stores a layer's weights in: trainable, then not."""
    order = l.p.get('weight_order')
    if order:   # a layer that created its variables in another order (tf.contrib BN)
        by = {v.short: v for v in l.vars}
        return [by[s] for s in order]
    return trainable_weights(l) + non_trainable_weights(l)


def own_vars_k3(l):
    """Keras 3 / tf.keras >= 2.13 save_own_variables order: trainable-kind, then the rest."""
    return [v for v in l.vars if v.kind_trainable] + [v for v in l.vars if not v.kind_trainable]


# ============================================================================ configs
def class_name(l, era):
    k = l.kind
    if k == 'Functional':
        return 'Model' if era.family in ('k1', 'k2') else 'Functional'
    if era.family == 'k1' and k == 'Conv2D':
        return 'Convolution2D'
    return k


def initializer(era, which, zip_mode=False):
    if era.family == 'k1':
        return {'glorot': 'glorot_uniform', 'zeros': 'zero', 'ones': 'one'}[which]
    if era.family == 'k2':
        if which == 'glorot':
            return {'class_name': 'VarianceScaling',
                    'config': {'scale': 1.0, 'mode': 'fan_avg', 'distribution': 'uniform',
                               'seed': None}}
        return {'class_name': 'Zeros' if which == 'zeros' else 'Ones', 'config': {}}
    name = {'glorot': 'GlorotUniform', 'zeros': 'Zeros', 'ones': 'Ones'}[which]
    cfg = {'seed': None} if which == 'glorot' else {}
    if era.family == 'k3' or era.has('new_style'):
        return {'module': 'keras.initializers', 'class_name': name, 'config': cfg,
                'registered_name': None}
    return {'class_name': name, 'config': cfg}


class Ctx:
    """Serialization context: era, .keras (zip) or legacy (h5/json) flavour."""

    def __init__(self, era, zip_mode=False):
        self.era, self.zip = era, zip_mode
        self.policies = 0

    def dtype(self):
        if self.era.family != 'k3':
            return 'float32'
        pol = {'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'float32'},
               'registered_name': None}
        # Keras 3 .keras configs tag the shared global policy with its object id after the
        # first time it was serialized; readers must ignore the key.
        if self.zip and self.policies > 0:
            pol['shared_object_id'] = SHARED_ID
        self.policies += 1
        return pol


def base_config(l, ctx, first_shape):
    era = ctx.era
    c = {'name': l.name, 'trainable': l.trainable}
    if era.family == 'k1':
        if first_shape is not None:
            c['batch_input_shape'] = [None] + list(first_shape)
            c['input_dtype'] = 'float32'
        return c
    if first_shape is not None:
        c['batch_input_shape'] = [None] + list(first_shape)
    if era.family in ('tf', 'k3') or era.has('dtype_all') or first_shape is not None:
        c['dtype'] = ctx.dtype()
    return c


def k1_config(l, ctx, first_shape):
    era, p = ctx.era, l.p
    c = base_config(l, ctx, first_shape)
    k = l.kind
    if k == 'Conv2D':
        c.update({'nb_filter': p['filters'], 'nb_row': p['kernel'], 'nb_col': p['kernel'],
                  'init': 'glorot_uniform', 'activation': p.get('activation', 'linear'),
                  'border_mode': p.get('padding', 'valid'),
                  'subsample': [p.get('strides', 1)] * 2, 'dim_ordering': era.flags['dim'],
                  'W_regularizer': None, 'b_regularizer': None, 'activity_regularizer': None,
                  'W_constraint': None, 'b_constraint': None, 'bias': True})
    elif k == 'MaxPooling2D':
        c.update({'pool_size': [p.get('pool', 2)] * 2, 'strides': [p.get('pool', 2)] * 2,
                  'border_mode': 'valid', 'dim_ordering': era.flags['dim']})
    elif k == 'Dropout':
        c['p'] = p['rate']
    elif k == 'Dense':
        c.update({'output_dim': p['units'], 'init': 'glorot_uniform',
                  'activation': p.get('activation', 'linear'), 'W_regularizer': None,
                  'b_regularizer': None, 'activity_regularizer': None, 'W_constraint': None,
                  'b_constraint': None, 'bias': True, 'input_dim': l.ins[0][0][-1]})
    elif k == 'BatchNormalization':
        c.update({'epsilon': 0.001, 'mode': 0, 'axis': -1, 'gamma_regularizer': None,
                  'beta_regularizer': None, 'momentum': 0.99})
    elif k == 'Merge':
        c = {'name': l.name, 'mode': p['mode'], 'mode_type': 'raw', 'concat_axis': -1,
             'dot_axes': -1, 'output_shape': None, 'output_shape_type': 'raw',
             'output_mask': None, 'output_mask_type': 'raw', 'arguments': {}}
    return c


def layer_config(l, ctx, first_shape=None):
    """The inner 'config' dict of one layer, in the era's spelling."""
    era, p, k = ctx.era, l.p, l.kind
    if k == 'InputLayer':
        return input_config(l, ctx)
    if l.is_model:
        return model_config_inner(l, ctx)
    if era.family == 'k1':
        return k1_config(l, ctx, first_shape)
    c = base_config(l, ctx, first_shape)
    fam = era.family
    if k == 'Conv2D':
        c.update({'filters': p['filters'], 'kernel_size': [p['kernel']] * 2,
                  'strides': [p.get('strides', 1)] * 2, 'padding': p.get('padding', 'valid'),
                  'data_format': p.get('data_format', 'channels_last'), 'dilation_rate': [1, 1]})
        if fam in ('tf', 'k3'):
            c['groups'] = 1
        c.update({'activation': p.get('activation', 'linear'),
                  'use_bias': p.get('use_bias', True),
                  'kernel_initializer': initializer(era, 'glorot'),
                  'bias_initializer': initializer(era, 'zeros'),
                  'kernel_regularizer': p.get('kernel_regularizer'), 'bias_regularizer': None,
                  'activity_regularizer': None, 'kernel_constraint': None,
                  'bias_constraint': None})
    elif k == 'Dense':
        c.update({'units': p['units'], 'activation': p.get('activation', 'linear'),
                  'use_bias': p.get('use_bias', True),
                  'kernel_initializer': initializer(era, 'glorot'),
                  'bias_initializer': initializer(era, 'zeros'),
                  'kernel_regularizer': p.get('kernel_regularizer'), 'bias_regularizer': None})
        if fam != 'k3':
            c['activity_regularizer'] = None
        c.update({'kernel_constraint': None, 'bias_constraint': None})
    elif k == 'MaxPooling2D':
        c.update({'pool_size': [p.get('pool', 2)] * 2, 'padding': p.get('padding', 'valid'),
                  'strides': [p.get('pool', 2)] * 2,
                  'data_format': p.get('data_format', 'channels_last')})
    elif k == 'GlobalAveragePooling2D':
        c['data_format'] = 'channels_last'
        if era.has('keepdims'):
            c['keepdims'] = False
    elif k == 'Flatten':
        if fam != 'k2' or era.has('flatten_df'):
            c['data_format'] = 'channels_last'
    elif k == 'Dropout':
        c['rate'] = p['rate']
        if era.version != '2.0.8':
            c.update({'noise_shape': None, 'seed': None})
    elif k == 'BatchNormalization':
        # tf.keras stores the validated axis list ([3] for NHWC); Keras 2 and 3 keep -1
        rank = len(l.ins[0][0]) + 1
        c.update({'axis': [rank - 1] if fam == 'tf' else -1, 'momentum': 0.99,
                  'epsilon': 0.001, 'center': True, 'scale': True,
                  'beta_initializer': initializer(era, 'zeros'),
                  'gamma_initializer': initializer(era, 'ones'),
                  'moving_mean_initializer': initializer(era, 'zeros'),
                  'moving_variance_initializer': initializer(era, 'ones'),
                  'beta_regularizer': None, 'gamma_regularizer': None,
                  'beta_constraint': None, 'gamma_constraint': None})
        if fam == 'k3':
            c['synchronized'] = False
    elif k == 'Concatenate':
        c['axis'] = -1
    elif k == 'ReLU':
        c.update({'max_value': p.get('max_value'), 'negative_slope': 0.0, 'threshold': 0.0})
    elif k == 'Activation':
        c['activation'] = p['activation']
    elif k == 'Lambda':
        c.update({'function': [p['code'], None, None], 'function_type': 'lambda',
                  'module': '__main__', 'output_shape': None, 'output_shape_type': 'raw',
                  'output_shape_module': None, 'arguments': {}})
    elif k == 'MyLayer':
        c['units'] = p['units']
    return c


def input_config(l, ctx):
    fam = ctx.era.family
    shape = [None] + list(l.shape)
    if fam == 'k1':
        return {'batch_input_shape': shape, 'input_dtype': 'float32', 'sparse': False,
                'name': l.name}
    if fam == 'k2':
        return {'batch_input_shape': shape, 'dtype': 'float32', 'sparse': False, 'name': l.name}
    if fam == 'tf':
        return {'batch_input_shape': shape, 'dtype': 'float32', 'sparse': False,
                'ragged': False, 'name': l.name}
    return {'batch_shape': shape, 'dtype': 'float32', 'sparse': False, 'ragged': False,
            'name': l.name}


def zip_module(l, era):
    if l.kind == 'Sequential':
        return 'keras', None
    if l.kind == 'Functional':
        if era.family == 'k3':
            return 'keras.src.models.functional', 'Functional'
        return 'keras.src.engine.functional', 'Functional'
    return 'keras.layers', None


def has_build_config(l, era):
    """Which layers carry build_config in a .keras config (observed in 2.13/2.15 and 3.x)."""
    if l.kind == 'InputLayer' or l.kind == 'Functional':
        return False
    if era.family == 'tf':
        return True
    return l.kind in ('Conv2D', 'Dense', 'BatchNormalization', 'Flatten', 'Sequential')


def entry(l, ctx, first_shape=None, graph=None):
    """One element of a 'layers' list: {class_name, config, ...} in the era's layout."""
    era = ctx.era
    cfg = layer_config(l, ctx, first_shape)
    cls = class_name(l, era)
    if ctx.zip:
        module, reg = zip_module(l, era)
        e = {'module': module, 'class_name': cls, 'config': cfg, 'registered_name': reg}
        if has_build_config(l, era):
            e['build_config'] = {'input_shape': [None] + list(l.ins[0][0])}
        if l.is_model and era.family == 'k3':
            e['compile_config'] = {}
    else:
        e = {'class_name': cls, 'config': cfg}
    if graph is None:
        return e
    nodes = inbound_nodes(l, graph, era)
    if era.family in ('k1', 'k2'):
        return {'name': l.name, 'class_name': cls, 'config': cfg, 'inbound_nodes': nodes}
    e['name'] = l.name
    e['inbound_nodes'] = nodes
    return e


def node_index(t, graph, raw=False):
    """The node index a config uses for tensor t.  Keras 1/2 list-form references skip a
    nested model's node 0 (its internal input->output link), so its kept nodes count from 1.
    Keras 3 keras_history (raw=True) holds the index as the model ran: Keras 3 Functional
    models create no node of their own, so a nested model's first call is node 0."""
    l = t.layer
    kept = 1 if l.is_model and not raw else 0
    for i in range(len(l.calls)):
        if (l, i) in graph.nodes:
            if i == t.node:
                return kept
            kept += 1
    raise ValueError('tensor not in graph')


def keras_tensor(t, graph):
    return {'class_name': '__keras_tensor__',
            'config': {'shape': [None] + list(t.shape), 'dtype': 'float32',
                       'keras_history': [t.layer.name, node_index(t, graph, raw=True), 0]}}


def inbound_nodes(l, graph, era):
    out = []
    if l.kind == 'InputLayer':
        return out
    for i, srcs in enumerate(l.calls):
        if (l, i) not in graph.nodes:
            continue
        if era.family == 'k1':
            out.append([[s.layer.name, node_index(s, graph), 0] for s in srcs])
        elif era.family == 'k3':
            ts = [keras_tensor(s, graph) for s in srcs]
            out.append({'args': [ts] if len(ts) > 1 else ts, 'kwargs': {}})
        else:
            out.append([[s.layer.name, node_index(s, graph), 0, {}] for s in srcs])
    return out


def io_layers(tensors, graph, era):
    items = [[t.layer.name, node_index(t, graph), 0] for t in tensors]
    if era.family == 'k3' and len(items) == 1:
        return items[0]        # Keras 3 writes a single input/output flat
    return items


def model_config_inner(m, ctx):
    era = ctx.era
    if m.kind == 'Sequential':
        return sequential_config(m, ctx)
    c = {'name': m.name}
    if era.family == 'k3' or era.has('new_style'):
        c['trainable'] = m.trainable
    c['layers'] = [entry(l, ctx, graph=m) for l in m.layers]
    c['input_layers'] = io_layers(m.inputs, m, era)
    c['output_layers'] = io_layers(m.outputs, m, era)
    return c


def sequential_config(m, ctx):
    era = ctx.era
    shape = m.inputs[0].shape
    ents = []
    for i, l in enumerate(m.layers):
        first = shape if (i == 0 and m.first_has_shape and era.family != 'k3') else None
        ents.append(entry(l, ctx, first_shape=first))
    if era.family == 'k1' or era.has('seq_list'):
        return ents                                   # Keras 1 - 2.2.2: a bare list
    if era.family == 'k2':
        return {'name': m.name, 'layers': ents}       # 2.2.3+: no InputLayer entry
    inp = entry(m.input_layer, ctx)
    if era.family == 'tf':
        return {'name': m.name, 'layers': [inp] + ents}
    c = {'name': m.name, 'trainable': m.trainable, 'dtype': None, 'layers': None,
         'build_input_shape': [None] + list(shape)}
    c['dtype'] = ctx.dtype()
    c['layers'] = [inp] + ents
    return c


def model_json(m, era):
    """The legacy model_config value: {'class_name', 'config'}."""
    return {'class_name': class_name(m, era), 'config': model_config_inner(m, Ctx(era))}


def dumps(obj):
    # Keras writes json.dumps() output; allow_nan stays on, so NaN/Infinity can appear
    return json.dumps(obj)


# ============================================================================ weights data
def fill_random(model, seed):
    """Real, deterministic weights for every variable (BN variances positive)."""
    rng = np.random.default_rng(seed)
    for v in model.all_vars():
        if v.short in ('moving_variance',):
            v.data = rng.uniform(0.5, 1.5, v.shape).astype(np.float32)
        elif v.short == 'gamma':
            v.data = rng.uniform(0.8, 1.2, v.shape).astype(np.float32)
        else:
            v.data = (rng.standard_normal(v.shape) * 0.2).astype(np.float32)


def weight_name(v, era):
    if v.name_override:
        return v.name_override
    lname = v.layer.name
    if era.family == 'k1':
        s = {'kernel': 'W', 'bias': 'b', 'moving_mean': 'running_mean',
             'moving_variance': 'running_std'}.get(v.short, v.short)
        return '%s_%s%s' % (lname, s, era.flags['wsuffix'])
    if era.family == 'k3':
        return '%s%s/%s' % (v.scope, lname, v.short)
    return '%s/%s:0' % (lname, v.short)


# ============================================================================ HDF5 writing
def h5file(path_or_io):
    return h5py.File(path_or_io, 'w', libver='earliest', track_order=False)


def put_names(group, key, names, strings, chunks=None):
    """Keras' save_attributes_to_hdf5_group: a list of bytes; split into key0, key1, ... as
    fixed-length arrays when it exceeds HEADER_LIMIT bytes (or when 'chunks' forces it)."""
    data = np.asarray(names)
    n = 1
    while any(c.nbytes > HEADER_LIMIT for c in np.array_split(data, n)):
        n += 1
    if chunks:
        n = chunks
    if n > 1:
        for i, c in enumerate(np.array_split(data, n)):
            group.attrs['%s%d' % (key, i)] = c
    elif strings == 'h5py2' and len(names):
        group.attrs[key] = np.asarray(names)      # fixed-length NULLPAD 'S<n>'
    else:
        group.attrs[key] = list(names)            # vlen ASCII; [] -> float64 shape (0,)


def put_array(group, name, shape, data, dtype='float32'):
    if data is None:
        # created but never written: no storage is allocated, reads give the fill value
        fill = FILL if np.dtype(dtype).kind == 'f' else 0
        return group.create_dataset(name, shape=shape, dtype=dtype, fillvalue=fill)
    arr = np.asarray(data, dtype=dtype)
    return group.create_dataset(name, data=arr)


def write_legacy(target, era, model, *, config=None, training=None, opt=None,
                 weights_only=False, chunks=None, drop=None, bad_shape=None):
    """model.save('x.h5') / save_weights('x.h5') layout.  Returns the weight records."""
    chunks = chunks or {}
    recs = []
    with h5file(target) as f:
        if not weights_only:
            if era.family in ('k1', 'k2'):
                f.attrs['keras_version'] = era.version.encode()
                if era.family == 'k2':
                    f.attrs['backend'] = b'tensorflow'
            else:
                f.attrs['keras_version'] = era.version      # str -> vlen UTF-8
                f.attrs['backend'] = 'tensorflow'
            f.attrs['model_config'] = config.encode()
            if training is not None:
                f.attrs['training_config'] = dumps(training).encode()
            g = f.create_group('model_weights')
            prefix = 'model_weights/'
        else:
            g = f
            prefix = ''
        layers = model.layers
        put_names(g, 'layer_names', [l.name.encode() for l in layers], era.strings,
                  chunks.get('layer_names'))
        if era.family != 'k1':
            g.attrs['backend'] = b'tensorflow'
            g.attrs['keras_version'] = era.version.encode()
        for l in sorted(layers, key=lambda x: x.name):
            lg = g.create_group(l.name)
            ws = legacy_weights(l)
            names = [weight_name(v, era) for v in ws]
            put_names(lg, 'weight_names', [n.encode() for n in names], era.strings,
                      chunks.get(l.name))
            for v, n in zip(ws, names):
                if drop and n == drop:
                    continue                  # listed in weight_names, dataset missing
                shape = bad_shape.get(n, v.shape) if bad_shape else v.shape
                data = None if v.data is None else (v.data if shape == v.shape else
                                                    np.zeros(shape, np.float32) + 0.1)
                put_array(lg, n, shape, data)
                recs.append({'layer': l.name, 'name': n, 'path': prefix + l.name + '/' + n,
                             'var': v})
        if era.has('top_level'):
            put_names(g.create_group('top_level_model_weights'), 'weight_names', [],
                      era.strings)
        if opt:
            og = f.create_group('optimizer_weights')
            put_names(og, 'weight_names', [n.encode() for n, _, _, _ in opt], era.strings)
            for n, shape, dtype, data in opt:
                put_array(og, n, shape, data, dtype)
    return recs


def keras_weights_bytes(entries, target=None):
    """A saving_lib weights store (model.weights.h5): entries are (path, name attr or None,
    [(shape, dtype, data), ...]); every entry becomes <path>/vars/<i>."""
    bio = io.BytesIO() if target is None else target
    with h5file(bio) as f:
        for path, name_attr, arrays in entries:
            g = f.create_group('vars') if path == '' else f.require_group(path).create_group(
                'vars')
            if name_attr is not None:
                g.attrs['name'] = name_attr          # str -> vlen UTF-8
            for i, (shape, dtype, data) in enumerate(arrays):
                put_array(g, str(i), shape, data, dtype)
    return bio.getvalue() if target is None else None


def write_zip(path, config, keras_version, weights, windows=False):
    """A .keras archive: metadata.json, config.json (dated 1980 like zf.open('w') does) and
    model.weights.h5 (dated by writestr), all stored uncompressed."""
    meta = json.dumps({'keras_version': keras_version, 'date_saved': DATE_SAVED})
    members = [('metadata.json', meta.encode(), (1980, 1, 1, 0, 0, 0)),
               ('config.json', json.dumps(config).encode(), (1980, 1, 1, 0, 0, 0)),
               ('model.weights.h5', weights, ZIP_DATE)]
    with open(path, 'wb') as fh, zipfile.ZipFile(fh, 'w', zipfile.ZIP_STORED) as zf:
        for name, data, date in members:
            zi = zipfile.ZipInfo(name, date_time=date)
            zi.compress_type = zipfile.ZIP_STORED
            zi.create_system = 0 if windows else 3
            zi.external_attr = 0o600 << 16
            zf.writestr(zi, data)


# ============================================================================ expectations
def out_shape_text(l, era, graph):
    """What model.summary() prints in the Output Shape column for a top-level layer."""
    nodes = [i for i in range(len(l.calls)) if (l, i) in graph.nodes]
    outs = [tuple([None] + list(l.outs[i])) for i in nodes]
    if l.kind == 'InputLayer':
        s = shape_text(outs[0])
        return '[' + s + ']' if era.family == 'tf' else s
    if len(set(outs)) > 1:
        # Keras 1/2/tf.keras: several inbound nodes with different shapes
        return shape_text(outs[-1]) if era.family == 'k3' else 'multiple'
    return shape_text(outs[0])


def layer_facts(l, era, graph, inferable=True):
    tw = sum(v.size for v in trainable_weights(l))
    d = {'name': l.name, 'class': class_name(l, era),
         'output_shape': out_shape_text(l, era, graph), 'params': l.params(),
         'trainable_params': tw, 'trainable': l.trainable}
    if not inferable:
        d['output_shape_inferable'] = False
    return d


def summary_layers(m, era):
    """Top-level rows: a Sequential's InputLayer is not listed, a Functional's are."""
    return list(m.layers)


def var_facts(v, tw_ids):
    """Shape, trainability and a checksum of one stored variable."""
    d = {'shape': list(v.shape), 'trainable': id(v) in tw_ids}
    if v.data is None:
        d['written'] = False
    else:
        d['sum'] = float(np.sum(v.data, dtype=np.float64))
        d['first'] = float(v.data.flat[0])
    return d


def legacy_weight_facts(recs, m):
    tw_ids = set(map(id, trainable_weights(m)))
    out = []
    for r in recs:
        d = {'layer': r['layer'], 'name': r['name'], 'path': r['path']}
        d.update(var_facts(r['var'], tw_ids))
        out.append(d)
    return out


def model_facts(m, era, fmt, recs, *, training=None, opt_count=0, extra=None, uninferable=()):
    total = m.params()
    train = sum(v.size for v in trainable_weights(m))
    optimizer = training['optimizer_config']['class_name'] if training else None
    facts = {
        'format': fmt,
        'keras_version': era.version,
        'backend': era.backend,
        'model_class': class_name(m, era),
        'model_name': m.name,
        'inputs': [[None] + list(t.shape) for t in m.inputs],
        'layers': [layer_facts(l, era, m, l.name not in uninferable)
                   for l in summary_layers(m, era)],
        'total_params': total,
        'trainable_params': train,
        'non_trainable_params': total - train,
        'n_weight_arrays': len(recs),
        'has_training_config': training is not None,
        'optimizer': optimizer,
        'has_optimizer_weights': opt_count > 0,
        'n_optimizer_weight_arrays': opt_count,
        'weights': legacy_weight_facts(recs, m),
    }
    nested = {}
    for l in m.layers:
        if l.is_model:
            nested[l.name] = {'class': class_name(l, era),
                              'layers': [layer_facts(c, era, l) for c in summary_layers(l, era)]}
    if nested:
        facts['nested'] = nested
    if extra:
        facts.update(extra)
    return facts


# ============================================================================ training configs
def training_config(era, optimizer, loss, lr, metric='accuracy', metric_fn=None):
    fam = era.family
    if fam == 'k1':
        oc = {'lr': f32(lr), 'rho': f32(0.9), 'epsilon': 1e-08, 'decay': 0.0} \
            if optimizer == 'RMSprop' else \
            {'lr': f32(lr), 'beta_1': f32(0.9), 'beta_2': f32(0.999), 'epsilon': 1e-08,
             'decay': 0.0}
        return {'optimizer_config': {'class_name': optimizer, 'config': oc}, 'loss': loss,
                'metrics': [metric], 'sample_weight_mode': None, 'loss_weights': None}
    if fam == 'k2':
        if optimizer == 'RMSprop':
            oc = {'learning_rate': f32(lr), 'rho': f32(0.9), 'decay': 0.0, 'epsilon': 1e-07}
        else:
            oc = {'lr': f32(lr), 'beta_1': f32(0.9), 'beta_2': f32(0.999), 'decay': 0.0,
                  'epsilon': 1e-07 if era.has('amsgrad') else 1e-08}
            if era.has('amsgrad'):
                oc['amsgrad'] = False
        tc = {'optimizer_config': {'class_name': optimizer, 'config': oc}, 'loss': loss,
              'metrics': [metric]}
        if era.has('dtype_all'):
            tc['weighted_metrics'] = None
        tc.update({'sample_weight_mode': None, 'loss_weights': None})
        return tc
    if fam == 'k3':
        oc = {'name': optimizer.lower(), 'learning_rate': f32(lr), 'weight_decay': None,
              'clipnorm': None, 'global_clipnorm': None, 'clipvalue': None, 'use_ema': False,
              'ema_momentum': 0.99, 'ema_overwrite_frequency': None,
              'loss_scale_factor': None, 'gradient_accumulation_steps': None}
        oc.update(optimizer_hyper(optimizer, new=True))
        return {'loss': loss, 'loss_weights': None, 'metrics': [metric],
                'weighted_metrics': None, 'run_eagerly': False, 'steps_per_execution': 1,
                'jit_compile': False,
                'optimizer_config': {'class_name': optimizer, 'config': oc}}
    # tf.keras 2.x
    metrics = [[{'class_name': 'MeanMetricWrapper',
                 'config': {'name': metric, 'dtype': 'float32', 'fn': metric_fn}}]]
    if era.has('new_style'):
        oc = {'name': optimizer, 'weight_decay': None, 'clipnorm': None,
              'global_clipnorm': None, 'clipvalue': None, 'use_ema': False,
              'ema_momentum': 0.99, 'ema_overwrite_frequency': None, 'jit_compile': True,
              'is_legacy_optimizer': False, 'learning_rate': f32(lr)}
        oc.update(optimizer_hyper(optimizer, new=True))
        cls = 'Custom>' + optimizer
    else:
        oc = {'name': optimizer, 'learning_rate': f32(lr), 'decay': 0.0}
        oc.update(optimizer_hyper(optimizer, new=False))
        cls = optimizer
    return {'loss': loss, 'metrics': metrics, 'weighted_metrics': None, 'loss_weights': None,
            'optimizer_config': {'class_name': cls, 'config': oc}}


def optimizer_hyper(optimizer, new):
    if optimizer == 'RMSprop':
        return {'rho': 0.9 if new else f32(0.9), 'momentum': 0.0, 'epsilon': 1e-07,
                'centered': False}
    return {'beta_1': 0.9 if new else f32(0.9), 'beta_2': 0.999 if new else f32(0.999),
            'epsilon': 1e-07, 'amsgrad': False}


def k3_compile_config(optimizer, loss, lr):
    oc = {'name': optimizer.lower(), 'learning_rate': f32(lr), 'weight_decay': None,
          'clipnorm': None, 'global_clipnorm': None, 'clipvalue': None, 'use_ema': False,
          'ema_momentum': 0.99, 'ema_overwrite_frequency': None, 'loss_scale_factor': None,
          'gradient_accumulation_steps': None}
    oc.update(optimizer_hyper(optimizer, new=True))
    return {'optimizer': {'module': 'keras.optimizers', 'class_name': optimizer,
                          'config': oc, 'registered_name': None},
            'loss': loss, 'loss_weights': None, 'metrics': ['accuracy'],
            'weighted_metrics': None, 'run_eagerly': False, 'steps_per_execution': 1,
            'jit_compile': False}


def tf_compile_config(loss):
    return {'optimizer': 'adam', 'loss': loss, 'metrics': ['accuracy'], 'loss_weights': None,
            'weighted_metrics': None, 'run_eagerly': None, 'steps_per_execution': None,
            'jit_compile': None}


# ============================================================================ models
def vgg16(input_name, input_shape=(150, 150, 3)):
    """keras.applications.VGG16(include_top=False, input_shape=...): 13 convs, 5 pools."""
    inp = Input(input_name, input_shape)
    x = inp
    for b, (n, f) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], start=1):
        for i in range(1, n + 1):
            x = Layer('Conv2D', 'block%d_conv%d' % (b, i), filters=f, kernel=3,
                      padding='same', activation='relu')(x)
        x = Layer('MaxPooling2D', 'block%d_pool' % b)(x)
    return Model('vgg16', inp, x)


COURSE_NAMES = {
    'k2': dict(seq='sequential_1', vin='input_1', sin=None, conv='conv2d_1',
               pool='max_pooling2d_1', flat='flatten_1', d1='dense_1', d2='dense_2'),
    'tf': dict(seq='sequential', vin='input_1', sin='vgg16_input', conv='conv2d',
               pool='max_pooling2d', flat='flatten', d1='dense', d2='dense_1'),
    'k3': dict(seq='sequential', vin='input_layer', sin='input_layer_1', conv='conv2d',
               pool='max_pooling2d', flat='flatten', d1='dense', d2='dense_1'),
}


def course_model(era):
    """Sequential[VGG16 base (frozen), Conv2D(128,3,relu), MaxPooling2D, Flatten,
    Dense(128,relu), Dense(1,sigmoid)]: 15,321,281 params, 606,593 trainable."""
    n = COURSE_NAMES[era.family]
    base = vgg16(n['vin'])
    if era.family == 'k2':
        # Standalone Keras 2 does not serialize Network.trainable, so `conv_base.trainable =
        # False` is lost on reload; the freeze survives only as per-layer flags
        # (for layer in conv_base.layers: layer.trainable = False), which is what we write.
        for l in base.layers:
            l.trainable = False
    else:
        base.freeze_all()
    head = [Layer('Conv2D', n['conv'], filters=128, kernel=3, activation='relu'),
            Layer('MaxPooling2D', n['pool']),
            Layer('Flatten', n['flat']),
            Layer('Dense', n['d1'], units=128, activation='relu'),
            Layer('Dense', n['d2'], units=1, activation='sigmoid')]
    m = Sequential(n['seq'], [base] + head, (150, 150, 3), n['sin'] or 'vgg16_input',
                   first_has_shape=False)
    if era.family == 'k3':
        for l in head:
            for v in l.vars:
                v.scope = m.name + '/'
    total = m.params()
    train = sum(v.size for v in trainable_weights(m))
    assert (total, train) == (15321281, 606593), (total, train)
    return m


def course_opt_k2(m):
    tws = trainable_weights(m)
    opt = [('RMSprop/iterations:0', (), 'int64', np.int64(3000))]
    for i, v in enumerate(tws):
        opt.append(('training/RMSprop/accumulator_%d_1:0' % i, v.shape, 'float32', None))
    return opt


def k3_opt_legacy(m, optimizer, slots, written_rng=None):
    """Keras 3 optimizer variables as the legacy h5 names them: <opt>/iteration,
    <opt>/learning_rate, then per trainable variable <opt>/<path_with_underscores>_<slot>."""
    opt_name = optimizer.lower()
    out = [('%s/iteration' % opt_name, (), 'int64', np.int64(3000)),
           ('%s/learning_rate' % opt_name, (), 'float32', np.float32(1e-3))]
    for v in trainable_weights(m):
        base = ('%s%s/%s' % (v.scope, v.layer.name, v.short)).replace('/', '_')
        for s in slots:
            data = None if written_rng is None else \
                np.abs(written_rng.standard_normal(v.shape) * 1e-3).astype(np.float32)
            out.append(('%s/%s_%s' % (opt_name, base, s), v.shape, 'float32', data))
    return out


# ---------------------------------------------------------------------------- zip walks
def k3_store_entries(m, opt_arrays=None, opt_name=None):
    """Keras 3 saving_lib walk: root 'vars' (model name), then 'layers' (class-name keys
    de-duplicated per container: dense, dense_1, ...), recursing into nested models."""
    entries = [('', m.name, [])]
    groups = {}

    def walk(layers, prefix):
        used = {}
        for l in layers:
            key = snake(class_name(l, ERAS['k3']))
            if key in used:
                used[key] += 1
                key = '%s_%d' % (key, used[key])
            else:
                used[key] = 0
            path = prefix + '/' + key
            arrays = [] if l.is_model else [(v.shape, 'float32', v.data) for v in own_vars_k3(l)]
            entries.append((path, l.name, arrays))
            groups[path] = l
            if l.is_model:
                sub = l.layers if l.kind == 'Functional' else l.layers
                walk(sub, path + '/layers')

    walk(m.layers, 'layers')
    if opt_arrays is not None:
        entries.append(('optimizer', opt_name, opt_arrays))
    return entries, groups


def k3_zip_opt(m, optimizer, slots, rng=None):
    arrays = [((), 'int64', np.int64(3000)), ((), 'float32', np.float32(1e-3))]
    for v in trainable_weights(m):
        for _ in slots:
            data = None if rng is None else \
                np.abs(rng.standard_normal(v.shape) * 1e-3).astype(np.float32)
            arrays.append((v.shape, 'float32', data))
    return arrays


def tf_store_entries(m, era, windows, rng):
    """tf.keras 2.13 / 2.15 saving_lib walk.

    2.13 walks `_layer_checkpoint_dependencies`, a dict that lists every layer WITH weights
    twice ('layer_with_weights-k' and 'layer-i'); the per-container name counter advances on
    both visits but the second is skipped, so weighted layers get even suffixes (conv2d,
    conv2d_2, ...) while weightless ones count normally.  2.15 walks model.layers once.
    On Windows os.path.join puts a backslash between the container and the key."""
    sep = '\\' if windows else '/'
    container = '_layer_checkpoint_dependencies' if era.version.startswith('2.13') else 'layers'
    visits = []
    for l in m.layers:
        if container != 'layers' and l.vars:
            visits.append(l)
        visits.append(l)
    used, seen, groups = {}, set(), {}
    entries = [('', None, [])]
    for l in visits:
        key = snake(l.kind)
        if key in used:
            used[key] += 1
            key = '%s_%d' % (key, used[key])
        else:
            used[key] = 0
        if id(l) in seen:
            continue
        seen.add(id(l))
        path = container + sep + key
        entries.append((path, None, [(v.shape, 'float32', v.data) for v in own_vars_k3(l)]))
        groups[path] = l
    for metric in ('mean', 'mean_metric_wrapper'):
        entries.append(('metrics' + sep + metric, None,
                        [((), 'float32', np.float32(rng.uniform(1, 50))),
                         ((), 'float32', np.float32(64.0))]))
    opt = [((), 'int64', np.int64(120))]
    for v in trainable_weights(m):
        for _ in ('m', 'v'):
            opt.append((v.shape, 'float32',
                        (rng.standard_normal(v.shape) * 1e-3).astype(np.float32)))
    entries.append(('optimizer', None, opt))
    return entries, groups


def zip_weight_facts(entries, groups, m):
    """Every layer variable of a saving_lib store, in file order: <group>/vars/<i>."""
    tw_ids = set(map(id, trainable_weights(m)))
    out = []
    for path, _, _ in entries:
        l = groups.get(path)
        if l is None or l.is_model:
            continue
        for i, v in enumerate(own_vars_k3(l)):
            d = {'layer': l.name, 'name': v.short, 'path': '%s/vars/%d' % (path, i)}
            d.update(var_facts(v, tw_ids))
            out.append(d)
    return out


def zip_facts(m, era, entries, groups, optimizer, opt_count, extra=None):
    """Facts of a .keras archive; 'optimizer' is compile_config's optimizer (None: not
    compiled) as stored: a class name (Keras 3) or a string such as 'adam' (tf.keras)."""
    facts = model_facts(m, era, 'keras', [])
    facts['weights'] = zip_weight_facts(entries, groups, m)
    facts['n_weight_arrays'] = len(facts['weights'])
    facts['has_training_config'] = optimizer is not None
    facts['optimizer'] = optimizer
    facts['has_optimizer_weights'] = opt_count > 0
    facts['n_optimizer_weight_arrays'] = opt_count
    facts['groups'] = {p: l.name for p, l in groups.items()}
    if extra:
        facts.update(extra)
    return facts


# ============================================================================ fixtures
EXPECT = {}


def out(name):
    return os.path.join(OUT, name)


def save_h5_fixture(fname, era, m, *, training=None, opt=None, extra=None, uninferable=(),
                    chunks=None, config_text=None):
    cfg = config_text if config_text is not None else dumps(model_json(m, era))
    recs = write_legacy(out(fname), era, m, config=cfg, training=training, opt=opt,
                        chunks=chunks)
    facts = model_facts(m, era, 'h5', recs, training=training,
                        opt_count=len(opt or []), extra=extra, uninferable=uninferable)
    facts['string_style'] = era.strings
    facts['layer_names'] = [l.name for l in m.layers]
    EXPECT[fname] = facts
    return facts


def fx_course():
    # standalone Keras 2.3.1 (h5py 2: fixed-length name arrays), with optimizer weights
    era = ERAS['k231']
    m = course_model(era)
    save_h5_fixture('course_k23.h5', era, m,
                    training=training_config(era, 'RMSprop', 'binary_crossentropy', 2e-5,
                                             'acc'),
                    opt=course_opt_k2(m),
                    extra={'weights_written': False,
                           'note': 'standalone Keras 2 writes no Network.trainable; the '
                                   'freeze is stored as trainable=false on each VGG16 layer'})
    for key, fname in (('tf290', 'course_tf29.h5'), ('tf2150', 'course_tf215.h5')):
        era = ERAS[key]
        m = course_model(era)
        save_h5_fixture(fname, era, m,
                        training=training_config(era, 'RMSprop', 'binary_crossentropy', 2e-5,
                                                 'acc', 'binary_accuracy'),
                        extra={'weights_written': False})
    # Keras 3 legacy h5 (Keras 2 envelope, Keras 3 nodes/dtypes/weight names)
    era = ERAS['k3']
    m = course_model(era)
    save_h5_fixture('course_k3.h5', era, m,
                    training=training_config(era, 'RMSprop', 'binary_crossentropy', 2e-5),
                    opt=k3_opt_legacy(m, 'RMSprop', ['velocity']),
                    extra={'weights_written': False})
    # Keras 3 .keras zip
    m = course_model(era)
    cfg = {'module': 'keras', 'class_name': 'Sequential',
           'config': model_config_inner(m, Ctx(era, zip_mode=True)), 'registered_name': None,
           'build_config': {'input_shape': [None, 150, 150, 3]},
           'compile_config': k3_compile_config('RMSprop', 'binary_crossentropy', 2e-5)}
    opt = k3_zip_opt(m, 'RMSprop', ['velocity'])
    entries, groups = k3_store_entries(m, opt, 'rmsprop')
    write_zip(out('course_k3.keras'), cfg, era.version, keras_weights_bytes(entries))
    EXPECT['course_k3.keras'] = zip_facts(m, era, entries, groups, 'RMSprop', len(opt),
                                          extra={'weights_written': False,
                                                 'vars_name_attr': True})


def fx_keras1():
    for key, fname in (('k1th', 'k1_seq_th.h5'), ('k1tf', 'k1_seq_tf.h5')):
        era = ERAS[key]
        th = era.flags['dim'] == 'th'
        shape = (1, 12, 12) if th else (12, 12, 1)
        kw = dict(data_format='channels_first', kernel_layout='th') if th else {}
        layers = [Layer('Conv2D', 'convolution2d_1', filters=4, kernel=3, activation='relu',
                        **kw)]
        if not th:
            layers.append(Layer('BatchNormalization', 'batchnormalization_1'))
        layers += [Layer('MaxPooling2D', 'maxpooling2d_1',
                         data_format='channels_first' if th else 'channels_last'),
                   Layer('Flatten', 'flatten_1'),
                   Layer('Dropout', 'dropout_1', rate=0.5),
                   Layer('Dense', 'dense_1', units=10, activation='softmax')]
        m = Sequential('sequential_1', layers, shape, 'convolution2d_input_1')
        fill_random(m, 11 if th else 12)
        save_h5_fixture(fname, era, m,
                        training=training_config(era, 'RMSprop', 'categorical_crossentropy',
                                                 1e-3),
                        extra={'backend_hint': 'theano' if th else 'tensorflow',
                               'dim_ordering': era.flags['dim'],
                               'kernel_layout': '(nb_filter, stack, rows, cols)' if th
                               else '(rows, cols, stack, nb_filter)'})
    # Keras 1 functional: Merge layers, inbound nodes as triples
    era = ERAS['k1tf']
    inp = Input('input_1', (8,))
    a = Layer('Dense', 'dense_1', units=6, activation='relu')(inp)
    b = Layer('Dense', 'dense_2', units=6, activation='tanh')(inp)
    s = Layer('Merge', 'merge_1', mode='sum')([a, b])
    c = Layer('Merge', 'merge_2', mode='concat')([s, a])
    o = Layer('Dense', 'dense_3', units=2, activation='softmax')(c)
    m = Model('model_1', inp, o)
    fill_random(m, 13)
    save_h5_fixture('k1_functional.h5', era, m,
                    training=training_config(era, 'Adam', 'categorical_crossentropy', 1e-3),
                    extra={'backend_hint': 'tensorflow', 'inbound_node_form': 'triples'})


def fx_keras2():
    # Keras 2.0.8: Sequential config is a bare list
    era = ERAS['k208']
    m = Sequential('sequential_1', [
        Layer('Conv2D', 'conv2d_1', filters=6, kernel=3, activation='relu'),
        Layer('MaxPooling2D', 'max_pooling2d_1'),
        Layer('Flatten', 'flatten_1'),
        Layer('Dense', 'dense_1', units=16, activation='relu'),
        Layer('Dropout', 'dropout_1', rate=0.5),
        Layer('Dense', 'dense_2', units=3, activation='softmax')], (12, 12, 1), 'conv2d_1_input')
    fill_random(m, 20)
    save_h5_fixture('k20_seq_list.h5', era, m,
                    training=training_config(era, 'Adam', 'categorical_crossentropy', 1e-3),
                    extra={'sequential_config_form': 'list'})

    # Keras 2.2.4 functional with Add and Concatenate branches
    era = ERAS['k224']
    inp = Input('input_1', (16, 16, 3))
    c1 = Layer('Conv2D', 'conv2d_1', filters=8, kernel=3, padding='same', activation='relu')(inp)
    c2 = Layer('Conv2D', 'conv2d_2', filters=8, kernel=3, padding='same', activation='relu')(c1)
    c3 = Layer('Conv2D', 'conv2d_3', filters=8, kernel=1, padding='same')(inp)
    ad = Layer('Add', 'add_1')([c2, c3])
    c4 = Layer('Conv2D', 'conv2d_4', filters=4, kernel=1)(ad)
    ct = Layer('Concatenate', 'concatenate_1')([ad, c4])
    gp = Layer('GlobalAveragePooling2D', 'global_average_pooling2d_1')(ct)
    o = Layer('Dense', 'dense_1', units=3, activation='softmax')(gp)
    m = Model('model_1', inp, o)
    fill_random(m, 22)
    save_h5_fixture('k22_functional.h5', era, m,
                    training=training_config(era, 'Adam', 'categorical_crossentropy', 1e-3),
                    extra={'inbound_node_form': '4-tuples'})


def fx_tf_keras():
    # tf.keras 2.6: nested Functional, early blocks frozen, last block trainable with BN
    era = ERAS['tf260']
    bin_ = Input('input_1', (16, 16, 3))
    x = Layer('Conv2D', 'b1_conv', trainable=False, filters=4, kernel=3, padding='same',
              activation='relu')(bin_)
    x = Layer('MaxPooling2D', 'b1_pool', trainable=False)(x)
    x = Layer('Conv2D', 'b2_conv', trainable=False, filters=8, kernel=3, padding='same')(x)
    x = Layer('BatchNormalization', 'b2_bn', trainable=False)(x)
    x = Layer('Activation', 'b2_relu', trainable=False, activation='relu')(x)
    x = Layer('Conv2D', 'b3_conv', filters=8, kernel=3, padding='same')(x)
    x = Layer('BatchNormalization', 'b3_bn')(x)
    x = Layer('Activation', 'b3_relu', activation='relu')(x)
    base = Model('base', bin_, x)
    inp = Input('input_2', (16, 16, 3))
    y = base(inp)
    y = Layer('GlobalAveragePooling2D', 'global_average_pooling2d')(y)
    y = Layer('Dense', 'dense', units=2, activation='softmax')(y)
    m = Model('model', inp, y)
    fill_random(m, 26)
    order = [weight_name(v, era) for v in legacy_weights(base)]
    save_h5_fixture('tf26_nested_partial.h5', era, m,
                    training=training_config(era, 'Adam', 'categorical_crossentropy', 1e-3,
                                             'accuracy', 'categorical_accuracy'),
                    extra={'nested_weight_order': order,
                           'note': 'base weight_names list trainable weights (b3_*) before '
                                   'the frozen blocks and the BN moving statistics: map by '
                                   'name, not position'})

    # tf.keras 2.9: a Conv2D shared by two inputs of different sizes ('multiple') and a
    # Dense shared by two same-shaped tensors (prints its shape)
    era = ERAS['tf290']
    ia = Input('input_1', (16, 16, 3))
    ib = Input('input_2', (12, 12, 3))
    conv = Layer('Conv2D', 'shared_conv', filters=6, kernel=3, activation='relu')
    proj = Layer('Dense', 'proj', units=4, activation='relu')
    pa = proj(Layer('GlobalAveragePooling2D', 'gap_a')(conv(ia)))
    pb = proj(Layer('GlobalAveragePooling2D', 'gap_b')(conv(ib)))
    ct = Layer('Concatenate', 'concatenate')([pa, pb])
    o = Layer('Dense', 'out', units=2, activation='softmax')(ct)
    m = Model('model', [ia, ib], o)
    fill_random(m, 29)
    save_h5_fixture('tf29_shared.h5', era, m,
                    training=training_config(era, 'Adam', 'categorical_crossentropy', 1e-3,
                                             'accuracy', 'categorical_accuracy'),
                    extra={'shared_layers': {'shared_conv': 2, 'proj': 2}})

    # tf.keras 2.10: NaN and Infinity in the config JSON
    era = ERAS['tf2100']
    m = Sequential('sequential', [
        Layer('Conv2D', 'conv2d', filters=4, kernel=3, activation='relu'),
        Layer('ReLU', 're_lu', max_value=float('inf')),
        Layer('Flatten', 'flatten'),
        Layer('Dense', 'dense', units=2, activation='softmax',
              kernel_regularizer={'class_name': 'L2', 'config': {'l2': float('nan')}})],
        (8, 8, 1), 'conv2d_input')
    fill_random(m, 30)
    save_h5_fixture('nan_config.h5', era, m,
                    training=training_config(era, 'Adam', 'categorical_crossentropy', 1e-3,
                                             'accuracy', 'categorical_accuracy'),
                    extra={'config_has_nonfinite': ['Infinity', 'NaN']})
    with h5py.File(out('nan_config.h5'), 'r') as h:
        txt = h.attrs['model_config']
        txt = txt.decode() if isinstance(txt, bytes) else txt
        assert '"max_value": Infinity' in txt and '"l2": NaN' in txt

    # tf.keras 2.9: an unknown custom layer with weights and a Lambda
    era = ERAS['tf290']
    inp = Input('input_1', (8,))
    x = Layer('MyLayer', 'my_layer', units=4)(inp)
    code = base64.encodebytes(b'\xe3\x01\x00\x00\x00' + b'\x00' * 11 +
                              b'fixture stand-in for marshal(lambda x: x * 2.0)').decode()
    x = Layer('Lambda', 'lambda', code=code)(x)
    x = Layer('Dense', 'dense', units=1)(x)
    m = Model('model', inp, x)
    fill_random(m, 31)
    save_h5_fixture('unknown_layer.h5', era, m, uninferable=('my_layer', 'lambda'),
                    extra={'unknown_classes': ['MyLayer'], 'lambda_layers': ['lambda']})

    # tf.keras 2.11: name lists split into chunks (forced on a small model)
    era = ERAS['tf2110']
    ein = Input('input_1', (8, 8, 2))
    x = Layer('Conv2D', 'enc_conv1', filters=4, kernel=3, padding='same', activation='relu')(ein)
    x = Layer('BatchNormalization', 'enc_bn1')(x)
    x = Layer('Conv2D', 'enc_conv2', filters=4, kernel=3, padding='same')(x)
    x = Layer('MaxPooling2D', 'enc_pool')(x)
    enc = Model('encoder', ein, x)
    m = Sequential('sequential', [enc, Layer('Flatten', 'flatten'),
                                  Layer('Dense', 'dense', units=3, activation='softmax')],
                   (8, 8, 2), 'encoder_input', first_has_shape=False)
    fill_random(m, 32)
    save_h5_fixture('chunked_names.h5', era, m, chunks={'layer_names': 2, 'encoder': 3},
                    extra={'chunked_attributes': {
                        'model_weights': ['layer_names0', 'layer_names1'],
                        'model_weights/encoder': ['weight_names0', 'weight_names1',
                                                  'weight_names2']},
                        'note': 'Keras chunks only above 64512 bytes; forced here'})


def fx_keras3():
    # Keras 3 legacy h5 functional: dict-form nodes, no ':0', dtype policy objects
    era = ERAS['k3']
    inp = Input('input_layer', (16, 16, 3))
    x = Layer('Conv2D', 'conv2d', filters=8, kernel=3, padding='same', activation='relu')(inp)
    y = Layer('BatchNormalization', 'batch_normalization')(x)
    z = Layer('Conv2D', 'conv2d_1', filters=8, kernel=3, padding='same')(y)
    a = Layer('Add', 'add')([y, z])
    c = Layer('Concatenate', 'concatenate')([a, x])
    p = Layer('MaxPooling2D', 'max_pooling2d')(c)
    g = Layer('GlobalAveragePooling2D', 'global_average_pooling2d')(p)
    o = Layer('Dense', 'dense', units=3, activation='softmax')(g)
    m = Model('functional', inp, o)
    fill_random(m, 33)
    opt = k3_opt_legacy(m, 'Adam', ['momentum', 'velocity'], np.random.default_rng(34))
    save_h5_fixture('k3_functional.h5', era, m,
                    training=training_config(era, 'Adam', 'categorical_crossentropy', 1e-3),
                    opt=opt, extra={'inbound_node_form': 'keras3-dict'})

    # Keras 3 .keras Sequential with the >= 3.6 'name' attribute on every vars group
    m = Sequential('sequential', [
        Layer('Conv2D', 'conv2d', filters=8, kernel=3, activation='relu'),
        Layer('BatchNormalization', 'batch_normalization'),
        Layer('MaxPooling2D', 'max_pooling2d'),
        Layer('Conv2D', 'conv2d_1', filters=16, kernel=3, activation='relu'),
        Layer('GlobalAveragePooling2D', 'global_average_pooling2d'),
        Layer('Dropout', 'dropout', rate=0.3),
        Layer('Dense', 'dense', units=10, activation='softmax')], (16, 16, 3), 'input_layer')
    fill_random(m, 35)
    cfg = {'module': 'keras', 'class_name': 'Sequential',
           'config': model_config_inner(m, Ctx(era, zip_mode=True)), 'registered_name': None,
           'build_config': {'input_shape': [None, 16, 16, 3]},
           'compile_config': k3_compile_config('Adam', 'categorical_crossentropy', 1e-3)}
    opt = k3_zip_opt(m, 'Adam', ['momentum', 'velocity'], np.random.default_rng(36))
    entries, groups = k3_store_entries(m, opt, 'adam')
    write_zip(out('k3_seq.keras'), cfg, era.version, keras_weights_bytes(entries))
    EXPECT['k3_seq.keras'] = zip_facts(m, era, entries, groups, 'Adam', len(opt),
                                       extra={'vars_name_attr': True})

    # Keras 3 save_weights file (standalone weights store, name attributes, no config)
    m = Sequential('sequential', [
        Layer('Dense', 'dense', units=16, activation='relu'),
        Layer('BatchNormalization', 'batch_normalization'),
        Layer('Dense', 'dense_1', units=3)], (8,), 'input_layer')
    fill_random(m, 37)
    entries, groups = k3_store_entries(m)
    with open(out('k3_model_weights_named.h5'), 'wb') as fh:
        fh.write(keras_weights_bytes(entries))
    facts = {'format': 'keras-weights-h5', 'keras_version': None, 'backend': None,
             'model_class': None, 'model_name': 'sequential',
             'layers': [{'name': l.name, 'group': p, 'params': l.params()}
                        for p, l in groups.items()],
             'total_params': m.params(), 'n_weight_arrays': 0,
             'has_training_config': False, 'has_optimizer_weights': False,
             'n_optimizer_weight_arrays': 0,
             'weights': zip_weight_facts(entries, groups, m), 'vars_name_attr': True,
             'note': 'layer names come from the vars groups\' name attribute; the root '
                     'vars group names the model'}
    facts['n_weight_arrays'] = len(facts['weights'])
    EXPECT['k3_model_weights_named.h5'] = facts


def tf_zip_model(input_name, layers):
    return Sequential('sequential', layers, (12, 12, 1), input_name)


def fx_tf_zips():
    # tf.keras 2.13 .keras (Linux): weights under _layer_checkpoint_dependencies
    era = ERAS['tf2131']
    m = tf_zip_model('conv2d_input', [
        Layer('Conv2D', 'conv2d', filters=4, kernel=3, activation='relu'),
        Layer('MaxPooling2D', 'max_pooling2d'),
        Layer('Conv2D', 'conv2d_1', filters=8, kernel=3, activation='relu'),
        Layer('Flatten', 'flatten'),
        Layer('Dense', 'dense', units=16, activation='relu'),
        Layer('Dense', 'dense_1', units=3, activation='softmax')])
    fill_random(m, 40)
    cfg = {'module': 'keras', 'class_name': 'Sequential',
           'config': model_config_inner(m, Ctx(era, zip_mode=True)), 'registered_name': None,
           'build_config': {'input_shape': [None, 12, 12, 1]},
           'compile_config': tf_compile_config('categorical_crossentropy')}
    entries, groups = tf_store_entries(m, era, False, np.random.default_rng(41))
    write_zip(out('tf213_seq.keras'), cfg, era.version, keras_weights_bytes(entries))
    nopt = len(entries[-1][2])
    EXPECT['tf213_seq.keras'] = zip_facts(
        m, era, entries, groups, 'adam', nopt,
        extra={'weights_container': '_layer_checkpoint_dependencies',
               'note': 'weighted layers are listed twice by tf.keras 2.13, so their keys '
                       'skip a number: conv2d, conv2d_2, dense, dense_2'})

    # tf.keras 2.15 .keras written on Windows: group names 'layers\\conv2d'
    era = ERAS['tf2150']
    m = tf_zip_model('conv2d_input', [
        Layer('Conv2D', 'conv2d', filters=4, kernel=3, padding='same', activation='relu'),
        Layer('MaxPooling2D', 'max_pooling2d'),
        Layer('Dropout', 'dropout', rate=0.3),
        Layer('Conv2D', 'conv2d_1', filters=8, kernel=3, padding='same', activation='relu'),
        Layer('MaxPooling2D', 'max_pooling2d_1'),
        Layer('Dropout', 'dropout_1', rate=0.3),
        Layer('Flatten', 'flatten'),
        Layer('Dense', 'dense', units=5, activation='softmax')])
    fill_random(m, 42)
    cfg = {'module': 'keras', 'class_name': 'Sequential',
           'config': model_config_inner(m, Ctx(era, zip_mode=True)), 'registered_name': None,
           'build_config': {'input_shape': [None, 12, 12, 1]},
           'compile_config': tf_compile_config('sparse_categorical_crossentropy')}
    entries, groups = tf_store_entries(m, era, True, np.random.default_rng(43))
    write_zip(out('tf215_win.keras'), cfg, era.version, keras_weights_bytes(entries),
              windows=True)
    nopt = len(entries[-1][2])
    EXPECT['tf215_win.keras'] = zip_facts(
        m, era, entries, groups, 'adam', nopt,
        extra={'weights_container': 'layers', 'path_separator': '\\',
               'note': 'one HDF5 group per layer named with a literal backslash'})


def fx_json_and_weights():
    # tf.keras 2.4: to_json() + save_weights() (h5py 2.10: fixed-length name arrays)
    era = ERAS['tf240']
    m = Sequential('sequential', [
        Layer('Conv2D', 'conv2d', filters=8, kernel=3, activation='relu'),
        Layer('BatchNormalization', 'batch_normalization'),
        Layer('MaxPooling2D', 'max_pooling2d'),
        Layer('Dropout', 'dropout', rate=0.25),
        Layer('Flatten', 'flatten'),
        Layer('Dense', 'dense', units=10, activation='softmax')], (16, 16, 3), 'conv2d_input')
    fill_random(m, 44)
    doc = model_json(m, era)
    doc['keras_version'] = era.version
    doc['backend'] = 'tensorflow'
    text = dumps(doc)
    with open(out('arch.json'), 'w') as fh:
        fh.write(text)
    with open(out('arch_double.json'), 'w') as fh:
        fh.write(json.dumps(text))           # json.dump(model.to_json(), f): a JSON string
    recs = write_legacy(out('arch_weights.h5'), era, m, weights_only=True)
    facts = model_facts(m, era, 'json', recs)
    facts['weights_file'] = 'arch_weights.h5'
    facts['string_style'] = era.strings
    facts['layer_names'] = [l.name for l in m.layers]
    EXPECT['arch.json'] = facts
    d = dict(facts)
    d['json_double_encoded'] = True
    EXPECT['arch_double.json'] = d
    wf = {'format': 'h5-weights', 'keras_version': era.version, 'backend': 'tensorflow',
          'model_class': None, 'layer_names': [l.name for l in m.layers],
          'layers': [{'name': l.name, 'params': l.params()} for l in m.layers],
          'total_params': m.params(), 'n_weight_arrays': len(recs),
          'has_training_config': False, 'has_optimizer_weights': False,
          'n_optimizer_weight_arrays': 0, 'string_style': era.strings,
          'weights': facts['weights'], 'architecture_file': 'arch.json'}
    EXPECT['arch_weights.h5'] = wf

    # tf.contrib.keras 2.0.6-tf save_weights, no architecture: an InputLayer group, weight
    # names whose prefix differs from the group name, BN listing beta before gamma
    era = ERAS['k206tf']
    inp = Input('input_1', (10, 10, 3))
    x = Layer('Conv2D', 'conv2d_1', filters=4, kernel=3, activation='relu')(inp)
    x = Layer('BatchNormalization', 'batch_normalization_1',
              weight_order=['beta', 'gamma', 'moving_mean', 'moving_variance'])(x)
    x = Layer('MaxPooling2D', 'max_pooling2d_1')(x)
    x = Layer('Flatten', 'flatten_1')(x)
    x = Layer('Dense', 'dense_1', units=2, activation='softmax')(x)
    m = Model('model_1', inp, x)
    fill_random(m, 45)
    scope = {'conv2d_1': 'conv2d', 'batch_normalization_1': 'batch_normalization',
             'dense_1': 'dense'}
    for v in m.all_vars():
        v.name_override = '%s/%s:0' % (scope[v.layer.name], v.short)
    recs = write_legacy(out('weights_only.h5'), era, m, weights_only=True)
    ws = legacy_weight_facts(recs, m)
    EXPECT['weights_only.h5'] = {
        'format': 'h5-weights', 'keras_version': era.version, 'backend': 'tensorflow',
        'model_class': None, 'layer_names': [l.name for l in m.layers],
        'layers': [{'name': l.name, 'params': l.params()} for l in m.layers],
        'empty_weight_names': [l.name for l in m.layers if not l.vars],
        'total_params': m.params(), 'n_weight_arrays': len(recs),
        'has_training_config': False, 'has_optimizer_weights': False,
        'n_optimizer_weight_arrays': 0, 'string_style': era.strings, 'weights': ws,
        'note': 'weightless layers store weight_names as an EMPTY float64 array; weight '
                'names (conv2d/kernel:0) do not start with the group name (conv2d_1)'}


# ============================================================================ bad inputs
def small_tf_model():
    m = Sequential('sequential', [
        Layer('Conv2D', 'conv2d', filters=16, kernel=3, activation='relu'),
        Layer('Flatten', 'flatten'),
        Layer('Dense', 'dense', units=2, activation='softmax')], (8, 8, 3), 'conv2d_input')
    fill_random(m, 50)
    return m


def fx_bad():
    era = ERAS['tf290']
    tsv = []

    def bad(name):
        return os.path.join(BAD, name)

    with open(bad('empty.h5'), 'wb'):
        pass
    tsv.append(('empty.h5', 'empty'))

    with open(bad('text.h5'), 'w') as fh:
        fh.write('This is not a model.\nJust some text saved with an .h5 name.\n')
    tsv.append(('text.h5', 'not an HDF5 file'))

    bio = io.BytesIO()
    m = small_tf_model()
    write_legacy(bio, era, m, config=dumps(model_json(m, era)))
    full = bio.getvalue()
    with open(bad('truncated.h5'), 'wb') as fh:
        fh.write(full[:len(full) // 2])
    tsv.append(('truncated.h5', 'truncated'))

    with h5file(bad('no_keras.h5')) as f:
        f.create_dataset('measurements', data=np.arange(12, dtype=np.float64).reshape(3, 4))
        f.attrs['instrument'] = 'thermometer'
    tsv.append(('no_keras.h5', 'no model_config'))

    m = small_tf_model()
    good = dumps(model_json(m, era))
    write_legacy(bad('bad_json.h5'), era, m, config=good[:len(good) // 3])
    tsv += [('bad_json.h5', 'model_config'), ('bad_json.h5', 'invalid JSON')]

    m = small_tf_model()
    write_legacy(bad('wrong_type.h5'), era, m, config=dumps(
        {'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': 5}}))
    tsv += [('wrong_type.h5', 'layers'), ('wrong_type.h5', 'number')]

    m = small_tf_model()
    doc = model_json(m, era)
    doc['config']['layers'][1]['config']['filters'] = '16'
    write_legacy(bad('wrong_type_filters.h5'), era, m, config=dumps(doc))
    tsv += [('wrong_type_filters.h5', 'conv2d'), ('wrong_type_filters.h5', 'filters')]

    m = small_tf_model()
    write_legacy(bad('wrong_shape.h5'), era, m, config=dumps(model_json(m, era)),
                 bad_shape={'conv2d/kernel:0': (3, 3, 1, 16)})
    tsv += [('wrong_shape.h5', 'conv2d'),
            ('wrong_shape.h5', 'kernel (3,3,1,16), expected (3,3,3,16)')]

    m = small_tf_model()
    write_legacy(bad('missing_weight.h5'), era, m, config=dumps(model_json(m, era)),
                 drop='dense/bias:0')
    tsv += [('missing_weight.h5', 'dense/bias:0')]

    # a .keras zip with metadata and weights but no config.json
    era3 = ERAS['k3']
    m = Sequential('sequential', [Layer('Dense', 'dense', units=2)], (4,), 'input_layer')
    fill_random(m, 51)
    entries, _ = k3_store_entries(m)
    weights = keras_weights_bytes(entries)
    with open(bad('bad.keras'), 'wb') as fh, zipfile.ZipFile(fh, 'w') as zf:
        for name, data, date in (
                ('metadata.json', json.dumps({'keras_version': era3.version,
                                              'date_saved': DATE_SAVED}).encode(),
                 (1980, 1, 1, 0, 0, 0)),
                ('model.weights.h5', weights, ZIP_DATE)):
            zi = zipfile.ZipInfo(name, date_time=date)
            zi.create_system = 3
            zi.external_attr = 0o600 << 16
            zf.writestr(zi, data)
    tsv.append(('bad.keras', 'config.json'))

    with open(bad('expect.tsv'), 'w') as fh:
        for f, s in tsv:
            fh.write('%s\t%s\n' % (f, s))


# ============================================================================ checks
def check_layouts():
    """Re-open what was written and assert the era-defining layout facts."""
    def fixed(attr_id):
        t = attr_id.get_type()
        return isinstance(t, h5py.h5t.TypeStringID) and not t.is_variable_str()

    def vlen(attr_id):
        t = attr_id.get_type()
        return isinstance(t, h5py.h5t.TypeStringID) and t.is_variable_str()

    with h5py.File(out('course_k23.h5'), 'r') as f:
        mw = f['model_weights']
        assert fixed(mw.attrs.get_id('layer_names'))
        assert fixed(mw['vgg16'].attrs.get_id('weight_names'))
        assert mw['flatten_1'].attrs['weight_names'].dtype == np.float64
        assert mw['vgg16/block1_conv1/kernel:0'].id.get_storage_size() == 0
        assert 'top_level_model_weights' not in mw
        cfg = json.loads(f.attrs['model_config'])
        assert cfg['config']['layers'][0]['class_name'] == 'Model'
        assert 'optimizer_weights' in f
    with h5py.File(out('course_tf29.h5'), 'r') as f:
        mw = f['model_weights']
        assert vlen(mw.attrs.get_id('layer_names'))
        assert vlen(f.attrs.get_id('keras_version'))
        assert f.attrs.get_id('keras_version').get_type().get_cset() == h5py.h5t.CSET_UTF8
        assert 'top_level_model_weights' in mw
        cfg = json.loads(f.attrs['model_config'])
        assert cfg['config']['layers'][0]['class_name'] == 'InputLayer'
        assert cfg['config']['layers'][1]['class_name'] == 'Functional'
    with h5py.File(out('course_k3.h5'), 'r') as f:
        names = list(f['model_weights/vgg16'].attrs['weight_names'])
        assert names[0] in ('block1_conv1/kernel', b'block1_conv1/kernel'), names[0]
        cfg = json.loads(f.attrs['model_config'])
        node = cfg['config']['layers'][1]['config']['layers'][1]['inbound_nodes'][0]
        assert node['args'][0]['class_name'] == '__keras_tensor__'
    with h5py.File(out('k1_seq_th.h5'), 'r') as f:
        assert 'backend' not in f.attrs and 'keras_version' not in f['model_weights'].attrs
        assert f['model_weights/convolution2d_1/convolution2d_1_W'].shape == (4, 1, 3, 3)
        assert isinstance(json.loads(f.attrs['model_config'])['config'], list)
    with h5py.File(out('k20_seq_list.h5'), 'r') as f:
        assert isinstance(json.loads(f.attrs['model_config'])['config'], list)
    with h5py.File(out('chunked_names.h5'), 'r') as f:
        mw = f['model_weights']
        assert 'layer_names' not in mw.attrs and fixed(mw.attrs.get_id('layer_names0'))
        assert 'weight_names2' in mw['encoder'].attrs
    with h5py.File(out('weights_only.h5'), 'r') as f:
        assert 'model_config' not in f.attrs and 'layer_names' in f.attrs
        assert f['input_1'].attrs['weight_names'].shape == (0,)
        assert 'conv2d_1/conv2d/kernel:0' in f
    for zname, first in (('course_k3.keras', 'layers/functional/layers/conv2d/vars'),
                         ('k3_seq.keras', 'layers/conv2d/vars'),
                         ('tf213_seq.keras', '_layer_checkpoint_dependencies/conv2d_2/vars'),
                         ('tf215_win.keras', 'layers\\conv2d_1/vars')):
        with zipfile.ZipFile(out(zname)) as zf:
            assert zf.namelist() == ['metadata.json', 'config.json', 'model.weights.h5']
            with h5py.File(io.BytesIO(zf.read('model.weights.h5')), 'r') as f:
                assert first in f, (zname, first)
    with zipfile.ZipFile(out('course_k3.keras')) as zf:
        with h5py.File(io.BytesIO(zf.read('model.weights.h5')), 'r') as f:
            assert f['layers/functional/vars'].attrs['name'] == 'vgg16'
            assert f['layers/functional/layers/conv2d_12/vars'].attrs['name'] == 'block5_conv3'
            assert f['vars'].attrs['name'] == 'sequential'
    for d in (OUT, BAD):
        for n in os.listdir(d):
            size = os.path.getsize(os.path.join(d, n))
            assert size < MAX_BYTES, (n, size)


def check_weights(weights):
    """Re-read every weight record from the file it describes: the dataset exists at 'path',
    has 'shape', and holds data with the recorded checksum (or has no storage at all)."""
    for fname, recs in weights.items():
        path = out(fname)
        if fname.endswith('.json'):
            path = out(EXPECT[fname]['weights_file'])
        if fname.endswith('.keras'):
            with zipfile.ZipFile(path) as zf:
                src = io.BytesIO(zf.read('model.weights.h5'))
        else:
            src = path
        with h5py.File(src, 'r') as f:
            for r in recs:
                d = f[r['path']]
                assert list(d.shape) == r['shape'], (fname, r)
                if r.get('written') is False:
                    assert d.id.get_storage_size() == 0, (fname, r)
                else:
                    got = float(np.sum(d[()], dtype=np.float64))
                    assert abs(got - r['sum']) < 1e-9, (fname, r, got)
                    assert float(np.asarray(d[()]).flat[0]) == r['first'], (fname, r)


def _leaf(o):
    return not isinstance(o, (dict, list)) or (
        isinstance(o, list) and all(_leaf(x) and not isinstance(x, dict) for x in o))


def emit_json(obj, depth=0):
    """Indented JSON that keeps each record (a dict of plain values: one layer, one weight)
    on one line and expands every container of records."""
    if _leaf(obj) or (isinstance(obj, dict) and all(_leaf(v) for v in obj.values())):
        return json.dumps(obj, separators=(', ', ': '))
    pad, end = ' ' * (depth + 1), ' ' * depth
    if isinstance(obj, dict):
        items = [pad + json.dumps(k) + ': ' + emit_json(v, depth + 1) for k, v in obj.items()]
        return '{\n' + ',\n'.join(items) + '\n' + end + '}'
    items = [pad + emit_json(v, depth + 1) for v in obj]
    return '[\n' + ',\n'.join(items) + '\n' + end + ']'


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(BAD, exist_ok=True)
    fx_course()
    fx_keras1()
    fx_keras2()
    fx_tf_keras()
    fx_keras3()
    fx_tf_zips()
    fx_json_and_weights()
    fx_bad()
    weights = {k: v.pop('weights') for k, v in sorted(EXPECT.items())}
    with open(out('expect.json'), 'w') as fh:
        fh.write(emit_json({'generator': 'tests/gen/make_fixtures.py', 'fill_value': FILL,
                            'fixtures': dict(sorted(EXPECT.items()))}) + '\n')
    with open(out('weights.json'), 'w') as fh:
        fh.write(emit_json({'generator': 'tests/gen/make_fixtures.py', 'fill_value': FILL,
                            'fixtures': weights}) + '\n')
    check_layouts()
    check_weights(weights)
    for d in (OUT, BAD):
        for n in sorted(os.listdir(d)):
            print('%8d  %s' % (os.path.getsize(os.path.join(d, n)),
                               os.path.relpath(os.path.join(d, n), ROOT)))


if __name__ == '__main__':
    main()
