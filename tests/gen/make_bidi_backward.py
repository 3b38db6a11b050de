#!/usr/bin/python3
"""make_bidi_backward.py - a tf.keras 2.9 model.save('x.h5') file with a Bidirectional layer
whose explicit backward_layer differs from its forward layer, for tests/unit/test_shape.c.

    Input (None, 5, 6) -> Bidirectional(LSTM(4, return_sequences=True, use_bias=True),
                                        backward_layer=GRU(3, return_sequences=True,
                                        use_bias=False, reset_after=True, go_backwards=True),
                                        merge_mode='concat')          -> (None, 5, 7)

Keras builds one cell per direction (bidirectional.py build()), and saves the forward
layer's weights, then the backward layer's, under 'forward_<name>' and 'backward_<name>'
(tf.keras 2 renames the two layers so).  Parameters, by hand:
    forward LSTM  kernel (6, 16) + recurrent_kernel (4, 16) + bias (16,) = 96 + 64 + 16 = 176
    backward GRU  kernel (6, 9)  + recurrent_kernel (3, 9)                = 54 + 27      =  81
    total 257
Weights are random (seeded); nothing here comes from tlreport.

Writes tests/fixtures/rnn/bidi_backward.h5.  Usage: /usr/bin/python3 tests/gen/make_bidi_backward.py
"""

import json
import os

import h5py
import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'rnn', 'bidi_backward.h5')


def rnn_config(name, units, **kw):
    c = {'name': name, 'trainable': True, 'dtype': 'float32', 'return_sequences': True,
         'return_state': False, 'go_backwards': False, 'stateful': False, 'unroll': False,
         'time_major': False, 'units': units, 'activation': 'tanh',
         'recurrent_activation': 'sigmoid', 'use_bias': True, 'dropout': 0.0,
         'recurrent_dropout': 0.0}
    c.update(kw)
    return c


def main():
    rng = np.random.default_rng(257)
    lstm = rnn_config('lstm', 4, unit_forget_bias=True, implementation=2)
    gru = rnn_config('gru', 3, use_bias=False, reset_after=True, go_backwards=True,
                     implementation=2)
    cfg = {'class_name': 'Functional', 'config': {'name': 'model', 'layers': [
        {'class_name': 'InputLayer', 'name': 'input_1', 'inbound_nodes': [],
         'config': {'batch_input_shape': [None, 5, 6], 'dtype': 'float32', 'sparse': False,
                    'ragged': False, 'name': 'input_1'}},
        {'class_name': 'Bidirectional', 'name': 'bidirectional',
         'inbound_nodes': [[['input_1', 0, 0, {}]]],
         'config': {'name': 'bidirectional', 'trainable': True, 'dtype': 'float32',
                    'layer': {'class_name': 'LSTM', 'config': lstm}, 'merge_mode': 'concat',
                    'backward_layer': {'class_name': 'GRU', 'config': gru}}}],
        'input_layers': [['input_1', 0, 0]], 'output_layers': [['bidirectional', 0, 0]]}}
    weights = [('forward_lstm/lstm_cell/kernel:0', (6, 16)),
               ('forward_lstm/lstm_cell/recurrent_kernel:0', (4, 16)),
               ('forward_lstm/lstm_cell/bias:0', (16,)),
               ('backward_gru/gru_cell/kernel:0', (6, 9)),
               ('backward_gru/gru_cell/recurrent_kernel:0', (3, 9))]
    assert sum(int(np.prod(s)) for _, s in weights) == 257
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with h5py.File(OUT, 'w', libver='earliest', track_order=False) as f:
        f.attrs['keras_version'] = '2.9.0'
        f.attrs['backend'] = 'tensorflow'
        f.attrs['model_config'] = json.dumps(cfg).encode('utf8')
        mw = f.create_group('model_weights')
        mw.attrs['layer_names'] = [b'input_1', b'bidirectional']
        mw.attrs['backend'] = b'tensorflow'
        mw.attrs['keras_version'] = b'2.9.0'
        mw.create_group('input_1').attrs['weight_names'] = []
        g = mw.create_group('bidirectional')
        g.attrs['weight_names'] = [('bidirectional/' + n).encode('utf8') for n, _ in weights]
        for n, shape in weights:
            g.create_dataset('bidirectional/' + n,
                             data=rng.uniform(-0.5, 0.5, shape).astype(np.float32))
        mw.create_group('top_level_model_weights').attrs['weight_names'] = []
    print(OUT, os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()
