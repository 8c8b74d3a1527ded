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
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=${INTEROP_WORK:-$ROOT/tests/interop/work}
Q10=${QEMU10:-$W/qemu10/qemu-system-x86_64}
X=$(mktemp -d)
qload() { # FILE MAPPED_RAM(true|false) -> ms from migrate-incoming until completed, in a fresh QEMU 10.0
    rm -f "$X/d.qmp"
    "$Q10" -accel tcg -machine pc-q35-10.0 -smp 1 -m 512 -display none -nic none -no-reboot -monitor none -S \
        -kernel "$W/guest/vmlinuz" -initrd "$W/guest/initramfs.cpio.gz" -qmp "unix:$X/d.qmp,server=on,wait=off" \
        -incoming defer > "$X/qload.log" 2>&1 &
    local d=$!
    for _ in $(seq 1 500); do [ -S "$X/d.qmp" ] && break; sleep 0.02; done
    sleep "${IDLE:-0}"
    timeout 120 python3 - "$X/d.qmp" "$1" "$2" "$ROOT/tests/interop" <<'PY' || echo failed
import sys, time
sys.path.insert(0, sys.argv[4]); from qmp import Qmp
q = Qmp(sys.argv[1])
q.cmd("migrate-set-capabilities", capabilities=[{"capability": "mapped-ram", "state": sys.argv[3] == "true"}])
t0 = time.monotonic(); q.cmd("migrate-incoming", uri="file:" + sys.argv[2])
while True:
    st = q.cmd("query-migrate").get("status")
    if st == "completed": break
    if st in ("failed", "cancelled"): sys.exit("QEMU load " + st)
    time.sleep(0.005)
print(round((time.monotonic() - t0) * 1000))
PY
    kill $d; wait $d 2>/dev/null
}
for r in $(seq 1 "$ROUNDS"); do
  if [ "${QEMU_LOAD:-0}" = 1 ]; then
    echo "$r qemu stream $(qload "$D/stream.bin" false) load $(cut -d' ' -f1 /proc/loadavg)"
    echo "$r qemu mapped-ram $(qload "$D/mapped-ram.bin" true) load $(cut -d' ' -f1 /proc/loadavg)"
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
      t0=$(date +%s%N)
      out=$(/usr/bin/time -f "%U %S %R" $cli $args 2>&1)
      t1=$(date +%s%N)
      rec=$(echo "$out" | grep -o "in [0-9]* ms" | head -1)
      echo "$r $b $w $(((t1 - t0) / 1000000)) [$rec] cpu/minflt: $(echo "$out" | tail -1) load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
rm -rf "$X"
