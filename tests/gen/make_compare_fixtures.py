#!/usr/bin/python3
"""make_compare_fixtures.py - model pairs with known changes for `tlreport --compare`, and the
numbers a correct comparison must report, computed here from the two files with h5py/numpy.

One architecture, a small stand-in for the course model: a nested Functional 'vgg16' (two
blocks of two 3x3 convolutions and a pooling, frozen) inside a Sequential with a head
Flatten, BatchNormalization (frozen), Dense 'dense', Dropout, Dense 'dense_1' (softmax).
Input 16x16x3.  Writes tests/fixtures/compare/:

  base.h5            before training (tf.keras 2.9 model.save layout)
  head.h5            the head retrained (dense, dense_1), the base untouched
  head.keras         the same model as head.h5, as a Keras 3 .keras archive
  finetune.h5        block2 unfrozen (its convolutions trainable) and changed; head changed
  added.h5           a Dense 'dense_2' added to the head, dense_1 renamed dense_3 with the
                     same values, Dropout rate 0.5 -> 0.3
  bn_moved.h5        only the BatchNormalization's moving statistics moved, while it is frozen
  frozen_touched.h5  block1_conv1 changed although it is frozen
  wider.h5           dense with 12 units instead of 8 (dense and dense_1 reshaped)
  expect.json        per pair: totals, every weight-holding layer's status, relative change,
                     largest change, share of changed values, moving-statistics change, the
                     frozen layers that changed, and the architecture differences

The expected numbers come from the files as written (read back with h5py, not from the
generator's arrays), by a comparison written independently of tlreport's.

Run from anywhere:  /usr/bin/python3 tests/gen/make_compare_fixtures.py
Deterministic: fixed seeds, libver='earliest', fixed zip dates; re-running changes no file.
"""
import io
import json
import os
import sys
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as F  # noqa: E402

ROOT = F.ROOT
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'compare')
STATS = ('moving_mean', 'moving_variance')
CONFIG_KEYS = ('trainable', 'activation', 'units', 'filters', 'kernel_size', 'rate')


# ============================================================================ the models
def build(variant, era):
    inp = F.Input('input_1', (16, 16, 3))
    x = inp
    for b, (n, f) in enumerate([(2, 4), (2, 8)], start=1):
        for i in range(1, n + 1):
            x = F.Layer('Conv2D', 'block%d_conv%d' % (b, i), filters=f, kernel=3,
                        padding='same', activation='relu')(x)
        x = F.Layer('MaxPooling2D', 'block%d_pool' % b)(x)
    base = F.Model('vgg16', inp, x)
    base.freeze_all()
    if variant == 'finetune':
        # conv_base.trainable = True, then everything before block2_conv1 frozen again
        base.trainable = True
        for l in base.layers:
            if l.kind != 'InputLayer':
                l.trainable = l.name.startswith('block2')
    head = [F.Layer('Flatten', 'flatten'),
            F.Layer('BatchNormalization', 'batch_normalization', trainable=False),
            F.Layer('Dense', 'dense', units=12 if variant == 'wider' else 8, activation='relu'),
            F.Layer('Dropout', 'dropout', rate=0.3 if variant == 'added' else 0.5)]
    if variant == 'added':
        head.append(F.Layer('Dense', 'dense_2', units=8, activation='relu'))
    head.append(F.Layer('Dense', 'dense_3' if variant == 'added' else 'dense_1', units=3,
                        activation='softmax'))
    m = F.Sequential('sequential', [base] + head, (16, 16, 3), 'vgg16_input',
                     first_has_shape=False)
    if era.family == 'k3':
        for l in head:
            for v in l.vars:
                v.scope = m.name + '/'
    return m


def variables(m, prefix=''):
    """(path, variable) for every variable, nested models first-to-last."""
    out = []
    for l in m.layers:
        p = prefix + l.name
        if l.is_model:
            out += variables(l, p + '/')
        else:
            out += [(p, v) for v in (l.vars or [])]
    return out


def set_values(m, values, rng, change, alias=None):
    """Variables take the base values (by path and name, or by the path 'alias' maps theirs
    to, when the shape fits, else new random ones); then change(path, name, array, rng) may
    return a new array."""
    for path, v in variables(m):
        a = values.get(((alias or {}).get(path, path), v.short))
        if a is None or a.shape != v.shape:
            a = (rng.standard_normal(v.shape) * 0.2).astype(np.float32)
            if v.short == 'moving_variance':
                a = np.abs(a) + 0.5
        new = change(path, v.short, a.copy(), rng)
        v.data = (a if new is None else new).astype(np.float32)


def retrain_head(path, name, a, rng, layers=('dense', 'dense_1')):
    if path in layers:
        return a + (rng.standard_normal(a.shape) * 0.05).astype(np.float32)
    return None


def variant_change(variant):
    def change(path, name, a, rng):
        if variant in ('head', 'finetune'):
            r = retrain_head(path, name, a, rng)
            if r is not None:
                return r
        if variant == 'finetune' and path.startswith('vgg16/block2_conv'):
            return a + (rng.standard_normal(a.shape) * 0.01).astype(np.float32)
        if variant == 'bn_moved' and name in STATS:
            return a + (rng.uniform(0.05, 0.2, a.shape)).astype(np.float32)
        if variant == 'frozen_touched' and path == 'vgg16/block1_conv1' and name == 'kernel':
            a[0, 0, 0, :] += 0.5
            return a
        return None
    return change


def base_values():
    m = build('base', F.ERAS['tf290'])
    F.fill_random(m, 1301)
    for path, v in variables(m):
        if v.short == 'bias':     # a fresh head: Keras initialises biases to zero
            v.data = np.zeros(v.shape, np.float32) if path in ('dense', 'dense_1') else v.data
    return {(p, v.short): v.data for p, v in variables(m)}


def write_h5(name, m, era):
    F.write_legacy(os.path.join(OUT, name), era, m, config=F.dumps(F.model_json(m, era)))


def write_keras(name, m, era):
    cfg = {'module': 'keras', 'class_name': 'Sequential',
           'config': F.model_config_inner(m, F.Ctx(era, zip_mode=True)),
           'registered_name': None, 'build_config': {'input_shape': [None, 16, 16, 3]}}
    entries, _ = F.k3_store_entries(m)
    F.write_zip(os.path.join(OUT, name), cfg, era.version, F.keras_weights_bytes(entries))


# ============================================================================ reading back
def h5_arrays(path):
    """{layer path: [(role, array)]} from a legacy model.save file."""
    out = {}
    with h5py.File(path, 'r') as f:
        mw = f['model_weights']
        for lname in [n.decode() if isinstance(n, bytes) else n for n in mw.attrs['layer_names']]:
            g = mw[lname]
            for wn in g.attrs['weight_names']:
                wn = wn.decode() if isinstance(wn, bytes) else wn
                parts = wn.split('/')
                role = parts[-1].split(':')[0]
                inner = parts[-2] if len(parts) > 1 else lname
                lpath = lname if inner == lname else lname + '/' + inner
                out.setdefault(lpath, []).append((role, np.array(g[wn], np.float64)))
    return out


def keras_arrays(path):
    """The same from a .keras archive: group paths named by their 'name' attributes; the
    roles follow each layer class's variable order."""
    roles = {'Conv2D': ['kernel', 'bias'], 'Dense': ['kernel', 'bias'],
             'BatchNormalization': ['gamma', 'beta', 'moving_mean', 'moving_variance']}
    with zipfile.ZipFile(path) as zf:
        cfg = json.loads(zf.read('config.json'))
        data = zf.read('model.weights.h5')
    classes = {}

    def walk_cfg(c, prefix):
        for l in c['config']['layers']:
            p = prefix + l['config']['name']
            classes[p] = l['class_name']
            if l['class_name'] in ('Functional', 'Sequential'):
                walk_cfg(l, p + '/')

    walk_cfg(cfg, '')
    out = {}
    with h5py.File(io.BytesIO(data), 'r') as f:
        def walk(g, prefix):
            for key in g:
                sub = g[key]
                name = sub['vars'].attrs['name']
                p = prefix + name
                n = len(sub['vars'])
                if n:
                    out[p] = [(roles[classes[p]][i], np.array(sub['vars'][str(i)], np.float64))
                              for i in range(n)]
                if 'layers' in sub:
                    walk(sub['layers'], p + '/')
        walk(f['layers'], '')
    return out


def read_arrays(path):
    return keras_arrays(path) if path.endswith('.keras') else h5_arrays(path)


def read_config(path):
    """{layer path: (class, config dict, effective trainable)} for every layer."""
    if path.endswith('.keras'):
        with zipfile.ZipFile(path) as zf:
            root = json.loads(zf.read('config.json'))
    else:
        with h5py.File(path, 'r') as f:
            root = json.loads(f.attrs['model_config'])
    out = {}

    def walk(c, prefix, outer):
        for l in c['config']['layers']:
            if l['class_name'] == 'InputLayer':
                continue
            lc = l['config']
            p = prefix + lc['name']
            eff = outer and lc.get('trainable', True)
            out[p] = (l['class_name'], lc, eff)
            if l['class_name'] in ('Functional', 'Sequential'):
                walk(l, p + '/', eff)

    walk(root, '', True)
    return out


# ============================================================================ the expectations
def sums(pairs):
    """Relative change, largest change, changed share of (a, b) array pairs."""
    sq_a = sum(float((a ** 2).sum()) for a, _ in pairs)
    sq_d = sum(float(((b - a) ** 2).sum()) for a, b in pairs)
    n = sum(a.size for a, _ in pairs)
    changed = sum(int((a != b).sum()) for a, b in pairs)
    mx = max([float(np.abs(b - a).max()) for a, b in pairs if a.size] + [0.0])
    rel = 0.0 if sq_d == 0 else float(np.sqrt(sq_d) / np.sqrt(sq_a))
    return rel, mx, (changed / n if n else 0.0), changed


def layer_expect(path, before_path, arrs_a, arrs_b, frozen):
    ra, rb = arrs_a.get(before_path, []), arrs_b.get(path, [])
    same_shapes = [r for r, _ in ra] == [r for r, _ in rb] and \
        all(a.shape == b.shape for (_, a), (_, b) in zip(ra, rb))
    e = {'path': path}
    if before_path != path:
        e['before_path'] = before_path
    if not ra or not rb or not same_shapes:
        e['status'] = 'added' if not ra else 'removed' if not rb else 'reshaped'
        return e
    w = [(a, b) for (r, a), (_, b) in zip(ra, rb) if r not in STATS]
    s = [(a, b) for (r, a), (_, b) in zip(ra, rb) if r in STATS]
    rel, mx, share, nw = sums(w)
    e.update({'rel_change': rel, 'max_abs_change': mx, 'changed_share': share})
    moved = nw > 0
    if s:
        srel, smx, _, ns = sums(s)
        e.update({'stats_rel_change': srel, 'stats_max_abs_change': smx})
        moved = moved or ns > 0
    e['status'] = 'changed' if moved else 'same'
    e['frozen_changed'] = bool(frozen and moved)
    return e


def totals(arrs, cfg):
    t = {'total_params': 0, 'trainable_params': 0, 'non_trainable_params': 0}
    for path, lst in arrs.items():
        for role, a in lst:
            t['total_params'] += a.size
            key = 'trainable_params' if cfg[path][2] and role not in STATS \
                else 'non_trainable_params'
            t[key] += a.size
    return t


def config_changes(cfg_a, cfg_b, renames):
    out = []
    for pb, (cls_b, cb, _) in cfg_b.items():
        pa = renames.get(pb, pb)
        if pa not in cfg_a:
            continue
        cls_a, ca, _ = cfg_a[pa]
        for k in CONFIG_KEYS:
            va, vb = ca.get(k), cb.get(k)
            if va != vb:
                out.append([pb, k])
    return sorted(out)


def pair_expect(before, after, what, renames):
    pa, pb = os.path.join(OUT, before), os.path.join(OUT, after)
    arrs_a, arrs_b = read_arrays(pa), read_arrays(pb)
    cfg_a, cfg_b = read_config(pa), read_config(pb)
    back = {v: k for k, v in renames.items()}
    layers = []
    for path in sorted(set(arrs_b) | {back.get(p, p) for p in arrs_a}):
        before_path = renames.get(path, path)
        frozen = path in cfg_b and not cfg_b[path][2]
        layers.append(layer_expect(path, before_path, arrs_a, arrs_b, frozen))
    # the nested model, all its arrays together
    inner = [(p, e) for p, e in [(l['path'], l) for l in layers] if p.startswith('vgg16/')]
    va = [a for p, _ in inner for r, a in arrs_a.get(p, []) if r not in STATS]
    vb = [b for p, _ in inner for r, b in arrs_b.get(p, []) if r not in STATS]
    rel, mx, share, nw = sums(list(zip(va, vb)))
    layers.append({'path': 'vgg16', 'status': 'changed' if nw else 'same', 'rel_change': rel,
                   'max_abs_change': mx, 'changed_share': share})
    ta, tb = totals(arrs_a, cfg_a), totals(arrs_b, cfg_b)
    return {
        'before': before, 'after': after, 'what': what,
        'totals': {k: [ta[k], tb[k]] for k in ta},
        'layers': layers,
        'frozen_changed': sorted(l['path'] for l in layers if l.get('frozen_changed')),
        'added': sorted(p for p in cfg_b if renames.get(p, p) not in cfg_a),
        'removed': sorted(p for p in cfg_a if p not in {renames.get(q, q) for q in cfg_b}),
        'renamed': sorted([renames[p], p] for p in renames if p in cfg_b),
        'config_changes': config_changes(cfg_a, cfg_b, renames),
    }


PAIRS = [
    ('base.h5', 'head.h5', 'head retrained, base untouched', {}),
    ('base.h5', 'head.keras', 'the same, the model after as a .keras archive', {}),
    ('head.h5', 'finetune.h5', 'block2 unfrozen and changed, head changed', {}),
    ('base.h5', 'added.h5', 'a Dense added, dense_1 renamed dense_3, Dropout rate changed',
     {'dense_3': 'dense_1'}),
    ('added.h5', 'base.h5', 'the reverse: dense_2 removed, dense_3 renamed dense_1',
     {'dense_1': 'dense_3'}),
    ('base.h5', 'bn_moved.h5', 'frozen BatchNormalization: moving statistics moved', {}),
    ('base.h5', 'frozen_touched.h5', 'a frozen convolution changed', {}),
    ('base.h5', 'wider.h5', 'dense widened from 8 to 12 units', {}),
    ('base.h5', 'base.h5', 'a model against itself', {}),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    values = base_values()
    tf = F.ERAS['tf290']
    made = {}
    for variant in ('base', 'head', 'finetune', 'added', 'bn_moved', 'frozen_touched', 'wider'):
        m = build(variant, tf)
        rng = np.random.default_rng(2000 + len(made))
        # finetune starts from the retrained head
        start = made.get('head', values) if variant == 'finetune' else values
        set_values(m, start, rng, variant_change(variant), {'dense_3': 'dense_1'})
        made[variant] = {(p, v.short): v.data for p, v in variables(m)}
        write_h5(variant + '.h5', m, tf)
    k3 = F.ERAS['k3']
    m = build('head', k3)
    set_values(m, made['head'], np.random.default_rng(9), lambda *a: None)
    write_keras('head.keras', m, k3)
    expect = {'generator': 'tests/gen/make_compare_fixtures.py',
              'pairs': [pair_expect(b, a, w, r) for b, a, w, r in PAIRS]}
    with open(os.path.join(OUT, 'expect.json'), 'w') as fh:
        json.dump(expect, fh, indent=1, sort_keys=True)
        fh.write('\n')
    for n in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, n))
        assert size < F.MAX_BYTES, n
        print('%8d  tests/fixtures/compare/%s' % (size, n))


if __name__ == '__main__':
    main()
