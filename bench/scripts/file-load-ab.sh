#!/bin/bash
# file-load-ab.sh: `engine incoming --from file:` and `engine extract` of QEMU 10.0's single stream, and `incoming` of its
# mapped-ram file, two builds alternating per round, whole processes. Usage:
#   bench/scripts/file-load-ab.sh ROUNDS BEFORE_DIR AFTER_DIR [WORK_DIR]
# BEFORE_DIR and AFTER_DIR hold engine.dll (copies of two Release builds); WORK_DIR defaults to
# tests/interop/work/extract-mapped-ram (stream.bin and mapped-ram.bin, from bench/scripts/extract-mapped-ram.sh).
# Prints one line per run: round build work wall_ms [received-time] cpu/minflt: user sys minor-faults load <1-min load>.
set -uo pipefail
ROUNDS=$1; BEFORE=$2; AFTER=$3; D=${4:-tests/interop/work/extract-mapped-ram}
X=$(mktemp -d)
for r in $(seq 1 "$ROUNDS"); do
  for b in before after; do
    dir=$BEFORE; [ "$b" = after ] && dir=$AFTER
    for w in inc-stream ext-stream inc-mr; do
      case $w in
        inc-stream) args="incoming --from file:$D/stream.bin";;
        ext-stream) rm -rf "$X/x"; args="extract $D/stream.bin -o $X/x";;
        inc-mr) args="incoming --from file:$D/mapped-ram.bin";;
      esac
      t0=$(date +%s%N)
      out=$(/usr/bin/time -f "%U %S %R" dotnet "$dir/engine.dll" $args 2>&1)
      t1=$(date +%s%N)
      rec=$(echo "$out" | grep -o "in [0-9]* ms" | head -1)
      echo "$r $b $w $(((t1 - t0) / 1000000)) [$rec] cpu/minflt: $(echo "$out" | tail -1) load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
rm -rf "$X"
