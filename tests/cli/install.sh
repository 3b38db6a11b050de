#!/bin/sh
# install.sh - `make install PREFIX=... DESTDIR=...` puts the binary, the templates and the man
# page in place, and the installed binary finds its templates from any working directory.
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-install-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/install] $*"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

root=$(pwd)
make -s --no-print-directory install PREFIX=/opt/tlr DESTDIR="$tmp/dest" DEPS_BUILD_ONLY=1 \
    >"$tmp/log" 2>&1
check '[ $? -eq 0 ]' "make install failed: $(tail -3 "$tmp/log")"
p=$tmp/dest/opt/tlr
check '[ -x "$p/bin/tlreport" ]' "no installed binary"
check '[ -f "$p/share/man/man1/tlreport.1" ]' "no man page"
check '[ -f "$p/share/tlreport/templates/es/report.md" ] && [ -f "$p/share/tlreport/templates/page.html" ]' \
    "templates not installed"
# run from elsewhere, with no templates/ beside the working directory
cd "$tmp" || exit 2
"$p/bin/tlreport" "$root/tests/fixtures/numeric/mini_vgg.h5" -o "$tmp/site" --quiet >"$tmp/out" 2>"$tmp/err"
check '[ $? -eq 0 ] && [ -s "$tmp/site/index.html" ]' "installed binary could not write a report: $(cat "$tmp/err")"
check '[ "$("$p/bin/tlreport" --version)" = "$("$root/tlreport" --version)" ]' "installed --version differs"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
