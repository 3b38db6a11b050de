#!/bin/sh
# signals.sh - tlreport works in a child process (main.c).  A stop request to the command
# (SIGTERM from a CI timeout, SIGINT, SIGHUP) must stop that child too and end the command by
# the same signal; a child killed outright (SIGKILL, the kernel's out-of-memory killer) is
# reported in one line that does not blame the file.
# Run from the repository root (tests/run.sh does); TLREPORT names the binary.
: "${TLREPORT:=./tlreport}"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-signals-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/skip.sh
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/signals] $*"; }

if ! command -v pgrep >/dev/null 2>&1; then
    skip cli/signals "pgrep not installed (procps)"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]; exit
fi

# 60 small images: a few seconds of --predict work, long enough to interrupt
mkdir "$tmp/imgs"
i=0
while [ $i -lt 60 ]; do
    cp tests/fixtures/images/rgb_32x32.png "$tmp/imgs/i$i.png"
    i=$((i + 1))
done
M=tests/fixtures/models/course_k3.keras

# start: runs tlreport in the background, waits until its worker child exists
start() {
    "$TLREPORT" "$M" --predict "$tmp/imgs" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    n=0
    child=
    while [ -z "$child" ] && [ $n -lt 50 ]; do
        sleep 0.1
        child=$(pgrep -P "$pid" | head -n 1)
        n=$((n + 1))
    done
}

leftover() {
    sleep 0.3
    kill -0 "$child" 2>/dev/null
}

# (SIGINT is left out: a script's background job starts with it ignored, and tlreport keeps
# an ignored signal ignored)
for sig in TERM HUP; do
    start
    if [ -z "$child" ]; then
        bad "SIG$sig: no worker process appeared"
        wait "$pid"
        continue
    fi
    kill -"$sig" "$pid"
    wait "$pid" 2>/dev/null
    rc=$?
    case $sig in TERM) want=143 ;; HUP) want=129 ;; esac
    if [ "$rc" -eq "$want" ] && ! leftover && [ ! -s "$tmp/err" ]; then
        ok
    else
        bad "SIG$sig to tlreport: exit $rc (want $want), worker left running: $(leftover && echo yes || echo no), stderr: $(head -c 200 "$tmp/err")"
        kill -9 "$child" 2>/dev/null
    fi
done

start
if [ -n "$child" ]; then
    kill -KILL "$child"
    wait "$pid" 2>/dev/null
    rc=$?
    if [ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
        grep -q "^tlreport: $M: the work was killed (signal 9" "$tmp/err" &&
        ! grep -q "crafted" "$tmp/err"; then
        ok
    else
        bad "SIGKILL to the worker: exit $rc, stderr: $(head -c 300 "$tmp/err")"
    fi
else
    bad "SIGKILL: no worker process appeared"
    wait "$pid" 2>/dev/null
fi

# a reader that went away (tlreport ... | head): ended by SIGPIPE, quietly, not reported as a
# crafted file
{ sleep 0.3; "$TLREPORT" "$M" --storage --json 2>"$tmp/err"; echo $? >"$tmp/rc"; } | true
rc=$(cat "$tmp/rc")
if [ "$rc" -eq 141 ] && [ ! -s "$tmp/err" ]; then
    ok
else
    bad "closed stdout: exit $rc (want 141), stderr: $(head -c 300 "$tmp/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
