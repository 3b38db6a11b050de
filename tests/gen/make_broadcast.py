#!/usr/bin/python3
"""make_broadcast.py - a squeeze-and-excitation model whose merge layers broadcast, and its
per-layer references, for tlreport's forward-pass test (tests/unit/test_forward.c).

Keras's elementwise merges (Add, Subtract, Multiply, Average, Maximum, Minimum) broadcast:
_Merge.call inserts axes of size 1 after the batch axis of a lower-rank input until the
ranks agree, then the op broadcasts axes of size 1 (keras/src/layers/merging/base_merge.py;
tf.keras 2 keras/layers/merging/base_merge.py does the same).  The model exercises:

  Multiply([x (N,8,8,8), gate (N,1,1,8)])      the SE block (GAP keepdims, 1x1 convs)
  Multiply([v (N,8), se (N,8,8,8)])            a lower-rank first input (rank expansion)
  Add([se2, m (N,8,8,1)])                      broadcast along the channels
  Add([m (N,8,8,1), g (N,1,1,8)])              both inputs broadcast, each on other axes
  Subtract([g, a])                             the broadcast input first
  Maximum([m, g, x]), Average([v, m, sub]),    three inputs of three shapes
  Minimum([avg, v])

Writes, like make_numeric.py (whose model builder and h5 writer it uses):
  tests/fixtures/numeric/se_block.h5, se_block_input.npy
  tests/ref/numeric/se_block/<layer>.npy, manifest.json
The references come from numpy_ref.py (float64 NumPy, written from the Keras docs, with
the merge rank expansion stated there); tlreport plays no part.

Usage (from the repository root):  /usr/bin/python3 tests/gen/make_broadcast.py
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_numeric as M  # noqa: E402
import numpy_ref as R     # noqa: E402

NAME = 'se_block'


def build_se_block(ctx):
    x0 = M.image(8, 8, 4, seed=31)
    inp = M.Input(ctx, x0)
    x = M.Conv2D(ctx, 8, 3, padding='same', activation='relu')(inp)          # (8,8,8)
    g = M.GlobalPool(ctx, 'GlobalAveragePooling2D', keepdims=True)(x)         # (1,1,8)
    g = M.Conv2D(ctx, 4, 1, activation='relu')(g)                             # (1,1,4)
    g = M.Conv2D(ctx, 8, 1, activation='sigmoid')(g)                          # (1,1,8)
    se = M.Simple(ctx, 'Multiply')([x, g])                                    # (8,8,8)
    v = M.GlobalPool(ctx, 'GlobalAveragePooling2D')(x)                        # (8,)
    v = M.Dense(ctx, 8, activation='sigmoid')(v)                              # (8,)
    se2 = M.Simple(ctx, 'Multiply')([v, se])                                  # (8,8,8)
    m = M.Conv2D(ctx, 1, 1)(x)                                                # (8,8,1)
    a = M.Simple(ctx, 'Add')([se2, m])                                        # (8,8,8)
    mg = M.Simple(ctx, 'Add')([m, g])                                         # (8,8,8)
    sub = M.Simple(ctx, 'Subtract')([g, a])                                   # (8,8,8)
    mx = M.Simple(ctx, 'Maximum')([m, g, x])                                  # (8,8,8)
    avg = M.Simple(ctx, 'Average')([v, m, sub])                               # (8,8,8)
    mn = M.Simple(ctx, 'Minimum')([avg, v])                                   # (8,8,8)
    cat = M.Simple(ctx, 'Concatenate', axis=-1)([a, mg, mx, mn])              # (8,8,32)
    h = M.GlobalPool(ctx, 'GlobalAveragePooling2D')(cat)
    out = M.Dense(ctx, 3, activation='softmax')(h)
    return M.Model(ctx, inp, out), x0


def main():
    ctx = M.Ctx(seed=4242)
    model, x0 = build_se_block(ctx)
    h5 = os.path.join(M.FIX, NAME + '.h5')
    inp = os.path.join(M.FIX, NAME + '_input.npy')
    M.save_h5(model, h5)
    np.save(inp, x0.astype(np.float32))
    assert os.path.getsize(h5) < M.MAX_FILE, h5
    layers, outs = R.run_file(h5, np.load(inp))
    assert np.array_equal(outs[0], model.outputs[0].value), 'file and builder disagree'
    # the broadcasting cases really broadcast: spot-check two of them by hand
    x, g, v, se = (layers[k][0] for k in ('conv2d', 'conv2d_2', 'dense', 'multiply'))
    assert np.allclose(se[3, 5, 2], x[3, 5, 2] * g[0, 0, 2])
    assert np.allclose(layers['multiply_1'][0, 1, 7, 4], v[4] * se[1, 7, 4])
    arrays = dict(layers)
    arrays.update({'__output__%d' % i: o for i, o in enumerate(outs)})
    shapes = {p: list(a.shape) for p, a in arrays.items()}
    manifest = {'oracle': 'numpy_ref float64 (tests/gen/numpy_ref.py)',
                'stored_dtype': 'float32', 'model': M.relpath(h5), 'input': M.relpath(inp),
                'layers': shapes}
    M.write_refs(NAME, arrays, manifest)
    for p in sorted(shapes):
        print('%-28s %s  |max| %.3g' % (p, shapes[p], float(np.abs(arrays[p]).max())))


if __name__ == '__main__':
    main()
