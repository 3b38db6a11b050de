# skip.sh - sourced by the shell suites.  skip SUITE WHY: a visible skip on a developer's
# machine; under CI (CI set), where every tool and ../shared are present, a failure instead.
skip() {
    if [ -n "${CI:-}" ]; then
        echo "FAIL [$1] $2 (CI is set: this must not be skipped)"
        fail=$((fail + 1))
    else
        echo "SKIP [$1] $2"
    fi
}
