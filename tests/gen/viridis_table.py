#!/usr/bin/python3
"""Writes the 256-entry viridis table used by src/grid.c and tests/ref/viridis.txt.

Source: matplotlib's published viridis colormap (matplotlib._cm_listed._viridis_data,
256 RGB triples in [0, 1], by van der Walt and Smith, CC0).  Each component is mapped to
8 bits as round(x * 255) (not matplotlib's bytes=True, which truncates), so entry 0 is
#440154 and entry 255 is #fde725.

Usage: /usr/bin/python3 tests/gen/viridis_table.py   (needs Debian's python3-matplotlib)
Prints the C initialiser on stdout and rewrites tests/ref/viridis.txt (one hex colour a line).
"""
import os

import numpy as np
from matplotlib import colormaps

rgb = colormaps["viridis"](np.arange(256))[:, :3]
u8 = np.floor(rgb * 255.0 + 0.5).astype(int)

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "ref", "viridis.txt"), "w") as f:
    for r, g, b in u8:
        f.write("#%02x%02x%02x\n" % (r, g, b))

rows = ["{%3d, %3d, %3d}" % tuple(c) for c in u8]
for i in range(0, 256, 6):
    print("    " + ", ".join(rows[i:i + 6]) + ",")
