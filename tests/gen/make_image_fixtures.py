#!/usr/bin/python3
"""Writes the image fixtures for tests/unit/test_image.c and test_preprocess.c.

PNG files are encoded by hand here (every colour type, bit depth, filter type and Adam7
interlacing), so the inputs do not come from the library under test.  Pillow (Debian's
python3-pil, 9.4) then decodes them, and its results are the references:

  tests/fixtures/images/*.png, *.jpg   inputs (tiny)
  tests/ref/images/<name>.rgb          Pillow's img.convert("RGB") bytes, row-major
  tests/ref/images/<name>.rgba         Pillow's img.convert("RGBA") bytes (4-channel decodes)
  tests/ref/images/*.png               Pillow's resize / convert("L") results, saved losslessly
  tests/fixtures/images/scan/          a folder tree for the recursive scan

Run from the repository root:  /usr/bin/python3 tests/gen/make_image_fixtures.py
The output is deterministic (fixed seeds), so re-running it changes no file.
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "images")
REF = os.path.join(ROOT, "tests", "ref", "images")

W, H = 13, 7  # odd sizes: partial bytes for 1/2/4-bit rows, uneven Adam7 passes

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]

CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(row, depth):
    """row: flat list of samples -> bytes at the given bit depth (MSB first)."""
    if depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in row)
    if depth == 8:
        return bytes(int(v) for v in row)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(row), per):
        byte = 0
        part = row[i:i + per]
        for j, v in enumerate(part):
            byte |= int(v) << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(ftype, raw, prev, bpp):
    out = bytearray([ftype])
    for i, x in enumerate(raw):
        a = raw[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if (prev is not None and i >= bpp) else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out.append((x - pred) & 0xFF)
    return bytes(out)


def encode_rows(samples, depth, bpp, row_no):
    """samples: (h, w, ch) array; every row uses filter type (row_no % 5)."""
    out = bytearray()
    prev = None
    for y in range(samples.shape[0]):
        raw = pack_row(samples[y].reshape(-1).tolist(), depth)
        out += filter_row(row_no % 5, raw, prev, bpp)
        prev = raw
        row_no += 1
    return bytes(out), row_no


def write_png(path, samples, depth, ctype, palette=None, trns=None, interlace=False):
    h, w = samples.shape[:2]
    bpp = max(1, CHANNELS[ctype] * depth // 8)
    if interlace:
        data, row_no = b"", 0
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            part, row_no = encode_rows(sub, depth, bpp, row_no)
            data += part
    else:
        data, _ = encode_rows(samples, depth, bpp, 0)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    # Two IDAT chunks: decoders must join them.
    z = zlib.compress(data, 9)
    png += chunk(b"IDAT", z[: len(z) // 2]) + chunk(b"IDAT", z[len(z) // 2:])
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
    return png


def save_ref(name, pil_img, channels):
    mode = "RGBA" if channels == 4 else "RGB"
    ext = "rgba" if channels == 4 else "rgb"
    with open(os.path.join(REF, name + "." + ext), "wb") as f:
        f.write(pil_img.convert(mode).tobytes())


def png_variants(rng):
    """name -> (samples, depth, ctype, palette, trns, interlace, channels we expect)."""
    v = {}

    def gray(depth, size=(H, W)):
        return rng.integers(0, 1 << depth, size=size + (1,))

    for d in (1, 2, 4, 8):
        v["g%d" % d] = (gray(d), d, 0, None, None, False, 1)
    # 16-bit gray: mostly small values (Pillow keeps them) plus some above 255 (clipped).
    g16 = rng.integers(0, 300, size=(H, W, 1))
    g16[::2, ::3, 0] = rng.integers(0, 65536, size=g16[::2, ::3, 0].shape)
    v["g16"] = (g16, 16, 0, None, None, False, 1)
    v["g8_trns"] = (gray(8), 8, 0, None, struct.pack(">H", 7), False, 1)
    v["ga8"] = (rng.integers(0, 256, size=(H, W, 2)), 8, 4, None, None, False, 4)
    v["ga16"] = (rng.integers(0, 65536, size=(H, W, 2)), 16, 4, None, None, False, 4)
    v["rgb8"] = (rng.integers(0, 256, size=(H, W, 3)), 8, 2, None, None, False, 3)
    v["rgb16"] = (rng.integers(0, 65536, size=(H, W, 3)), 16, 2, None, None, False, 3)
    v["rgb8_trns"] = (rng.integers(0, 256, size=(H, W, 3)), 8, 2, None,
                      struct.pack(">HHH", 1, 2, 3), False, 3)
    v["rgba8"] = (rng.integers(0, 256, size=(H, W, 4)), 8, 6, None, None, False, 4)
    v["rgba16"] = (rng.integers(0, 65536, size=(H, W, 4)), 16, 6, None, None, False, 4)
    for d in (1, 2, 4, 8):
        n = 1 << d
        pal = rng.integers(0, 256, size=(n, 3))
        v["p%d" % d] = (rng.integers(0, n, size=(H, W, 1)), d, 3, pal, None, False, 3)
    for d in (4, 8):
        n = 1 << d
        pal = rng.integers(0, 256, size=(n, 3))
        alpha = bytes(rng.integers(0, 256, size=n // 2).tolist())  # shorter than PLTE
        v["p%d_trns" % d] = (rng.integers(0, n, size=(H, W, 1)), d, 3, pal, alpha, False, 4)
    # Interlaced (Adam7) versions of a few.
    for base in ("rgb8", "g2", "p4", "rgba16", "ga8", "g16", "p8_trns"):
        s, d, ct, pal, tr, _, ch = v[base]
        v[base + "_i"] = (s, d, ct, pal, tr, True, ch)
    # Tiny interlaced images leave some Adam7 passes empty.
    v["rgb8_i_1x1"] = (rng.integers(0, 256, size=(1, 1, 3)), 8, 2, None, None, True, 3)
    v["rgb8_i_3x2"] = (rng.integers(0, 256, size=(2, 3, 3)), 8, 2, None, None, True, 3)
    return v


def make_pngs(rng):
    manifest = []
    for name, (s, d, ct, pal, tr, il, ch) in png_variants(rng).items():
        path = os.path.join(FIX, name + ".png")
        write_png(path, s, d, ct, pal, tr, il)
        im = Image.open(path)
        im.load()
        save_ref(name, im, ch)
        manifest.append("%s png %d %d %d" % (name, s.shape[1], s.shape[0], ch))
    return manifest


def make_jpegs(rng):
    manifest = []
    # Smooth content so that JPEG is close to the source (the decoders are compared, not
    # JPEG's loss), with some detail.
    yy, xx = np.mgrid[0:12, 0:19]
    base = np.stack([xx * 12, yy * 20, (xx + yy) * 8], axis=-1).astype(np.int64)
    rgb = np.clip(base + rng.integers(-10, 10, size=base.shape), 0, 255).astype(np.uint8)
    cases = {
        "j_rgb420": (Image.fromarray(rgb, "RGB"), dict(quality=90)),
        "j_rgb444": (Image.fromarray(rgb, "RGB"), dict(quality=90, subsampling=0)),
        "j_prog": (Image.fromarray(rgb, "RGB"), dict(quality=85, progressive=True)),
        "j_gray": (Image.fromarray(rgb[:, :, 0], "L"), dict(quality=90)),
        "j_cmyk": (Image.fromarray(rgb, "RGB").convert("CMYK"), dict(quality=90)),
    }
    for name, (im, kw) in cases.items():
        path = os.path.join(FIX, name + ".jpg")
        im.save(path, "JPEG", **kw)
        dec = Image.open(path)
        dec.load()
        ch = 1 if dec.mode == "L" else 3
        save_ref(name, dec, 3)
        manifest.append("%s jpg %d %d %d" % (name, dec.size[0], dec.size[1], ch))
    return manifest


def make_bad_files():
    rgb8 = open(os.path.join(FIX, "rgb8.png"), "rb").read()
    jpg = open(os.path.join(FIX, "j_rgb420.jpg"), "rb").read()
    bad = os.path.join(FIX, "bad")
    os.makedirs(bad, exist_ok=True)

    def put(name, data):
        with open(os.path.join(bad, name), "wb") as f:
            f.write(data)

    put("trunc_sig.png", rgb8[:5])
    put("trunc_ihdr.png", rgb8[:20])
    put("trunc_idat.png", rgb8[: len(rgb8) * 2 // 3])
    # A flipped byte inside the first IDAT's data: the chunk CRC no longer matches.
    idat = rgb8.index(b"IDAT")
    flipped = bytearray(rgb8)
    flipped[idat + 6] ^= 0xFF
    put("crc.png", bytes(flipped))
    # Same corruption with the CRC recomputed: zlib sees the damage instead.
    n = struct.unpack(">I", rgb8[idat - 4: idat])[0]
    body = bytes(flipped[idat: idat + 4 + n])
    fixed = flipped[: idat + 4 + n] + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF) + \
        flipped[idat + 8 + n:]
    put("zlib.png", bytes(fixed))
    put("sig_only.png", rgb8[:8] + b"garbage garbage garbage")
    put("trunc_half.jpg", jpg[: len(jpg) // 2])
    put("trunc_scan.jpg", jpg[:-40])  # inside the entropy-coded data
    put("trunc_header.jpg", jpg[:30])
    put("soi_only.jpg", b"\xff\xd8\xff")
    put("empty.png", b"")
    put("text.png", b"this is not an image\n")
    put("gif.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

    # Decompression bombs: headers claiming huge sizes, with a tiny valid IDAT behind them.
    def bomb(w, h):
        z = zlib.compress(b"\x00" * 16)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", z) + chunk(b"IEND", b""))

    put("bomb_100000.png", bomb(100000, 100000))
    put("bomb_20000.png", bomb(20000, 20000))  # sides fine, 400 megapixels is not
    # JPEG: patch the SOF0 frame size of a real file to 60000 x 60000 (libjpeg's own
    # limit is 65500 per side, so only the pixel limit stops this one).
    sof = jpg.index(b"\xff\xc0")
    j = bytearray(jpg)
    j[sof + 5: sof + 9] = struct.pack(">HH", 60000, 60000)
    put("bomb.jpg", bytes(j))


def structured(w, h, rng):
    """Stripes, checkerboards, rings and gradients: high frequencies that exercise the
    resampling filters, and small as PNG."""
    yy, xx = np.mgrid[0:h, 0:w]
    r = ((xx // 1) % 2) * 200 + (yy * 255 // max(1, h - 1)) // 5
    g = (((xx // 3) + (yy // 2)) % 2) * 180 + xx * 60 // max(1, w - 1)
    b = ((np.hypot(xx - w / 3, yy - h / 2).astype(np.int64) // 4) % 2) * 220 + (yy % 7) * 5
    img = np.stack([r, g, b], axis=-1)
    img[h // 3: h // 3 + 12, w // 2: w // 2 + 16] = rng.integers(0, 256, size=(12, 16, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def keras_center_box(w, h, tw, th):
    """keras.utils.load_img(keep_aspect_ratio=True): the centred crop box, integer math."""
    crop_h = min(h, (w * th) // tw)
    crop_w = min(w, (h * tw) // th)
    hs = (h - crop_h) // 2
    ws = (w - crop_w) // 2
    return (ws, hs, ws + crop_w, hs + crop_h)


def save_png(im, path):
    im.save(path, "PNG", optimize=True)


def make_resize(rng):
    manifest = []
    small = Image.fromarray(rng.integers(0, 256, size=(23, 37, 3), dtype=np.uint8), "RGB")
    big = Image.fromarray(structured(300, 200, rng), "RGB")
    tiny = Image.fromarray(rng.integers(0, 256, size=(3, 2, 3), dtype=np.uint8), "RGB")
    save_png(small, os.path.join(FIX, "rs_37x23.png"))
    save_png(big, os.path.join(FIX, "rs_300x200.png"))
    save_png(tiny, os.path.join(FIX, "rs_2x3.png"))
    methods = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR}
    jobs = [
        ("rs_37x23", small, 150, 150, None),
        ("rs_37x23", small, 37, 50, None),   # vertical pass only
        ("rs_37x23", small, 80, 23, None),   # horizontal pass only
        ("rs_37x23", small, 10, 6, None),
        ("rs_300x200", big, 150, 150, None),
        ("rs_300x200", big, 13, 9, None),
        ("rs_300x200", big, 64, 64, keras_center_box(300, 200, 64, 64)),
        ("rs_300x200", big, 40, 90, keras_center_box(300, 200, 40, 90)),
        ("rs_2x3", tiny, 7, 15, None),       # Pillow's running sum differs from (x+.5)*in/out
    ]
    for src_name, src, w, h, box in jobs:
        for mname, m in methods.items():
            for mode in ("RGB", "L"):
                im = src if mode == "RGB" else src.convert("L")
                out = im.resize((w, h), m, box=box)
                tag = "%s_%s_%dx%d%s%s" % (src_name, mname, w, h, "_box" if box else "",
                                           "_L" if mode == "L" else "")
                save_png(out, os.path.join(REF, tag + ".png"))
                manifest.append("%s %s %s %d %d %s %s" % (
                    tag, src_name, mname, w, h, mode,
                    ",".join(str(b) for b in box) if box else "-"))
    # Pillow's "L" conversion of random colours (and of the structured image).
    noise = Image.fromarray(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8), "RGB")
    save_png(noise, os.path.join(FIX, "rgb_32x32.png"))
    save_png(noise.convert("L"), os.path.join(REF, "rgb_32x32_L.png"))
    save_png(big.convert("L"), os.path.join(REF, "rs_300x200_L.png"))
    return manifest


def make_scan_tree(rng):
    scan = os.path.join(FIX, "scan")
    tiny_png = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(2, 2, 3), dtype=np.uint8)).save(tiny_png, "PNG")
    tiny_jpg = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(2, 2, 3), dtype=np.uint8)).save(tiny_jpg, "JPEG")
    files = {
        "b/z.png": tiny_png.getvalue(),
        "b/a.jpg": tiny_jpg.getvalue(),
        "B/c.png": tiny_png.getvalue(),
        "a.jpeg": tiny_jpg.getvalue(),
        "a/deep/er/x.png": tiny_png.getvalue(),
        "image.dat": tiny_png.getvalue(),      # an image whatever its extension
        "notes.txt": b"not an image\n",
        "fake.png": b"not a png either\n",     # extension lies: skipped with a warning
        ".hidden.png": tiny_png.getvalue(),    # dot files are skipped silently
    }
    for rel, data in files.items():
        p = os.path.join(scan, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


def main():
    os.makedirs(FIX, exist_ok=True)
    os.makedirs(REF, exist_ok=True)
    rng = np.random.default_rng(20240601)
    manifest = make_pngs(rng) + make_jpegs(rng)
    with open(os.path.join(REF, "decode.txt"), "w") as f:
        f.write("# name format width height channels (refs: <name>.rgb / .rgba)\n")
        f.write("\n".join(manifest) + "\n")
    make_bad_files()
    rs = make_resize(rng)
    with open(os.path.join(REF, "resize.txt"), "w") as f:
        f.write("# ref source method width height mode box(x0,y0,x1,y1 or -)\n")
        f.write("\n".join(rs) + "\n")
    make_scan_tree(rng)


if __name__ == "__main__":
    main()
