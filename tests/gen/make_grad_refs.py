#!/usr/bin/python3
"""make_grad_refs.py - reference gradients for tlreport's reverse pass, from the PyTorch
autograd oracle (../shared/oracle/oracle_grad.py, float64), stored as float32.

Models:
  * the five seed models of ../shared/oracle/make_keras_h5.py (seed_vgg16, seed_branches,
    seed_mnv2, seed_seqflat, seed_nested_functional), regenerated here with its default seed;
    the test regenerates them the same way (tests/cli/grad_seed.sh) and checks their sizes;
  * the committed numeric fixtures the torch oracle runs (tests/fixtures/numeric: mini_vgg,
    branches, mnv2_mini, seqflat, nested_functional, merges_misc), always available.

Per model, cases (tests/ref/grad/<model>/<case>/):
  gradcam LAYER   gradcam.npy (H, W) and gradcam_grads.npy (1, H, W, K) = d score / d A,
                  score = the first output's logit for the arg-max class
  input LAYER     input_grad.npy (the input's shape): d mean(A[:, 2:-2, 2:-2, F]) / d x,
                  F the filter with the largest such mean among the first 8 (so it is alive)
  ascent LAYER    ascent.npy: 30 steps of L2-normalised gradient ascent, learning rate 10,
                  from tlreport's seeded 0.4..0.6 start (splitmix64 with seed F, as
                  src/engine/reverse_use.c), same F rule
manifest.json lists the cases with the model, input, layer, filter, class and score.

Usage (from the repository root; needs python3-numpy, python3-h5py, python3-torch):
  /usr/bin/python3 tests/gen/make_grad_refs.py [--oracle ../shared/oracle]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
REF = os.path.join(ROOT, 'tests', 'ref', 'grad')
NUMERIC = os.path.join(ROOT, 'tests', 'fixtures', 'numeric')
PY = '/usr/bin/python3'
BORDER = 2

SEED_CASES = {
    'seed_vgg16': [('gradcam', 'vgg16/block5_conv3'), ('input', 'vgg16/block2_conv2')],
    'seed_branches': [('gradcam', 'conv2d_4'), ('input', 'conv2d_3')],
    'seed_mnv2': [('gradcam', 'mnv2_like/Conv_1'), ('input', 'mnv2_like/block_4_project')],
    'seed_seqflat': [('gradcam', 'conv2d_2'), ('input', 'conv2d_1')],
    'seed_nested_functional': [('gradcam', 'conv2d'), ('gradcam', 'feature_extractor/fe_conv2'),
                               ('input', 'feature_extractor/fe_conv2'),
                               ('ascent', 'feature_extractor/fe_conv1')],
}
NUMERIC_CASES = {
    'mini_vgg': [('gradcam', 'vgg_mini/block2_conv2'), ('input', 'vgg_mini/block2_conv1'),
                 ('ascent', 'vgg_mini/block1_conv2')],
    'branches': [('gradcam', 'conv2d_3'), ('input', 'conv2d_3')],
    'mnv2_mini': [('gradcam', 'mnv2_mini/Conv_1'), ('input', 'mnv2_mini/block_2_expand')],
    'seqflat': [('gradcam', 'conv2d_1'), ('input', 'conv2d_1')],
    'nested_functional': [('gradcam', 'feature_extractor/fe_conv2'),
                          ('input', 'feature_extractor/fe_conv2')],
    'merges_misc': [('gradcam', 'add'), ('gradcam', 'leaky_re_lu'), ('input', 'softmax_1')],
}


def splitmix_init(shape, seed):
    """tlr_ascent_init: x = (float)(0.4 + 0.2 * u), u = (splitmix64 >> 11) / 2^53."""
    M = (1 << 64) - 1
    s = seed & M
    n = int(np.prod(shape))
    out = np.empty(n, np.float64)
    for i in range(n):
        s = (s + 0x9E3779B97F4A7C15) & M
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        z ^= z >> 31
        out[i] = 0.4 + 0.2 * ((z >> 11) / 9007199254740992.0)
    return out.astype(np.float32).reshape(shape)


def live_filter(ot, model, x, layer):
    """The filter among the first 8 with the largest border mean on input x."""
    import torch
    cfg, store = ot.load_model(model)
    r = ot.Runner(cfg, store, torch.float64)
    r.want = {layer}
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(torch.float64)
    with torch.no_grad():
        r.model(cfg, [xt], '')
    a = r.record[layer]          # (1, C, H, W)
    a = a[:, :, BORDER:-BORDER, BORDER:-BORDER] if a.dim() == 4 else a
    means = [float(a[:, f].mean()) for f in range(min(8, a.shape[1]))]
    return int(np.argmax(means))


def run_oracle(oracle, model, inp, args, tmp):
    out = os.path.join(tmp, 'o')
    shutil.rmtree(out, ignore_errors=True)
    cmd = [PY, os.path.join(oracle, 'oracle_grad.py'), model, inp, '--outdir', out] + args
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, 'grad.json')) as fh:
        return out, json.load(fh)


def save32(src, dst):
    np.save(dst, np.load(src).astype(np.float32))


def one_case(ot, oracle, model, inp, kind, layer, dest, tmp):
    """Runs one case into dest; returns its manifest entry."""
    os.makedirs(dest, exist_ok=True)
    e = {'kind': kind, 'layer': layer}
    if kind == 'gradcam':
        out, info = run_oracle(oracle, model, inp, ['--gradcam', layer], tmp)
        save32(os.path.join(out, 'gradcam.npy'), os.path.join(dest, 'gradcam.npy'))
        save32(os.path.join(out, 'gradcam_grads.npy'), os.path.join(dest, 'gradcam_grads.npy'))
        e.update(cls=info['cls'], score=info['score'], stripped=info['stripped'])
        return e
    f = live_filter(ot, model, np.load(inp), layer)
    e['filter'] = f
    if kind == 'input':
        out, info = run_oracle(oracle, model, inp, ['--input-grad', '%s:%d' % (layer, f)], tmp)
        save32(os.path.join(out, 'input_grad.npy'), os.path.join(dest, 'input_grad.npy'))
        e['loss'] = info['loss']
        return e
    init = os.path.join(tmp, 'init.npy')
    np.save(init, splitmix_init(np.load(inp).shape, f))
    out, info = run_oracle(oracle, model, init, ['--ascent', '%s:%d' % (layer, f)], tmp)
    save32(os.path.join(out, 'ascent.npy'), os.path.join(dest, 'ascent.npy'))
    e.update(steps=info['steps'], lr=info['lr'], seed=f, losses=info['losses'])
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--oracle', default=os.path.join(ROOT, '..', 'shared', 'oracle'))
    a = ap.parse_args()
    oracle = os.path.abspath(a.oracle)
    sys.path.insert(0, oracle)
    import oracle_torch as ot  # noqa: E402
    shutil.rmtree(REF, ignore_errors=True)
    manifest = {'oracle': 'oracle_grad.py (PyTorch autograd, float64), stored as float32',
                'border': BORDER, 'models': []}
    with tempfile.TemporaryDirectory() as tmp:
        seeds = os.path.join(tmp, 'seed')
        subprocess.run([PY, os.path.join(oracle, 'make_keras_h5.py'), '--outdir', seeds,
                        '--quiet', '--only'] + list(SEED_CASES), check=True,
                       stdout=subprocess.DEVNULL)
        todo = [(m, 'seed', os.path.join(seeds, m + '.h5'),
                 os.path.join(seeds, 'inputs', m + '.npy'), c) for m, c in SEED_CASES.items()]
        todo += [(m, 'numeric', os.path.join(NUMERIC, m + '.h5'),
                  os.path.join(NUMERIC, m + '_input.npy'), c) for m, c in NUMERIC_CASES.items()]
        for name, where, model, inp, cases in todo:
            entry = {'name': name, 'where': where, 'model_bytes': os.path.getsize(model),
                     'cases': []}
            for i, (kind, layer) in enumerate(cases):
                case = '%d-%s' % (i, kind)
                e = one_case(ot, oracle, model, inp, kind, layer, os.path.join(REF, name, case),
                             tmp)
                e['dir'] = case
                entry['cases'].append(e)
                print(name, case, layer, file=sys.stderr)
            manifest['models'].append(entry)
    with open(os.path.join(REF, 'manifest.json'), 'w') as fh:
        json.dump(manifest, fh, indent=1)
        fh.write('\n')


if __name__ == '__main__':
    main()
