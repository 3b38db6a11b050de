#!/usr/bin/python3
"""Re-derives the hand-worked numbers of tests/unit/test_ops_conv.c with PyTorch, an
implementation independent of tlreport.  Run: /usr/bin/python3 tests/gen/check_conv_hand.py
(prints OK per case; exits 1 on any mismatch).  Layouts follow the Keras storage order used by
the C test: images (N, H, W, C), kernels (kh, kw, cin/groups, cout), depthwise kernels
(kh, kw, cin, dm), transposed-conv kernels (kh, kw, cout, cin)."""
import sys

import numpy as np
import torch
import torch.nn.functional as F

failed = False


def check(name, got, want):
    global failed
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    ok = got.shape == want.shape and np.allclose(got, want, rtol=0, atol=1e-5)
    print(("OK   " if ok else "FAIL ") + name + ("" if ok else f": got {got}, want {want}"))
    failed |= not ok


def t(x):
    return torch.tensor(np.asarray(x, dtype=np.float32))


def conv(x_nhwc, k_keras, bias=None, stride=(1, 1), dil=(1, 1), pad=(0, 0, 0, 0), groups=1):
    """pad = (top, bottom, left, right); TF-style cross-correlation on explicit padding."""
    x = t(x_nhwc).permute(0, 3, 1, 2)
    x = F.pad(x, (pad[2], pad[3], pad[0], pad[1]))
    w = t(k_keras).permute(3, 2, 0, 1)  # (cout, cin/groups, kh, kw)
    y = F.conv2d(x, w, None if bias is None else t(bias), stride, 0, dil, groups)
    return y.permute(0, 2, 3, 1).numpy()


def conv_transpose(x_nhwc, k_keras, out_hw, pad_tl, stride, bias=None):
    """Full transposed conv, then the window at pad_tl of size out_hw, zero past the end."""
    x = t(x_nhwc).permute(0, 3, 1, 2)
    w = t(k_keras).permute(3, 2, 0, 1)  # (kh, kw, cout, cin) -> (cin, cout, kh, kw)
    full = F.conv_transpose2d(x, w, None, stride).permute(0, 2, 3, 1).numpy()
    n, fh, fw, c = full.shape
    out = np.zeros((n, out_hw[0], out_hw[1], c), np.float32)
    for oy in range(out_hw[0]):
        for ox in range(out_hw[1]):
            fy, fx = oy + pad_tl[0], ox + pad_tl[1]
            if fy < fh and fx < fw:
                out[:, oy, ox, :] = full[:, fy, fx, :]
    return out + (0 if bias is None else np.asarray(bias, np.float32))


# conv_same_stride2: 3x3, k2, s2, 'same' -> pad bottom/right 1
x = np.array([np.arange(1, 10).reshape(3, 3, 1), np.ones((3, 3, 1))])
k = np.array([1, -1, 2, -1, 3, -1, 4, -1]).reshape(2, 2, 1, 2)
check("conv same stride 2", conv(x, k, [0.5, 0], (2, 2), pad=(0, 1, 0, 1)),
      [37.5, -12, 21.5, -9, 23.5, -15, 9.5, -9, 10.5, -4, 4.5, -2, 3.5, -2, 1.5, -1])
# conv_same_pad_left
check("conv 1-D same", conv(np.array([1, 2, 3, 4]).reshape(1, 1, 4, 1),
                            np.array([1, 10, 100]).reshape(1, 3, 1, 1), pad=(0, 0, 1, 1)),
      [210, 321, 432, 43])
# conv_dilated
check("conv dilation 2", conv(np.arange(1, 6).reshape(1, 1, 5, 1),
                              np.array([1, 10]).reshape(1, 2, 1, 1), dil=(1, 2),
                              pad=(0, 0, 1, 1)), [20, 31, 42, 53, 4])
# conv_groups
x = np.arange(1, 9).reshape(1, 1, 2, 4)
check("conv groups 2, 1x2", conv(x, np.arange(1, 9).reshape(1, 2, 2, 2), groups=2), [74, 128])
check("conv groups 2, 1x1", conv(x[:, :, :1, :], np.arange(1, 9).reshape(1, 1, 2, 4), groups=2),
      [11, 14, 37, 44])
# depthwise_multiplier2: depthwise = groups == cin with kernel (kh, kw, 1, cin*dm)
check("depthwise dm 2", conv(np.arange(1, 5).reshape(1, 1, 2, 2),
                             np.arange(1, 9).reshape(1, 2, 1, 4), [0.5, 0, 0, -1], groups=2),
      [16.5, 20, 34, 39])
# transpose_stride2
x = np.arange(1, 5).reshape(1, 2, 2, 1)
k = np.arange(1, 10).reshape(3, 3, 1, 1)
check("transpose k3 s2 same", conv_transpose(x, k, (4, 4), (0, 0), 2),
      [1, 2, 5, 4, 4, 5, 14, 10, 10, 14, 36, 24, 12, 15, 34, 20])
check("transpose valid output_padding 1", conv_transpose(x, k, (6, 6), (0, 0), 2, [1]),
      [2, 3, 6, 5, 7, 1, 5, 6, 15, 11, 13, 1, 11, 15, 37, 25, 31, 1, 13, 16, 35, 21, 25, 1,
       22, 25, 56, 33, 37, 1, 1, 1, 1, 1, 1, 1])
# transpose_same_offset
check("transpose same window at 1",
      conv_transpose(np.array([1, 2, 3]).reshape(1, 1, 3, 1),
                     np.array([1, 10, 100]).reshape(1, 3, 1, 1), (1, 3), (0, 1), 1),
      [12, 123, 230])
# transpose_channels
check("transpose kernel order",
      conv_transpose(np.array([1, 2]).reshape(1, 1, 1, 2), np.arange(1, 9).reshape(1, 2, 2, 2),
                     (1, 2), (0, 0), 1), [5, 11, 17, 23])
# dense_hand
a = np.arange(1, 7).reshape(2, 3)
check("dense", a @ np.arange(1, 7).reshape(3, 2) + np.array([0.5, -1]), [22.5, 27, 49.5, 63])

sys.exit(1 if failed else 0)
