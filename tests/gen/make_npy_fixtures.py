#!/usr/bin/python3
"""Writes the tiny .npy files that tests/unit/test_npy.c reads, with numpy itself, so the
C reader and writer are checked against numpy's own encoding (not against each other).

Every array holds values the C test recomputes from a formula:
  f4_2x3x4.npy   float32 (2, 3, 4), v[i] = i * 0.5 - 3           (np.save, version 1.0)
  f8_5.npy       float64 (5,),      v[i] = (i + 1) / 3            (converted to float32 on read)
  f4_v2_3x2.npy  float32 (3, 2),    v[i] = i * 0.25 - 1          (format version 2.0)
  f4_be_4.npy    '>f4'   (4,),      v[i] = 2 ** i                 (big-endian)
  f4_scalar.npy  float32 (),        7.5
  f4_empty_0x3.npy float32 (0, 3)
Run: /usr/bin/python3 tests/gen/make_npy_fixtures.py   (from the repository root)
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'npy')


def main():
    os.makedirs(OUT, exist_ok=True)
    p = lambda n: os.path.join(OUT, n)
    np.save(p('f4_2x3x4.npy'), (np.arange(24, dtype=np.float32) * 0.5 - 3).reshape(2, 3, 4))
    np.save(p('f8_5.npy'), (np.arange(5, dtype=np.float64) + 1) / 3)
    with open(p('f4_v2_3x2.npy'), 'wb') as f:
        a = (np.arange(6, dtype=np.float32) * 0.25 - 1).reshape(3, 2)
        np.lib.format.write_array(f, a, version=(2, 0))
    np.save(p('f4_be_4.npy'), (2.0 ** np.arange(4)).astype('>f4'))
    np.save(p('f4_scalar.npy'), np.float32(7.5))
    np.save(p('f4_empty_0x3.npy'), np.zeros((0, 3), np.float32))
    print('wrote', sorted(os.listdir(OUT)))


if __name__ == '__main__':
    main()
