#!/bin/sh
# docs.sh - the README lists every option of `tlreport --help` verbatim, and the man page
# documents every long option.
: "${TLREPORT:=./tlreport}"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-docs-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
"$TLREPORT" --help >"$tmp/help"
sed -n '/^usage: tlreport/,/^Exit status/p' README.md >"$tmp/readme"
if cmp -s "$tmp/help" "$tmp/readme"; then
    pass=$((pass + 1))
else
    fail=$((fail + 1))
    echo "FAIL [cli/docs] README's option list differs from tlreport --help:"
    diff "$tmp/readme" "$tmp/help" | head -20
fi
for opt in $(grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u); do
    if grep -q -- "$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" src/app/tlreport.1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL [cli/docs] man page does not mention $opt"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
