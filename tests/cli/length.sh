#!/bin/sh
# length.sh - the main page prints short (issue 11): index.html of a corpus model, with its
# sample images, prints to at most 10 A4 pages in headless Chromium (--print-to-pdf), and its
# layers.html (the whole lists and the detail the page leaves out) exists.
# Which models it prints, to stay near two minutes: it renders every corpus model in Spanish
# (as the capture scripts run them: labels, --config/--weights pairs, ../shared/images), two at
# a time, then prints only the 6 largest index.html files (text and tables, the best measure of
# length the files give) plus $ALWAYS, the ones that printed longest when this was written
# (their length also comes from images, which file size does not see); $ALWAYS are printed in
# English too, and the first of them once with --embed.  Pages are counted from the PDF's
# /Type /Page objects.
# Skips with a message when Chromium or the corpus is missing; under CI, that fails.
cd "$(dirname "$0")/../.." || exit 2
: "${TLREPORT:=./tlreport}" "${CHROMIUM:=/usr/bin/chromium}"
SHARED=${TLR_SHARED:-../shared}
MAX_PAGES=10
ALWAYS="030-potato-nested-preproc.h5 046-potato-augment-zip-k3.keras 016-shapes-cnn.h5"
pass=0 fail=0
. tests/skip.sh
ok() { pass=$((pass + 1)); echo "ok   [cli/length] $*"; }
bad() { fail=$((fail + 1)); echo "FAIL [cli/length] $*"; }

C=$SHARED/corpus/models I=$SHARED/corpus/images
if [ ! -x "$CHROMIUM" ] || [ ! -d "$C" ]; then
    skip cli/length "Chromium ($CHROMIUM) or the corpus ($C) missing: page count not checked"
    echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-length-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# site MODEL OUT LANG: the report as capture runs it.
site() {
    m=$1 out=$2 lang=$3
    b=$(basename "$m"); stem=${b%.*}
    extra=""
    case $b in
        *.json) [ -f "$C/$stem.h5" ] && extra="--weights $C/$stem.h5" ;;
        *.h5) [ -f "$C/$stem.json" ] && extra="--config $C/$stem.json" ;;
    esac
    [ -f "$C/$stem.labels.txt" ] && extra="$extra --labels $C/$stem.labels.txt"
    ims=$SHARED/images; [ -d "$I/$stem" ] && ims=$I/$stem
    # shellcheck disable=SC2086
    "$TLREPORT" "$m" "$ims" $extra ${EXTRA:-} -o "$out" --lang "$lang" --quiet \
        --date 2026-01-01 >/dev/null 2>&1
}

# pages SITE: prints the page count of SITE/index.html (0 when Chromium made no PDF).
pages() {
    profile=$(mktemp -d "$tmp/profile-XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --no-pdf-header-footer --print-to-pdf="$1.pdf" \
        "file://$(cd "$1" && pwd)/index.html" >/dev/null 2>&1
    rm -rf "$profile"
    [ -f "$1.pdf" ] || { echo 0; return; }
    grep -a -c -E '/Type ?/Page([^s]|$)' "$1.pdf"
}

i=0
for m in "$C"/*; do
    case $m in *.labels.txt) continue;; esac
    i=$((i + 1))
    echo "$m" >"$tmp/es.$i.model"
    site "$m" "$tmp/es.$i" es &
    [ $((i % 2)) -eq 0 ] && wait
done
wait
# largest pages first: index.html without its images is a fair measure of the printed text
longest=$(ls -S "$tmp"/es.*/index.html 2>/dev/null | head -n 6 | sed 's,/index.html$,,')
for a in $ALWAYS; do
    s=$(grep -l "/$a\$" "$tmp"/es.*.model 2>/dev/null | head -n 1 | sed 's,\.model$,,')
    [ -n "$s" ] && ! echo "$longest" | grep -qx "$s" && longest="$longest
$s"
done
for s in $longest; do
    name=$(basename "$(cat "$s.model")")
    [ -f "$s/layers.html" ] && ok "$name: layers.html written" || bad "$name: no layers.html"
done
en=""
for a in $ALWAYS; do
    s=$(grep -l "/$a\$" "$tmp"/es.*.model 2>/dev/null | head -n 1 | sed 's,\.model$,,')
    [ -n "$s" ] || continue
    e=${s%/*}/en.${s##*.}
    cp "$s.model" "$e.model"
    site "$(cat "$s.model")" "$e" en && en="$en $e"
done
# the first of them once more with --embed: the images are data: URIs then, and the print
# rules find them by their data-file attribute
for a in $ALWAYS; do
    s=$(grep -l "/$a\$" "$tmp"/es.*.model 2>/dev/null | head -n 1 | sed 's,\.model$,,')
    [ -n "$s" ] || continue
    e=${s%/*}/embed.${s##*.}
    cp "$s.model" "$e.model"
    EXTRA=--embed site "$(cat "$s.model")" "$e" es && en="$en $e"
    break
done
set -- $longest $en
while [ $# -gt 0 ]; do
    a=$1; b=${2:-}
    pages "$a" >"$a.n" &
    [ -n "$b" ] && pages "$b" >"$b.n" &
    wait
    for s in $a $b; do
        n=$(cat "$s.n") name=$(basename "$(cat "$s.model")")
        if [ "$n" -ge 1 ] && [ "$n" -le $MAX_PAGES ]; then
            ok "$name (${s##*/}): index.html prints to $n pages"
        else
            bad "$name (${s##*/}): index.html prints to $n pages (at most $MAX_PAGES)"
        fi
    done
    shift; [ $# -gt 0 ] && shift
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
