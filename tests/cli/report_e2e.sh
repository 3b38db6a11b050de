#!/bin/sh
# report_e2e.sh - the whole report on fixture models, as a user runs it:
#   * every section is there (es and en), for a nested model with images;
#   * every image the page references exists, is a PNG, and has the size report.json states;
#   * report.json's summary text is exactly what --summary prints;
#   * two runs give byte-identical sites; --embed leaves no img/ reference;
#   * an existing directory tlreport did not make is refused without --force;
#   * a weights-only file still gets a report (storage only) that says what is missing.
: "${TLREPORT:=./tlreport}"
PY=/usr/bin/python3
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-e2e-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/report_e2e] $*"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

model=tests/fixtures/numeric/mini_vgg.h5
imgs=$tmp/imgs
mkdir "$imgs"
cp tests/fixtures/images/rgb8.png "$imgs/a.png" 2>/dev/null || cp tests/fixtures/images/g8.png "$imgs/a.png"
cp tests/fixtures/images/g8.png "$imgs/b.png"

# PNG width and height from the IHDR chunk (bytes 16..23, big endian).
png_size() {
    od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%d %d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }'
}
is_png() { [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = "89504e470d0a1a0a" ]; }

"$TLREPORT" "$model" "$imgs" -o "$tmp/site" --quiet >"$tmp/out" 2>"$tmp/err"
check '[ $? -eq 0 ]' "report run failed: $(cat "$tmp/err")"
for f in index.html report.md report.json; do
    check '[ -s "$tmp/site/$f" ]' "missing $f"
done
for n in 1 2 3 4 5; do
    check 'grep -q "^## Pregunta $n" "$tmp/site/report.md"' "report.md has no Pregunta $n section"
done
check 'grep -q "<h2[^>]*>Pregunta 5" "$tmp/site/index.html"' "index.html has no Pregunta 5 heading"

# every <img src="..."> exists, is a PNG, and matches the size in report.json when stated
for src in $(grep -o 'src="img/[^"]*"' "$tmp/site/index.html" | sed 's/^src="//; s/"$//' | sort -u); do
    f=$tmp/site/$src
    if [ ! -f "$f" ]; then bad "index.html references missing $src"; continue; fi
    # the drawings (architecture, weight histograms, comparison chart) are SVG documents
    case $src in
    *.svg) if head -c 5 "$f" | grep -q '^<svg'; then ok; else bad "$src is not an SVG"; fi
           continue ;;
    esac
    if is_png "$f"; then ok; else bad "$src is not a PNG"; continue; fi
    want=$($PY -c '
import json, sys
d = json.load(open(sys.argv[1])); name = sys.argv[2]
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if v == name and "width" in o and "height" in o and k in ("image", "grid"):
                print(o["width"], o["height"]); sys.exit(0)
            walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
walk(d)' "$tmp/site/report.json" "$src")
    if [ -n "$want" ]; then
        got=$(png_size "$f")
        check '[ "$got" = "$want" ]' "$src is $got, report.json says $want"
    fi
done
check 'grep -q "img/kernels" "$tmp/site/index.html"' "no kernel grid in the page"
check 'grep -q "img/features" "$tmp/site/index.html"' "no feature maps in the page"
check 'grep -q "img/input-1.png" "$tmp/site/index.html"' "the input as the model saw it is missing"

# report.json agrees with --summary
"$TLREPORT" "$model" --summary >"$tmp/summary.txt"
$PY -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["summary"]["text"])' \
    "$tmp/site/report.json" >"$tmp/summary_json.txt"
check 'cmp -s "$tmp/summary.txt" "$tmp/summary_json.txt"' "report.json summary.text differs from --summary"
total=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["total_params"])' "$tmp/site/report.json")
check 'grep -q "Total params: .*$(printf %s "$total" | sed "s/\(.\)\(...\)$/\1,\2/")" "$tmp/summary.txt" || grep -q "$total" "$tmp/summary.txt"' \
    "report.json total_params $total not in the summary"

# determinism
"$TLREPORT" "$model" "$imgs" -o "$tmp/site2" --quiet >/dev/null 2>&1
check 'diff -r "$tmp/site" "$tmp/site2" >/dev/null' "two runs differ: $(diff -rq "$tmp/site" "$tmp/site2" | head -3)"

# English
"$TLREPORT" "$model" "$imgs" -o "$tmp/site_en" --lang en --quiet >/dev/null 2>&1
for n in 1 2 3 4 5; do
    check 'grep -qi "^## .*$n" "$tmp/site_en/report.md"' "English report lacks section $n"
done
check '! grep -q "Pregunta 1\." "$tmp/site_en/report.md"' "English report still has Spanish headings"

# --embed: a single self-contained page
"$TLREPORT" "$model" "$imgs" -o "$tmp/site_embed" --embed --quiet >/dev/null 2>&1
check '! grep -q "src=\"img/" "$tmp/site_embed/index.html"' "--embed left img/ references"
check 'grep -q "src=\"data:image/png;base64," "$tmp/site_embed/index.html"' "--embed has no data: URIs"

# a directory tlreport did not make is not replaced without --force
mkdir "$tmp/mine" && echo keep >"$tmp/mine/notes.txt"
"$TLREPORT" "$model" "$imgs" -o "$tmp/mine" --quiet >/dev/null 2>"$tmp/err"
rc=$?
check '[ $rc -ne 0 ] && [ -f "$tmp/mine/notes.txt" ]' "a foreign directory was replaced (rc $rc)"
check '[ "$(wc -l <"$tmp/err")" -eq 1 ]' "the refusal is not one line: $(cat "$tmp/err")"
"$TLREPORT" "$model" "$imgs" -o "$tmp/mine" --force --quiet >/dev/null 2>&1
check '[ -f "$tmp/mine/index.html" ] && [ ! -f "$tmp/mine/notes.txt" ]' "--force did not replace the directory"

# a failed run leaves the previous report untouched
cp -r "$tmp/site" "$tmp/before"
"$TLREPORT" "$model" "$imgs" -o "$tmp/site" --kernels no_such_layer --quiet >/dev/null 2>&1
check '[ $? -ne 0 ] && diff -r "$tmp/before" "$tmp/site" >/dev/null' "a failed run changed the existing report"
check '[ -z "$(ls -A "$tmp" | grep "tmp-")" ]' "a temporary directory was left behind"

# weights-only file: a report with the storage, and a clear sentence about the architecture
"$TLREPORT" tests/fixtures/models/weights_only.h5 -o "$tmp/wo" --quiet >/dev/null 2>"$tmp/err"
check '[ $? -eq 0 ] && grep -q "^## Pregunta 1" "$tmp/wo/report.md"' "weights-only report failed: $(cat "$tmp/err")"
check 'grep -qi "arquitectura" "$tmp/wo/report.md"' "weights-only report does not mention the missing architecture"

# the course model (tiny fill-value version) gets the course's default layer
"$TLREPORT" tests/fixtures/models/course_tf29.h5 -o "$tmp/course" --quiet >/dev/null 2>"$tmp/err"
check '[ $? -eq 0 ]' "course model report failed: $(cat "$tmp/err")"
layer=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernels"]["layer"])' "$tmp/course/report.json")
check '[ "$layer" = "vgg16/block2_conv2" ]' "course model: kernels are $layer, not vgg16/block2_conv2"
check 'grep -q "vgg16/block2\\\\_conv2" "$tmp/course/report.md"' "course model: report.md does not name vgg16/block2_conv2"

# a sigmoid output: two rows, class 1 at p and class 0 at 1 - p, worded in the report's
# language, named by a labels file when one is given; p is what --predict prints
I1=tests/fixtures/images/rgb_32x32.png
K3=tests/fixtures/models/course_k3.keras
p=$("$TLREPORT" "$K3" --predict "$I1" | awk '{print $2}')
"$TLREPORT" "$K3" "$I1" -o "$tmp/sig" --quiet >/dev/null 2>"$tmp/err"
check '[ $? -eq 0 ] && grep -Eq "^\| [12] \| clase 1 \|" "$tmp/sig/report.md" &&
    grep -Eq "^\| [12] \| clase 0 \|" "$tmp/sig/report.md"' "sigmoid report (es) lacks the two class rows"
check "$PY -c 'import json,sys
t = json.load(open(sys.argv[1]))[\"predictions\"][\"images\"][0][\"top\"]
v = {e[\"index\"]: e[\"value\"] for e in t}
p = float(sys.argv[2])
sys.exit(not (len(t) == 2 and abs(v[1] - p) < 1e-5 and abs(v[0] - (1 - p)) < 1e-5))' \"$tmp/sig/report.json\" $p" \
    "sigmoid report.json: rows are not p=$p and 1-p"
printf 'cat\ndog\n' >"$tmp/cd.txt"
"$TLREPORT" "$K3" "$I1" -o "$tmp/sig_en" --lang en --labels "$tmp/cd.txt" --quiet >/dev/null 2>"$tmp/err"
check '[ $? -eq 0 ] && grep -Eq "^\| [12] \| dog \|" "$tmp/sig_en/report.md" &&
    grep -Eq "^\| [12] \| cat \|" "$tmp/sig_en/report.md" && grep -q "Class names come from cd" "$tmp/sig_en/report.md"' \
    "sigmoid report (en, labels) lacks dog/cat rows: $(cat "$tmp/err")"

# ---- an .npy holding several samples: the report shows the first (it used to overrun the
# batch it built and abort)
"$TLREPORT" tests/fixtures/rnn/bidi_backward.h5 tests/ref/rnn/bidi_backward_model/x.npy \
    -o "$tmp/multi" --quiet >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && [ -s "$tmp/multi/report.json" ] && ok ||
    bad "multi-sample .npy report: exit $rc: $(head -c 300 "$tmp/err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
