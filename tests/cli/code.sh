#!/bin/sh
# code.sh - the code in the report runs: renders the report of every corpus model (with its
# sample images, as a user would) and of fixture models, in both languages, and hands the
# sites to code_check.py (Python's ast parses every python block; no Markdown escape inside
# code; every get_layer('...') names a layer of that model; the multiply-accumulates match
# tests/ref/macs.tsv, counted by ../shared/oracle/flops.py).  Skips with a message when
# python3 or the corpus (../shared/corpus, or $TLR_SHARED) is missing; under CI, that fails.
cd "$(dirname "$0")/../.." || exit 2
: "${TLREPORT:=./tlreport}"
PY=/usr/bin/python3
SHARED=${TLR_SHARED:-../shared}
pass=0 fail=0
. tests/skip.sh

if [ ! -x "$PY" ]; then
    skip cli/code "$PY not found: report code not checked"
    echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-code-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
n=0
# site MODEL IMAGES [ARGS...]: one report per language into $tmp/N.es and $tmp/N.en, the two
# runs side by side.  A model tlreport does not report on (a refusal with a message, e.g. an
# input that is not an image) is left out: there is no code to check.
site() {
    m=$1 imgs=$2; shift 2
    n=$((n + 1))
    for lang in es en; do
        "$TLREPORT" "$m" "$@" "$imgs" -o "$tmp/$n.$lang" --lang "$lang" --quiet \
            --date 2026-01-01 >/dev/null 2>&1 &
    done
    wait
}

imgs=$tmp/imgs
mkdir "$imgs"
cp tests/fixtures/images/g8.png "$imgs/a.png"
[ -f examples/out/course_model.h5 ] && site examples/out/course_model.h5 examples/out/images
for m in tests/fixtures/models/*.h5 tests/fixtures/models/*.keras tests/fixtures/numeric/*.h5; do
    [ -f "$m" ] || continue
    case $m in */weights_only.h5|*/nan_config.h5|*/unknown_layer.h5) continue;; esac
    site "$m" "$imgs"
done

C=$SHARED/corpus/models I=$SHARED/corpus/images
if [ ! -d "$C" ]; then
    skip cli/code "$C not found: corpus reports not checked"
else
    for m in "$C"/*; do
        b=$(basename "$m"); stem=${b%.*}
        case $b in *.labels.txt) continue;; esac
        extra=""
        case $b in
            *.json) [ -f "$C/$stem.h5" ] && extra="--weights $C/$stem.h5" ;;
            *.h5) [ -f "$C/$stem.json" ] && extra="--config $C/$stem.json" ;;
        esac
        ims=$SHARED/images; [ -d "$I/$stem" ] && ims=$I/$stem
        # shellcheck disable=SC2086
        site "$m" "$ims" $extra
    done
fi

sites=$(ls -d "$tmp"/*.es/report.md "$tmp"/*.en/report.md 2>/dev/null | sed 's,/report.md$,,')
# shellcheck disable=SC2086
"$PY" tests/cli/code_check.py --macs tests/ref/macs.tsv $sites >"$tmp/out"
grep -v '^[0-9]* passed' "$tmp/out"
line=$(tail -n 1 "$tmp/out")
p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
