#!/bin/sh
# predict.sh - --predict prints every output of a model (values hand-computed from the input);
# --dump keeps inputs with the same name apart.
# Run from the repository root (tests/run.sh does); TLREPORT names the binary.
: "${TLREPORT:=./tlreport}"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-predict-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/predict] $*"; }

# two_outputs.json: x (5 values) -> relu(x) and tanh(x); f8_5.npy holds 1/3, 2/3, 1, 4/3, 5/3.
M=tests/fixtures/models/two_outputs.json
X=tests/fixtures/npy/f8_5.npy
"$TLREPORT" "$M" --predict "$X" >"$tmp/out" 2>"$tmp/err"
rc=$?
# relu keeps the input; tanh(1/3) = 0.3215127, tanh(1) = 0.7615942, tanh(5/3) = 0.9311096
if [ "$rc" -eq 0 ] && awk '{
        split($0, h, " [|] "); n1 = split(h[1], a, " "); n2 = split(h[2], b, " ")
        e = 0
        for (i = 1; i <= 5; i++) { d = a[i + 1] - i / 3; if (d < 0) d = -d; if (d > 1e-5) e = 1 }
        t[1] = 0.3215127; t[3] = 0.7615942; t[5] = 0.9311096
        for (i = 1; i <= 5; i += 2) { d = b[i] - t[i]; if (d < 0) d = -d; if (d > 1e-5) e = 1 }
        exit !(n1 == 6 && n2 == 5 && !e) }' "$tmp/out"; then
    ok
else
    bad "two outputs, text: exit $rc: $(cat "$tmp/out" "$tmp/err")"
fi

"$TLREPORT" "$M" --predict "$X" --json >"$tmp/json" 2>"$tmp/err"
rc=$?
# "output" is the first output, "outputs" holds both
if [ "$rc" -eq 0 ] && tr -d ' \t\n' <"$tmp/json" | grep -q \
    '"output":\[0\.333333[0-9]*,.*\],"outputs":\[\[0\.333333[0-9]*,.*\],\[0\.32151[0-9]*,.*,0\.93110[0-9]*\]\]'; then
    ok
else
    bad "two outputs, --json: exit $rc: $(head -c 600 "$tmp/json")"
fi

# a single-output model has no "outputs" key (the contract of --json stays as it was)
"$TLREPORT" tests/fixtures/models/course_k3.keras --predict tests/fixtures/images/rgb_32x32.png \
    --json >"$tmp/json1" 2>"$tmp/err"
if [ $? -eq 0 ] && grep -q '"output"' "$tmp/json1" && ! grep -q '"outputs"' "$tmp/json1"; then
    ok
else
    bad "single output --json: $(head -c 300 "$tmp/json1" "$tmp/err")"
fi

# --dump with inputs whose names collide (a/x.png, a/x.jpg, b/x.png): one folder each
mkdir -p "$tmp/a" "$tmp/b"
cp tests/fixtures/images/rgb_32x32.png "$tmp/a/x.png"
cp tests/fixtures/images/rgb_32x32.png "$tmp/b/x.png"
cp tests/fixtures/images/j_rgb444.jpg "$tmp/a/x.jpg"
"$TLREPORT" tests/fixtures/models/course_k3.keras "$tmp/a" "$tmp/b" --dump dense -o "$tmp/d" \
    >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && [ "$(sort -u "$tmp/out" | wc -l)" -eq 3 ] && [ "$(ls "$tmp/d" | wc -l)" -eq 3 ]; then
    ok
else
    bad "--dump with colliding names: $(cat "$tmp/out" "$tmp/err")"
fi

# --profile's table reaches stderr (the worker's non-"tlreport:" lines are held until it
# exits, then printed in order), after the prediction on stdout
"$TLREPORT" tests/fixtures/models/course_k3.keras --predict tests/fixtures/images/rgb_32x32.png \
    --profile >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && [ -s "$tmp/out" ] && grep -q '^total ' "$tmp/err" && grep -q '^dense_1 ' "$tmp/err"; then
    ok
else
    bad "--profile table missing from stderr: $(head -c 300 "$tmp/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
