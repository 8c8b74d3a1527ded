#!/bin/bash
# extract-mapped-ram.sh: `engine extract` of a mapped-ram file QEMU 10.0 wrote against `engine extract` of the same RAM in
# a single-stream file (docs/PERFORMANCE.md, "extract: mapped-ram against a single stream"). Boots the interop test guest
# (the full guest, not guest.quick) under QEMU 10.0 on MACHINE with MEM MiB, stops it, and writes the stopped RAM twice:
# `migrate file:` with the mapped-ram capability, and `migrate file:` without it (one stream, as QEMU 10 writes it by
# default: pages raw, zero pages as ZERO records). Then extracts each REPEAT times, alternating, and prints the wall time
# of each run and the medians; both extracts must give the same pc.ram image (checked once, cmp).
# With QEMU_LOAD=1 each round also times a fresh QEMU 10.0 (`-S -incoming defer`, same machine and memory) loading each
# file with `migrate-incoming file:` (mapped-ram capability on for the mapped-ram file), from the command until
# query-migrate says "completed" (polled every 5 ms; QEMU's own start-up not counted; Engine's figure is the whole
# process, start-up included): issue 18's "the destination of QEMU's streams" row.
#   bench/scripts/extract-mapped-ram.sh            MACHINE=pc-q35-10.0 MEM=512 REPEAT=3 QEMU_LOAD=0
# REUSE=1 keeps the two files of an earlier run (when both are there) instead of booting the guest and writing them again.
# Needs tests/interop/work (the guest) and QEMU 10 unpacked by tests/interop/qemu10.sh; ENGINE= the CLI to time.
set -u
REPEAT=${REPEAT:-3}; MACHINE=${MACHINE:-pc-q35-10.0}; MEM=${MEM:-512}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ENGINE=${ENGINE:-"dotnet $ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll"}
B=$W/extract-mapped-ram
if [ "${REUSE:-0}" != 1 ] || [ ! -s "$B/stream.bin" ] || [ ! -s "$B/mapped-ram.bin" ]; then
rm -rf "$B"; mkdir -p "$B"
"$Q10" -accel tcg -machine "$MACHINE" -smp 1 -m "$MEM" -display none -nic none -no-reboot -monitor none \
    -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" -append "console=ttyS0 panic=-1 quiet no_timer_check" \
    -serial "file:$B/console" -qmp "unix:$B/q.qmp,server=on,wait=off" > "$B/qemu.log" 2>&1 &
P=$!
trap 'kill $P 2>/dev/null; wait $P 2>/dev/null' EXIT
for _ in $(seq 1 1500); do grep -q '^tick 2\b' "$B/console" 2>/dev/null && break; sleep 0.2; done
grep -q '^tick 2\b' "$B/console" || { echo "the guest did not boot"; exit 1; }
Q="timeout 60 $QMP $B/q.qmp"
$Q stop >/dev/null
$Q migrate-set-parameters '{"max-bandwidth":10737418240}' >/dev/null
save() { # FILE MAPPED_RAM(true|false)
    $Q migrate-set-capabilities "{\"capabilities\":[{\"capability\":\"mapped-ram\",\"state\":$2}]}" >/dev/null
    $Q migrate "{\"uri\":\"file:$1\"}" >/dev/null
    echo "$(basename "$1"): $(timeout 300 $QMP "$B/q.qmp" wait-migrate 290), $(stat -c %s "$1") bytes"
    $Q cont >/dev/null; $Q stop >/dev/null
}
save "$B/mapped-ram.bin" true
save "$B/stream.bin" false
kill $P; wait $P 2>/dev/null; trap - EXIT
fi
echo "$("$Q10" --version | head -1), $MACHINE, $MEM MiB; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
run() { # FILE -> wall ms of engine extract FILE
    rm -rf "$B/out"
    local s; s=$(now_ns)
    $ENGINE extract "$1" --out "$B/out" > "$B/extract.log" 2>&1 || { echo "extract failed: $(tail -1 "$B/extract.log")" >&2; exit 1; }
    ms_since "$s"
}
MR=(); ST=(); QMR=(); QST=()
for r in $(seq 1 "$REPEAT"); do
    if [ "${QEMU_LOAD:-0}" = 1 ]; then
        qm=$(q10_load "$B/mapped-ram.bin" true "$B" "$MACHINE" "$MEM"); QMR+=("$qm")
        qs=$(q10_load "$B/stream.bin" false "$B" "$MACHINE" "$MEM"); QST+=("$qs")
        echo "run $r: QEMU 10.0 loads mapped-ram $qm ms, single stream $qs ms"
    fi
    m=$(run "$B/mapped-ram.bin"); [ "$r" = 1 ] && cp "$B/out/pc.ram.raw" "$B/mr.raw"; MR+=("$m")
    s=$(run "$B/stream.bin"); [ "$r" = 1 ] && { cmp -s "$B/out/pc.ram.raw" "$B/mr.raw" && echo "pc.ram: the two extracts are equal" || echo "pc.ram: the two extracts DIFFER"; }
    ST+=("$s")
    echo "run $r: mapped-ram $m ms, single stream $s ms (load average $(cut -d' ' -f1 /proc/loadavg))"
done
echo "median of $REPEAT: mapped-ram $(median "${MR[@]}") ms, single stream $(median "${ST[@]}") ms"
[ "${QEMU_LOAD:-0}" = 1 ] && echo "median of $REPEAT, QEMU 10.0 loading: mapped-ram $(median "${QMR[@]}") ms, single stream $(median "${QST[@]}") ms"
rm -rf "$B/out" "$B/mr.raw"
