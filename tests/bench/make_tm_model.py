#!/usr/bin/python3
"""Write the Teachable-Machine-shaped benchmark model (tm_mnv2.h5) and its input.

  make_tm_model.py ORACLE_DIR OUTDIR [--classes N] [--seed S]

Built with the oracle's Keras-2 writer (ORACLE_DIR/make_keras_h5.py, h5py + numpy, no
TensorFlow) in the shape of a Teachable Machine image export (the corpus files
022-025-tm-*.h5 were read for it): MobileNetV2 with width alpha 0.35 at 224x224, cut at
'out_relu' (1280 channels) in the layer names and order of Keras 2.2's mobilenet_v2
(Conv1_pad + 'valid' Conv1, the first block 'expanded_conv_*', 'block_N_pad' before each
stride-2 depthwise), then

  Sequential [ Sequential [ Functional mobilenetv2 , GlobalAveragePooling2D ],
               Sequential [ Dense(100, relu), Dense(N, softmax, no bias) ] ]

Weights are deterministic random numbers (the writer's Glorot ranges and BatchNormalization
statistics), so the model's predictions mean nothing; only its shapes and layers matter.
Writes OUTDIR/tm_mnv2.h5 and OUTDIR/inputs/tm_mnv2.npy (NHWC float32 in [0, 1]).
"""
import argparse
import os
import sys

import numpy as np


def make_divisible(v, divisor=8):
    # keras.applications.mobilenet_v2._make_divisible
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def build(K, seed, alpha=0.35, size=224, classes=3):
    S = K.Session(seed)

    def bn(x, name):
        return K.BatchNormalization(S, epsilon=1e-3, momentum=0.999, name=name)(x)

    def block(x, cin, expansion, filters, stride, bid):
        cout = make_divisible(int(filters * alpha))
        prefix = 'block_%d_' % bid if bid else 'expanded_conv_'
        h = x
        if bid:
            h = K.Conv2D(S, cin * expansion, 1, padding='same', use_bias=False,
                         name=prefix + 'expand')(h)
            h = bn(h, prefix + 'expand_BN')
            h = K.ReLU(S, 6.0, name=prefix + 'expand_relu')(h)
        if stride == 2:
            h = K.ZeroPadding2D(S, ((0, 1), (0, 1)), name=prefix + 'pad')(h)
        h = K.DepthwiseConv2D(S, 3, strides=stride, use_bias=False,
                              padding='same' if stride == 1 else 'valid',
                              name=prefix + 'depthwise')(h)
        h = bn(h, prefix + 'depthwise_BN')
        h = K.ReLU(S, 6.0, name=prefix + 'depthwise_relu')(h)
        h = K.Conv2D(S, cout, 1, padding='same', use_bias=False, name=prefix + 'project')(h)
        h = bn(h, prefix + 'project_BN')
        if cin == cout and stride == 1:
            h = K.Add(S, name=prefix + 'add')([x, h])
        return h, cout

    inp = K.Input(S, (size, size, 3), name='input_1')
    x = K.ZeroPadding2D(S, ((0, 1), (0, 1)), name='Conv1_pad')(inp)
    c = make_divisible(32 * alpha)
    x = K.Conv2D(S, c, 3, strides=2, padding='valid', use_bias=False, name='Conv1')(x)
    x = bn(x, 'bn_Conv1')
    x = K.ReLU(S, 6.0, name='Conv1_relu')(x)
    # (expansion, filters, repeats, first stride) as in MobileNetV2's table
    bid = 0
    for t, f, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            x, c = block(x, c, t, f, s if i == 0 else 1, bid)
            bid += 1
    x = K.Conv2D(S, 1280, 1, use_bias=False, name='Conv_1')(x)
    x = bn(x, 'Conv_1_bn')
    x = K.ReLU(S, 6.0, name='out_relu')(x)
    base = K.Model(S, inp, x, name='model1')
    body = K.Sequential(S, [base, K.GlobalAveragePooling2D(
        S, name='global_average_pooling2d_GlobalAveragePooling2D1')], name='sequential_1')
    head = K.Sequential(S, [K.Dense(S, 100, activation='relu', input_shape=(1280,),
                                    name='dense_Dense1'),
                            K.Dense(S, classes, activation='softmax', use_bias=False,
                                    name='dense_Dense2')], name='sequential_3')
    return K.Sequential(S, [body, head], name='sequential_4')


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('oracle')
    ap.add_argument('outdir')
    ap.add_argument('--classes', type=int, default=3)
    ap.add_argument('--seed', type=int, default=20240229)
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.oracle))
    import make_keras_h5 as K
    model = build(K, args.seed, classes=args.classes)
    os.makedirs(os.path.join(args.outdir, 'inputs'), exist_ok=True)
    K.save_model(model, os.path.join(args.outdir, 'tm_mnv2.h5'), K.ADAM_CCE_TRAINING_CONFIG)
    inp = K.make_input(model.inputs[0].shape, args.seed + 1)
    np.save(os.path.join(args.outdir, 'inputs', 'tm_mnv2.npy'), inp)


if __name__ == '__main__':
    main()
