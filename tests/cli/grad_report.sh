#!/bin/sh
# grad_report.sh - the report's gradient sections: "Where does the network look?" (Grad-CAM
# over each sample image) and the filter patterns beside Question 4, their options
# (--gradcam, --class, --patterns) and the progress line on a terminal.
# Run from the repository root (tests/run.sh does); TLREPORT names the binary.
: "${TLREPORT:=./tlreport}"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-gradreport-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/grad_report] $*"; }
N=tests/fixtures/numeric
IMG=tests/fixtures/images/rgb_32x32.png
# key FILE EXPR: a Python expression over the report data d is true
key() {
    /usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# mini_vgg: a VGG in miniature nested in a Sequential, one sigmoid unit
"$TLREPORT" "$N/mini_vgg.h5" "$IMG" -o "$tmp/a" -q --lang en 2>"$tmp/err" || bad "mini_vgg: $(cat "$tmp/err")"
J=$tmp/a/report.json
# conv2d's map is 4x4 at the model's 24x24 input (the course model's is 2x2: block5_conv3 then)
key "$J" "d['gradcam']['present'] and d['gradcam']['layer'] == 'conv2d' and d['gradcam']['code_direct']" &&
    ok || bad "default Grad-CAM layer: the last convolution with a map of at least 3x3"
key "$J" "d['gradcam']['sigmoid'] and d['gradcam']['strip_act'] and d['gradcam']['output_layer'] == 'dense_1'" &&
    ok || bad "sigmoid output, its activation left out"
[ -f "$tmp/a/img/gradcam-1.png" ] && ok || bad "no img/gradcam-1.png"
key "$J" "d['patterns']['present'] and d['patterns']['count'] == 16 and d['patterns']['layer'] == 'vgg_mini/block2_conv2'" &&
    ok || bad "patterns: the 16 filters of the kernels layer"
key "$J" "d['patterns']['canvas_h'] == 24 and d['patterns']['model_size']" && ok ||
    bad "patterns: a 24x24 model is drawn at its own size"
grep -q "## Where does the network look?" "$tmp/a/report.md" && ok || bad "English heading missing"
grep -q "tf.GradientTape" "$tmp/a/report.md" && grep -q "model.get_layer('conv2d').output" "$tmp/a/report.md" &&
    ok || bad "the code does not name the model's own layers"
# a layer inside the nested model: the code runs it, then the Sequential's later layers
"$TLREPORT" "$N/mini_vgg.h5" "$IMG" -o "$tmp/n" -q --lang en --gradcam vgg_mini/block2_conv2 --patterns 0 2>/dev/null
key "$tmp/n/report.json" "d['gradcam']['code_chain'] and d['gradcam']['chain_start'] == 1" &&
    grep -q "base.get_layer('block2_conv2').output, base.output" "$tmp/n/report.md" &&
    grep -q "for layer in model.layers\[1:\]" "$tmp/n/report.md" && ok || bad "nested layer: chain code"
"$TLREPORT" "$N/mini_vgg.h5" "$IMG" -o "$tmp/es" -q --lang es 2>/dev/null
grep -q "## ¿Dónde mira la red?" "$tmp/es/report.md" && grep -q "### A qué responden los filtros" "$tmp/es/report.md" &&
    ok || bad "Spanish headings missing"

# the same run twice: the same bytes (seeded noise, no clock)
"$TLREPORT" "$N/mini_vgg.h5" "$IMG" -o "$tmp/b" -q --lang en 2>/dev/null
cmp -s "$tmp/a/img/patterns.png" "$tmp/b/img/patterns.png" && cmp -s "$J" "$tmp/b/report.json" &&
    ok || bad "two runs differ"

# --patterns 0 leaves them out; --gradcam, --class choose
printf 'ant\nbee\ncat\ndog\n' >"$tmp/labels.txt"
"$TLREPORT" "$N/branches.h5" "$IMG" -o "$tmp/c" -q --patterns 0 --gradcam conv2d_4 --class 2 \
    --labels "$tmp/labels.txt" 2>"$tmp/err"
J=$tmp/c/report.json
key "$J" "not d['patterns']['present'] and not d['patterns']['asked']" && ! [ -f "$tmp/c/img/patterns.png" ] &&
    ok || bad "--patterns 0: $(cat "$tmp/err")"
key "$J" "d['gradcam']['layer'] == 'conv2d_4' and d['gradcam']['images'][0]['class_index'] == 2 and d['gradcam']['images'][0]['label'] == 'cat'" &&
    ok || bad "--gradcam conv2d_4 --class 2"
"$TLREPORT" "$N/branches.h5" "$IMG" -o "$tmp/d" -q --gradcam nope >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "no layer 'nope'" "$tmp/err" && ok || bad "--gradcam nope: $(cat "$tmp/err")"
"$TLREPORT" "$N/branches.h5" "$IMG" -o "$tmp/d" -q --patterns 2000 >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && ok || bad "--patterns 2000 accepted"
"$TLREPORT" "$N/mini_vgg.h5" "$IMG" -o "$tmp/d" -q --class 2 >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "classes 0 and 1" "$tmp/err" && ok || bad "--class 2 of a sigmoid: $(cat "$tmp/err")"

# a layer without a map: the section says why instead of failing the report
"$TLREPORT" "$N/mini_vgg.h5" "$IMG" -o "$tmp/e" -q --gradcam dense 2>"$tmp/err" &&
    key "$tmp/e/report.json" "not d['gradcam']['present'] and 'map' in d['gradcam']['reason']" &&
    ok || bad "--gradcam dense: $(cat "$tmp/err")"

# progress on a terminal while the patterns are computed; --quiet silences it
if script -qec "true" /dev/null >/dev/null 2>&1; then
    script -qec "'$TLREPORT' '$N/mini_vgg.h5' '$IMG' -o '$tmp/f'" /dev/null >"$tmp/tty" 2>&1
    grep -q "filter patterns of vgg_mini/block2_conv2: step 30 of 30" "$tmp/tty" &&
        grep -q "Grad-CAM of conv2d" "$tmp/tty" && ok ||
        bad "no progress on a terminal: $(head -c 400 "$tmp/tty")"
    script -qec "'$TLREPORT' '$N/mini_vgg.h5' '$IMG' -o '$tmp/g' --quiet" /dev/null >"$tmp/tty" 2>&1
    ! grep -q "filter patterns" "$tmp/tty" && ok || bad "--quiet still prints progress"
else
    echo "SKIP [cli/grad_report] no 'script' to run tlreport on a terminal"
fi
"$TLREPORT" "$N/mini_vgg.h5" "$IMG" -o "$tmp/h" 2>"$tmp/err" >/dev/null
! grep -q "filter patterns" "$tmp/err" && ok || bad "progress printed to a file, not a terminal"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
