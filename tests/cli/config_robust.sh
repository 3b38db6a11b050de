#!/bin/sh
# config_robust.sh - a setting tlreport cannot compute (a custom activation, an unknown
# interpolation or padding) does not stop --summary; --predict names the layer and the
# setting it could not compute.  Expected shapes and counts are worked out by hand.
# Run from the repository root (tests/run.sh does); TLREPORT names the binary.
: "${TLREPORT:=./tlreport}"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-robust-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/config_robust] $*"; }

# Dense(3, custom activation) on (None, 4): 4*3 + 3 = 15 params; Reshape to (1, 1, 3);
# UpSampling2D(2, bicubic): (2, 2, 3); Conv2D with padding 'reflect': shape unknown.
cat >"$tmp/custom.json" <<'EOF'
{"class_name": "Sequential", "keras_version": "2.4.0", "backend": "tensorflow",
 "config": {"name": "s", "layers": [
  {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 4]}},
  {"class_name": "Dense", "config": {"name": "d1", "units": 3, "activation": "my_custom_act"}},
  {"class_name": "Reshape", "config": {"name": "r", "target_shape": [1, 1, 3]}},
  {"class_name": "UpSampling2D", "config": {"name": "up", "size": [2, 2], "interpolation": "bicubic"}},
  {"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": [1, 1], "padding": "reflect"}}]}}
EOF
"$TLREPORT" "$tmp/custom.json" --summary >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] && ok || bad "--summary: exit $rc: $(cat "$tmp/err")"
grep -Eq '^d1 \(Dense\) +\(None, 3\) +15 *$' "$tmp/out" && ok || bad "d1 row: $(cat "$tmp/out")"
grep -Eq '^up \(UpSampling2D\) +\(None, 2, 2, 3\) +0 *$' "$tmp/out" && ok || bad "up row"
grep -Eq '^c \(Conv2D\) +\? ' "$tmp/out" && ok || bad "c row: shape should be unknown"
grep -q '^Total params: 15$' "$tmp/out" && ok || bad "total params"

# relu, then a custom activation, on 5 values: the output cannot be computed
cat >"$tmp/act.json" <<'EOF'
{"class_name": "Sequential", "keras_version": "2.4.0", "backend": "tensorflow",
 "config": {"name": "s", "layers": [
  {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 5]}},
  {"class_name": "Activation", "config": {"name": "a", "activation": "relu"}},
  {"class_name": "Activation", "config": {"name": "b", "activation": "my_custom_act"}}]}}
EOF
"$TLREPORT" "$tmp/act.json" --predict tests/fixtures/npy/f8_5.npy >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && ok || bad "--predict through a custom activation: exit $rc, want 1"
grep -q "^tlreport: note: not computed: b (Activation): activation 'my_custom_act' is not supported$" \
    "$tmp/err" && ok || bad "--predict note: $(cat "$tmp/err")"
tail -n 1 "$tmp/err" | grep -q "^tlreport: $tmp/act.json: .*b (Activation): activation 'my_custom_act'" &&
    ok || bad "--predict error line: $(tail -n 1 "$tmp/err")"
# the layer before it still runs
"$TLREPORT" "$tmp/act.json" --dump a tests/fixtures/npy/f8_5.npy -o "$tmp/dump" --force \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && [ -s "$tmp/dump/a.npy" ] && ok || bad "--dump a: exit $rc: $(cat "$tmp/err")"

# the shape note of the unknown padding names it, not the (known) class
"$TLREPORT" "$tmp/custom.json" --layers --json >"$tmp/out" 2>"$tmp/err"
grep -q '"note":[[:space:]]*"padding '"'"'reflect'"'"' is not supported"' "$tmp/out" && ok ||
    bad "--layers note for c: $(grep note "$tmp/out")"
# the report's "not computed" table gives the reason in words
"$TLREPORT" "$tmp/act.json" tests/fixtures/npy/f8_5.npy -o "$tmp/site" --quiet >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && grep -qF "| b | Activation | operación no soportada: activation 'my\\_custom\\_act' is not supported |" \
    "$tmp/site/report.md" && ok || bad "report: exit $rc, uncomputed row: $(grep '^| b |' "$tmp/site/report.md")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
