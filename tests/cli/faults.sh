#!/bin/sh
# faults.sh - a fault loses nothing.  Whatever stops a report run (SIGKILL or SIGTERM to the
# command at any moment, a full disk at any file, another run writing the same -o at the same
# time, a run killed so hard that it left its temporary folder behind), afterwards:
#   * the -o directory holds the previous report byte for byte, or (when the run had already
#     swapped its report in) the complete new one, never a mix;
#   * no temporary folder is left beside it and no tlreport process is left running;
#   * a run that failed said so in one line "tlreport: ..." with exit status 1, and a run
#     that was stopped ended by its signal (128 + N).
# Needs pgrep (procps); the full-disk cases need a private tmpfs (unshare -m, as root).  Where
# the machine forbids one, they are skipped with a message, and fail when CI is set.
: "${TLREPORT:=./tlreport}"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlr-faults-XXXXXX") || exit 2
trap 'pkill -KILL -f "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
. tests/skip.sh
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL [cli/faults] $*"; }

if ! command -v pgrep >/dev/null 2>&1; then
    skip cli/faults "pgrep not installed (procps)"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]; exit
fi
BIN=$(cd "$(dirname "$TLREPORT")" && pwd)/$(basename "$TLREPORT")
M=tests/fixtures/models/course_k3.keras

# Sample images: a report over them takes about a second of work, long enough to stop it.
mkdir "$tmp/imgs"
for i in 1 2 3 4 5 6; do cp tests/fixtures/images/rgb_32x32.png "$tmp/imgs/i$i.png"; done
OPTS="--quiet --max-images 6 --features all"

# The previous report, and a reference for the complete new one (another --title).
"$BIN" "$M" "$tmp/imgs" -o "$tmp/old" $OPTS --title old >/dev/null 2>&1 || bad "setup: old site"
"$BIN" "$M" "$tmp/imgs" -o "$tmp/new" $OPTS --title new >/dev/null 2>&1 || bad "setup: new site"

# fresh DIR: DIR becomes a copy of the previous report
fresh() { rm -rf "$1"; mkdir -p "$(dirname "$1")"; cp -a "$tmp/old" "$1"; }

# settled WHAT DIR [new-ok]: DIR is the old report (or, with new-ok, the new one), nothing is
# left beside it, and no tlreport process of this test is running.
settled() {
    what=$1 dir=$2
    n=0
    while pgrep -f "$tmp/" >/dev/null 2>&1 && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
    if pgrep -f "$tmp/" >/dev/null 2>&1; then
        bad "$what: a tlreport process is still running: $(pgrep -a -f "$tmp/" | head -n 2)"
        pkill -KILL -f "$tmp/"
        return 1
    fi
    left=$(ls -A "$(dirname "$dir")" | grep -v "^$(basename "$dir")\$")
    if [ -n "$left" ]; then
        bad "$what: left beside the report: $left"
        return 1
    fi
    if diff -r "$tmp/old" "$dir" >/dev/null 2>&1; then
        return 0
    fi
    if [ -n "${3:-}" ] && diff -r "$tmp/new" "$dir" >/dev/null 2>&1; then
        return 0
    fi
    bad "$what: $dir is neither the previous report nor the complete new one"
    return 1
}

# ---- stop signals to the command at several moments
for sig in KILL TERM; do
    for delay in 0.05 0.5; do
        d=$tmp/sig-$sig-$delay/site
        fresh "$d"
        "$BIN" "$M" "$tmp/imgs" -o "$d" $OPTS --title new >/dev/null 2>"$tmp/err" &
        pid=$!
        sleep "$delay"
        kill -"$sig" "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rc=$?
        case $sig in KILL) want=137 ;; TERM) want=143 ;; esac
        if [ "$rc" -ne "$want" ] && [ "$rc" -ne 0 ]; then
            bad "SIG$sig after ${delay}s: exit $rc, want $want: $(head -c 200 "$tmp/err")"
        fi
        settled "SIG$sig after ${delay}s" "$d" new-ok && ok
    done
done

# ---- stop signals while the site is being written: as soon as the temporary folder exists
for sig in KILL TERM; do
    for try in 1 2; do
        d=$tmp/write-$sig-$try/site
        fresh "$d"
        "$BIN" "$M" "$tmp/imgs" -o "$d" $OPTS --title new >/dev/null 2>"$tmp/err" &
        pid=$!
        n=0
        while ! ls -A "$(dirname "$d")" | grep -q '^\.site\.tmp-' && [ $n -lt 2000 ] &&
            kill -0 "$pid" 2>/dev/null; do
            n=$((n + 1))
        done
        kill -"$sig" "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        settled "SIG$sig while writing (try $try)" "$d" new-ok && ok
    done
done

# ---- a full disk at several points of the write (a private tmpfs just big enough for the
# previous report plus N more bytes)
if ! unshare -m sh -c "mount -t tmpfs -o size=1m tmpfs '$tmp/imgs' 2>/dev/null" 2>/dev/null; then
    skip cli/faults "cannot mount a private tmpfs here (unshare -m as root): full-disk cases not run"
else
    old_kb=$(du -sk "$tmp/old" | cut -f1)
    for extra in 8 96 320; do
        size=$((old_kb + extra + 16))
        mnt=$tmp/disk-$extra
        mkdir -p "$mnt"
        unshare -m sh -c "
            mount -t tmpfs -o size=${size}k tmpfs '$mnt' || exit 99
            cp -a '$tmp/old' '$mnt/site' || exit 98
            '$BIN' '$M' '$tmp/imgs' -o '$mnt/site' $OPTS --title new >/dev/null 2>'$tmp/err'
            echo \$? >'$tmp/rc'
            ls -A '$mnt' >'$tmp/left'
            diff -r '$tmp/old' '$mnt/site' >/dev/null 2>&1 && echo old >'$tmp/state' ||
                { diff -r '$tmp/new' '$mnt/site' >/dev/null 2>&1 && echo new >'$tmp/state' ||
                  echo mixed >'$tmp/state'; }
        "
        rc=$(cat "$tmp/rc" 2>/dev/null)
        state=$(cat "$tmp/state" 2>/dev/null)
        left=$(grep -v '^site$' "$tmp/left" 2>/dev/null)
        if [ "$rc" = 1 ] && [ "$state" = old ] && [ -z "$left" ] &&
            [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^tlreport: ' "$tmp/err"; then
            ok
        elif [ "$rc" = 0 ] && [ "$state" = new ] && [ -z "$left" ]; then
            ok # the disk was big enough after all
        else
            bad "full disk (+${extra} KB): exit ${rc:-?}, site ${state:-?}, left: ${left:-none}, stderr: $(head -c 300 "$tmp/err")"
        fi
        rm -f "$tmp/rc" "$tmp/state" "$tmp/left"
    done
fi

# ---- three runs writing the same -o at once: one complete report, nothing left over
d=$tmp/concurrent/site
fresh "$d"
for i in 1 2 3; do
    "$BIN" "$M" "$tmp/imgs" -o "$d" $OPTS --title new >/dev/null 2>"$tmp/err$i" &
done
wait
settled "three concurrent runs" "$d" new-ok && ok
diff -r "$tmp/new" "$d" >/dev/null 2>&1 && ok || bad "three concurrent runs: the site is not the new report"

# ---- a temporary folder left by a run killed harder than any signal (power loss) is cleaned
# up by the next run into the same -o, and never taken for the report
d=$tmp/stale/site
fresh "$d"
mkdir -p "$tmp/stale/.site.tmp-AbC123/img"
cp -a "$tmp/old/." "$tmp/stale/.site.tmp-AbC123/"
mkdir -p "$tmp/stale/.site.tmp-XyZ789"
"$BIN" "$M" "$tmp/imgs" -o "$d" $OPTS --title new >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 0 ] && diff -r "$tmp/new" "$d" >/dev/null 2>&1 &&
    [ -z "$(ls -A "$tmp/stale" | grep -v '^site$')" ]; then
    ok
else
    bad "stale temporary folders: exit $rc, left: $(ls -A "$tmp/stale" | tr '\n' ' ')"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
