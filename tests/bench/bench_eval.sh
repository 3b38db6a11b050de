#!/bin/sh
# tests/bench/bench_eval.sh - evaluation throughput (issue 14): tlreport on a labelled folder
# of PHOTOS (default 1,000) JPEG photos at the course model's input size, end to end (list,
# decode, resize, preprocess, forward, reduce), against ONNX Runtime's forward passes alone
# on the same inputs at batch 1 and batch 8, in the same run.  Called by bench.sh (last) or
# alone; prints a Markdown table, kept in build-bench/results/eval.md.
#
# Steps: builds tlreport into build-bench/ and tests/bench/make_photos.c; makes the course
# model (the oracle's seed_vgg16: VGG16 base + head, 150x150, one sigmoid output) and its
# ONNX graphs (batch 1 from make_onnx.py, a free batch from onnx_batch.py) in the oracle copy
# unless bench.sh made them; writes the photos (random crops of ../shared/images, two class
# folders) and their prepared inputs; then times
#   - tlreport MODEL photos/ --shard 1/1 -o part: the evaluation alone (no report pages);
#   - tlreport MODEL photos/ -o site: the whole command, report included;
#   - ONNX Runtime (ort_eval.mjs) at batch 1 and 8, forward only, inputs prepared beforehand.
# Environment: PHOTOS (count), THREADS (default 2), ORACLE, IMAGES, SKIP_ORT=1.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=build-bench
R=$B/results
O=$B/oracle
PY=/usr/bin/python3
N=${PHOTOS:-1000}
THREADS=${THREADS:-2}
ORACLE_SRC=${ORACLE:-../shared/oracle}
IMAGES=${IMAGES:-../shared/images}
mkdir -p "$R"

make --no-print-directory BUILD=$B $B/tlreport $B/libtlr.a >/dev/null
PKGS=$(sed -n 's/^PKGS *= *//p' Makefile)
# shellcheck disable=SC2086
cc -std=c11 -O2 -D_DEFAULT_SOURCE -Isrc $(pkg-config --cflags $PKGS) -o $B/make_photos \
   tests/bench/make_photos.c $B/libtlr.a $(pkg-config --libs $PKGS) \
   -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5_hl -lm -lpthread

if [ ! -f $O/make_onnx.py ]; then
  if [ ! -f "$ORACLE_SRC/make_keras_h5.py" ]; then
    echo "bench_eval: the oracle is not at $ORACLE_SRC (set ORACLE=DIR)" >&2
    exit 1
  fi
  mkdir -p $O
  (cd "$ORACLE_SRC" && tar cf - --exclude=./node_modules --exclude=./out --exclude=./models \
      --exclude=./onnx --exclude=./results .) | (cd $O && tar xf -)
  chmod -R u+w $O
fi
[ -f $O/models/seed_vgg16.h5 ] || (cd $O && $PY make_keras_h5.py --outdir models --only seed_vgg16 --quiet)
MODEL=$O/models/seed_vgg16.h5
ORT=1
mkdir -p $O/onnx
cp tests/bench/ort_eval.mjs $O/
if [ -n "${SKIP_ORT:-}" ]; then
  ORT=0
else
  [ -f $O/onnx/seed_vgg16.onnx ] || (cd $O && $PY make_onnx.py models/seed_vgg16.h5 onnx/seed_vgg16.onnx)
  $PY tests/bench/onnx_batch.py $O/onnx/seed_vgg16.onnx $O/onnx/seed_vgg16_n.onnx
  if [ ! -d $O/node_modules/onnxruntime-node ]; then
    (cd $O && npm ci --no-audit --no-fund >/dev/null 2>&1) || { ORT=0; echo "bench_eval: npm ci failed: no ONNX Runtime row"; }
  fi
fi

P=$B/photos$N
if [ ! -f $P.npy ]; then
  rm -rf $P
  # shellcheck disable=SC2046
  $B/make_photos $P "$N" 150 $(ls "$IMAGES"/*.png "$IMAGES"/*.jpg 2>/dev/null)
fi

# tlreport: seconds, CPU seconds and peak RSS of one command
timed() { # NAME ARGS...
  name=$1; shift
  rm -rf "$B/eval-$name"
  /usr/bin/time -f '%e %U %S %M' -o "$R/eval_$name.time" \
    $B/tlreport "$MODEL" "$@" -o "$B/eval-$name" --quiet --threads "$THREADS" >/dev/null
  echo "bench_eval: tlreport $name: $(cat "$R/eval_$name.time") (s, user s, sys s, peak KB)"
}
timed part $P --shard 1/1
timed site $P
if [ $ORT = 1 ]; then
  (cd $O && node ort_eval.mjs onnx/seed_vgg16.onnx onnx/seed_vgg16_n.onnx "../photos$N.npy" \
     --threads "$THREADS" --json ../results/eval_ort.json)
fi

$PY - "$R" "$N" "$THREADS" <<'PYEOF' | tee "$R/eval.md"
import json, os, sys
R, n, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def tl(name):
    e, u, s, m = open(os.path.join(R, f'eval_{name}.time')).read().split()[-4:]
    e, u, s = float(e), float(u), float(s)
    return n / e, (u + s) / e, int(m) / 1024
part, site = tl('part'), tl('site')
ort = {}
p = os.path.join(R, 'eval_ort.json')
if os.path.exists(p):
    ort = {r['batch']: r['images_per_s'] for r in json.load(open(p))['runs']}
best = max(ort.values()) if ort else None
print(f'Evaluation of a labelled folder: {n} JPEG photos, 150x150, course model '
      f'(seed_vgg16), {threads} threads\n')
print('| engine | what | images/s | CPU cores busy | peak RSS | / ORT best |')
print('|---|---|---|---|---|---|')
for what, (ips, cores, rss) in (('evaluation (--shard 1/1): decode, resize, preprocess, '
                                  'forward, reduce', part), ('whole command, report included', site)):
    ratio = f'**{ips / best:.2f}**' if best else '-'
    print(f'| tlreport | {what} | {ips:.1f} | {cores:.2f} | {rss:.0f} MB | {ratio} |')
for b in sorted(ort):
    print(f'| ONNX Runtime | forward only, batch {b}, inputs prepared beforehand | {ort[b]:.1f} | '
          f'- | - | {ort[b] / best:.2f} |')
PYEOF
