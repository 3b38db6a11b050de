#!/usr/bin/python3
"""bidi_backward_ref.py - the output of tests/fixtures/rnn/bidi_backward.h5 (forward LSTM(4),
backward GRU(3, reset_after, no bias), concat) for a seeded input, computed in float64 by
rnn_ref.py's numpy recurrences from the weights h5py reads out of the file.  tlreport's
forward pass is compared with it in tests/unit/test_shape.c.

Writes tests/ref/rnn/bidi_backward_model/{x,out}.npy.
Usage: /usr/bin/python3 tests/gen/bidi_backward_ref.py
"""

import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnn_ref  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
SRC = os.path.join(ROOT, 'tests', 'fixtures', 'rnn', 'bidi_backward.h5')
OUT = os.path.join(ROOT, 'tests', 'ref', 'rnn', 'bidi_backward_model')


def main():
    g = 'model_weights/bidirectional/bidirectional/'
    with h5py.File(SRC, 'r') as f:
        w = lambda n: f[g + n][()].astype(np.float64)  # noqa: E731
        wf = (w('forward_lstm/lstm_cell/kernel:0'), w('forward_lstm/lstm_cell/recurrent_kernel:0'),
              w('forward_lstm/lstm_cell/bias:0'))
        wb = (w('backward_gru/gru_cell/kernel:0'), w('backward_gru/gru_cell/recurrent_kernel:0'),
              None)
    fw = rnn_ref.layer('lstm', 4, return_sequences=True)
    bw = rnn_ref.layer('gru', 3, reset_after=True, go_backwards=True, return_sequences=True,
                       use_bias=False)
    x = np.random.default_rng(5).uniform(-1, 1, (2, 5, 6)).astype(np.float32)
    y = rnn_ref.run_bidirectional(fw, bw, 'concat', x.astype(np.float64), wf, wb)
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, 'x.npy'), x)
    np.save(os.path.join(OUT, 'out.npy'), y)
    print(OUT, y.shape)


if __name__ == '__main__':
    main()
