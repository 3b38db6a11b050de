#!/bin/sh
# browser.sh - opens the example report in headless Chromium and checks that it renders.
#
# The sites come from the unit suite (tests/unit/test_report.c writes the course-model example
# into tests/out/browser-site/ and, with --embed, tests/out/browser-site-embed/); when they are
# missing this script runs that suite first.  Two kinds of checks:
#   * Chromium's own command line: --dump-dom (the page parses: tables, images, no script),
#     --screenshot and --print-to-pdf (it renders and prints);
#   * the DevTools protocol through tests/cli/browser_check.js (Node 20 with
#     --experimental-websocket): console errors, requests leaving the page, every <img>
#     decoded, phone width, print styles, a PDF.  Skipped with a visible line when node or its
#     WebSocket is missing.
# The DevTools checks also run on a corpus model's long report (tests/out/browser-site-wide/):
# tables and code blocks stay inside a 375 px screen (wide tables scroll in their box) and
# inside the A4 text width in print (they wrap, never cut).
# Screenshots and PDFs are saved under tests/out/.  Ends with "N passed, N failed"; prints a
# SKIP line (and 0 passed, 0 failed) when Chromium is not installed.
cd "$(dirname "$0")/../.." || exit 2
: "${UNIT:=build/unit_tests}" "${CHROMIUM:=/usr/bin/chromium}"
pass=0 fail=0
out=tests/out
site=$out/browser-site
embed=$out/browser-site-embed

. tests/skip.sh
ok() { pass=$((pass + 1)); echo "ok   [cli/browser] $*"; }
bad() { fail=$((fail + 1)); echo "FAIL [cli/browser] $*"; }

if [ ! -x "$CHROMIUM" ]; then
    skip cli/browser "$CHROMIUM not found (apt-get install chromium); browser checks not run"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]; exit
fi

if [ ! -f "$site/index.html" ] || [ ! -f "$embed/index.html" ]; then
    if [ -x "$UNIT" ]; then
        TLR_TEST_ROOT=$(pwd) "$UNIT" report >/dev/null 2>&1
    fi
fi
for s in "$site" "$embed"; do
    if [ ! -f "$s/index.html" ]; then
        bad "$s/index.html missing (the unit suite 'report' writes it)"
        echo "$pass passed, $fail failed"
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-browser-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# chrome ARGS...: one headless Chromium run with a fresh profile; stderr kept in $tmp/err.
chrome() {
    profile=$(mktemp -d "$tmp/profile-XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --hide-scrollbars "$@" 2>"$tmp/err"
}

abs() { printf 'file://%s/%s' "$(pwd)" "$1"; }

# 1. The DOM as Chromium parsed it.
for s in "$site" "$embed"; do
    chrome --dump-dom "$(abs "$s/index.html")" >"$tmp/dom.html"
    if ! grep -q '<table>' "$tmp/dom.html"; then
        bad "$s: --dump-dom shows no <table>"
    elif grep -qi '<script' "$tmp/dom.html"; then
        bad "$s: the DOM contains a <script> element"
    elif [ "$(grep -o '<img ' "$tmp/dom.html" | wc -l)" -lt 5 ]; then
        bad "$s: fewer than 5 images in the DOM"
    else
        ok "$s: DOM parsed (tables, images, no script)"
    fi
done
if grep -q 'src="img/' "$tmp/dom.html"; then
    bad "$embed: the embedded page still points into img/"
else
    ok "$embed: no img/ references"
fi

# 2. Screenshot and PDF from the command line.
rm -f "$out/browser-cli.png" "$out/browser-cli.pdf"
chrome --window-size=1000,2400 --screenshot="$(pwd)/$out/browser-cli.png" "$(abs "$site/index.html")" >/dev/null
if [ -s "$out/browser-cli.png" ] && [ "$(head -c 4 "$out/browser-cli.png" | od -An -c | tr -d ' ')" = "211PNG" ]; then
    ok "screenshot written ($out/browser-cli.png)"
else
    bad "no screenshot: $(tail -n 3 "$tmp/err")"
fi
chrome --no-pdf-header-footer --print-to-pdf="$(pwd)/$out/browser-cli.pdf" "$(abs "$site/index.html")" >/dev/null
if [ "$(head -c 5 "$out/browser-cli.pdf" 2>/dev/null)" = "%PDF-" ]; then
    ok "print to PDF works ($out/browser-cli.pdf, $(wc -c <"$out/browser-cli.pdf") bytes)"
else
    bad "no PDF: $(tail -n 3 "$tmp/err")"
fi

# 3. The DevTools-protocol checks.
if ! command -v node >/dev/null 2>&1; then
    skip cli/browser "node not found: console, image and print-style checks not run"
elif ! node --experimental-websocket -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null; then
    skip cli/browser "node has no WebSocket client: console, image and print-style checks not run"
else
    # A real model with a long report (a Teachable Machine MobileNetV2, nested Sequentials):
    # its wide tables must fit a phone and the A4 page too.
    wide=$out/browser-site-wide
    tm=${TLR_SHARED:-../shared}/corpus
    sites="$site $embed"
    if [ -f "$tm/models/025-tm-gesture.h5" ]; then
        rm -rf "$wide"
        if "${TLREPORT:-./tlreport}" "$tm/models/025-tm-gesture.h5" "$tm/images/025-tm-gesture" \
                --labels "$tm/models/025-tm-gesture.labels.txt" -o "$wide" --quiet \
                --date 2026-01-01 >/dev/null 2>"$tmp/err"; then
            sites="$sites $wide"
        else
            bad "report of 025-tm-gesture.h5 failed: $(tail -n 2 "$tmp/err")"
        fi
    else
        skip cli/browser "$tm not found: the wide-table checks on a corpus model not run"
    fi
    for s in $sites; do
        mode=files
        [ "$s" = "$embed" ] && mode=embed
        [ "$s" = "$wide" ] && mode=wide
        node --experimental-websocket tests/cli/browser_check.js "$CHROMIUM" "$s/index.html" \
            "$out/browser-$mode" "$mode" >"$tmp/cdp.txt" 2>"$tmp/cdp.err"
        rc=$?
        while IFS= read -r line; do
            case $line in
                PASS\ *) ok "$s: ${line#PASS }" ;;
                FAIL\ *) bad "$s: ${line#FAIL }" ;;
                SKIP\ *) skip cli/browser "${line#SKIP }" ;;
            esac
        done <"$tmp/cdp.txt"
        if [ "$rc" -ne 0 ] && ! grep -q '^FAIL' "$tmp/cdp.txt"; then
            bad "$s: browser_check.js exited with $rc: $(tail -n 3 "$tmp/cdp.err")"
        fi
    done
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
