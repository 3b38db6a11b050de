#!/bin/sh
# Builds the seed corpora of the fuzz targets from tests/fixtures into $FUZZ_DIR/seeds/<target>/
# (default build-fuzz).  Seeds are copies; nothing here is committed.  Model configs are taken
# out of the fixture files with Debian's python3 (h5py, zipfile); without h5py those seeds are
# skipped and the others still made.
cd "$(dirname "$0")/../.." || exit 2
: "${FUZZ_DIR:=build-fuzz}"
S="$FUZZ_DIR/seeds"
F=tests/fixtures
rm -rf "$S"
for t in keras_config zip h5 image template npy pipeline; do mkdir -p "$S/$t"; done

cp_all() { # dest files...
    d=$1; shift
    for f in "$@"; do [ -f "$f" ] && cp "$f" "$d/$(echo "$f" | tr / _)"; done
}

cp_all "$S/npy" $F/npy/*.npy $F/numeric/*_input.npy
cp_all "$S/image" $F/images/*.png $F/images/*.jpg $F/images/bad/* $F/report/*.png
cp_all "$S/zip" $F/models/*.keras $F/bad/*.keras
cp_all "$S/h5" $F/models/*.h5 $F/bad/*.h5 $F/numeric/*.h5
cp_all "$S/pipeline" $F/numeric/*.h5 $F/models/*.h5 $F/models/*.keras $F/models/arch*.json
cp_all "$S/keras_config" $F/models/arch*.json
for f in templates/*/* $F/report/*.mustache; do
    [ -f "$f" ] && cp "$f" "$S/template/$(echo "$f" | tr / _)"
done
# A template with a partial after the NUL (see fuzz_template.c).
printf '{{#layers}}{{> p}}{{/layers}}\0{{name}} {{#kids}}{{name}}{{/kids}}\n' > "$S/template/partial"
printf '{{> self}}' > "$S/template/self_include"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" - "$F" "$S" <<'PYEOF'
import glob, os, sys, zipfile
fix, seeds = sys.argv[1], sys.argv[2]
n = 0
try:
    import h5py
except ImportError:
    h5py = None
    print("make_seeds: no h5py; model_config seeds from .h5 files skipped", file=sys.stderr)
if h5py:
    for p in sorted(glob.glob(fix + "/*/*.h5")):
        try:
            with h5py.File(p, "r") as f:
                cfg = f.attrs.get("model_config")
        except Exception:
            continue
        if cfg is None:
            continue
        if isinstance(cfg, bytes):
            cfg = cfg.decode("utf-8", "replace")
        out = os.path.join(seeds, "keras_config", os.path.basename(p) + ".json")
        with open(out, "w") as o:
            o.write(str(cfg))
        n += 1
for p in sorted(glob.glob(fix + "/*/*.keras")):
    try:
        z = zipfile.ZipFile(p)
        names = z.namelist()
    except Exception:
        continue
    base = os.path.basename(p)
    if "config.json" in names:
        with open(os.path.join(seeds, "keras_config", base + ".config.json"), "wb") as o:
            o.write(z.read("config.json"))
        n += 1
    if "model.weights.h5" in names:
        with open(os.path.join(seeds, "h5", base + ".weights.h5"), "wb") as o:
            o.write(z.read("model.weights.h5"))
print("make_seeds: %d model configs extracted" % n)
PYEOF
for t in "$S"/*; do echo "make_seeds: $(basename "$t"): $(ls "$t" | wc -l) seeds"; done
