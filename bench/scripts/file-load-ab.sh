#!/bin/bash
# file-load-ab.sh: `engine incoming --from file:` and `engine extract` of QEMU 10.0's single stream and of its mapped-ram
# file, two builds alternating per round, whole processes. Usage:
#   bench/scripts/file-load-ab.sh ROUNDS BEFORE_DIR AFTER_DIR [WORK_DIR]
# BEFORE_DIR and AFTER_DIR hold engine.dll (copies of two Release builds, run with `dotnet`) or, without engine.dll, the
# executable `engine` (a Native AOT publish); WORK_DIR defaults to
# tests/interop/work/extract-mapped-ram (stream.bin and mapped-ram.bin, from bench/scripts/extract-mapped-ram.sh).
# WORKS= the runs of each build per round, in order (default "inc-stream ext-stream inc-mr ext-mr"; extract's output
# directory is removed before each extract, outside its time).
# Prints one line per run: round build work wall_ms [received-time] cpu/minflt: user sys minor-faults load <1-min load>.
# With QEMU_LOAD=1 each round first times QEMU 10.0 (QEMU10=, default tests/interop/work/qemu10/qemu-system-x86_64) loading
# each file, as bench/scripts/extract-mapped-ram.sh does (a fresh `-S -incoming defer` QEMU on pc-q35-10.0 with 512 MiB,
# from `migrate-incoming file:` until query-migrate says completed; its start-up not counted): lines "round qemu work ms".
# IDLE=SECONDS waits that long before each run (QEMU: after its start-up, before migrate-incoming), so the memory freed by
# the run before is no longer at hand: on a VM with free page reporting (the measured machine) the kernel has returned it
# to the host by then, and fresh 2 MiB pages fault on the host while they are zeroed ("cold"; without IDLE, "warm").
set -uo pipefail
ROUNDS=$1; BEFORE=$2; AFTER=$3; D=${4:-tests/interop/work/extract-mapped-ram}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
X=$(mktemp -d)
for r in $(seq 1 "$ROUNDS"); do
  if [ "${QEMU_LOAD:-0}" = 1 ]; then
    echo "$r qemu stream $(q10_load "$D/stream.bin" false "$X") load $(cut -d' ' -f1 /proc/loadavg)"
    echo "$r qemu mapped-ram $(q10_load "$D/mapped-ram.bin" true "$X") load $(cut -d' ' -f1 /proc/loadavg)"
  fi
  for b in before after; do
    dir=$BEFORE; [ "$b" = after ] && dir=$AFTER
    cli="dotnet $dir/engine.dll"; [ -f "$dir/engine.dll" ] || cli=$dir/engine
    for w in ${WORKS:-inc-stream ext-stream inc-mr ext-mr}; do
      case $w in
        inc-stream) args="incoming --from file:$D/stream.bin";;
        ext-stream) rm -rf "$X/x"; args="extract $D/stream.bin -o $X/x";;
        inc-mr) args="incoming --from file:$D/mapped-ram.bin";;
        ext-mr) rm -rf "$X/x"; args="extract $D/mapped-ram.bin -o $X/x";;
      esac
      sleep "${IDLE:-0}"
      t0=$(now_ns)
      out=$(/usr/bin/time -f "%U %S %R" $cli $args 2>&1)
      wall=$(ms_since "$t0")
      rec=$(echo "$out" | grep -o "in [0-9]* ms" | head -1)
      echo "$r $b $w $wall [$rec] cpu/minflt: $(echo "$out" | tail -1) load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
rm -rf "$X"
