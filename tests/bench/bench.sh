#!/bin/sh
# tests/bench/bench.sh - `make bench`: tlreport's forward pass side by side with ONNX Runtime
# and PyTorch on this machine, in the same run, plus peak memory, weight loading and the
# whole report.  Prints a Markdown table and keeps it in build-bench/results/bench.md.
#
# Steps: builds tlreport into build-bench/ (the normal flags: portable -O2, kernels picked at
# run time; BENCH_CFLAGS overrides), copies the oracle (../shared/oracle) to
# build-bench/oracle, makes the benchmark models there with its generator
# (make_keras_h5.py, make_onnx.py), installs onnxruntime-node with `npm ci` when missing, then
# for each case runs tlreport (tests/bench/bench_forward.c), ONNX Runtime (bench_ort.mjs) and
# PyTorch (bench_torch.py, VGG cases only) one after the other.  The Teachable Machine case
# (tm_mnv2) is written by tests/bench/make_tm_model.py with the oracle's writer.
#
# Environment: RUNS (timed runs per engine, default 11), THREADS (default 2), CASES,
# ORACLE (oracle directory), IMAGES (three sample images for the whole-report row, default
# ../shared/images), SKIP_TORCH=1, SKIP_ORT=1, SKIP_EVAL=1 (no evaluation row: bench_eval.sh).
# Nothing here asserts a timing.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=build-bench
R=$B/results
PY=/usr/bin/python3
RUNS=${RUNS:-11}
THREADS=${THREADS:-2}
CASES=${CASES:-"seed_vgg16 vgg16_notop_150 vgg16_notop_224 seed_mnv2 tm_mnv2"}
ORACLE_SRC=${ORACLE:-../shared/oracle}
if [ ! -f "$ORACLE_SRC/make_keras_h5.py" ]; then
  echo "bench: the oracle is not at $ORACLE_SRC (set ORACLE=DIR)" >&2
  exit 1
fi
mkdir -p "$R"
rm -f "$R"/*.json "$R"/*.txt "$R"/bench.md
note() { echo "bench: $*" | tee -a "$R/notes.txt"; }

# ---- build -------------------------------------------------------------------------------
if [ -n "${BENCH_CFLAGS:-}" ]; then
  make --no-print-directory BUILD=$B CFLAGS="$BENCH_CFLAGS" $B/tlreport $B/libtlr.a
else
  make --no-print-directory BUILD=$B $B/tlreport $B/libtlr.a
fi
PKGS=$(sed -n 's/^PKGS *= *//p' Makefile)
LIBS=$(make --no-print-directory -s print-libs)   # the binary's own link line (static libhdf5)
# shellcheck disable=SC2086
cc -std=c11 -O2 -D_DEFAULT_SOURCE -Isrc $(pkg-config --cflags $PKGS) \
   -o $B/bench_forward tests/bench/bench_forward.c $B/libtlr.a \
   $LIBS
# shellcheck disable=SC2086
cc -std=c11 -O2 -D_DEFAULT_SOURCE -Isrc $(pkg-config --cflags $PKGS) \
   -o $B/bench_grad tests/bench/bench_grad.c $B/libtlr.a \
   $LIBS

# ---- oracle copy, models, ONNX graphs, onnxruntime-node ----------------------------------
O=$B/oracle
mkdir -p $O
(cd "$ORACLE_SRC" && tar cf - --exclude=./node_modules --exclude=./out --exclude=./models \
    --exclude=./onnx --exclude=./results .) | (cd $O && tar xf -)
chmod -R u+w $O
cp tests/bench/ort_load3.mjs $O/
[ -f $O/models/seed_mnv2.h5 ] || (cd $O && $PY make_keras_h5.py --outdir models --quiet)
# the Teachable-Machine-shaped MobileNetV2 (alpha 0.35, 224x224), with the oracle's writer
[ -f $O/models/tm_mnv2.h5 ] || $PY tests/bench/make_tm_model.py $O $O/models
mkdir -p $O/onnx
if ! (cd /tmp && $PY -c 'import onnx') 2>/dev/null; then
  note "python3-onnx is not installed (apt-get install python3-onnx): no ONNX graphs"
fi
: > "$R/gflop.txt"
for c in $CASES; do
  (cd $O && $PY make_onnx.py models/$c.h5 onnx/$c.onnx) | tee -a "$R/gflop.txt"
done
# the whole-report row compares against ONNX Runtime on the course model's graph
[ -f $O/onnx/seed_vgg16.onnx ] || (cd $O && $PY make_onnx.py models/seed_vgg16.h5 onnx/seed_vgg16.onnx >/dev/null)
ORT=1
if [ -n "${SKIP_ORT:-}" ]; then
  ORT=0; note "ONNX Runtime skipped (SKIP_ORT)"
elif [ ! -d $O/node_modules/onnxruntime-node ]; then
  (cd $O && npm ci --no-audit --no-fund >/dev/null 2>&1) || { ORT=0; note "npm ci failed: ONNX Runtime columns empty"; }
fi
TORCH=1
if [ -n "${SKIP_TORCH:-}" ]; then
  TORCH=0; note "PyTorch skipped (SKIP_TORCH)"
elif ! $PY -c 'import torch' 2>/dev/null; then
  TORCH=0; note "python3-torch is not installed: PyTorch columns empty"
fi

# ---- forward pass, case by case, engines back to back ------------------------------------
for c in $CASES; do
  echo "bench: $c"
  n=$RUNS
  [ $c = seed_mnv2 ] && n=$((RUNS * 20))   # sub-millisecond: more runs for a steady minimum
  [ $c = tm_mnv2 ] && n=$((RUNS * 5))      # a few milliseconds
  $B/bench_forward $O/models/$c.h5 $O/models/inputs/$c.npy --runs "$n" --threads "$THREADS" \
    --json > "$R/tlr_$c.json"
  cat "$R/tlr_$c.json"
  if [ $ORT = 1 ]; then
    (cd $O && node bench_ort.mjs --threads "$THREADS" --runs "$n" --json "../results/ort_$c.json" $c) | tail -1
  fi
  case $c in
    seed_mnv2|tm_mnv2) ;;   # bench_torch.py builds VGG16 graphs only
    *) if [ $TORCH = 1 ]; then
         (cd $O && $PY bench_torch.py --threads "$THREADS" --runs "$RUNS" --cases $c \
            --json "../results/torch_$c.json" 2>&1 | grep -v Warning) | sed 's/^/  /'
       fi ;;
  esac
done

# ---- gradients: one Grad-CAM and one gradient-ascent step, against PyTorch autograd ------
echo "bench: gradients (course model)"
$B/bench_grad $O/models/seed_vgg16.h5 $O/models/inputs/seed_vgg16.npy --runs "$RUNS" \
  --threads "$THREADS" > "$R/tlr_grad.json"
cat "$R/tlr_grad.json"
if [ $TORCH = 1 ]; then
  cp tests/bench/bench_grad_torch.py $O/
  (cd $O && $PY bench_grad_torch.py --threads "$THREADS" --runs "$RUNS" \
     --json ../results/torch_grad.json 2>&1 | grep -v Warning) | sed 's/^/  /'
fi

# ---- fixed cost of one run on a small model, against h5py on the same file ---------------
for c in tm_mnv2 seed_mnv2; do
  [ -f $O/models/$c.h5 ] && $PY tests/bench/fixed_cost.py $B/tlreport $O/models/$c.h5 21 "$R/fixed_$c.json"
done

# ---- memory, loading, the whole report ---------------------------------------------------
COURSE=$O/models/seed_vgg16.h5
if [ -x /usr/bin/time ]; then
  for i in 1 2 3; do
    /usr/bin/time -f %M -o "$R/rss_$i.txt" $B/tlreport $COURSE $O/models/inputs/seed_vgg16.npy \
      --predict -q >/dev/null
  done
else
  note "/usr/bin/time is missing (Debian package 'time'): no peak RSS row"
fi
for i in 1 2 3 4 5; do
  $B/bench_forward $COURSE $O/models/inputs/seed_vgg16.npy --runs 1 --warmup 0 --json > "$R/load_$i.json"
done
IMGS=$B/imgs
mkdir -p $IMGS
for f in astronaut.png camera.png chelsea.png; do
  if [ -f "${IMAGES:-../shared/images}/$f" ]; then cp "${IMAGES:-../shared/images}/$f" $IMGS/; fi
done
: > "$R/report_us.txt"
: > "$R/report_nopatterns_us.txt"
if [ "$(ls $IMGS | wc -l)" -ge 1 ]; then
  for i in 1 2 3 4 5; do
    rm -rf $B/site
    t0=$(date +%s%N)
    if $B/tlreport $COURSE $IMGS -o $B/site --template-dir templates --quiet >/dev/null 2>"$R/report_err.txt"; then
      t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )) >> "$R/report_us.txt"
    else
      note "the report command failed: $(head -c 300 "$R/report_err.txt")"; break
    fi
    # the same without the filter patterns, to show what they cost
    rm -rf $B/site
    t0=$(date +%s%N)
    if $B/tlreport $COURSE $IMGS -o $B/site --template-dir templates --quiet --patterns 0 \
        >/dev/null 2>&1; then
      t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )) >> "$R/report_nopatterns_us.txt"
    fi
  done
else
  note "no sample images found (../shared/images): whole-report row skipped"
fi
if [ $ORT = 1 ]; then
  (cd $O && node ort_load3.mjs onnx/seed_vgg16.onnx models/inputs/seed_vgg16.npy \
     --threads "$THREADS" --json ../results/ort_load3.json)
fi

$PY tests/bench/summarize.py "$R" | tee "$R/bench.md"

# ---- evaluation of a labelled folder: images/s end to end against ONNX Runtime ------------
if [ -z "${SKIP_EVAL:-}" ]; then
  echo
  THREADS=$THREADS sh tests/bench/bench_eval.sh
  { echo; cat "$R/eval.md"; } >> "$R/bench.md"
fi
