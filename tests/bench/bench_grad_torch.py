#!/usr/bin/python3
"""PyTorch float32 autograd on the course model, the counterpart of bench_grad.c:

  gradcam   forward pass, the logit (the network without its final Sigmoid), autograd of it
            with respect to block5_conv3's output (after its ReLU), the Grad-CAM map
  ascent16  one gradient-ascent step: 16 images of 40 x 40, image b ascending the mean of
            filter b of block2_conv2 (border 2), L2-normalised per image, times 10
  ascent1   the same for one 150 x 150 image and filter 0

  bench_grad_torch.py [--threads 2] [--runs 11] [--warmup 2] [--json out.json]

Run from the oracle's folder (models/seed_vgg16.h5, models/inputs/seed_vgg16.npy): the
network is bench_torch.py's nn.Sequential of the same weights.  Variants: eager NCHW and
eager channels_last (the best by minimum is reported).  Correctness is the oracle's business
(tests/ref/grad); here the Grad-CAM map is only checked to be a map.
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch

import bench_torch

BLOCK5_CONV3_RELU = 29   # index in the nn.Sequential: the ReLU after block5_conv3
BLOCK2_CONV2_RELU = 8    # the ReLU after block2_conv2


def gradcam_fn(net):
    body, head = net[:BLOCK5_CONV3_RELU + 1], net[BLOCK5_CONV3_RELU + 1:-1]   # no Sigmoid

    def run(x):
        with torch.no_grad():   # inference up to the layer, as tlreport's forward pass
            a = body(x)
        a.requires_grad_(True)
        logit = head(a)[:, 0]
        (g,) = torch.autograd.grad(logit.sum(), [a])
        alpha = g.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((alpha * a).sum(1))
        return cam / cam.max().clamp_min(1e-12)
    return run


def ascent_fn(net, n):
    body = net[:BLOCK2_CONV2_RELU + 1]
    idx = torch.arange(n)

    def run(x):
        x = x.detach().requires_grad_(True)
        a = body(x)[:, :, 2:-2, 2:-2]
        loss = a[idx, idx % a.shape[1]].mean(dim=(1, 2)).sum()
        (g,) = torch.autograd.grad(loss, [x])
        norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        return (x + 10.0 * g / norm).detach()
    return run


def timeit(fn, x, runs, warmup):
    for _ in range(warmup):
        fn(x)
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x)
        ts.append(time.perf_counter() - t0)
    return min(ts) * 1e3, statistics.median(ts) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--runs', type=int, default=11)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--json')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    net = bench_torch.build_net('models/seed_vgg16.h5')[0]
    for p in net.parameters():
        p.requires_grad_(False)
    img = torch.from_numpy(np.load('models/inputs/seed_vgg16.npy').transpose(0, 3, 1, 2).copy())
    g = torch.Generator().manual_seed(0)
    items = {'gradcam': (gradcam_fn, 1, img),
             'ascent16': (ascent_fn, 16, 0.4 + 0.2 * torch.rand(16, 3, 40, 40, generator=g)),
             'ascent1': (ascent_fn, 1, 0.4 + 0.2 * torch.rand(1, 3, 150, 150, generator=g))}
    out = {'threads': a.threads, 'torch': torch.__version__}
    for name, (make, n, x) in items.items():
        best = None
        for variant, fmt in (('eager_nchw', torch.contiguous_format),
                             ('eager_channels_last', torch.channels_last)):
            m = net.to(memory_format=fmt)
            fn = make(m) if name == 'gradcam' else make(m, n)
            tmin, tmed = timeit(fn, x.contiguous(memory_format=fmt), a.runs, a.warmup)
            print('%-9s %-20s min %8.2f ms  median %8.2f ms' % (name, variant, tmin, tmed))
            if best is None or tmin < best['min_ms']:
                best = dict(variant=variant, min_ms=tmin, median_ms=tmed)
        out[name] = best
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
