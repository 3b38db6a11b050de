#!/bin/sh
# evaluate.sh - labelled image folders (one subfolder per class):
#   * a hand-weighted colour classifier (tests/gen/make_eval_fixtures.py) on generated class
#     folders with deliberate mistakes and unreadable files gives exactly the confusion
#     matrix, accuracy, mistakes and per-filter rankings numpy computed (expected.json);
#   * --labels orders the classes; a folder that matches no label is an error naming it;
#   * --shard K/N then --merge gives a site byte-identical to one run, for several N and
#     any order of the parts; damaged, incomplete, repeated or missing parts are refused;
#   * a plain folder of images (no class subfolders) is not evaluated;
#   * thousands of images with 1 % corrupt, truncated or not images: the run finishes,
#     names each skipped file and counts it; peak memory does not grow with the number of
#     images; a shard killed mid-run leaves nothing --merge accepts.
: "${TLREPORT:=./tlreport}"
. tests/skip.sh
PY=/usr/bin/python3
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-eval-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/evaluate] $*"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

M=tests/fixtures/eval/colour.h5
D=tests/fixtures/eval/colours
E=tests/fixtures/eval/expected.json

# ---- the right answers -----------------------------------------------------------------
"$TLREPORT" "$M" "$D" -o "$tmp/one" --lang en >"$tmp/out" 2>"$tmp/err"
check '[ $? -eq 0 ]' "evaluation run failed: $(cat "$tmp/err")"
check 'grep -q "skipping red/red_truncated.png" "$tmp/err"' "the truncated PNG is not named on stderr"
check 'grep -q "green/notes.txt: not a PNG or JPEG image" "$tmp/err"' "the text file is not named on stderr"
check '! grep -q hidden "$tmp/err" "$tmp/one/report.json"' "a hidden file was listed"
compare() { # report.json expected.json [labels]
    $PY - "$1" "$2" "$3" <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))['evaluation']
exp = json.load(open(sys.argv[2]))
bad = []
def same(what, a, b):
    if a != b:
        bad.append(f'{what}: got {a}, expected {b}')
if sys.argv[3] == 'labels':
    same('classes', got['classes'], exp['labels']['classes'])
    same('confusion', got['confusion'], exp['labels']['confusion'])
else:
    same('classes', got['classes'], exp['classes'])
    same('confusion', got['confusion'], exp['confusion'])
    same('accuracy', round(got['accuracy'], 12), round(exp['accuracy'], 12))
    same('evaluated', got['evaluated'], exp['evaluated'])
    same('skipped', got['skipped'], len(exp['skipped']))
    same('mistakes', [m['source'] for m in got['mistakes']], exp['mistakes'])
    same('filters', [[i['source'] for i in r['images']] for r in got['filters']['rows']],
         exp['filters'])
    text = ' '.join(w['text'] for w in json.load(open(sys.argv[1]))['warnings'])
    for name in exp['skipped']:
        if name not in text:
            bad.append(f'warnings do not name {name}')
print('\n'.join(bad))
sys.exit(1 if bad else 0)
EOF
}
compare "$tmp/one/report.json" "$E" >"$tmp/cmp" 2>&1
check '[ $? -eq 0 ]' "report.json vs numpy: $(cat "$tmp/cmp")"
for lang in es en; do
    "$TLREPORT" "$M" "$D" -o "$tmp/l-$lang" --lang $lang -q >/dev/null 2>&1
    check 'grep -q "^## Evaluación\|^## Evaluation" "$tmp/l-$lang/report.md"' "$lang: no evaluation section"
    check 'grep -q "<img src=\"img/confusion.png\"" "$tmp/l-$lang/index.html"' "$lang: no confusion image"
    check 'grep -q "img/mistake-1.png" "$tmp/l-$lang/index.html"' "$lang: no mistake thumbnail"
    check 'grep -q "img/eval-filters.png" "$tmp/l-$lang/index.html"' "$lang: no filter grid"
done
# the sample sections show the first image of each class
grep '^### .*_00\\.png' "$tmp/one/report.md" | tr -d '\\' | tr '\n' ' ' >"$tmp/heads"
check 'grep -q "^### blue_00.png ### green_00.png ### red_00.png" "$tmp/heads"' \
      "Pregunta 5 does not show the first image of each class in class order: $(cat "$tmp/heads")"

# ---- --labels -------------------------------------------------------------------------------
L=tests/fixtures/eval/labels.txt
"$TLREPORT" "$M" "$D" --labels "$L" -o "$tmp/lab" -q >/dev/null 2>"$tmp/err"
compare "$tmp/lab/report.json" "$E" labels >"$tmp/cmp" 2>&1
check '[ $? -eq 0 ]' "--labels order: $(cat "$tmp/cmp") $(cat "$tmp/err")"
printf 'red\ngreen\nyellow\n' >"$tmp/labels3.txt"
"$TLREPORT" "$M" "$D" --labels "$tmp/labels3.txt" -o "$tmp/lab3" -q >/dev/null 2>"$tmp/err"
check '[ $? -ne 0 ] && grep -q "folder .blue. matches no class name" "$tmp/err"' "a folder matching no label was not named: $(cat "$tmp/err")"

# ---- shards and merge -----------------------------------------------------------------------
for n in 2 3 5; do
    parts=""
    k=1
    while [ $k -le $n ]; do
        "$TLREPORT" "$M" "$D" --shard $k/$n -o "$tmp/parts$n/$k" --lang en -q >/dev/null 2>&1 ||
            bad "shard $k/$n failed"
        parts="$tmp/parts$n/$k $parts"   # reversed: the order of the parts must not matter
        k=$((k + 1))
    done
    # shellcheck disable=SC2086
    "$TLREPORT" "$M" --merge $parts -o "$tmp/merged$n" --lang en -q >/dev/null 2>"$tmp/err"
    check '[ $? -eq 0 ] && diff -r "$tmp/one" "$tmp/merged$n" >/dev/null' "merge of $n shards differs from one run: $(cat "$tmp/err")"
done
merge_fails() { # WHY PATTERN PARTS...
    why=$1 pat=$2
    shift 2
    rm -rf "$tmp/bad-merge"
    "$TLREPORT" "$M" --merge "$@" -o "$tmp/bad-merge" --lang en -q >/dev/null 2>"$tmp/err"
    rc=$?
    check '[ $rc -eq 1 ] || [ $rc -eq 2 ]' "$why: merge exited $rc"
    check 'grep -q "$pat" "$tmp/err" && [ ! -e "$tmp/bad-merge" ]' "$why: $(cat "$tmp/err")"
}
P=$tmp/parts3
merge_fails "missing shard" "shard 2/3 is missing" "$P/1" "$P/3"
merge_fails "repeated shard" "given twice" "$P/1" "$P/1" "$P/2" "$P/3"
cp -R "$P" "$tmp/broken"
printf x >>"$tmp/broken/2/part.json"
merge_fails "changed part.json" "does not match" "$P/1" "$tmp/broken/2" "$P/3"
cp -R "$P" "$tmp/broken2"
rm "$tmp/broken2/3/COMPLETE"
merge_fails "no COMPLETE" "not a complete --shard result" "$P/1" "$P/2" "$tmp/broken2/3"
cp -R "$P" "$tmp/broken3"
f=$(ls "$tmp/broken3/1/t" | head -n 1)
head -c 20 "$tmp/broken3/1/t/$f" >"$tmp/cut" && mv "$tmp/cut" "$tmp/broken3/1/t/$f"
merge_fails "truncated thumbnail" "does not match its checksum" "$tmp/broken3/1" "$P/2" "$P/3"
"$TLREPORT" "$M" "$D" --shard 1/3 --resize bilinear -o "$tmp/other1" -q >/dev/null 2>&1
merge_fails "other options" "other options" "$tmp/other1" "$P/2" "$P/3"
for k in 1 2; do
    "$TLREPORT" "$M" "$D" --labels "$L" --shard $k/2 -o "$tmp/lparts/$k" -q >/dev/null 2>&1
done
merge_fails "merge without the shards' --labels" "other options" "$tmp/lparts/1" "$tmp/lparts/2"
"$TLREPORT" "$M" --labels "$L" --merge "$tmp/lparts/1" "$tmp/lparts/2" -o "$tmp/lmerged" -q >/dev/null 2>&1
check 'diff -r "$tmp/lab" "$tmp/lmerged" >/dev/null' "merge with --labels differs from one run"
"$TLREPORT" "$M" --merge "$P/1" "$P/2" "$P/3" -o "$tmp/es-merged" -q --lang es >/dev/null 2>&1
check 'grep -q "^## Evaluación" "$tmp/es-merged/report.md"' "a merge cannot choose its language"

# ---- a plain folder is not a labelled one ------------------------------------------------------
mkdir -p "$tmp/plain"
cp "$D/blue/blue_00.png" "$D/red/red_00.png" "$tmp/plain/"
"$TLREPORT" "$M" "$tmp/plain" -o "$tmp/plain-site" -q >/dev/null 2>&1
check '! grep -q "\"evaluation\"" "$tmp/plain-site/report.json"' "a plain image folder was evaluated"
"$TLREPORT" "$M" "$tmp/plain" --shard 1/2 -o "$tmp/plain-part" -q >/dev/null 2>"$tmp/err"
check '[ $? -eq 2 ] && grep -q "one subfolder per" "$tmp/err"' "--shard on a plain folder: $(cat "$tmp/err")"

# ---- thousands of images, 1 % of them bad ------------------------------------------------------
many() { # DIR N: N images in 3 classes, every 100th file bad (corrupt, truncated, not an image)
    $PY - "$1" "$2" <<'EOF'
import os, struct, sys, zlib
root, n = sys.argv[1], int(sys.argv[2])
def png(r, g, b):
    raw = b''.join(b'\x00' + bytes([r, g, b]) * 8 for _ in range(8))
    c = lambda k, d: struct.pack('>I', len(d)) + k + d + struct.pack('>I', zlib.crc32(k + d))
    return (b'\x89PNG\r\n\x1a\n' + c(b'IHDR', struct.pack('>IIBBBBB', 8, 8, 8, 2, 0, 0, 0)) +
            c(b'IDAT', zlib.compress(raw)) + c(b'IEND', b''))
for i in range(n):
    cls = ('blue', 'green', 'red')[i % 3]
    os.makedirs(os.path.join(root, cls), exist_ok=True)
    data = png(*[(200 if c == cls else 40) + i % 37 for c in ('red', 'green', 'blue')])
    kind = (i // 100) % 3 if i % 100 == 99 else -1
    if kind == 0:
        data = data[:8] + bytes(range(256)) * 2          # PNG signature, then garbage
    elif kind == 1:
        data = data[:len(data) // 2]                      # truncated
    elif kind == 2:
        data = b'this is not an image\n'                  # not an image at all
    with open(os.path.join(root, cls, f'{i:05d}.png'), 'wb') as f:
        f.write(data)
EOF
}
many "$tmp/big" 3000
many "$tmp/small" 300
"$TLREPORT" "$M" "$tmp/big" -o "$tmp/big-site" >/dev/null 2>"$tmp/big-err"
check '[ $? -eq 0 ]' "3000 images with 1 % bad failed: $(tail -n 3 "$tmp/big-err")"
check '[ "$(grep -c "warning: .*[0-9]99.png" "$tmp/big-err")" -eq 30 ]' "not every bad file was named on stderr ($(grep -c warning "$tmp/big-err"))"
check '$PY -c "import json,sys; e=json.load(open(sys.argv[1]))[\"evaluation\"]; sys.exit(0 if (e[\"skipped\"], e[\"evaluated\"]) == (30, 2970) else 1)" "$tmp/big-site/report.json"' "report.json does not count the 30 skipped files"
check '[ "$(grep -c "99\\\\.png" "$tmp/big-site/report.md")" -ge 30 ]' "the report does not name every skipped file"
if [ "${BUILD:-build}" = build-san ]; then
    echo "SKIP [cli/evaluate] peak memory (the sanitizers' quarantine grows by design)"
elif [ -x /usr/bin/time ]; then
    /usr/bin/time -f %M -o "$tmp/rss-small" "$TLREPORT" "$M" "$tmp/small" -o "$tmp/s1" -q >/dev/null 2>&1
    /usr/bin/time -f %M -o "$tmp/rss-big" "$TLREPORT" "$M" "$tmp/big" -o "$tmp/s2" -q >/dev/null 2>&1
    small=$(tail -n 1 "$tmp/rss-small") big=$(tail -n 1 "$tmp/rss-big")
    check '[ "$big" -lt $((small + 8192)) ]' "peak RSS grows with the images: $small KB for 300, $big KB for 3000"
else
    skip cli/evaluate "/usr/bin/time is missing (Debian package 'time'): no memory check"
fi

# ---- a shard killed mid-run --------------------------------------------------------------------
# Large photos make the run last long enough to be killed while it evaluates.
$PY - "$tmp/slow" <<'EOF'
import os, struct, sys, zlib
w = h = 2500
raw = zlib.compress((b'\x00' + bytes([90, 160, 30]) * w) * h, 1)
c = lambda k, d: struct.pack('>I', len(d)) + k + d + struct.pack('>I', zlib.crc32(k + d))
png = (b'\x89PNG\r\n\x1a\n' + c(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
       c(b'IDAT', raw) + c(b'IEND', b''))
for cls in ('blue', 'green', 'red'):
    os.makedirs(os.path.join(sys.argv[1], cls))
    for i in range(60):
        with open(os.path.join(sys.argv[1], cls, f'{i}.png'), 'wb') as f:
            f.write(png)
EOF
"$TLREPORT" "$M" "$tmp/slow" --shard 1/1 -o "$tmp/killed" -q >/dev/null 2>&1 &
pid=$!
sleep 0.4
if kill -9 $pid 2>/dev/null; then
    wait $pid 2>/dev/null
    sleep 0.3    # the worker ends on its parent's death
    merge_fails "killed shard" "not a complete --shard result" "$tmp/killed"
    for d in "$tmp"/.killed.tmp-*; do
        [ -e "$d" ] && merge_fails "a killed shard's temporary folder" "not a complete" "$d"
    done
    check '[ -z "$(pgrep -f "$tmp/slow")" ]' "the worker of the killed shard is still running"
else
    wait $pid
    skip cli/evaluate "the shard finished before it could be killed: kill test not run"
fi

# ---- --check accuracy measures the labelled folder (expected.json: accuracy 0.84)
printf 'accuracy >= 0.84\naccuracy > 0.84\n' >"$tmp/acc.checks"
"$TLREPORT" "$M" tests/fixtures/eval/colours --check "$tmp/acc.checks" -o "$tmp/acc" --quiet \
    >/dev/null 2>"$tmp/acc.err"
rc=$?
if [ "$rc" -eq 3 ] && grep -q "check failed: $tmp/acc.checks:2: accuracy > 0.84 (got 0.8400)" "$tmp/acc.err" &&
    ! grep -q "acc.checks:1" "$tmp/acc.err"; then
    ok
else
    bad "--check accuracy on a labelled folder: exit $rc: $(head -c 300 "$tmp/acc.err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
