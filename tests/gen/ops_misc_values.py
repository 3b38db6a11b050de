#!/usr/bin/python3
"""Prints the expected values written into tests/unit/test_ops_misc.c.

Independent of tlreport: each formula is the textbook/Keras definition evaluated in double
precision with Python's math module and numpy.  Run: /usr/bin/python3 tests/gen/ops_misc_values.py
"""
import math

import numpy as np

X = [-3.0, -1.0, -0.25, 0.0, 0.5, 2.0, 7.0]


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def softplus(v):
    return math.log1p(math.exp(v))


SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
ACTS = {
    "sigmoid": sig,
    "hard_sigmoid_k2": lambda v: min(max(0.2 * v + 0.5, 0.0), 1.0),
    "hard_sigmoid_k3": lambda v: min(max(v + 3.0, 0.0), 6.0) / 6.0,
    "hard_swish": lambda v: v * min(max(v + 3.0, 0.0), 6.0) / 6.0,
    "tanh": math.tanh,
    "elu_a1": lambda v: v if v > 0 else math.expm1(v),
    "elu_a05": lambda v: v if v > 0 else 0.5 * math.expm1(v),
    "selu": lambda v: SELU_S * v if v > 0 else SELU_S * SELU_A * math.expm1(v),
    "softplus": softplus,
    "softsign": lambda v: v / (1.0 + abs(v)),
    "swish": lambda v: v * sig(v),
    "gelu": lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))),
    "gelu_tanh": lambda v: 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) *
                                                      (v + 0.044715 * v ** 3))),
    "exponential": math.exp,
    "mish": lambda v: v * math.tanh(softplus(v)),
}


def show(name, vals):
    print("%s: {%s}" % (name, ", ".join("%.10gf" % v for v in vals)))


def softmax(r):
    r = np.asarray(r, dtype=np.float64)
    e = np.exp(r - r.max())
    return e / e.sum()


def tf_bilinear(img, oh, ow):
    """tf.image.resize(method='bilinear', antialias=False): half-pixel centres."""
    h, w = img.shape

    def taps(o, i):
        s = i / o
        out = []
        for k in range(o):
            src = (k + 0.5) * s - 0.5
            lo = math.floor(src)
            out.append((max(lo, 0), min(math.ceil(src), i - 1), src - lo))
        return out
    ys, xs = taps(oh, h), taps(ow, w)
    res = np.zeros((oh, ow))
    for y, (y0, y1, fy) in enumerate(ys):
        for x, (x0, x1, fx) in enumerate(xs):
            top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
            bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
            res[y, x] = top * (1 - fy) + bot * fy
    return res


def tf_nearest_index(o, i):
    return [min(math.floor((k + 0.5) * i / o), i - 1) for k in range(o)]


def main():
    print("inputs:", X)
    for name, f in ACTS.items():
        show(name, [f(v) for v in X])
    show("softplus(+-20)", [softplus(20.0), softplus(-20.0)])
    show("softmax[1,2,3]", softmax([1, 2, 3]))
    show("softmax[1000,1001]", softmax([1000, 1001]))
    show("log_softmax[1,2,3]", np.log(softmax([1, 2, 3])))
    r = np.array([1000.0, 1001.0])
    show("log_softmax[1000,1001]", r - r.max() - np.log(np.exp(r - r.max()).sum()))
    # softmax over the middle axis of (1, 3, 2): columns [1,2,3] and [10,20,30]
    show("softmax col [10,20,30]", softmax([10, 20, 30]))
    # batch norm: y = (x - mean) / sqrt(var + eps) * gamma + beta
    xs = [[1.0, -2.0], [3.0, 0.5]]
    g, b, m, v, eps = [2.0, 0.5], [1.0, -1.0], [0.5, -1.0], [4.0, 0.25], 1e-3
    show("batchnorm", [(x[c] - m[c]) / math.sqrt(v[c] + eps) * g[c] + b[c]
                       for x in xs for c in range(2)])
    show("batchnorm no gamma/beta", [(x[c] - m[c]) / math.sqrt(v[c] + eps)
                                     for x in xs for c in range(2)])
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    show("bilinear 2x2->4x4", tf_bilinear(a, 4, 4).ravel())
    b4 = np.array([[1.0, 2, 4, 8], [0, 1, 0, -1], [5, 3, 2, 1], [9, 7, -2, 6]])
    show("bilinear 4x4->3x3", tf_bilinear(b4, 3, 3).ravel())
    c3 = np.array([[1.0, 4.0, 2.0]])
    show("bilinear 1x3->1x5", tf_bilinear(c3, 1, 5).ravel())
    print("nearest 4->3:", tf_nearest_index(3, 4), " 3->5:", tf_nearest_index(5, 3),
          " 5->3:", tf_nearest_index(3, 5))


if __name__ == "__main__":
    main()
