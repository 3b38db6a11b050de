#!/usr/bin/python3
"""fixed_cost.py - the fixed cost of one tlreport run on a small model (issue 15: open,
probe, exit <= 25 ms): `tlreport MODEL --summary` as a whole process, timed from outside,
in turns with the reference, a Python process that opens the same file with h5py and lists
every dataset's shape (what reading a Keras file costs without TensorFlow).

usage: fixed_cost.py TLREPORT MODEL RUNS OUT.json
"""
import json
import statistics
import subprocess
import sys
import time

REF = ("import h5py, sys\n"
       "f = h5py.File(sys.argv[1], 'r')\n"
       "s = []\n"
       "f.visititems(lambda n, o: s.append(o.shape) if isinstance(o, h5py.Dataset) else None)\n"
       "print(len(s))\n")


def wall(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t0) * 1e3


def main():
    tlr, model, runs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    a_cmd = [tlr, model, '--summary']
    b_cmd = [sys.executable, '-c', REF, model]
    wall(a_cmd), wall(b_cmd)  # warm-up: page cache
    a, b = [], []
    for _ in range(runs):
        a.append(wall(a_cmd))
        b.append(wall(b_cmd))
    res = {'model': model, 'runs': runs,
           'tlr_min_ms': min(a), 'tlr_median_ms': statistics.median(a),
           'ref_min_ms': min(b), 'ref_median_ms': statistics.median(b)}
    json.dump(res, open(out, 'w'))
    print('fixed cost %s: tlreport %.1f / %.1f ms, h5py %.1f / %.1f ms (min / median)' % (
        model, res['tlr_min_ms'], res['tlr_median_ms'], res['ref_min_ms'], res['ref_median_ms']))


if __name__ == '__main__':
    main()
