#!/bin/sh
# Runs every test suite and sums their "N passed, N failed" lines into the last line.
# Environment: TLREPORT (binary), UNIT (unit-test binary), BUILD (build dir).
cd "$(dirname "$0")/.." || exit 2
: "${TLREPORT:=./tlreport}" "${UNIT:=build/unit_tests}" "${BUILD:=build}"
export TLREPORT BUILD TLR_TEST_ROOT="$(pwd)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
total_p=0 total_f=0
run_suite() {
    "$@" 2>&1 | tee "$out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL: $* ended without a result line"
        total_f=$((total_f + 1))
        return
    fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
    total_p=$((total_p + p)); total_f=$((total_f + f))
}
run_suite "$UNIT"
for t in tests/cli/*.sh; do
    [ -f "$t" ] && run_suite sh "$t"
done
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
