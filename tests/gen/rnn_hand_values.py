#!/usr/bin/python3
"""rnn_hand_values.py - the small worked examples in tests/unit/test_ops_rnn.c (T = 2, F = 2,
u = 2, one sample), computed with scalar arithmetic and the math module, one gate at a time,
printing every intermediate value so each can be followed by hand.  Independent of tlreport
and of rnn_ref.py (no matrices, no numpy)."""

import math


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def dot_col(vec, m, col):
    """vec (len k) times column 'col' of m (k rows)."""
    return sum(vec[i] * m[i][col] for i in range(len(vec)))


U2 = 2  # units

# ---- GRU: the two reset conventions on the same weights --------------------------------
X = [[1.0, 0.0], [0.0, 1.0]]                      # (T, F)
W = [[0.5, -0.5, 0.25, 0.0, 1.0, -1.0],           # (F, 3u): z | r | h
     [0.0, 0.5, -0.25, 0.5, 0.5, 0.5]]
U = [[1.0, 0.0, 0.5, -0.5, 1.0, 0.5],             # (u, 3u)
     [0.0, 1.0, 0.5, 0.5, -1.0, 1.0]]
B_IN = [0.1, -0.1, 0.2, 0.0, 0.0, 0.3]            # input bias (3u)
B_REC = [0.0, 0.2, -0.2, 0.1, 0.5, -0.5]          # recurrent bias, reset_after only


def gru(reset_after):
    h = [0.0, 0.0]
    print('GRU reset_after=%s' % reset_after)
    for t, x in enumerate(X):
        xw = [dot_col(x, W, j) + B_IN[j] for j in range(6)]
        hu = [dot_col(h, U, j) + (B_REC[j] if reset_after else 0.0) for j in range(6)]
        z = [sig(xw[j] + hu[j]) for j in range(U2)]
        r = [sig(xw[U2 + j] + hu[U2 + j]) for j in range(U2)]
        if reset_after:
            cand = [math.tanh(xw[4 + j] + r[j] * hu[4 + j]) for j in range(U2)]
        else:
            rh = [r[i] * h[i] for i in range(U2)]
            cand = [math.tanh(xw[4 + j] + dot_col(rh, U, 4 + j)) for j in range(U2)]
        h = [z[j] * h[j] + (1.0 - z[j]) * cand[j] for j in range(U2)]
        print('  t=%d xw=%s\n       z=%s r=%s\n       h~=%s\n       h=%s'
              % (t, fmt(xw), fmt(z), fmt(r), fmt(cand), fmt(h)))


# ---- LSTM ------------------------------------------------------------------------------
LW = [[0.5, 0.0, 1.0, -1.0, 0.25, 0.5, 0.0, 1.0],  # (F, 4u): i | f | c | o
      [0.0, 0.5, 0.5, 0.5, -0.5, 1.0, 0.5, 0.0]]
LU = [[0.5, 0.0, 0.0, 1.0, 1.0, 0.0, -0.5, 0.5],   # (u, 4u)
      [0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 0.5, -0.5]]
LB = [0.0, 0.1, 1.0, 1.0, 0.0, -0.1, 0.2, 0.0]


def lstm():
    h, c = [0.0, 0.0], [0.0, 0.0]
    print('LSTM')
    for t, x in enumerate(X):
        pre = [dot_col(x, LW, j) + LB[j] + dot_col(h, LU, j) for j in range(8)]
        i = [sig(pre[j]) for j in range(U2)]
        f = [sig(pre[2 + j]) for j in range(U2)]
        g = [math.tanh(pre[4 + j]) for j in range(U2)]
        o = [sig(pre[6 + j]) for j in range(U2)]
        c = [f[j] * c[j] + i[j] * g[j] for j in range(U2)]
        h = [o[j] * math.tanh(c[j]) for j in range(U2)]
        print('  t=%d pre=%s\n       i=%s f=%s\n       g=%s o=%s\n       c=%s h=%s'
              % (t, fmt(pre), fmt(i), fmt(f), fmt(g), fmt(o), fmt(c), fmt(h)))


def fmt(v):
    return '[' + ', '.join('%.10g' % a for a in v) + ']'


if __name__ == '__main__':
    gru(True)
    gru(False)
    lstm()
