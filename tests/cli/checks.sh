#!/bin/sh
# checks.sh - --compare and --check from the command line: every kind of check, passing and
# failing, with its exit status (0 passed, 3 failed, 2 a malformed file naming file:line);
# summary.md; the comparison section in both languages; byte-identical reruns.
# Run from the repository root (tests/run.sh does); TLREPORT names the binary.
#
# The pair: tests/fixtures/compare/head.h5 (the head retrained) against base.h5 (before),
# from tests/gen/make_compare_fixtures.py: 2,711 parameters, 1,059 trainable, 1,652 not;
# six layers in model.layers; vgg16/* untouched, dense and dense_1 changed (relative change
# about 0.25).  On rgb8.png head.h5 gives class 2 the highest probability, between 0.4 and 0.5.
: "${TLREPORT:=./tlreport}"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-checks-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/checks] $*"; }

C=tests/fixtures/compare
IMG=tests/fixtures/images/rgb8.png
printf 'cat\ndog\nbird\n' >"$tmp/labels.txt"

# check TEXT WANT_STATUS: one check alone, with --compare and --labels
check() {
    printf '%s\n' "$1" >"$tmp/one.checks"
    "$TLREPORT" $C/head.h5 $IMG --compare $C/base.h5 --labels "$tmp/labels.txt" \
        --check "$tmp/one.checks" -o "$tmp/one" --force --quiet >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq "$2" ]; then ok; else bad "'$1': exit $rc, want $2: $(cat "$tmp/err")"; fi
}

check 'total_params == 2711' 0
check 'total_params < 2_000' 3
check 'trainable_params == 1059' 0
check 'trainable_params == 1234' 3
check 'non_trainable_params >= 1652' 0
check 'non_trainable_params == 0' 3
check 'layers == 6' 0
check 'layers > 6' 3
check 'unchanged vgg16/*' 0
check 'unchanged dense*' 3
check 'unchanged nothing_like_this*' 3
check 'changed dense*' 0
check 'changed vgg16/*' 3
check 'rel_change dense <= 0.5' 0
check 'rel_change dense_1 < 1%' 3
check 'predict rgb8.png class 2 >= 0.4' 0
check 'predict rgb8.png class 2 >= 90%' 3
check 'predict rgb8.png class bird > 0.4' 0
check 'predict rgb8.png class cat > 0.4' 3
check 'predict missing.png class 0 >= 0' 3
check 'predict rgb8.png class 7 >= 0' 3
check 'accuracy >= 0.9' 0

# a failing check: the site is still written, the line is named, summary.md lists it
cat >"$tmp/ci.checks" <<'EOF'
# the CI expectations
total_params <= 20000000
unchanged vgg16/*
trainable_params == 1234     # wrong on purpose
accuracy >= 0.9
EOF
"$TLREPORT" $C/head.h5 $IMG --compare $C/base.h5 --check "$tmp/ci.checks" -o "$tmp/s3" \
    --quiet --lang en >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 3 ] && [ -f "$tmp/s3/index.html" ] && [ -f "$tmp/s3/summary.md" ] &&
    grep -q "check failed: $tmp/ci.checks:4: trainable_params == 1234 (got 1,059)" "$tmp/err" &&
    grep -q "check not applicable: $tmp/ci.checks:5: accuracy >= 0.9 (no labelled folder)" "$tmp/err" &&
    grep -q "1 of 4 checks failed" "$tmp/err"; then
    ok
else
    bad "failing check: exit $rc: $(cat "$tmp/err")"
fi
if grep -q '❌ line 4: trainable\\_params == 1234 (measured 1,059)' "$tmp/s3/summary.md" &&
    grep -q 'not applicable, no labelled folder' "$tmp/s3/summary.md" &&
    grep -q '^## Checks' "$tmp/s3/report.md" && grep -q '"status":	"failed"' "$tmp/s3/report.json" &&
    [ "$(wc -c <"$tmp/s3/summary.md")" -lt 61440 ] && ! grep -q '!\[' "$tmp/s3/summary.md"; then
    ok
else
    bad "summary.md / report with checks: $(head -c 1500 "$tmp/s3/summary.md")"
fi

# malformed check files are usage errors (2) naming file:line, before any output
printf 'total_params <= 1\nbogus 3\n' >"$tmp/bad.checks"
"$TLREPORT" $C/head.h5 --check "$tmp/bad.checks" -o "$tmp/sbad" --quiet >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "$tmp/bad.checks:2: unknown check 'bogus'" "$tmp/err" &&
    [ ! -e "$tmp/sbad" ]; then ok; else bad "malformed: exit $rc: $(cat "$tmp/err")"; fi
printf 'unchanged vgg16/*\n' >"$tmp/nocmp.checks"
"$TLREPORT" $C/head.h5 --check "$tmp/nocmp.checks" -o "$tmp/sbad" --quiet >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "nocmp.checks:1: 'unchanged' compares with the model before training" "$tmp/err"; then
    ok
else
    bad "unchanged without --compare: exit $rc: $(cat "$tmp/err")"
fi
"$TLREPORT" $C/head.h5 --check "$tmp/none.checks" -o "$tmp/sbad" --quiet >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "none.checks" "$tmp/err" && ok || bad "missing check file: $(cat "$tmp/err")"
"$TLREPORT" $C/head.h5 --compare $C/nothere.h5 -o "$tmp/sbad" --quiet >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "nothere.h5" "$tmp/err" && ok || bad "missing base: $(cat "$tmp/err")"
"$TLREPORT" $C/head.h5 --summary --compare $C/base.h5 >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && ok || bad "--compare with --summary: $(cat "$tmp/err")"

# --check alone (no --compare): summary.md, no comparison
printf 'layers == 6\n' >"$tmp/alone.checks"
"$TLREPORT" $C/head.h5 --check "$tmp/alone.checks" -o "$tmp/alone" --quiet >/dev/null 2>"$tmp/err"
if [ $? -eq 0 ] && [ -f "$tmp/alone/summary.md" ] && ! grep -q '"comparison"' "$tmp/alone/report.json"; then
    ok
else
    bad "--check alone: $(cat "$tmp/err")"
fi

# neither option: no summary.md, no new keys (the report stays as it was)
"$TLREPORT" $C/head.h5 $IMG -o "$tmp/plain" --quiet >/dev/null 2>"$tmp/err"
if [ $? -eq 0 ] && [ ! -e "$tmp/plain/summary.md" ] && [ ! -e "$tmp/plain/img/comparison.svg" ] &&
    ! grep -q '"comparison"\|"checks"' "$tmp/plain/report.json" &&
    ! grep -q 'Comparación\|Comprobaciones' "$tmp/plain/report.md"; then
    ok
else
    bad "plain report changed: $(cat "$tmp/err")"
fi

# the section in both languages, in report.md and index.html; the warning for a frozen
# BatchNormalization whose statistics moved
for lang in es en; do
    "$TLREPORT" $C/bn_moved.h5 $IMG --compare $C/base.h5 -o "$tmp/bn-$lang" --lang $lang \
        --quiet --date 2026-01-01 >/dev/null 2>"$tmp/err" || bad "bn_moved $lang: $(cat "$tmp/err")"
done
if grep -q '^## Comparación: qué cambió el entrenamiento' "$tmp/bn-es/report.md" &&
    grep -q 'Aviso: han cambiado capas congeladas' "$tmp/bn-es/report.md" &&
    grep -q '<h2 id="s[0-9]*">Comparación' "$tmp/bn-es/index.html" &&
    grep -q '^## Comparison: what training changed' "$tmp/bn-en/report.md" &&
    grep -q 'Warning: frozen layers changed' "$tmp/bn-en/report.md" &&
    grep -q 'batch\\_normalization.*⚠ frozen' "$tmp/bn-en/report.md" &&
    grep -q '<img src="img/comparison.svg"' "$tmp/bn-en/index.html" &&
    grep -q '"frozen_changed":	true' "$tmp/bn-en/report.json"; then
    ok
else
    bad "comparison section es/en: $(grep -n 'Compar' "$tmp/bn-es/report.md" "$tmp/bn-en/report.md" | head)"
fi

# deterministic: a second run gives the same bytes
"$TLREPORT" $C/bn_moved.h5 $IMG --compare $C/base.h5 -o "$tmp/bn-en2" --lang en --quiet \
    --date 2026-01-01 >/dev/null 2>&1
if diff -r "$tmp/bn-en" "$tmp/bn-en2" >/dev/null; then ok; else bad "two runs differ"; fi

# --embed carries the SVG chart inside the page
# (and a .keras archive compares with a .h5 file)
"$TLREPORT" $C/head.keras $IMG --compare $C/base.h5 -o "$tmp/emb" --embed --quiet \
    >/dev/null 2>"$tmp/err"
if [ $? -eq 0 ] && grep -q 'src="data:image/svg+xml;base64,' "$tmp/emb/index.html"; then
    ok
else
    bad "--embed with the chart: $(cat "$tmp/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
