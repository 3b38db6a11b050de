#!/bin/sh
# hostile.sh - the command line against crafted hostile inputs: image bombs, truncated images,
# zip bombs and path tricks, layer names that look like paths or markup, self-including
# templates, weights that do not fit, damaged HDF5.  For each run:
#   * no crash: the exit status is the expected one (never a signal);
#   * a refused input: exit status 1, empty stdout, exactly one stderr line "tlreport: ..."
#     containing the expected words;
#   * nothing is written outside the -o directory (the whole scratch tree is compared before
#     and after, and the paths the inputs aim at are checked).
# The crafted files come from tests/gen/make_hostile.py (tests/fixtures/hostile/) and the
# broken fixtures; the rest is written here.  TLREPORT names the binary (default ./tlreport).
# Run from the repository root (tests/run.sh does).
: "${TLREPORT:=./tlreport}"
case $TLREPORT in /*) ;; *) TLREPORT="$(pwd)/$TLREPORT" ;; esac
ROOT=$(pwd)
FX=$ROOT/tests/fixtures
H=$FX/hostile
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-hostile-XXXXXX") || exit 2
trap 'rm -rf "$tmp" /tmp/tlr_hostile_abs' EXIT
# Runs happen three levels down, so "../../x" and "../../../x" still land inside $tmp.
work=$tmp/a/b/c
cap=$tmp/cap
mkdir -p "$work" "$cap"
TIMEOUT=""
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout 120"

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/hostile] $*"; }

# Everything under $tmp except the output directory and the captured streams.
snapshot() {
    (cd "$tmp" && find . -path ./a/b/c/out -prune -o -path ./cap -prune -o -print | sort)
}

# run NAME ARGS...: runs tlreport in $work with -o out; sets $rc, fills $cap/out, $cap/err.
run() {
    name=$1
    shift
    rm -rf "$work/out"
    snapshot >"$cap/before"
    (cd "$work" && $TIMEOUT "$TLREPORT" "$@" -o out --quiet >"$cap/out" 2>"$cap/err")
    rc=$?
    snapshot >"$cap/after"
    if ! cmp -s "$cap/before" "$cap/after"; then
        bad "$name: files appeared outside the output directory: $(diff "$cap/before" "$cap/after" | grep '^>' | head -5 | tr '\n' ' ')"
        return 1
    fi
    for p in /tmp/tlr_hostile_abs "$tmp/tlr_hostile_escape" "$tmp/a/etc/x" "$tmp/a/etc/x.npy"; do
        if [ -e "$p" ]; then
            bad "$name: $p was written"
            return 1
        fi
    done
    if [ "$rc" -ge 124 ]; then
        bad "$name: crashed or hung (exit status $rc): $(head -c 300 "$cap/err")"
        return 1
    fi
    return 0
}

# expect_fail NAME WORDS ARGS...: exit 1, no stdout, one stderr line "tlreport: ...WORDS..."
expect_fail() {
    name=$1 words=$2
    shift 2
    run "$name" "$@" || return
    if [ "$rc" -ne 1 ]; then
        bad "$name: exit status $rc, want 1: $(head -c 300 "$cap/err")"
    elif [ -s "$cap/out" ]; then
        bad "$name: wrote to stdout: $(head -c 200 "$cap/out")"
    elif [ "$(wc -l <"$cap/err" | tr -d ' ')" != 1 ]; then
        bad "$name: $(wc -l <"$cap/err" | tr -d ' ') stderr lines, want 1: $(head -c 400 "$cap/err")"
    elif ! head -n 1 "$cap/err" | grep -q '^tlreport: '; then
        bad "$name: stderr does not start with 'tlreport: ': $(cat "$cap/err")"
    elif ! grep -qF -- "$words" "$cap/err"; then
        bad "$name: stderr lacks '$words': $(cat "$cap/err")"
    else
        ok
    fi
}

# expect_ok NAME ARGS...: exit 0 and nothing on stderr (runs use --quiet).
expect_ok() {
    name=$1
    shift
    run "$name" "$@" || return
    if [ "$rc" -ne 0 ]; then
        bad "$name: exit status $rc, want 0: $(head -c 300 "$cap/err")"
    elif [ -s "$cap/err" ]; then
        bad "$name: wrote to stderr: $(head -c 300 "$cap/err")"
    else
        ok
    fi
}

# check COND MESSAGE: one more assertion on the last run's output.
check() {
    if eval "$1"; then ok; else bad "$2"; fi
}

SEQ=$FX/numeric/seqflat.h5
X=$FX/numeric/seqflat_input.npy

# ---- images: bombs and truncation (refused from the header, before any pixel buffer) ----
expect_fail png-100000x100000 "100000x100000 exceeds the limit" "$SEQ" "$FX/images/bad/bomb_100000.png"
expect_fail png-400-megapixels "exceeds the limit of 100000000 pixels" "$SEQ" "$FX/images/bad/bomb_20000.png"
expect_fail jpeg-3600-megapixels "60000x60000 exceeds the limit" "$SEQ" "$FX/images/bad/bomb.jpg"
expect_fail jpeg-truncated-scan "Premature end of JPEG file" "$SEQ" "$FX/images/bad/trunc_scan.jpg"
expect_fail jpeg-truncated-header "invalid JPEG" "$SEQ" "$FX/images/bad/trunc_header.jpg"
expect_fail png-truncated "file is truncated" "$SEQ" "$FX/images/bad/trunc_idat.png"
expect_fail png-bad-crc "invalid PNG" "$SEQ" "$FX/images/bad/crc.png"
# a bomb among good images is skipped with a warning, the rest still works
run bomb-among-good "$SEQ" "$FX/images/bad/bomb_100000.png" "$FX/images/rgb8.png" &&
    check '[ "$rc" -eq 0 ] && [ -f "$work/out/index.html" ]' "bomb-among-good: exit $rc, no report"

# ---- .keras archives ----
expect_fail zip-bomb-header "more than its compression allows" "$H/zip_bomb_header.keras" --summary
head -c 20000 "$FX/models/k3_seq.keras" >"$tmp/truncated.keras"
expect_fail zip-truncated "not a readable zip archive" "$tmp/truncated.keras" --summary
# members named ../../../x, /tmp/x and a symlink: tlreport reads members, never extracts them
expect_ok zip-path-tricks "$H/zip_paths.keras"
check '[ -f "$work/out/index.html" ]' "zip-path-tricks: no report written"
expect_ok zip-path-tricks-storage "$H/zip_paths.keras" --storage

# ---- layer names that look like paths or markup ----
expect_ok dump-dotdot-layer "$H/evil_names.h5" "$X" --dump ../../etc/x
check '[ -f "$work/out/_../_../etc/x.npy" ]' "dump-dotdot-layer: the dump is not inside the output directory"
expect_ok dump-all-evil-names "$H/evil_names.h5" "$X" --dump all
check '[ "$(find "$work/out" -name "*.npy" | wc -l)" -eq 8 ]' "dump-all-evil-names: want 8 dumps"
expect_ok report-evil-names "$H/evil_names.h5" "$X" --features ../../etc/x
check '! grep -q "<img src=x" "$work/out/index.html"' "report-evil-names: layer name not escaped in HTML"
check '[ -z "$(find "$work/out" -name "*..*" -o -name "*/*" | head -1)" ]' "report-evil-names: a file name kept '..'"
expect_ok report-evil-names-en "$H/evil_names.h5" "$X" --lang en

# ---- templates ----
mkdir -p "$tmp/tpl/es" "$tmp/tpl2/es"
printf 'A report {{> report}}\n' >"$tmp/tpl/es/report.md"
expect_fail template-includes-itself "include itself" "$SEQ" --template-dir "$tmp/tpl"
printf '{{#layers}}{{> p2_layers}}{{/layers}}\n' >"$tmp/tpl2/es/p2_layers.md"
expect_fail template-partial-loop "include itself" "$SEQ" --template-dir "$tmp/tpl2"
# 22 sections nested over the layer list: 7^22 passes unless rendering is bounded
mkdir -p "$tmp/tpl3/es"
i=0 open="" close=""
while [ $i -lt 22 ]; do open="$open{{#layers.rows}}" close="$close{{/layers.rows}}" i=$((i + 1)); done
printf '%sx%s\n' "$open" "$close" >"$tmp/tpl3/es/report.md"
expect_fail template-exponential "rendering stopped" "$SEQ" --template-dir "$tmp/tpl3"

# ---- weights that do not fit, or are strange ----
expect_fail weights-wrong-shape "expected" "$FX/bad/wrong_shape.h5" --summary
expect_fail weights-claim-9-gb "over the 4096 MiB limit" "$H/huge_weights.h5"
expect_ok weights-claim-9-gb-summary "$H/huge_weights.h5" --summary
expect_fail weights-int32 "stored as int32, not floats" "$H/int_weights.h5" --summary
expect_ok weights-nan-inf "$H/nan_weights.h5" "$X"
check '[ -f "$work/out/index.html" ] && [ -n "$(find "$work/out/img" -name "kernels*.png")" ]' \
    "weights-nan-inf: no kernel grid written"
expect_ok weights-nan-inf-predict "$H/nan_weights.h5" "$X" --predict
expect_ok weights-f16-f64 "$H/f16_f64_weights.h5" "$X" --predict

# ---- damaged or odd model files ----
expect_fail hdf5-global-heap-hang "damaged global heap collection" \
    "$ROOT/tests/crashers/pipeline/hdf5_global_heap_hang.h5" --summary
expect_fail hdf5-truncated "HDF5" "$FX/bad/truncated.h5" --summary
# a string attribute whose stored length says 19 GB: refused by the capped probe, before the
# loader asks libhdf5 to allocate (and zero) it all
expect_fail hdf5-vlen-19gb "damaged or crafted file" \
    "$ROOT/tests/crashers/pipeline/vlen_string_19gb_alloc.keras" --summary
# libhdf5 overflows a heap buffer on this one and the worker aborts later: one line, the
# parent's, and no "double free or corruption" from the C library (tests/fuzz/README.md H9)
expect_fail hdf5-vlen-overflow "damaged or crafted" \
    "$ROOT/tests/crashers/cli/vlen_shorter_than_heap_object.h5" --summary
if mkfifo "$tmp/fifo.h5" 2>/dev/null; then
    expect_fail model-is-fifo "not a regular file" "$tmp/fifo.h5" --summary
    rm -f "$tmp/fifo.h5"
fi

# ---- architecture JSON asking for the impossible ----
layer() { # class name config-json inbound-json
    printf '{"class_name": "%s", "name": "%s", "config": %s, "inbound_nodes": %s}' "$1" "$2" "$3" "$4"
}
model() { # layers... (last one is the output)
    out=$(printf '%s' "$*" | sed 's/.*"name": "\([^"]*\)", "config".*/\1/')
    printf '{"class_name": "Functional", "config": {"name": "m", "layers": [%s], ' "$(printf '%s' "$*")"
    printf '"input_layers": [["in", 0, 0]], "output_layers": [["%s", 0, 0]]}}\n' "$out"
}
IN=$(layer InputLayer in '{"name": "in", "batch_input_shape": [null, 8, 8, 3]}' '[]')
model "$IN", "$(layer Dense d '{"name": "d", "units": 4}' '[[["d", 0, 0, {}]]]')" >"$tmp/cycle.json"
expect_fail config-cycle "cycle" "$tmp/cycle.json" --summary
model "$IN", "$(layer Dense d '{"name": "d", "units": 4}' '[[["ghost", 0, 0, {}]]]')" >"$tmp/missing.json"
expect_fail config-missing-inbound "'ghost', which is not in the model" "$tmp/missing.json" --summary
# a name from the file holding a line break and a terminal escape: still one line
model "$IN", "$(layer Dense d '{"name": "d", "units": 4}' '[[["gh\nost\u001b[2J", 0, 0, {}]]]')" >"$tmp/newline.json"
expect_fail config-name-with-line-break "'gh?ost?[2J', which is not in the model" "$tmp/newline.json" --summary
IN2=$(layer InputLayer in2 '{"name": "in2", "batch_input_shape": [null, 4, 4, 3]}' '[]')
printf '{"class_name": "Functional", "config": {"name": "m", "layers": [%s, %s, %s], "input_layers": [["in", 0, 0], ["in2", 0, 0]], "output_layers": [["cat", 0, 0]]}}\n' \
    "$IN" "$IN2" "$(layer Concatenate cat '{"name": "cat", "axis": -1}' '[[["in", 0, 0, {}], ["in2", 0, 0, {}]]]')" \
    >"$tmp/concat.json"
expect_fail config-concat-mismatch "cannot concatenate" "$tmp/concat.json" --summary
model "$IN", "$(layer Conv2D c '{"name": "c", "filters": 2, "kernel_size": [9, 9]}' '[[["in", 0, 0, {}]]]')" >"$tmp/kernel.json"
expect_fail config-kernel-larger-than-input "larger than its input" "$tmp/kernel.json" --summary
# 2^37.6 elements per image: a legal shape to describe, far too large to feed
BIG=$(layer InputLayer in '{"name": "in", "batch_input_shape": [null, 262144, 262144, 3]}' '[]')
model "$BIG", "$(layer Conv2D c '{"name": "c", "filters": 2, "kernel_size": [3, 3]}' '[[["in", 0, 0, {}]]]')" >"$tmp/big.json"
expect_ok config-2^37-elements-summary "$tmp/big.json" --summary
expect_fail config-2^37-elements-image "too large" "$tmp/big.json" "$FX/images/rgb8.png"
# 2^40 elements: refused while shapes are inferred, before anything exists
HUGE=$(layer InputLayer in '{"name": "in", "batch_input_shape": [null, 1048576, 1048576]}' '[]')
model "$HUGE", "$(layer Flatten f '{"name": "f"}' '[[["in", 0, 0, {}]]]')" >"$tmp/huge.json"
expect_fail config-2^40-elements "(None, 1048576, 1048576) is too large" "$tmp/huge.json" --summary
model "$IN", "$(layer Dense d '{"name": "d", "units": 67108864}' '[[["in", 0, 0, {}]]]')" >"$tmp/dense.json"
sed 's/\[null, 8, 8, 3\]/[null, 65536]/' "$tmp/dense.json" >"$tmp/dense2.json"
expect_fail config-2^42-weights "weight 'kernel' (65536, 67108864) is too large" "$tmp/dense2.json" --summary
NEG=$(layer InputLayer in '{"name": "in", "batch_input_shape": [null, 8, 0, 3]}' '[]')
model "$NEG", "$(layer Flatten f '{"name": "f"}' '[[["in", 0, 0, {}]]]')" >"$tmp/zero.json"
expect_fail config-zero-dim "dimension below 1" "$tmp/zero.json" --summary

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
