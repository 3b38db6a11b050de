#!/bin/sh
# layers.sh - includes run one way, downwards, through the stages of src/:
#   app -> report -> input -> engine -> keras -> io -> base
# A file may include its own stage and any stage below it, never one above.  Each outside
# library is included by exactly one file of src/.
pass=0 fail=0
rank() {
    case $1 in
        base) echo 0 ;; io) echo 1 ;; keras) echo 2 ;; engine) echo 3 ;;
        input) echo 4 ;; report) echo 5 ;; app) echo 6 ;; *) echo 99 ;;
    esac
}
for f in src/*/*.c src/*/*.h; do
    stage=${f#src/}; stage=${stage%%/*}
    me=$(rank "$stage")
    if [ "$me" = 99 ]; then
        fail=$((fail + 1)); echo "FAIL [cli/layers] $f is in no known stage"; continue
    fi
    bad=""
    for inc in $(sed -n 's/^#include "\([a-z_]*\)\/[a-z_0-9]*\.h".*/\1/p' "$f" | sort -u); do
        [ "$(rank "$inc")" -gt "$me" ] && bad="$bad $inc"
    done
    if grep -q '^#include "[^/]*"' "$f"; then bad="$bad (an include without its stage folder)"; fi
    if [ -n "$bad" ]; then
        fail=$((fail + 1)); echo "FAIL [cli/layers] $f ($stage) includes upward:$bad"
    else
        pass=$((pass + 1))
    fi
done
for lib in hdf5.h cjson/cJSON.h zip.h png.h turbojpeg.h cmark-gfm.h; do
    n=$(grep -l "^#include <$lib>" src/*/*.c src/*/*.h | wc -l)
    if [ "$n" -eq 1 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL [cli/layers] <$lib> is included by $n files of src/ (want 1):"
        grep -l "^#include <$lib>" src/*/*.c src/*/*.h
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
