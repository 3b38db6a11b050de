#!/bin/sh
# grad_seed.sh - gradients against the autograd oracle's references (tests/ref/grad):
#   * --dump gradcam:LAYER and --dump grad:LAYER:FILTER on committed fixtures, end to end,
#     and their errors;
#   * the five seed models of ../shared/oracle/make_keras_h5.py, regenerated into
#     $SEED_DIR (default build/seed, kept between runs), through test_grad_oracle and the
#     command line.  Skipped, visibly, without ../shared/oracle or python3-numpy/h5py.
# Run from the repository root (tests/run.sh does); TLREPORT names the binary, BUILD the
# build directory holding unit_tests.
: "${TLREPORT:=./tlreport}" "${BUILD:=build}" "${SEED_DIR:=build/seed}"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-gradseed-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/grad_seed] $*"; }
PY=/usr/bin/python3
REF=tests/ref/grad

# near GOT WANT: max |got - want| / max |want| <= 1e-4 (same shape)
near() {
    "$PY" -c 'import sys, numpy as np
a = np.load(sys.argv[1]).astype(np.float64); b = np.load(sys.argv[2]).astype(np.float64)
ok = a.shape == b.shape and np.abs(a - b).max() <= 1e-4 * np.abs(b).max()
sys.exit(0 if ok else 1)' "$1" "$2"
}

# case MODEL_FILE INPUT REFDIR: the dumps of REFDIR's cases (manifest) against the oracle
dump_cases() {
    model=$1 input=$2 name=$3
    "$PY" - "$name" <<'EOF' >"$tmp/cases" || return 1
import json, sys
m = json.load(open('tests/ref/grad/manifest.json'))
for e in m['models']:
    if e['name'] == sys.argv[1]:
        for c in e['cases']:
            if c['kind'] == 'gradcam':
                print(c['dir'], 'gradcam:%s' % c['layer'], 'gradcam/%s.npy' % c['layer'], 'gradcam.npy')
            elif c['kind'] == 'input':
                print(c['dir'], 'grad:%s:%d' % (c['layer'], c['filter']),
                      'grad/%s/%d.npy' % (c['layer'], c['filter']), 'input_grad.npy')
EOF
    while read -r dir spec file ref; do
        rm -rf "$tmp/d"
        if "$TLREPORT" "$model" "$input" --dump "$spec" -o "$tmp/d" -q 2>"$tmp/err" &&
            near "$tmp/d/$file" "$REF/$name/$dir/$ref"; then
            ok
        else
            bad "$name --dump $spec: $(head -c 300 "$tmp/err")"
        fi
    done <"$tmp/cases"
}

if ! "$PY" -c 'import numpy, h5py' 2>/dev/null; then
    echo "SKIP [cli/grad_seed] python3-numpy / python3-h5py not installed"
    [ -n "${CI:-}" ] && { echo "0 passed, 1 failed"; exit 1; }
    echo "0 passed, 0 failed"
    exit 0
fi

# ---- committed fixtures: the command line, always --------------------------------------------
N=tests/fixtures/numeric
dump_cases "$N/mini_vgg.h5" "$N/mini_vgg_input.npy" mini_vgg
dump_cases "$N/merges_misc.h5" "$N/merges_misc_input.npy" merges_misc

# two images: one folder each; --class picks the class Grad-CAM explains
"$TLREPORT" "$N/branches.h5" "$N/branches_input.npy" "$N/branches_input.npy" -q \
    --dump gradcam:conv2d_3 --class 2 -o "$tmp/two" 2>"$tmp/err" &&
    [ -f "$tmp/two/branches_input/gradcam/conv2d_3.npy" ] &&
    [ -f "$tmp/two/branches_input-2/gradcam/conv2d_3.npy" ] && ok ||
    bad "two images, --class: $(cat "$tmp/err")"

# errors: name the problem, exit 2 for usage and 1 for what the model cannot do
expect() { # expect RC PATTERN ARGS...
    want=$1 pat=$2
    shift 2
    "$TLREPORT" "$@" -o "$tmp/e" -q >/dev/null 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -q "$pat" "$tmp/err"; then ok; else
        bad "$*: exit $rc (want $want), $(head -c 300 "$tmp/err")"; fi
}
X="$N/mini_vgg_input.npy"
expect 2 "grad:LAYER:FILTER" "$N/mini_vgg.h5" "$X" --dump grad:vgg_mini/block1_conv1
expect 2 "grad:LAYER:FILTER" "$N/mini_vgg.h5" "$X" --dump grad:vgg_mini/block1_conv1:x
expect 2 "no layer given" "$N/mini_vgg.h5" "$X" --dump gradcam:
expect 2 "no layer 'nope'" "$N/mini_vgg.h5" "$X" --dump gradcam:nope
expect 2 "out of range" "$N/mini_vgg.h5" "$X" --dump grad:vgg_mini/block1_conv1:8
expect 2 "class 3 is out of range" "$N/mini_vgg.h5" "$X" --dump gradcam:conv2d --class 3
expect 2 "4-D" "$N/mini_vgg.h5" "$X" --dump gradcam:dense
expect 2 "too small" "$N/mini_vgg.h5" "$X" --dump grad:conv2d:0
expect 2 "expected a class number" "$N/mini_vgg.h5" "$X" --dump gradcam:conv2d --class -1
expect 1 "memory budget" "$N/mini_vgg.h5" "$X" --dump gradcam:conv2d --max-memory 20K

# ---- the seed models ---------------------------------------------------------------------------
GEN=../shared/oracle/make_keras_h5.py
SEEDS="seed_vgg16 seed_branches seed_mnv2 seed_seqflat seed_nested_functional"
if [ ! -f "$GEN" ] && [ -n "${CI:-}" ]; then
    bad "seed models: $GEN not found (CI is set: this must not be skipped)"
elif [ ! -f "$GEN" ]; then
    echo "SKIP [cli/grad_seed] seed models: $GEN not found"
else
    missing=""
    for m in $SEEDS; do [ -f "$SEED_DIR/$m.h5" ] || missing="$missing $m"; done
    if [ -n "$missing" ]; then
        mkdir -p "$SEED_DIR" && "$PY" "$GEN" --outdir "$SEED_DIR" --quiet --only $missing \
            >/dev/null 2>"$tmp/err" || bad "make_keras_h5.py: $(tail -c 300 "$tmp/err")"
    fi
    TLR_GRAD_SEEDS=$SEED_DIR "$BUILD/unit_tests" test_grad_oracle >"$tmp/unit" 2>&1
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/unit" | tail -n 1)
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
    if [ -n "$line" ] && [ "$f" -eq 0 ] && ! grep -q SKIP "$tmp/unit"; then
        pass=$((pass + p))
    else
        bad "test_grad_oracle on the seed models: $(grep -E 'FAIL|SKIP' "$tmp/unit" | head -5)"
    fi
    for m in $SEEDS; do
        dump_cases "$SEED_DIR/$m.h5" "$SEED_DIR/inputs/$m.npy" "$m"
    done
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
