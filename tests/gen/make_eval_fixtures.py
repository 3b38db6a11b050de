#!/usr/bin/python3
"""Fixtures for evaluating a labelled image folder (tests/cli/evaluate.sh).

Writes, into tests/fixtures/eval/:
  colour.h5      a Keras 2 HDF5 model whose weights are set by hand, so its answers are known
                 without running it: Input (8, 8, 3) -> Conv2D 1x1, 4 filters, ReLU (filter 0 =
                 red, 1 = green, 2 = blue, 3 = brightness) -> GlobalAveragePooling2D ->
                 Dense(3, softmax) that picks the dominant colour (classes blue, green, red:
                 the sorted folder names);
  colours/       the labelled folder: blue/, green/, red/ with 8x8 PNGs whose dominant colour
                 is their class, except a few deliberate mistakes (a green image filed under
                 red/...), plus a truncated PNG (a decode error), a text file (not an image)
                 and a hidden file (ignored);
  labels.txt     the classes in another order, Teachable Machine style ("0 red" ...);
  expected.json  what a correct evaluation reports, computed here with numpy in float64:
                 classes, confusion matrix, accuracy, the mistakes by confidence and, per
                 filter, the images with the highest mean activation.
Deterministic: the same bytes on every run.  Uses only numpy (no h5py needed for images).
"""
import json
import os
import struct
import zlib

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'eval')
CLASSES = ['blue', 'green', 'red']          # sorted folder names = class indices
CHANNEL_OF = {'red': 0, 'green': 1, 'blue': 2}
PER_FILTER, MISTAKES = 6, 12                 # as TLR_EVAL_PER_FILTER, TLR_EVAL_MISTAKES


def png_bytes(rgb):
    h, w, _ = rgb.shape
    raw = b''.join(b'\x00' + rgb[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data +
                struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def image(rng, dominant):
    """8x8 RGB, 'dominant' channel clearly the strongest on average."""
    img = rng.integers(0, 90, size=(8, 8, 3))
    img[:, :, CHANNEL_OF[dominant]] += rng.integers(80, 165, size=(8, 8))
    return img


def weights():
    kernel = np.zeros((1, 1, 3, 4), np.float32)      # (kh, kw, cin, cout)
    for c in range(3):
        kernel[0, 0, c, c] = 1.0
        kernel[0, 0, c, 3] = 1.0 / 3
    dense = np.zeros((4, 3), np.float32)               # (features, classes)
    for cls, name in enumerate(CLASSES):
        dense[CHANNEL_OF[name], cls] = 8.0
    return kernel, np.zeros(4, np.float32), dense, np.zeros(3, np.float32)


def model_config():
    def layer(cls, **cfg):
        return {'class_name': cls, 'config': dict(cfg, trainable=True, dtype='float32')}
    return {'class_name': 'Sequential', 'config': {'name': 'colour', 'layers': [
        {'class_name': 'InputLayer', 'config': {'batch_input_shape': [None, 8, 8, 3],
                                                'dtype': 'float32', 'sparse': False,
                                                'ragged': False, 'name': 'pixels'}},
        layer('Conv2D', name='colour_filters', filters=4, kernel_size=[1, 1], strides=[1, 1],
              padding='valid', data_format='channels_last', dilation_rate=[1, 1], groups=1,
              activation='relu', use_bias=True),
        layer('GlobalAveragePooling2D', name='mean', data_format='channels_last', keepdims=False),
        layer('Dense', name='classes', units=3, activation='softmax', use_bias=True)]}}


def write_model(path):
    k, kb, d, db = weights()
    with h5py.File(path, 'w', libver='earliest', track_order=False) as f:
        f.attrs['keras_version'] = b'2.9.0'
        f.attrs['backend'] = b'tensorflow'
        f.attrs['model_config'] = json.dumps(model_config()).encode()
        mw = f.create_group('model_weights')
        mw.attrs['layer_names'] = np.array([b'pixels', b'colour_filters', b'mean', b'classes'])
        mw.attrs['backend'] = b'tensorflow'
        mw.attrs['keras_version'] = b'2.9.0'
        for name in ('pixels', 'mean'):
            mw.create_group(name).attrs['weight_names'] = np.array([], dtype='S1')
        for name, arrays in (('colour_filters', (k, kb)), ('classes', (d, db))):
            g = mw.create_group(name)
            names = [f'{name}/kernel:0'.encode(), f'{name}/bias:0'.encode()]
            g.attrs['weight_names'] = np.array(names)
            sub = g.create_group(name)
            sub.create_dataset('kernel:0', data=arrays[0])
            sub.create_dataset('bias:0', data=arrays[1])


def forward(img):
    """float64 reference: filter means (4,) and class probabilities (3,)."""
    k, kb, d, db = (a.astype(np.float64) for a in weights())
    x = img.astype(np.float64) / 255.0
    maps = np.maximum(x @ k[0, 0] + kb, 0.0)           # (8, 8, 4)
    means = maps.mean(axis=(0, 1))
    logits = means @ d + db
    p = np.exp(logits - logits.max())
    return means, p / p.sum()


def folder_plan():
    """(class folder, file name, dominant colour) for every readable image."""
    plan = []
    for cls in CLASSES:
        for i in range(7):
            plan.append((cls, f'{cls}_{i:02d}.png', cls))
    # deliberate mistakes: what is filed under a class is really another colour
    plan += [('red', 'red_mislabelled_a.png', 'green'), ('red', 'red_mislabelled_b.png', 'green'),
             ('blue', 'blue_mislabelled.png', 'red'), ('green', 'green_mislabelled.png', 'blue')]
    return plan


def write_folder(root, rng):
    files = {}
    for cls, name, colour in folder_plan():
        img = image(rng, colour)
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        with open(os.path.join(root, cls, name), 'wb') as f:
            f.write(png_bytes(img))
        files[f'{cls}/{name}'] = img
    good = png_bytes(image(rng, 'red'))
    with open(os.path.join(root, 'red', 'red_truncated.png'), 'wb') as f:
        f.write(good[:len(good) // 2])                 # a PNG that stops half-way
    with open(os.path.join(root, 'green', 'notes.txt'), 'w') as f:
        f.write('not an image\n')
    with open(os.path.join(root, 'blue', '.hidden.png'), 'wb') as f:
        f.write(good)                                  # hidden: never listed
    return files


def listing(files):
    """Global order: class index, then path bytewise; the truncated PNG is listed too."""
    rels = sorted(files) + ['red/red_truncated.png']
    return sorted(rels, key=lambda r: (CLASSES.index(r.split('/')[0]), r.encode()))


def best(items, n):
    """items: (score, index, rel); highest score first, then lowest index."""
    return sorted(items, key=lambda t: (-t[0], t[1]))[:n]


LABELS = ['red', 'green', 'blue']             # labels.txt: the same outputs, other names


def labelled_confusion(files):
    """With --labels: class i is labels.txt's line i (whatever output i means)."""
    conf = np.zeros((3, 3), int)
    for rel, img in files.items():
        conf[LABELS.index(rel.split('/')[0]), int(np.argmax(forward(img)[1]))] += 1
    return conf.tolist()


def expectations(files):
    order = listing(files)
    conf = np.zeros((3, 3), int)
    mistakes, per_filter, gaps = [], [[] for _ in range(4)], []
    for index, rel in enumerate(order):
        if rel not in files:
            continue
        means, p = forward(files[rel])
        t, pr = CLASSES.index(rel.split('/')[0]), int(np.argmax(p))
        gaps.append(np.sort(p)[-1] - np.sort(p)[-2])
        conf[t, pr] += 1
        if pr != t:
            mistakes.append((p[pr], index, rel))
        for f in range(4):
            per_filter[f].append((means[f], index, rel))
    assert min(gaps) > 1e-3, 'a near tie would make the expected class fragile'
    for lst, n in [(lst, PER_FILTER) for lst in per_filter] + [(mistakes, MISTAKES)]:
        s = sorted((v[0] for v in lst), reverse=True)[:n + 1]   # the kept ones and the next
        assert all(a - b > 1e-5 for a, b in zip(s, s[1:])), 'near-equal scores: fragile ranking'
    return {
        'classes': CLASSES,
        'confusion': conf.tolist(),
        'accuracy': float(np.trace(conf) / conf.sum()),
        'evaluated': int(conf.sum()),
        'skipped': ['red/red_truncated.png', 'green/notes.txt'],
        'mistakes': [r for _, _, r in best(mistakes, MISTAKES)],
        'filters': [[r for _, _, r in best(lst, PER_FILTER)] for lst in per_filter],
        'labels': {'classes': LABELS, 'confusion': labelled_confusion(files)},
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    write_model(os.path.join(OUT, 'colour.h5'))
    root = os.path.join(OUT, 'colours')
    files = write_folder(root, np.random.default_rng(14))
    with open(os.path.join(OUT, 'labels.txt'), 'w') as f:
        f.write(''.join(f'{i} {n}\n' for i, n in enumerate(LABELS)))
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expectations(files), f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
