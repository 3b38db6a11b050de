#!/usr/bin/python3
"""make_k1_rnn.py - Keras 1.2.2 model.save('x.h5') files with recurrent layers, for
tests/unit/test_k1_rnn.c.

Keras 1 stores a recurrent layer per gate (keras/layers/recurrent.py at 1.2.2, build()):

  LSTM       W_i U_i b_i  W_c U_c b_c  W_f U_f b_f  W_o U_o b_o   (trainable_weights order;
             note c before f)                                        names '<layer>_W_i', ...
  GRU        W_z U_z b_z  W_r U_r b_r  W_h U_h b_h
  SimpleRNN  W U b
  consume_less='gpu' LSTM/GRU: one W (in, g*u), U (u, g*u), b (g*u), gates i f c o / z r h.

W_* is (input_dim, output_dim), U_* (output_dim, output_dim), b_* (output_dim,), for both
backends: Theano and TensorFlow store the same arrays; only the names differ (TensorFlow
variables end in ':0').  A Bidirectional stores its forward layer's weights, then its
backward layer's, named 'forward_<inner>_W_i' ... and 'backward_<inner>_W_i' ...
A TimeDistributed stores its inner layer's weights under the inner layer's names.

File layout as Keras 1.2.2 save_model() wrote it (see /work/shared/KERAS-NOTES.md sections 2
and 3): root attributes keras_version (bytes) and model_config (JSON bytes), no backend, no
keras_version on model_weights (which is how Keras 2 recognises a Keras 1 file); name lists
as h5py 2 fixed-length arrays; the Sequential config is a bare list with Keras 1 keys.
One extra file, k1_gru_th_backend.h5, adds a root backend attribute "theano" to check that
the Theano flag, which flips convolution kernels, leaves recurrent weights alone.

Weights and inputs are random (fixed seeds).  The expected outputs are computed by
tests/gen/k1_rnn_ref.py from the per-gate arrays stored here, not by tlreport.

Writes tests/fixtures/rnn/k1_*.h5 and tests/ref/rnn/k1_*/x.npy (none for k1_bad_gate.h5,
which must be refused).  Deterministic.
Usage: /usr/bin/python3 tests/gen/make_k1_rnn.py
"""

import json
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
FIX = os.path.join(ROOT, 'tests', 'fixtures', 'rnn')
REF = os.path.join(ROOT, 'tests', 'ref', 'rnn')

GATES = {'LSTM': 'icfo', 'GRU': 'zrh', 'SimpleRNN': ''}


# ---- Keras 1.2.2 layer configs (get_config() keys of that release) ----------------------------

def base(name, batch_input_shape=None, dtype='float32'):
    c = {'name': name, 'trainable': True}
    if batch_input_shape is not None:
        c['batch_input_shape'] = batch_input_shape
        c['input_dtype'] = dtype
    return c


def rnn_cfg(cls, name, units, input_dim, input_length, first_shape=None, **kw):
    c = base(name, first_shape)
    c.update({'return_sequences': False, 'go_backwards': False, 'stateful': False,
              'unroll': False, 'consume_less': 'cpu', 'input_dim': input_dim,
              'input_length': input_length, 'output_dim': units, 'init': 'glorot_uniform',
              'inner_init': 'orthogonal', 'activation': 'tanh', 'W_regularizer': None,
              'U_regularizer': None, 'b_regularizer': None, 'dropout_W': 0.0,
              'dropout_U': 0.0})
    if cls != 'SimpleRNN':
        c['inner_activation'] = 'hard_sigmoid'
    if cls == 'LSTM':
        c['forget_bias_init'] = 'one'
    c.update(kw)
    return {'class_name': cls, 'config': c}


def dense_cfg(name, units, input_dim, activation='linear', first_shape=None):
    c = base(name, first_shape)
    c.update({'output_dim': units, 'init': 'glorot_uniform', 'activation': activation,
              'W_regularizer': None, 'b_regularizer': None, 'activity_regularizer': None,
              'W_constraint': None, 'b_constraint': None, 'bias': True,
              'input_dim': input_dim})
    return {'class_name': 'Dense', 'config': c}


def embedding_cfg(name, input_dim, output_dim, length):
    c = base(name, [None, length], 'int32')
    c.update({'input_dim': input_dim, 'output_dim': output_dim, 'init': 'uniform',
              'input_length': length, 'mask_zero': False, 'W_regularizer': None,
              'activity_regularizer': None, 'W_constraint': None, 'dropout': 0.0})
    return {'class_name': 'Embedding', 'config': c}


def wrapper_cfg(cls, name, inner, first_shape=None, **kw):
    c = base(name, first_shape)
    c['layer'] = inner
    c.update(kw)
    return {'class_name': cls, 'config': c}


# ---- stored weights -----------------------------------------------------------------------------

def rnn_arrays(rng, cls, prefix, feat, units, consume_less='cpu'):
    """(name, array) in the order Keras 1 listed trainable_weights."""
    gates = GATES[cls]
    if not gates or consume_less == 'gpu':
        g = max(len(gates), 1)
        return [(prefix + '_W', rng.uniform(-0.6, 0.6, (feat, g * units))),
                (prefix + '_U', rng.uniform(-0.6, 0.6, (units, g * units))),
                (prefix + '_b', rng.uniform(-0.3, 0.3, (g * units,)))]
    out = []
    for k in gates:
        out += [(prefix + '_W_' + k, rng.uniform(-0.6, 0.6, (feat, units))),
                (prefix + '_U_' + k, rng.uniform(-0.6, 0.6, (units, units))),
                (prefix + '_b_' + k, rng.uniform(-0.3, 0.3, (units,)))]
    return out


def dense_arrays(rng, prefix, feat, units):
    return [(prefix + '_W', rng.uniform(-0.7, 0.7, (feat, units))),
            (prefix + '_b', rng.uniform(-0.2, 0.2, (units,)))]


def write(fname, config, groups, tf_names, backend=None):
    """groups: [(layer name, [(weight name, array)])] in model order."""
    path = os.path.join(FIX, fname)
    with h5py.File(path, 'w', libver='earliest', track_order=False) as f:
        f.attrs['keras_version'] = b'1.2.2'
        if backend:
            f.attrs['backend'] = backend.encode()
        f.attrs['model_config'] = json.dumps({'class_name': 'Sequential',
                                              'config': config}).encode('utf-8')
        mw = f.create_group('model_weights')
        mw.attrs['layer_names'] = np.asarray([n.encode() for n, _ in groups])
        for lname, ws in sorted(groups):
            g = mw.create_group(lname)
            names = [n + (':0' if tf_names else '') for n, _ in ws]
            if names:
                g.attrs['weight_names'] = np.asarray([n.encode() for n in names])
            else:
                g.attrs['weight_names'] = []
            for n, (_, a) in zip(names, ws):
                g.create_dataset(n, data=np.asarray(a, np.float32))
    assert os.path.getsize(path) < 100 * 1024
    return path


def save_x(case, x):
    d = os.path.join(REF, case)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, 'x.npy'), np.asarray(x, np.float32))


# ---- the fixtures -------------------------------------------------------------------------------

def lstm_embedding(rng):
    """Embedding(10, 5) -> LSTM(4) -> Dense(3, softmax); TensorFlow names."""
    cfg = [embedding_cfg('embedding_1', 10, 5, 6),
           rnn_cfg('LSTM', 'lstm_1', 4, 5, 6),
           dense_cfg('dense_1', 3, 4, 'softmax')]
    groups = [('embedding_1', [('embedding_1_W', rng.uniform(-1, 1, (10, 5)))]),
              ('lstm_1', rnn_arrays(rng, 'LSTM', 'lstm_1', 5, 4)),
              ('dense_1', dense_arrays(rng, 'dense_1', 4, 3))]
    write('k1_lstm_tf.h5', cfg, groups, tf_names=True)
    save_x('k1_lstm_tf', rng.integers(0, 10, (2, 6)))


def gru_input(rng):
    """GRU(5) on (6, 4) -> Dense(2); TensorFlow names."""
    cfg = [rnn_cfg('GRU', 'gru_1', 5, 4, 6, first_shape=[None, 6, 4]),
           dense_cfg('dense_1', 2, 5)]
    groups = [('gru_1', rnn_arrays(rng, 'GRU', 'gru_1', 4, 5)),
              ('dense_1', dense_arrays(rng, 'dense_1', 5, 2))]
    write('k1_gru_tf.h5', cfg, groups, tf_names=True)
    save_x('k1_gru_tf', rng.uniform(-1, 1, (2, 6, 4)))


def simplernn_theano(rng):
    """SimpleRNN(3, return_sequences) -> Dropout -> SimpleRNN(4, go_backwards) -> Dense(2);
    Theano names (no ':0')."""
    cfg = [rnn_cfg('SimpleRNN', 'simplernn_1', 3, 4, 5, first_shape=[None, 5, 4],
                   return_sequences=True),
           {'class_name': 'Dropout', 'config': dict(base('dropout_1'), p=0.25)},
           rnn_cfg('SimpleRNN', 'simplernn_2', 4, 3, 5, go_backwards=True),
           dense_cfg('dense_1', 2, 4, 'sigmoid')]
    groups = [('simplernn_1', rnn_arrays(rng, 'SimpleRNN', 'simplernn_1', 4, 3)),
              ('dropout_1', []),
              ('simplernn_2', rnn_arrays(rng, 'SimpleRNN', 'simplernn_2', 3, 4)),
              ('dense_1', dense_arrays(rng, 'dense_1', 4, 2))]
    write('k1_simplernn_th.h5', cfg, groups, tf_names=False)
    save_x('k1_simplernn_th', rng.uniform(-1, 1, (3, 5, 4)))


def lstm_gru_theano(rng, fname, case, backend):
    """LSTM(4, return_sequences) -> GRU(3) -> Dense(2); Theano names, both gate-wise."""
    cfg = [rnn_cfg('LSTM', 'lstm_1', 4, 3, 7, first_shape=[None, 7, 3],
                   return_sequences=True),
           rnn_cfg('GRU', 'gru_1', 3, 4, 7, activation='relu'),
           dense_cfg('dense_1', 2, 3)]
    groups = [('lstm_1', rnn_arrays(rng, 'LSTM', 'lstm_1', 3, 4)),
              ('gru_1', rnn_arrays(rng, 'GRU', 'gru_1', 4, 3)),
              ('dense_1', dense_arrays(rng, 'dense_1', 3, 2))]
    write(fname, cfg, groups, tf_names=False, backend=backend)
    save_x(case, rng.uniform(-1, 1, (2, 7, 3)))


def bidirectional(rng):
    """Bidirectional(LSTM(3), concat) on (5, 4) -> Dense(2); TensorFlow names."""
    inner = rnn_cfg('LSTM', 'lstm_1', 3, 4, 5)
    cfg = [wrapper_cfg('Bidirectional', 'bidirectional_1', inner, [None, 5, 4],
                       merge_mode='concat'),
           dense_cfg('dense_1', 2, 6)]
    ws = (rnn_arrays(rng, 'LSTM', 'forward_lstm_1', 4, 3) +
          rnn_arrays(rng, 'LSTM', 'backward_lstm_1', 4, 3))
    groups = [('bidirectional_1', ws), ('dense_1', dense_arrays(rng, 'dense_1', 6, 2))]
    write('k1_bidi_lstm.h5', cfg, groups, tf_names=True)
    save_x('k1_bidi_lstm', rng.uniform(-1, 1, (2, 5, 4)))


def bidirectional_gru_sum(rng):
    """Bidirectional(GRU(3, return_sequences), sum) on (4, 2) -> GRU(2, consume_less='gpu');
    Theano names."""
    inner = rnn_cfg('GRU', 'gru_1', 3, 2, 4, return_sequences=True)
    cfg = [wrapper_cfg('Bidirectional', 'bidirectional_1', inner, [None, 4, 2],
                       merge_mode='sum'),
           rnn_cfg('GRU', 'gru_2', 2, 3, 4, consume_less='gpu')]
    ws = (rnn_arrays(rng, 'GRU', 'forward_gru_1', 2, 3) +
          rnn_arrays(rng, 'GRU', 'backward_gru_1', 2, 3))
    groups = [('bidirectional_1', ws),
              ('gru_2', rnn_arrays(rng, 'GRU', 'gru_2', 3, 2, consume_less='gpu'))]
    write('k1_bidi_gru_th.h5', cfg, groups, tf_names=False)
    save_x('k1_bidi_gru_th', rng.uniform(-1, 1, (2, 4, 2)))


def lstm_gpu(rng):
    """LSTM(3, consume_less='gpu') on (4, 2) -> Dense(1): three arrays, gates i f c o."""
    cfg = [rnn_cfg('LSTM', 'lstm_1', 3, 2, 4, first_shape=[None, 4, 2], consume_less='gpu'),
           dense_cfg('dense_1', 1, 3)]
    groups = [('lstm_1', rnn_arrays(rng, 'LSTM', 'lstm_1', 2, 3, consume_less='gpu')),
              ('dense_1', dense_arrays(rng, 'dense_1', 3, 1))]
    write('k1_lstm_gpu.h5', cfg, groups, tf_names=True)
    save_x('k1_lstm_gpu', rng.uniform(-1, 1, (2, 4, 2)))


def time_distributed(rng):
    """LSTM(4, return_sequences) on (5, 3) -> TimeDistributed(Dense(2)).  tlreport does not
    know TimeDistributed yet, so the test checks the summary and storage only; the reference
    output is written for when it does."""
    cfg = [rnn_cfg('LSTM', 'lstm_1', 4, 3, 5, first_shape=[None, 5, 3],
                   return_sequences=True),
           wrapper_cfg('TimeDistributed', 'timedistributed_1', dense_cfg('dense_1', 2, 4))]
    groups = [('lstm_1', rnn_arrays(rng, 'LSTM', 'lstm_1', 3, 4)),
              ('timedistributed_1', dense_arrays(rng, 'dense_1', 4, 2))]
    write('k1_td_lstm.h5', cfg, groups, tf_names=True)
    save_x('k1_td_lstm', rng.uniform(-1, 1, (2, 5, 3)))


def bad_gate(rng):
    """k1_gru_tf's model with one gate array of the wrong shape: gru_1_U_r is (5, 4), not
    (5, 5).  No reference output: loading must fail and name that array."""
    cfg = [rnn_cfg('GRU', 'gru_1', 5, 4, 6, first_shape=[None, 6, 4]),
           dense_cfg('dense_1', 2, 5)]
    ws = [(n, a[:, :4] if n == 'gru_1_U_r' else a) for n, a in rnn_arrays(rng, 'GRU', 'gru_1', 4, 5)]
    groups = [('gru_1', ws), ('dense_1', dense_arrays(rng, 'dense_1', 5, 2))]
    write('k1_bad_gate.h5', cfg, groups, tf_names=True)


def main():
    os.makedirs(FIX, exist_ok=True)
    lstm_embedding(np.random.default_rng(101))
    gru_input(np.random.default_rng(102))
    simplernn_theano(np.random.default_rng(103))
    lstm_gru_theano(np.random.default_rng(104), 'k1_lstm_gru_th.h5', 'k1_lstm_gru_th', None)
    lstm_gru_theano(np.random.default_rng(105), 'k1_gru_th_backend.h5', 'k1_gru_th_backend',
                    'theano')
    bidirectional(np.random.default_rng(106))
    bidirectional_gru_sum(np.random.default_rng(107))
    lstm_gpu(np.random.default_rng(108))
    time_distributed(np.random.default_rng(109))
    bad_gate(np.random.default_rng(110))
    for n in sorted(os.listdir(FIX)):
        if n.startswith('k1_'):
            print(os.path.join(FIX, n), os.path.getsize(os.path.join(FIX, n)), 'bytes')


if __name__ == '__main__':
    main()
