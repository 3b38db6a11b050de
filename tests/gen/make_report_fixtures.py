#!/usr/bin/python3
"""Writes the report fixtures for tests/unit/test_report.c and tests/cli/browser.sh.

  tests/fixtures/report/data.json     report data for the course model (VGG16 frozen inside a
                                      Sequential with a small head), following the contract in
                                      templates/README.md
  tests/fixtures/report/minimal.json  a weights-only file with no images: every "missing part"
                                      branch of the templates
  tests/fixtures/report/kernels.png   a small gray kernel grid (10 filters x 20 channels)
  tests/fixtures/report/features.png  a small feature-map grid (16 maps of 37 x 37, 8 per row)
  tests/fixtures/report/input.png     a 150 x 150 RGB picture "as the model saw it"
  tests/fixtures/report/kernels.png.b64  Python's base64 of kernels.png (the --embed reference)

The storage part (root attributes, weight groups, every dataset's name, shape, dtype and size)
is read with h5py from the course fixture tests/fixtures/models/course_tf29.h5 (written by
make_fixtures.py), so it is the real layout of a tf.keras 2.9 model.save() file, not something
tlreport computed.  The numbers that need a trained model (kernel range, predictions, dead
channels) are invented but plausible.  The images are drawn with numpy and saved by Pillow.

Run from the repository root:  /usr/bin/python3 tests/gen/make_report_fixtures.py
The output is deterministic (fixed seed), so re-running it changes no file.
"""
import base64
import json
import os

import h5py
import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "report")
MODEL = os.path.join(ROOT, "tests", "fixtures", "models", "course_tf29.h5")
SUMMARY = os.path.join(ROOT, "tests", "ref", "summary", "tf27_course.txt")

rng = np.random.default_rng(20240521)


def thousands(n):
    return f"{n:,}"


def size_str(n):
    """1024-based sizes as tlreport's text output writes them."""
    if n < 1024:
        return f"{n} bytes"
    for unit in ("KB", "MB", "GB"):
        n /= 1024.0
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"


def shape_str(shape):
    shape = tuple(int(d) for d in shape)
    return "(%d,)" % shape[0] if len(shape) == 1 else str(shape)


def attr_text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


# ---- images ----

def save(name, arr):
    Image.fromarray(arr).save(os.path.join(OUT, name), optimize=False)
    return arr.shape[1], arr.shape[0]


def kernel_grid():
    rows, cols, k, cell, gutter = 10, 20, 3, 4, 2
    tile = k * cell
    w, h = cols * tile + (cols - 1) * gutter, rows * tile + (rows - 1) * gutter
    img = np.full((h, w), 200, np.uint8)
    for r in range(rows):
        for c in range(cols):
            kern = rng.normal(size=(k, k))
            kern = (kern - kern.min()) / (kern.max() - kern.min())
            px = np.kron(np.round(kern * 255), np.ones((cell, cell))).astype(np.uint8)
            y, x = r * (tile + gutter), c * (tile + gutter)
            img[y:y + tile, x:x + tile] = px
    return img


def feature_grid():
    n, per_row, side, gutter = 16, 8, 37, 2
    rows = (n + per_row - 1) // per_row
    w, h = per_row * side + (per_row - 1) * gutter, rows * side + (rows - 1) * gutter
    img = np.full((h, w), 200, np.uint8)
    yy, xx = np.mgrid[0:side, 0:side] / side
    for i in range(n):
        fx, fy, ph = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 6)
        m = np.maximum(np.sin(fx * 3 * xx + ph) * np.cos(fy * 3 * yy), 0)
        if i in (5, 11):  # two dead channels, drawn in dark gray
            px = np.full((side, side), 64, np.uint8)
        else:
            px = np.round(m / max(m.max(), 1e-6) * 255).astype(np.uint8)
        r, c = divmod(i, per_row)
        y, x = r * (side + gutter), c * (side + gutter)
        img[y:y + side, x:x + side] = px
    return img


def input_picture():
    yy, xx = np.mgrid[0:150, 0:150]
    r = 120 + 80 * np.sin(xx / 23.0)
    g = 90 + 60 * np.cos(yy / 17.0)
    b = 60 + 50 * np.sin((xx + yy) / 31.0)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


# ---- storage, read from the course HDF5 file ----

def storage_from_h5():
    with h5py.File(MODEL, "r") as f:
        root = []
        for name in sorted(f.attrs):
            v = attr_text(f.attrs[name])
            kind = "string (variable-length, UTF-8)"
            if len(v) > 100:
                v = v[:100] + "... (%d characters)" % len(v)
            root.append({"name": name, "type": kind, "value": v})
        mw = f["model_weights"]
        groups, get_weights = [], []
        total_count = total_bytes = 0
        for layer in [attr_text(n) for n in mw.attrs["layer_names"]]:
            g = mw[layer]
            weights = []
            arrays = []
            for wn in [attr_text(n) for n in g.attrs["weight_names"]]:
                d = g[wn]
                nbytes = int(np.prod(d.shape)) * d.dtype.itemsize
                inner = wn.rsplit("/", 1)[0]
                path = layer if inner == layer else layer + "/" + inner
                weights.append({
                    "name": wn, "shape_str": shape_str(d.shape), "dtype": str(d.dtype),
                    "bytes_str": size_str(nbytes), "layer_path": path,
                    "trainable": layer != "vgg16",
                })
                arrays.append(shape_str(d.shape))
                total_count += 1
                total_bytes += nbytes
            nested = layer == "vgg16"
            groups.append({
                "group": "/model_weights/" + layer, "layer": layer,
                "class": "Functional" if nested else
                {"conv2d": "Conv2D", "max_pooling2d": "MaxPooling2D", "flatten": "Flatten",
                 "dense": "Dense", "dense_1": "Dense"}[layer],
                "nested": nested, "count": len(weights),
                "bytes_str": size_str(sum(int(np.prod(g[w["name"]].shape)) * 4 for w in weights)),
                "weights": weights,
            })
            get_weights.append({"layer": layer, "count": len(arrays),
                                "arrays_str": ", ".join(arrays) if arrays else "[]"})
    return root, groups, get_weights, total_count, total_bytes


VGG_LAYERS = [
    ("input_1", "InputLayer", "[(None, 150, 150, 3)]", 0),
    ("block1_conv1", "Conv2D", "(None, 150, 150, 64)", 1792),
    ("block1_conv2", "Conv2D", "(None, 150, 150, 64)", 36928),
    ("block1_pool", "MaxPooling2D", "(None, 75, 75, 64)", 0),
    ("block2_conv1", "Conv2D", "(None, 75, 75, 128)", 73856),
    ("block2_conv2", "Conv2D", "(None, 75, 75, 128)", 147584),
    ("block2_pool", "MaxPooling2D", "(None, 37, 37, 128)", 0),
    ("block3_conv1", "Conv2D", "(None, 37, 37, 256)", 295168),
    ("block3_conv2", "Conv2D", "(None, 37, 37, 256)", 590080),
    ("block3_conv3", "Conv2D", "(None, 37, 37, 256)", 590080),
    ("block3_pool", "MaxPooling2D", "(None, 18, 18, 256)", 0),
    ("block4_conv1", "Conv2D", "(None, 18, 18, 512)", 1180160),
    ("block4_conv2", "Conv2D", "(None, 18, 18, 512)", 2359808),
    ("block4_conv3", "Conv2D", "(None, 18, 18, 512)", 2359808),
    ("block4_pool", "MaxPooling2D", "(None, 9, 9, 512)", 0),
    ("block5_conv1", "Conv2D", "(None, 9, 9, 512)", 2359808),
    ("block5_conv2", "Conv2D", "(None, 9, 9, 512)", 2359808),
    ("block5_conv3", "Conv2D", "(None, 9, 9, 512)", 2359808),
    ("block5_pool", "MaxPooling2D", "(None, 4, 4, 512)", 0),
]
HEAD = [
    ("vgg16", "Functional", "(None, 4, 4, 512)", 14714688, False),
    ("conv2d", "Conv2D", "(None, 2, 2, 128)", 589952, True),
    ("max_pooling2d", "MaxPooling2D", "(None, 1, 1, 128)", 0, True),
    ("flatten", "Flatten", "(None, 128)", 0, True),
    ("dense", "Dense", "(None, 128)", 16512, True),
    ("dense_1", "Dense", "(None, 1)", 129, True),
]


def row(index, name, path, cls, shape, params, trainable, depth):
    return {"index": index, "name": name, "path": path, "class": cls, "output_shape": shape,
            "params_str": thousands(params), "trainable": trainable, "depth": depth}


def layer_rows(expand):
    rows = []
    for i, (name, cls, shape, params, tr) in enumerate(HEAD):
        rows.append(row(i, name, name, cls, shape, params, tr, 0))
        if expand and name == "vgg16":
            for j, (n2, c2, s2, p2) in enumerate(VGG_LAYERS):
                rows.append(row(j, n2, "vgg16/" + n2, c2, s2, p2, False, 1))
    return rows


def course_data(kernels_wh, features_wh):
    root, groups, get_weights, wcount, wbytes = storage_from_h5()
    assert sum(p for _, _, _, p in VGG_LAYERS) == 14714688
    total, trainable = 15321281, 606593
    with open(SUMMARY) as f:
        summary_text = f.read()
    images = [("gato.jpg", "img/input-1.png", "img/features-1.png", 2),
              ("perro.jpg", "img/input-2.png", "img/features-2.png", 3)]
    return {
        "title": "Transfer learning con VGG16: anatomía de modelo.h5",
        "author": "Curso de Deep Learning",
        "lang": "es",
        "tlreport_version": "0.1.0",
        "command": "tlreport modelo.h5 imgs/ -o site",
        "model": {
            "file": "modelo.h5", "name": "sequential", "class": "Sequential",
            "format": "hdf5-model", "format_description": "HDF5 model (model.save)",
            "keras_version": "2.9.0", "backend": "tensorflow",
            "input_shape": "(None, 150, 150, 3)",
            "total_params": total, "total_params_str": thousands(total),
            "trainable_params": trainable, "trainable_params_str": thousands(trainable),
            "non_trainable_params": total - trainable,
            "non_trainable_params_str": thousands(total - trainable),
            "layer_count": len(HEAD),
            "nested": [{"name": "vgg16", "class": "Functional", "layers": len(VGG_LAYERS),
                        "params_str": thousands(14714688), "trainable": False,
                        "group": "/model_weights/vgg16", "weights_count": 26}],
        },
        "storage": {
            "file_bytes_str": "58.52 MB",
            "weights_only": False,
            "keras_zip": False,
            "root_attributes": root,
            "model_config": {"present": True, "class": "Sequential", "name": "sequential",
                             "json_bytes_str": thousands(10865)},
            "training": {"present": True, "loss": "binary_crossentropy",
                         "optimizer": "RMSprop", "learning_rate": "2e-05",
                         "metrics_str": "acc"},
            "weights_group": "/model_weights",
            "weights_count": wcount,
            "weights_bytes_str": size_str(wbytes),
            "weight_groups": groups,
            "optimizer": {"present": True, "group": "/optimizer_weights", "count": 7,
                          "params_str": thousands(606594), "bytes_str": size_str(606594 * 4)},
            "get_weights": get_weights,
            "example": {"layer": "conv2d", "class": "Conv2D", "count": 2,
                        "arrays_str": "(3, 3, 512, 128), (128,)",
                        "config_code": "{'name': 'conv2d', 'trainable': True, 'filters': 128,\n"
                                       " 'kernel_size': (3, 3), 'strides': (1, 1),\n"
                                       " 'padding': 'valid', 'activation': 'relu', ...}"},
            "archive_members": [],
        },
        "layers": {"count": len(HEAD), "count_expanded": len(HEAD) - 1 + len(VGG_LAYERS),
                   "rows": layer_rows(False)},
        "summary": {
            "text": summary_text, "style": "tf27", "rows": layer_rows(True),
            "frozen": [{"name": "vgg16", "params_str": thousands(14714688)}],
            "batchnorm": {"present": False, "count": 0, "params_str": "0"},
        },
        "kernels": {
            "present": True, "layer": "conv2d", "layer_name": "conv2d", "parent": "",
            "class": "Conv2D", "shape_str": "(3, 3, 512, 128)", "kh": 3, "kw": 3,
            "channels": 512, "filters": 128,
            "image": "img/kernels.png", "width": kernels_wh[0], "height": kernels_wh[1],
            "rows": 10, "cols": 20, "norm": "kernel",
            "row_first": 0, "row_last": 9, "col_first": 0, "col_last": 19,
            "flat_tiles": 0, "nonfinite": 0,
            "min": -0.0871, "max": 0.0934, "min_str": "-0.0871", "max_str": "0.0934",
        },
        "features": {
            "present": True, "layer": "vgg16/block3_conv1", "layer_name": "block3_conv1",
            "parent": "vgg16", "shape_str": "(1, 37, 37, 256)", "cmap": "gray",
            "channels_shown": 16, "channels": 256, "per_row": 8,
            "images": [{"source": src, "input_image": inp, "grid": grid,
                        "width": features_wh[0], "height": features_wh[1],
                        "channels_shown": 16, "channels": 256, "dead": dead, "per_row": 8}
                       for src, inp, grid, dead in images],
            "extra_layers": [{
                "layer": "vgg16/block1_conv1", "shape_str": "(1, 150, 150, 64)",
                "images": [{"source": src, "grid": "img/features-b1-%d.png" % (i + 1),
                            "width": features_wh[0], "height": features_wh[1],
                            "channels_shown": 16, "channels": 64, "dead": 0, "per_row": 8}
                           for i, (src, _, _, _) in enumerate(images)],
            }],
        },
        "predictions": {
            "present": True, "sigmoid": True,
            "images": [
                {"source": "gato.jpg", "top": [
                    {"rank": 1, "label": "0 (gato)", "probability_str": "0.9412"},
                    {"rank": 2, "label": "1 (perro)", "probability_str": "0.0588"}]},
                {"source": "perro.jpg", "top": [
                    {"rank": 1, "label": "1 (perro)", "probability_str": "0.8876"},
                    {"rank": 2, "label": "0 (gato)", "probability_str": "0.1124"}]},
            ],
        },
        "preprocess": {"mode": "rescale", "description": "x * (1/255)", "resize": "nearest",
                       "crop": False, "target_size_str": "(150, 150)", "color_mode": "rgb"},
        "warnings": [{"text": "perro.jpg: 4 channels (RGBA); the alpha channel was dropped, as "
                              "keras.utils.load_img does"}],
        "uncomputed": [],
    }


def minimal_data():
    """A save_weights() file given alone: no architecture, no images, no conv layer shown."""
    return {
        "title": "", "lang": "es", "tlreport_version": "0.1.0",
        "model": {"file": "pesos.h5", "name": "", "class": "", "format": "hdf5-weights",
                  "keras_version": "2.3.1", "backend": "tensorflow",
                  "total_params": 1290, "total_params_str": "1,290",
                  "trainable_params": 1290, "trainable_params_str": "1,290",
                  "non_trainable_params": 0, "non_trainable_params_str": "0",
                  "layer_count": 1, "nested": []},
        "storage": {
            "weights_only": True, "keras_zip": False,
            "root_attributes": [
                {"name": "backend", "type": "string (fixed-length, ASCII)", "value": "tensorflow"},
                {"name": "keras_version", "type": "string (fixed-length, ASCII)", "value": "2.3.1"},
                {"name": "layer_names", "type": "string array [1] (fixed-length, ASCII)",
                 "value": "1 names"}],
            "model_config": {"present": False},
            "training": {"present": False},
            "weights_group": "/", "weights_count": 2, "weights_bytes_str": "5.04 KB",
            "weight_groups": [{"group": "/dense", "layer": "dense", "class": "", "nested": False,
                               "count": 2, "bytes_str": "5.04 KB", "weights": [
                                   {"name": "dense/kernel:0", "shape_str": "(128, 10)",
                                    "dtype": "float32", "bytes_str": "5.00 KB",
                                    "layer_path": "dense", "trainable": True},
                                   {"name": "dense/bias:0", "shape_str": "(10,)",
                                    "dtype": "float32", "bytes_str": "40 bytes",
                                    "layer_path": "dense", "trainable": True}]}],
            "optimizer": {"present": False, "count": 0},
            "get_weights": [{"layer": "dense", "count": 2, "arrays_str": "(128, 10), (10,)"}],
            "archive_members": [],
        },
        "layers": {"count": 1, "rows": [
            {"index": 0, "name": "dense", "path": "dense", "class": "", "output_shape": "?",
             "params_str": "1,290", "trainable": True, "depth": 0}]},
        "summary": {"text": "", "style": "", "rows": [], "frozen": []},
        "kernels": {"present": False},
        "features": {"present": False, "images": []},
        "predictions": {"present": False, "images": []},
        "preprocess": {"mode": "rescale", "resize": "nearest", "crop": False},
        "warnings": [],
        "uncomputed": [{"layer": "dense", "class": "Dense", "reason": "unknown_class",
                        "reason_unknown_class": True}],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    kw = save("kernels.png", kernel_grid())
    fw = save("features.png", feature_grid())
    save("input.png", input_picture())
    with open(os.path.join(OUT, "kernels.png"), "rb") as f:
        b64 = base64.b64encode(f.read()).decode("ascii")
    with open(os.path.join(OUT, "kernels.png.b64"), "w") as f:
        f.write(b64 + "\n")
    for name, data in (("data.json", course_data(kw, fw)), ("minimal.json", minimal_data())):
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
