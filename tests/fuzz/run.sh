#!/bin/sh
# Runs each named fuzz target (built as $FUZZ_DIR/fuzz_<name>) for FUZZ_SECONDS, on a corpus kept
# in $FUZZ_DIR/corpus/<name> plus the seeds from make_seeds.sh.  Crashing inputs land in
# $FUZZ_DIR/artifacts/<name>/.  FUZZ_KEEP_GOING=1 keeps fuzzing past crashes (fork mode), for
# long runs that collect every finding.  Ends with "N passed, N failed" (a failure = a crash).
cd "$(dirname "$0")/../.." || exit 2
: "${FUZZ_DIR:=build-fuzz}" "${FUZZ_SECONDS:=60}" "${FUZZ_KEEP_GOING:=0}"
[ -d "$FUZZ_DIR/seeds" ] || sh tests/fuzz/make_seeds.sh >/dev/null || exit 2
# allocator_may_return_null: libhdf5 asks for absurd sizes a crafted file states and copes with
# NULL; our own code aborts on NULL (tlr_xmalloc), so a missing bound of ours still shows.
ASAN_BASE="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/fuzz/lsan.supp:print_suppressions=0}"
passed=0 failed=0
for name in "$@"; do
    bin="$FUZZ_DIR/fuzz_$name"
    corpus="$FUZZ_DIR/corpus/$name"
    art="$FUZZ_DIR/artifacts/$name"
    mkdir -p "$corpus" "$art"
    extra=""
    case $name in
        keras_config|pipeline|zip) extra="-dict=tests/fuzz/keras.dict" ;;
    esac
    # libhdf5 has no frame pointers: full unwinding lets lsan.supp name its leaking functions
    case $name in
        h5|pipeline|zip) export ASAN_OPTIONS="$ASAN_BASE:fast_unwind_on_malloc=0" ;;
        *) export ASAN_OPTIONS="$ASAN_BASE" ;;
    esac
    [ "$FUZZ_KEEP_GOING" = 1 ] && extra="$extra -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
    log="$FUZZ_DIR/fuzz_$name.log"
    before=$(ls "$art" | wc -l)
    # malloc_limit_mb: any single allocation over 1 GiB counts as a finding (a bound is missing).
    "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=2560 -malloc_limit_mb=1024 \
        -artifact_prefix="$art/" -print_final_stats=1 $extra "$corpus" "$FUZZ_DIR/seeds/$name" \
        >"$log" 2>&1
    rc=$?
    after=$(ls "$art" | wc -l)
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
    [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#') # fork mode
    if [ $rc -ne 0 ] || [ "$after" -gt "$before" ]; then
        echo "FAIL fuzz_$name: exit $rc, $((after - before)) new artifact(s) in $art (log: $log)"
        failed=$((failed + 1))
    else
        echo "ok   fuzz_$name: ${runs:-?} runs in ${FUZZ_SECONDS}s, corpus $(ls "$corpus" | wc -l) files"
        passed=$((passed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
