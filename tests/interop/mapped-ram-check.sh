#!/bin/bash
# mapped-ram-check.sh: QEMU 10.0's mapped-ram files (migrate file:PATH with the mapped-ram capability, the format of
# libvirt's virsh save), without and with multifd (2 channels), read by engine inspect and engine extract; each
# extracted pc.ram must equal the source's pmemsave (outside 0xa0000-0x100000). A single-stream file of the same guest
# (migrate file: without mapped-ram) is extracted too, and a mapped-ram file written at file:PATH,offset=N (as libvirt
# does after its own header) is read with --offset N, for the time of one against the other. Then engine incoming
# --from file: loads the mapped-ram file (--save-images equal to pmemsave), and its --save-stream (no compression) is an
# ordinary stream that a fresh QEMU 10 loads (RAM equal to the source's pmemsave) and runs on (the guest ticks on).
# Engine WRITES mapped-ram too: engine incoming --from file:(the single-stream file) --save-stream F --format mapped-ram,
# and engine transcode --format mapped-ram of QEMU's mapped-ram file (and of its offset=65536 file, with --offset 65536);
# a fresh QEMU 10 (-S -incoming defer, migrate-set-capabilities mapped-ram on, migrate-incoming file:F[,offset=N])
# restores each, once more with multifd on (2 channels: QEMU's parallel load of the same file); its RAM must equal the
# source's pmemsave and the guest must tick on after cont.
# Observed (main+mapwrite, 2026-12-07, QEMU 10.0.2, pc-q35-10.0, 512 MiB guest, 2 shared cores): every check PASS;
# engine incoming --save-stream --format mapped-ram of the 241 MB single stream: 1.8 s wall alone, 6.5 s beside other
# builds (load + write, .NET start included), 562 MB file with 240 MB allocated (zero pages are holes); QEMU 10's
# migrate-incoming of Engine's file 1.2-2.0 s, with multifd 3.2-3.4 s; of Engine's transcode of QEMU's mapped-ram file
# 1.4-2.3 s; Engine's file at file:PATH,offset=65536 (transcode --offset 65536) restores too, in 1.3 s.
# Prints PASS / FAIL / SKIPPED (reason) per check; exits 1 if any check failed, else 0.
#
# Env: QEMU10      QEMU 10's wrapper (default /work/qemu10/qemu-system-x86_64; ../shared/qemu/qemu10.sh DIR makes one)
#      MACHINE     machine type (default pc-q35-10.0)
#      QEMU10_EXTRA more QEMU arguments, e.g. "-global migration.send-switchover-start=off" for an Engine whose reader
#                  does not know QEMU 10's command 11 (SWITCHOVER_START, written before RAM's END on 10.0 machine types)
#      ENGINE      the engine command (default: the built engine.dll if present, else dotnet run --project src/Engine.Cli)
#      INTEROP_WORK (default tests/interop/work), INTEROP_MEM_MIB (default 512), INTEROP_TIME_LIMIT (default 900 s)
# Every wait is bounded; only the QEMU this script started is stopped, by its PID.
set -uo pipefail
if [ -z "${_INTEROP_TIMED:-}" ]; then
    exec timeout -k 10 "${INTEROP_TIME_LIMIT:-900}" env _INTEROP_TIMED=1 "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
trap stop_all_started EXIT
QEMU10=${QEMU10:-/work/qemu10/qemu-system-x86_64}
MACHINE=${MACHINE:-pc-q35-10.0}
if [ -z "${ENGINE:-}" ]; then
    if [ -f "$ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll" ]; then
        ENGINE="dotnet $ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll"
    else
        ENGINE="dotnet run --project $ROOT/src/Engine.Cli -c Release --"
    fi
fi
OUT=$WORK/mapped-ram
declare -A RESULT
CHECKS="mapped-ram mapped-ram+multifd mapped-ram-offset single-stream incoming restore engine-mapped-ram engine-mapped-ram+multifd transcode-mapped-ram engine-mapped-ram-offset"

report() {
    local status=0 n
    echo "== mapped-ram results ($MACHINE)"
    for n in $CHECKS; do
        echo "$n: ${RESULT[$n]:-SKIPPED (not reached)}"
        case "${RESULT[$n]:-}" in FAIL*) status=1 ;; esac
    done
    exit $status
}

skip_all() {
    local n
    for n in $CHECKS; do RESULT[$n]="SKIPPED ($1)"; done
    report
}

[ -x "$QEMU10" ] || skip_all "no QEMU 10 at $QEMU10 (../shared/qemu/qemu10.sh DIR unpacks one)"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is missing"
"$HERE/make-guest.sh" "$WORK" >/dev/null || skip_all "the test guest could not be built"
mkdir -p "$OUT"
rm -f "$OUT"/*.ram "$OUT"/*.bin "$OUT"/*.pmem

# The source: QEMU 10 on its current machine type; the guest fills its RAM, then is frozen for every save.
rm -f "$WORK/mr-src.qmp" "$WORK/mr-src.console"
# start_qemu10 NAME ARGS...: QEMU 10 with the test guest, QMP at $WORK/NAME.qmp, console $WORK/NAME.console; sets LAST_PID.
start_qemu10() {
    local name=$1; shift
    rm -f "$WORK/$name.qmp" "$WORK/$name.console"
    # shellcheck disable=SC2086
    $QEMU10 ${QEMU10_EXTRA:-} -accel tcg -machine "$MACHINE" -smp 1 -m "$MEM_MIB" -display none -nic none -no-reboot -monitor none \
        -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" -append 'console=ttyS0 panic=-1' \
        -serial "file:$WORK/$name.console" -qmp "unix:$WORK/$name.qmp,server=on,wait=off" "$@" > "$WORK/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# shellcheck disable=SC2086
$QEMU10 ${QEMU10_EXTRA:-} -accel tcg -machine "$MACHINE" -smp 1 -m "$MEM_MIB" -display none -nic none -no-reboot -monitor none \
    -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.cpio.gz" -append 'console=ttyS0 panic=-1' \
    -serial "file:$WORK/mr-src.console" -qmp "unix:$WORK/mr-src.qmp,server=on,wait=off" > "$WORK/mr-src.log" 2>&1 &
SRC_PID=$!
STARTED_PIDS+=("$SRC_PID")
wait_console "$WORK/mr-src.console" GUEST-READY 180 || skip_all "the QEMU 10 guest did not print GUEST-READY (see $WORK/mr-src.log)"
Q() { timeout 120 $QMP "$WORK/mr-src.qmp" "$@"; }
Q migrate-set-parameters '{"max-bandwidth":10737418240}' >/dev/null

# save NAME CAPS-JSON PARAMS-JSON URI-FILE: stop the guest, set the capabilities, migrate to the file, pmemsave.
save() {
    local name=$1 caps=$2 params=$3 file=$4 st
    Q cont >/dev/null 2>&1; sleep 1; Q stop >/dev/null
    Q migrate-set-capabilities "{\"capabilities\":$caps}" >/dev/null || return 1
    [ "$params" = "{}" ] || Q migrate-set-parameters "$params" >/dev/null || return 1
    Q migrate "{\"uri\":\"file:$file\"}" >/dev/null || return 1
    st=$(timeout 600 $QMP "$WORK/mr-src.qmp" wait-migrate 600)
    echo "  $name: migrate $st; $(stat -c '%s bytes, %b blocks of %B allocated' "${file%%,*}")"
    case "$st" in *completed*) ;; *) return 1 ;; esac
    Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.pmem\"}" >/dev/null
}

# ticks_on CONSOLE SECONDS: the restored guest prints at least two "tick N" lines in time (it runs).
ticks_on() {
    local i
    for i in $(seq 1 $(($2 * 5))); do
        [ "$(grep -Ec '^tick [0-9]+' "$1" 2>/dev/null)" -ge 2 ] && return 0
        sleep 0.2
    done
    return 1
}

engine() {
    echo "+ engine $*"
    timeout 600 $ENGINE "$@"
}

# check NAME FILE WANT_MAPPED [ARGS]: inspect says mapped-ram (or not), extract's pc.ram equals the pmemsave; prints
# extract's time. ARGS (e.g. --offset N) go to both commands.
check() {
    local name=$1 file=$2 want_mapped=$3 t0 t1 cmp
    shift 3
    if ! engine inspect "$file" "$@" > "$OUT/$name.inspect"; then
        cat "$OUT/$name.inspect"; RESULT[$name]="FAIL (engine inspect refused the file)"; return
    fi
    cat "$OUT/$name.inspect"
    if [ "$want_mapped" = 1 ] && ! grep -q '^mapped-ram: *yes' "$OUT/$name.inspect"; then
        RESULT[$name]="FAIL (inspect does not say mapped-ram)"; return
    fi
    rm -rf "$OUT/extract-$name"
    sync; t0=$(date +%s.%N)
    if ! engine extract "$file" --out "$OUT/extract-$name" "$@"; then
        RESULT[$name]="FAIL (engine extract refused the file)"; return
    fi
    t1=$(date +%s.%N)
    local secs; secs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
    if cmp=$(compare_ram "$OUT/extract-$name/pc.ram.raw" "$OUT/$name.pmem"); then
        RESULT[$name]="PASS (pc.ram equals pmemsave:$cmp; extract ${secs} s wall incl. .NET start; image $(du -k "$OUT/extract-$name/pc.ram.raw" | cut -f1) KiB allocated)"
    else
        RESULT[$name]="FAIL (pc.ram differs from pmemsave:$cmp)"
    fi
}

MR='[{"capability":"mapped-ram","state":true},{"capability":"multifd","state":false}]'
MRMF='[{"capability":"mapped-ram","state":true},{"capability":"multifd","state":true}]'
PLAIN='[{"capability":"mapped-ram","state":false},{"capability":"multifd","state":false}]'
if save mapped-ram "$MR" '{}' "$OUT/mapped.ram"; then
    check mapped-ram "$OUT/mapped.ram" 1
else
    RESULT[mapped-ram]="FAIL (QEMU 10 could not save the mapped-ram file; see $WORK/mr-src.log)"
fi
if save mapped-ram+multifd "$MRMF" '{"multifd-channels":2}' "$OUT/mapped-multifd.ram"; then
    check mapped-ram+multifd "$OUT/mapped-multifd.ram" 1
else
    RESULT[mapped-ram+multifd]="FAIL (QEMU 10 could not save the mapped-ram + multifd file; see $WORK/mr-src.log)"
fi
if save mapped-ram-offset "$MR" '{}' "$OUT/offset.ram,offset=65536"; then
    check mapped-ram-offset "$OUT/offset.ram" 1 --offset 65536
else
    RESULT[mapped-ram-offset]="FAIL (QEMU 10 could not save the mapped-ram file at offset 65536; see $WORK/mr-src.log)"
fi
if save single-stream "$PLAIN" '{}' "$OUT/single.bin"; then
    check single-stream "$OUT/single.bin" 0
else
    RESULT[single-stream]="FAIL (QEMU 10 could not save the single-stream file)"
fi
# engine incoming --from file: of the mapped-ram file: the guest memory it loads, and the checkpoint it writes.
if [ -f "$OUT/mapped-ram.pmem" ] && [ -f "$OUT/mapped.ram" ]; then
    rm -rf "$OUT/incoming-images"; rm -f "$OUT/checkpoint.bin"
    t0=$(date +%s.%N)
    if engine incoming --from "file:$OUT/mapped.ram" --save-images "$OUT/incoming-images" --save-stream "$OUT/checkpoint.bin" --compress-method none; then
        t1=$(date +%s.%N)
        if cmp=$(compare_ram "$OUT/incoming-images/pc.ram.raw" "$OUT/mapped-ram.pmem"); then
            RESULT[incoming]="PASS (guest memory equals pmemsave:$cmp; $(python3 -c "print(f'{$t1 - $t0:.2f}')") s wall incl. checkpoint)"
        else
            RESULT[incoming]="FAIL (guest memory differs from pmemsave:$cmp)"
        fi
        # A fresh QEMU 10 (mapped-ram off) loads the checkpoint, paused: its RAM, then it runs on.
        start_qemu10 mr-restore -S -incoming "exec:cat $OUT/checkpoint.bin"
        RPID=$LAST_PID
        if wait_incoming_completed "$WORK/mr-restore.qmp" 180; then
            timeout 120 $QMP "$WORK/mr-restore.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/restore.pmem\"}" >/dev/null
            timeout 60 $QMP "$WORK/mr-restore.qmp" cont >/dev/null
            if ! cmp=$(compare_ram "$OUT/restore.pmem" "$OUT/mapped-ram.pmem"); then
                RESULT[restore]="FAIL (QEMU 10 loaded the checkpoint, but its RAM differs from the source's:$cmp)"
            elif ticks_on "$WORK/mr-restore.console" 60; then
                RESULT[restore]="PASS (QEMU 10 loaded engine's checkpoint of the mapped-ram file: RAM equal to the source's:$cmp; the guest ticks on: $(grep -Eo '^tick [0-9]+' "$WORK/mr-restore.console" | head -1) .. $(last_tick "$WORK/mr-restore.console"))"
            else
                RESULT[restore]="FAIL (QEMU 10 loaded the checkpoint but the guest did not tick twice; see $WORK/mr-restore.console)"
            fi
        else
            RESULT[restore]="FAIL (QEMU 10 did not load the checkpoint; see $WORK/mr-restore.log)"
        fi
        stop_qemu "$RPID"
    else
        RESULT[incoming]="FAIL (engine incoming --from file: refused the mapped-ram file)"
    fi
fi

# restore_mapped NAME FILE PMEM MULTIFD: a fresh, paused QEMU 10 (-S -incoming defer) with the mapped-ram capability on
# (and multifd with 2 channels when MULTIFD is 1: QEMU's parallel load of the same file) restores FILE with
# migrate-incoming file:FILE; its RAM must equal PMEM, and after cont the guest must tick on. Sets RESTORED to a line.
restore_mapped() {
    local name=$1 file=$2 pmem=$3 multifd=$4 rpid caps t0 t1 cmp
    caps='[{"capability":"mapped-ram","state":true},{"capability":"multifd","state":false}]'
    [ "$multifd" = 1 ] && caps=$MRMF
    start_qemu10 "$name" -S -incoming defer
    rpid=$LAST_PID
    RESTORED="FAIL (QEMU 10 did not take the capabilities; see $WORK/$name.log)"
    if timeout 120 $QMP "$WORK/$name.qmp" migrate-set-capabilities "{\"capabilities\":$caps}" >/dev/null \
        && { [ "$multifd" != 1 ] || timeout 120 $QMP "$WORK/$name.qmp" migrate-set-parameters '{"multifd-channels":2}' >/dev/null; }; then
        t0=$(date +%s.%N)
        if ! timeout 120 $QMP "$WORK/$name.qmp" migrate-incoming "{\"uri\":\"file:$file\"}" >/dev/null; then
            RESTORED="FAIL (QEMU 10 refused migrate-incoming file:$file; see $WORK/$name.log)"
        elif ! wait_incoming_completed "$WORK/$name.qmp" 300; then
            RESTORED="FAIL (QEMU 10 did not load engine's mapped-ram file: $(tail -n 3 "$WORK/$name.log" | tr '\n' ' '))"
        else
            t1=$(date +%s.%N)
            timeout 120 $QMP "$WORK/$name.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.restored.pmem\"}" >/dev/null
            timeout 60 $QMP "$WORK/$name.qmp" cont >/dev/null
            if ! cmp=$(compare_ram "$OUT/$name.restored.pmem" "$pmem"); then
                RESTORED="FAIL (QEMU 10 loaded engine's mapped-ram file, but its RAM differs from the source's:$cmp)"
            elif ticks_on "$WORK/$name.console" 60; then
                RESTORED="PASS (QEMU 10 restored engine's mapped-ram file with migrate-incoming file: in $(python3 -c "print(f'{$t1 - $t0:.2f}')") s: RAM equal to the source's:$cmp; the guest ticks on: $(grep -Eo '^tick [0-9]+' "$WORK/$name.console" | head -1) .. $(last_tick "$WORK/$name.console"))"
            else
                RESTORED="FAIL (QEMU 10 loaded engine's mapped-ram file but the guest did not tick twice; see $WORK/$name.console)"
            fi
        fi
    fi
    stop_qemu "$rpid"
    rm -f "$OUT/$name.restored.pmem"
}

# Engine writes mapped-ram: engine incoming --from file: of QEMU's single-stream file with --save-stream F --format
# mapped-ram; inspect must say mapped-ram, then a fresh QEMU 10 restores it without and with multifd.
if [ -f "$OUT/single-stream.pmem" ] && [ -f "$OUT/single.bin" ]; then
    rm -f "$OUT/engine-mapped.ram"
    t0=$(date +%s.%N)
    if engine incoming --from "file:$OUT/single.bin" --save-stream "$OUT/engine-mapped.ram" --format mapped-ram > "$OUT/engine-mapped.out"; then
        t1=$(date +%s.%N)
        echo "  engine-mapped.ram: written in $(python3 -c "print(f'{$t1 - $t0:.2f}')") s wall (load + write, incl. .NET start); $(stat -c '%s bytes, %b blocks of %B allocated' "$OUT/engine-mapped.ram")"
        if engine inspect "$OUT/engine-mapped.ram" > "$OUT/engine-mapped.inspect" && grep -q '^mapped-ram: *yes' "$OUT/engine-mapped.inspect"; then
            restore_mapped mr-engine "$OUT/engine-mapped.ram" "$OUT/single-stream.pmem" 0
            RESULT[engine-mapped-ram]=$RESTORED
            restore_mapped mr-engine-mf "$OUT/engine-mapped.ram" "$OUT/single-stream.pmem" 1
            RESULT[engine-mapped-ram+multifd]=${RESTORED/mapped-ram file with/mapped-ram file (multifd on, 2 channels) with}
        else
            cat "$OUT/engine-mapped.inspect"
            RESULT[engine-mapped-ram]="FAIL (engine inspect does not read engine's mapped-ram file as mapped-ram)"
        fi
    else
        RESULT[engine-mapped-ram]="FAIL (engine incoming --save-stream --format mapped-ram failed)"
    fi
fi
# engine transcode --format mapped-ram of QEMU's own mapped-ram file: QEMU 10 restores the result.
if [ -f "$OUT/mapped-ram.pmem" ] && [ -f "$OUT/mapped.ram" ]; then
    rm -f "$OUT/transcoded.ram"
    if engine transcode "$OUT/mapped.ram" "$OUT/transcoded.ram" --format mapped-ram; then
        restore_mapped mr-transcoded "$OUT/transcoded.ram" "$OUT/mapped-ram.pmem" 0
        RESULT[transcode-mapped-ram]=$RESTORED
    else
        RESULT[transcode-mapped-ram]="FAIL (engine transcode --format mapped-ram refused QEMU's mapped-ram file)"
    fi
fi
# virsh's layout: QEMU's mapped-ram file at file:PATH,offset=65536, transcoded with --offset (the bytes before the
# stream kept, the output's stream at the same offset); QEMU 10 restores it with migrate-incoming file:PATH,offset=65536.
if [ -f "$OUT/mapped-ram-offset.pmem" ] && [ -f "$OUT/offset.ram" ]; then
    rm -f "$OUT/engine-offset.ram"
    if engine transcode "$OUT/offset.ram" "$OUT/engine-offset.ram" --offset 65536 --format mapped-ram; then
        restore_mapped mr-engine-offset "$OUT/engine-offset.ram,offset=65536" "$OUT/mapped-ram-offset.pmem" 0
        RESULT[engine-mapped-ram-offset]=${RESTORED/with migrate-incoming file:/with migrate-incoming file:PATH,offset=65536}
    else
        RESULT[engine-mapped-ram-offset]="FAIL (engine transcode --offset 65536 --format mapped-ram refused QEMU's file)"
    fi
fi
rm -f "$OUT"/*.pmem "$OUT/checkpoint.bin" "$OUT/engine-mapped.ram" "$OUT/transcoded.ram" "$OUT/engine-offset.ram"
rm -rf "$OUT"/extract-* "$OUT/incoming-images"
report
