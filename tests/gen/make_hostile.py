#!/usr/bin/python3
"""Crafted hostile inputs for tests/cli/hostile.sh, written to tests/fixtures/hostile/.

Each file is a real fixture bent in one way (h5py and zipfile do the bending; nothing here
comes from tlreport):
  evil_names.h5       seqflat.h5 with weightless layers renamed '../../etc/x' and HTML/format
                      characters (file names and report text derived from layer names)
  nan_weights.h5      seqflat.h5 with NaN, +Inf and -Inf in the first conv kernel
  f16_f64_weights.h5  seqflat.h5 with one kernel stored as float16 and another as float64
  int_weights.h5      seqflat.h5 with the dense kernel stored as int32
  huge_weights.h5     a Conv2D whose kernel dataset claims 3x3x16384x16384 floats (9.7 GB,
                      never written, so the file is small)
  zip_bomb_header.keras  k3_seq.keras whose model.weights.h5 member declares ~4 GB
  zip_paths.keras     k3_seq.keras plus members named ../../../tlr_hostile_escape,
                      /tmp/tlr_hostile_abs and a symbolic-link member to /etc/passwd
Run: /usr/bin/python3 tests/gen/make_hostile.py (from the repository root).
"""
import io
import json
import os
import shutil
import struct
import zipfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(FIX, "hostile")
SEQ = os.path.join(FIX, "numeric", "seqflat.h5")
K3 = os.path.join(FIX, "models", "k3_seq.keras")


def copy_seq(name):
    path = os.path.join(OUT, name)
    shutil.copyfile(SEQ, path)
    return path


def evil_names():
    path = copy_seq("evil_names.h5")
    renames = {"flatten": "../../etc/x",
               "max_pooling2d": "<img src=x onerror=alert(1)>|`*_%s%n"}
    with h5py.File(path, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        for layer in cfg["config"]["layers"]:
            new = renames.get(layer["config"]["name"])
            if new:
                layer["config"]["name"] = new
        f.attrs["model_config"] = json.dumps(cfg)


def set_kernel(f, layer, fn):
    g = f["model_weights"][layer]
    names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
    kname = [n for n in names if "kernel" in n][0]
    data = g[kname][()]
    del g[kname]
    g.create_dataset(kname, data=fn(data))


def nan_weights():
    path = copy_seq("nan_weights.h5")
    def poison(k):
        k = k.copy()
        k.flat[0] = np.nan
        k.flat[1] = np.inf
        k.flat[2] = -np.inf
        return k
    with h5py.File(path, "r+") as f:
        set_kernel(f, "conv2d", poison)


def dtype_weights():
    path = copy_seq("f16_f64_weights.h5")
    with h5py.File(path, "r+") as f:
        set_kernel(f, "conv2d", lambda k: k.astype(np.float16))
        set_kernel(f, "dense", lambda k: k.astype(np.float64))
    path = copy_seq("int_weights.h5")
    with h5py.File(path, "r+") as f:
        set_kernel(f, "dense", lambda k: (k * 100).astype(np.int32))


def huge_weights():
    cfg = {"class_name": "Sequential", "config": {"name": "huge", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4, 4, 16384],
                                                "dtype": "float32", "name": "in"}},
        {"class_name": "Conv2D", "config": {"name": "conv", "filters": 16384,
                                            "kernel_size": [3, 3], "strides": [1, 1],
                                            "padding": "same", "activation": "linear",
                                            "use_bias": True, "data_format": "channels_last",
                                            "dilation_rate": [1, 1]}}]}}
    path = os.path.join(OUT, "huge_weights.h5")
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(cfg)
        f.attrs["keras_version"] = "2.9.0"
        f.attrs["backend"] = "tensorflow"
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([b"conv"])
        mw.attrs["keras_version"] = "2.9.0"
        g = mw.create_group("conv")
        g.attrs["weight_names"] = np.array([b"conv/kernel:0", b"conv/bias:0"])
        sub = g.create_group("conv")
        sub.create_dataset("kernel:0", shape=(3, 3, 16384, 16384), dtype="f4")
        sub.create_dataset("bias:0", shape=(16384,), dtype="f4")


def zip_bomb_header():
    data = bytearray(open(K3, "rb").read())
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = z.getinfo("model.weights.h5")
    declared = 0xFFFFFFF0
    # local header: uncompressed size at +22; central directory entry: at +24
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    sig, pos = b"PK\x01\x02", 0
    while True:
        pos = data.find(sig, pos)
        if pos < 0:
            break
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len] == b"model.weights.h5":
            struct.pack_into("<I", data, pos + 24, declared)
        pos += 4
    open(os.path.join(OUT, "zip_bomb_header.keras"), "wb").write(bytes(data))


def zip_paths():
    out = os.path.join(OUT, "zip_paths.keras")
    shutil.copyfile(K3, out)
    with zipfile.ZipFile(out, "a") as z:
        z.writestr("../../../tlr_hostile_escape", "escaped\n")
        z.writestr("/tmp/tlr_hostile_abs", "absolute\n")
        link = zipfile.ZipInfo("tlr_hostile_link")
        link.create_system = 3
        link.external_attr = (0o120777 << 16)
        z.writestr(link, "/etc/passwd")


def main():
    os.makedirs(OUT, exist_ok=True)
    evil_names()
    nan_weights()
    dtype_weights()
    huge_weights()
    zip_bomb_header()
    zip_paths()
    for n in sorted(os.listdir(OUT)):
        print("%-24s %7d bytes" % (n, os.path.getsize(os.path.join(OUT, n))))


if __name__ == "__main__":
    main()
