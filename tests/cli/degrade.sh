#!/bin/sh
# degrade.sh - every model of ../shared/corpus gets a complete site from a folder of
# photographs (its own images/<stem>/ when it has one, else ../shared/images), as a new user
# would run it: exit status 0, index.html, report.md and report.json written, and nothing on
# stderr but "tlreport: warning: MODEL: ..." lines, one per gap.  With --strict, a run that
# warned exits 1 and one that did not exits 0.  The json+h5 pairs are run with --config /
# --weights.  Skipped with a message when the corpus is absent (a failure under CI).
# Run from the repository root (tests/run.sh does); TLREPORT names the binary.
: "${TLREPORT:=./tlreport}"
. tests/skip.sh
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-degrade-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/degrade] $*"; }

S=${TLR_SHARED:-../shared}
C=$S/corpus/models
if [ ! -d "$C" ] || [ ! -d "$S/images" ]; then
    skip cli/degrade "$C or $S/images not found: the corpus runs were not made"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
fi

for f in "$C"/*; do
    n=$(basename "$f")
    case $n in *.labels.txt) continue ;; esac
    stem=${n%.*}
    set --
    case $n in
    *.json) [ -f "$C/$stem.h5" ] && set -- --weights "$C/$stem.h5" ;;
    *.h5) [ -f "$C/$stem.json" ] && set -- --config "$C/$stem.json" ;;
    esac
    imgs=$S/images
    [ -d "$S/corpus/images/$stem" ] && imgs=$S/corpus/images/$stem
    out=$tmp/site
    rm -rf "$out"
    "$TLREPORT" "$f" "$@" "$imgs" -o "$out" --quiet >"$tmp/out" 2>"$tmp/err"
    rc=$?
    warned=$(grep -c '^tlreport: warning: ' "$tmp/err")
    other=$(grep -vc '^tlreport: warning: ' "$tmp/err")
    if [ "$rc" -ne 0 ]; then
        bad "$n: exit $rc: $(head -c 300 "$tmp/err")"
    elif [ ! -s "$out/index.html" ] || [ ! -s "$out/report.md" ] || [ ! -s "$out/report.json" ]; then
        bad "$n: the site is incomplete"
    elif [ "$other" -ne 0 ]; then
        bad "$n: stderr has lines that are not warnings: $(grep -v '^tlreport: warning: ' "$tmp/err" | head -3)"
    elif [ "$warned" -gt 0 ] && ! grep -q "^tlreport: warning: $f: " "$tmp/err"; then
        bad "$n: a warning line does not name the model file"
    else
        ok
    fi
    [ "$warned" -eq 0 ] && [ "${n%%-*}" != 008 ] && continue
    "$TLREPORT" "$f" "$@" "$imgs" -o "$out" --quiet --force --strict >/dev/null 2>"$tmp/err"
    rc=$?
    want=$([ "$warned" -gt 0 ] && echo 1 || echo 0)
    if [ "$rc" -eq "$want" ]; then ok; else bad "$n --strict: exit $rc, want $want"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
