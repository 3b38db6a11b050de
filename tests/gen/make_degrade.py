#!/usr/bin/python3
"""Writes the fixtures of the "degrade, never refuse" tests (tests/unit/test_degrade.c): model
files that tlreport reads only in part, and inputs that do not fit a model as images do.

  tests/fixtures/models/subclassed_vae.keras   Keras 3 .keras of a subclassed model: config.json
                                               {"class_name": "VAE", "config": {}}, weights in
                                               model.weights.h5 under the tracked attributes
                                               (encoder/layers/conv2d/vars/0, decoder/..., a
                                               metric tracker, optimizer state)
  tests/fixtures/models/subclassed_net.h5      tf.keras 2.9 model.save() of a subclassed model
                                               whose model_config has no layer list; one group
                                               per tracked layer (block, head)
  tests/fixtures/models/subclassed_net_arch.json  the same network as a Functional to_json(),
                                               layer names = the tracked attribute names
  tests/fixtures/models/k1_unbound.h5          Keras 1.2 Sequential Convolution2D -> Flatten ->
                                               Dense whose Dense group stores a third array that
                                               no Keras 2 conversion explains
  tests/fixtures/models/flat_mlp.h5            tf.keras 2.9 Sequential Dense on (None, 16)
  tests/fixtures/models/flat_conv.h5           (None, 16) -> Reshape (4, 4, 1) -> Conv2D -> Dense
  tests/fixtures/models/two_inputs.h5          tf.keras 2.9 Functional, inputs 'a' (None, 4) and
                                               'b' (None, 2), Concatenate, Dense(2, softmax)
  tests/fixtures/images/gray4x4.png            a 4x4 grayscale image (16 pixels: flat_mlp)
  tests/fixtures/images/digit28.png            a 28x28 grayscale digit-like image (784 pixels)
  tests/fixtures/npy/two_inputs_a.npy, _b.npy  one sample per input of two_inputs.h5
  tests/ref/degrade/*.npy                      NumPy outputs for the inputs above

Layouts follow what Keras writes (keras/src/saving/saving_lib.py for .keras stores: tracked
attributes by name, containers by snake-case class; legacy HDF5 for the others).  Fixed seeds,
no timestamps: re-running gives the same files.

Run: /usr/bin/python3 tests/gen/make_degrade.py
"""

import io
import json
import os
import struct
import zipfile
import zlib

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
MODELS = os.path.join(ROOT, 'tests', 'fixtures', 'models')
IMAGES = os.path.join(ROOT, 'tests', 'fixtures', 'images')
NPY = os.path.join(ROOT, 'tests', 'fixtures', 'npy')
REF = os.path.join(ROOT, 'tests', 'ref', 'degrade')
ZIP_DATE = (2024, 5, 1, 12, 0, 0)
RNG = np.random.default_rng(20240501)


def rand(*shape):
    return (RNG.standard_normal(shape) * 0.3).astype(np.float32)


def vlen(strings):
    return np.array([s.encode() for s in strings], dtype=h5py.string_dtype('utf-8'))


def put_group(root, name, weights):
    """A legacy layer group: weight_names plus the datasets at those names."""
    g = root.create_group(name)
    g.attrs['weight_names'] = vlen([n for n, _ in weights])
    for n, v in weights:
        g.create_dataset(n, data=v)


def legacy_file(path, config, groups, version='2.9.0', root_attrs=True):
    with h5py.File(path, 'w', libver='earliest', track_order=False) as f:
        if config is not None:
            f.attrs['model_config'] = json.dumps(config)
        if root_attrs:
            f.attrs['keras_version'] = version
            f.attrs['backend'] = 'tensorflow'
        mw = f.create_group('model_weights')
        mw.attrs['layer_names'] = vlen([n for n, _ in groups])
        if root_attrs:
            mw.attrs['keras_version'] = version
            mw.attrs['backend'] = 'tensorflow'
        for n, w in groups:
            put_group(mw, n, w)


# ---- subclassed models -------------------------------------------------------------------

def vae_keras(path):
    """Keras 3's store of a VAE(keras.Model) with attributes encoder and decoder (Functional)
    and a Mean metric tracker: tracked attributes by name, Functional layers by class."""
    buf = io.BytesIO()
    with h5py.File(buf, 'w', libver='earliest', track_order=False) as h:
        def var(path, value):
            h.create_dataset(path, data=value)
        var('decoder/layers/dense/vars/0', rand(2, 36))
        var('decoder/layers/dense/vars/1', rand(36))
        var('decoder/layers/conv2d_transpose/vars/0', rand(3, 3, 1, 4))
        var('decoder/layers/conv2d_transpose/vars/1', rand(1))
        var('encoder/layers/conv2d/vars/0', rand(3, 3, 1, 4))
        var('encoder/layers/conv2d/vars/1', rand(4))
        var('encoder/layers/dense/vars/0', rand(64, 4))
        var('encoder/layers/dense/vars/1', rand(4))
        var('total_loss_tracker/vars/0', np.float32(12.5))
        var('total_loss_tracker/vars/1', np.float32(3.0))
        var('optimizer/vars/0', np.int64(7))
        var('optimizer/vars/1', rand(3, 3, 1, 4))
        h.create_group('vars')
    config = {'module': None, 'class_name': 'VAE', 'config': {}, 'registered_name': 'VAE',
              'compile_config': {'optimizer': {'module': 'keras.optimizers', 'class_name': 'Adam',
                                               'config': {'name': 'adam', 'learning_rate': 0.001}},
                                 'loss': None, 'metrics': None}}
    meta = {'keras_version': '3.3.3', 'date_saved': '2024-05-01@12:00:00'}
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        for name, data in (('metadata.json', json.dumps(meta)), ('config.json', json.dumps(config)),
                           ('model.weights.h5', buf.getvalue())):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            z.writestr(info, data)


BLOCK = [('block/conv2d/kernel:0', (3, 3, 1, 4)), ('block/conv2d/bias:0', (4,)),
         ('block/batch_normalization/gamma:0', (4,)), ('block/batch_normalization/beta:0', (4,)),
         ('block/batch_normalization/moving_mean:0', (4,)),
         ('block/batch_normalization/moving_variance:0', (4,))]
HEAD = [('head/kernel:0', (144, 3)), ('head/bias:0', (3,))]


def subclassed_h5(path):
    """A subclassed MyNet (block: a Sequential attribute, head: a Dense attribute) saved to HDF5:
    its model_config names the class and nothing else."""
    groups = [('block', [(n, rand(*s)) for n, s in BLOCK]),
              ('head', [(n, rand(*s)) for n, s in HEAD])]
    legacy_file(path, {'class_name': 'MyNet', 'config': {'name': 'my_net', 'trainable': True}},
                groups)


def subclassed_arch(path):
    """The same network written as a Functional model (the fix the report suggests)."""
    seq = {'class_name': 'Sequential', 'config': {'name': 'block', 'layers': [
        {'class_name': 'InputLayer', 'config': {'batch_input_shape': [None, 8, 8, 1],
                                                'dtype': 'float32', 'name': 'block_input'}},
        {'class_name': 'Conv2D', 'config': {'name': 'conv2d', 'filters': 4, 'kernel_size': [3, 3],
                                            'strides': [1, 1], 'padding': 'valid',
                                            'activation': 'relu', 'use_bias': True}},
        {'class_name': 'BatchNormalization', 'config': {'name': 'batch_normalization',
                                                        'axis': -1, 'epsilon': 0.001,
                                                        'center': True, 'scale': True}},
        {'class_name': 'Flatten', 'config': {'name': 'flatten'}}]},
        'name': 'block', 'inbound_nodes': [[['image', 0, 0, {}]]]}
    cfg = {'class_name': 'Functional', 'config': {'name': 'my_net', 'layers': [
        {'class_name': 'InputLayer', 'config': {'batch_input_shape': [None, 8, 8, 1],
                                                'dtype': 'float32', 'name': 'image'},
         'name': 'image', 'inbound_nodes': []},
        seq,
        {'class_name': 'Dense', 'config': {'name': 'head', 'units': 3, 'activation': 'softmax',
                                           'use_bias': True},
         'name': 'head', 'inbound_nodes': [[['block', 1, 0, {}]]]}],
        'input_layers': [['image', 0, 0]], 'output_layers': [['head', 0, 0]]},
        'keras_version': '2.9.0', 'backend': 'tensorflow'}
    with open(path, 'w') as f:
        json.dump(cfg, f)


# ---- a Keras 1 layer whose weights do not bind ------------------------------------------

def k1_unbound(path):
    layers = [
        {'class_name': 'Convolution2D', 'config': {
            'name': 'convolution2d_1', 'nb_filter': 4, 'nb_row': 3, 'nb_col': 3,
            'border_mode': 'valid', 'subsample': [1, 1], 'dim_ordering': 'tf',
            'activation': 'relu', 'bias': True, 'trainable': True,
            'batch_input_shape': [None, 8, 8, 1], 'input_dtype': 'float32'}},
        {'class_name': 'Flatten', 'config': {'name': 'flatten_1', 'trainable': True}},
        {'class_name': 'Dense', 'config': {'name': 'dense_1', 'output_dim': 3,
                                           'activation': 'softmax', 'bias': True,
                                           'trainable': True, 'input_dim': 144}}]
    groups = [('convolution2d_1', [('convolution2d_1_W', rand(3, 3, 1, 4)),
                                   ('convolution2d_1_b', rand(4))]),
              ('flatten_1', []),
              ('dense_1', [('dense_1_W', rand(144, 3)), ('dense_1_b', rand(3)),
                           ('dense_1_gain', rand(3))])]
    legacy_file(path, {'class_name': 'Sequential', 'config': layers}, groups, root_attrs=False)


# ---- inputs that are not images ---------------------------------------------------------

def seq_dense(name, units, shape, activation):
    return {'class_name': 'Dense', 'config': {'name': name, 'units': units,
                                              'activation': activation, 'use_bias': True,
                                              'batch_input_shape': shape}}


def flat_mlp(path):
    w, b = rand(16, 3), rand(3)
    cfg = {'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': [
        {'class_name': 'InputLayer', 'config': {'batch_input_shape': [None, 16],
                                                'dtype': 'float32', 'name': 'pixels'}},
        seq_dense('dense', 3, [None, 16], 'softmax')]}}
    legacy_file(path, cfg, [('dense', [('dense/kernel:0', w), ('dense/bias:0', b)])])
    return w, b


def flat_conv(path):
    """A flat input that the model reshapes into an image first, as U-Nets fed vectors do."""
    cfg = {'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': [
        {'class_name': 'InputLayer', 'config': {'batch_input_shape': [None, 16],
                                                'dtype': 'float32', 'name': 'pixels'}},
        {'class_name': 'Reshape', 'config': {'name': 'reshape', 'target_shape': [4, 4, 1]}},
        {'class_name': 'Conv2D', 'config': {'name': 'conv2d', 'filters': 2, 'kernel_size': [3, 3],
                                            'strides': [1, 1], 'padding': 'valid',
                                            'data_format': 'channels_last',
                                            'dilation_rate': [1, 1], 'groups': 1,
                                            'activation': 'relu', 'use_bias': True}},
        {'class_name': 'Flatten', 'config': {'name': 'flatten'}},
        seq_dense('dense', 2, None, 'softmax')]}}
    del cfg['config']['layers'][-1]['config']['batch_input_shape']
    legacy_file(path, cfg, [('reshape', []),
                            ('conv2d', [('conv2d/kernel:0', rand(3, 3, 1, 2)),
                                        ('conv2d/bias:0', rand(2))]),
                            ('flatten', []),
                            ('dense', [('dense/kernel:0', rand(8, 2)), ('dense/bias:0', rand(2))])])


def two_inputs(path):
    w, b = rand(6, 2), rand(2)
    def inp(n, d):
        return {'class_name': 'InputLayer', 'name': n, 'inbound_nodes': [],
                'config': {'batch_input_shape': [None, d], 'dtype': 'float32', 'name': n}}
    cfg = {'class_name': 'Functional', 'config': {'name': 'model', 'layers': [
        inp('a', 4), inp('b', 2),
        {'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat', 'axis': -1},
         'inbound_nodes': [[['a', 0, 0, {}], ['b', 0, 0, {}]]]},
        {'class_name': 'Dense', 'name': 'out',
         'config': {'name': 'out', 'units': 2, 'activation': 'softmax', 'use_bias': True},
         'inbound_nodes': [[['cat', 0, 0, {}]]]}],
        'input_layers': [['a', 0, 0], ['b', 0, 0]], 'output_layers': [['out', 0, 0]]}}
    legacy_file(path, cfg, [('a', []), ('b', []), ('cat', []),
                            ('out', [('out/kernel:0', w), ('out/bias:0', b)])])
    return w, b


def png_gray(path, pixels):
    """An 8-bit grayscale PNG, written by hand (no imaging library needed)."""
    h, w = pixels.shape
    raw = b''.join(b'\x00' + bytes(pixels[y].tolist()) for y in range(h))
    def chunk(kind, data):
        c = struct.pack('>I', len(data)) + kind + data
        return c + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
    png += chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(png)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def main():
    for d in (MODELS, IMAGES, NPY, REF):
        os.makedirs(d, exist_ok=True)
    vae_keras(os.path.join(MODELS, 'subclassed_vae.keras'))
    subclassed_h5(os.path.join(MODELS, 'subclassed_net.h5'))
    subclassed_arch(os.path.join(MODELS, 'subclassed_net_arch.json'))
    k1_unbound(os.path.join(MODELS, 'k1_unbound.h5'))
    w, b = flat_mlp(os.path.join(MODELS, 'flat_mlp.h5'))
    g4 = (np.arange(16, dtype=np.uint8).reshape(4, 4) * 16 + 7).astype(np.uint8)
    png_gray(os.path.join(IMAGES, 'gray4x4.png'), g4)
    # x.reshape(1, -1) of the image scaled by 1/255, as the report says
    x = g4.astype(np.float32).reshape(1, -1) / np.float32(255)
    np.save(os.path.join(REF, 'flat_mlp_out.npy'), softmax(x @ w + b).astype(np.float32))
    yy, xx = np.mgrid[0:28, 0:28]
    digit = ((np.abs(np.hypot(yy - 13.5, xx - 13.5) - 8) < 2.5) * 255).astype(np.uint8)
    png_gray(os.path.join(IMAGES, 'digit28.png'), digit)
    flat_conv(os.path.join(MODELS, 'flat_conv.h5'))
    w2, b2 = two_inputs(os.path.join(MODELS, 'two_inputs.h5'))
    a = np.array([[0.5, -1.0, 2.0, 0.25]], dtype=np.float32)
    bb = np.array([[1.5, -0.5]], dtype=np.float32)
    np.save(os.path.join(NPY, 'two_inputs_a.npy'), a)
    np.save(os.path.join(NPY, 'two_inputs_b.npy'), bb)
    y = softmax(np.concatenate([a, bb], axis=1) @ w2 + b2).astype(np.float32)
    np.save(os.path.join(REF, 'two_inputs_out.npy'), y)


if __name__ == '__main__':
    main()
