# lib.sh: helpers shared by the interop scripts (sourced, not run).
# Every wait is bounded; only QEMU processes started here (their PIDs are in $STARTED_PIDS) are ever stopped.

HERE=${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
WORK=${INTEROP_WORK:-$HERE/work}
GUEST=$WORK/guest
QMP="python3 $HERE/qmp.py"
MEM_MIB=${INTEROP_MEM_MIB:-512}
STARTED_PIDS=()

# qemu_base_for BINARY MACHINE: the command line of a test guest under that QEMU binary and -machine type (and
# $QEMU_EXTRA, more arguments split on spaces, for every QEMU started).
qemu_base_for() {
    echo "$1 -accel tcg -machine $2 -smp 1 -m $MEM_MIB -display none -nic none" \
         "-no-reboot -monitor none -kernel $GUEST/vmlinuz -initrd $GUEST/initramfs.cpio.gz ${QEMU_EXTRA:-}"
}

# qemu_base: the system's QEMU 7.2 on pc-i440fx-7.2, unless QEMU_BIN / QEMU_MACHINE name another (qemu10-peer.sh).
qemu_base() {
    qemu_base_for "${QEMU_BIN:-qemu-system-x86_64}" "${QEMU_MACHINE:-pc-i440fx-7.2}"
}

# start_qemu NAME EXTRA-ARGS...: starts QEMU in the background with a QMP socket $WORK/NAME.qmp and the serial
# console in $WORK/NAME.console; sets LAST_PID.
start_qemu() {
    local name=$1; shift
    rm -f "$WORK/$name.qmp" "$WORK/$name.console"
    # shellcheck disable=SC2046
    $(qemu_base) -append "${QEMU_APPEND:-console=ttyS0 panic=-1}" -serial "file:$WORK/$name.console" \
        -qmp "unix:$WORK/$name.qmp,server=on,wait=off" "$@" > "$WORK/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# stop_qemu PID: stops one QEMU this script started (quit over QMP is not needed: the guest state is not kept).
stop_qemu() {
    local pid=$1
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

stop_all_started() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do stop_qemu "$pid"; done
    STARTED_PIDS=()
}

# wait_console FILE REGEX SECONDS: true when a line matching REGEX appears in FILE in time.
wait_console() {
    local file=$1 regex=$2 secs=$3 i
    for i in $(seq 1 $((secs * 5))); do
        grep -Eq "$regex" "$file" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# wait_migrate_completed SOCK SECONDS: polls query-migrate on an incoming QEMU until it reports completed.
wait_incoming_completed() {
    local sock=$1 secs=$2 i st
    for i in $(seq 1 $((secs * 2))); do
        st=$(timeout 10 $QMP "$sock" query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null || true)
        case "$st" in
            completed) return 0 ;;
            failed|cancelled) return 1 ;;
        esac
        sleep 0.5
    done
    return 1
}

# last_tick FILE: the highest "tick N" number on a console, or 0.
last_tick() {
    { grep -Eo '^tick [0-9]+' "$1" 2>/dev/null || true; } | awk '{ if ($2 > m) m = $2 } END { print m + 0 }'
}

# start_checkpoint NAME FILE: a fresh QEMU loading a saved stream (engine incoming --save-stream) with -incoming exec:cat,
# compress on (a zlib checkpoint needs it; a plain one loads either way); sets LAST_PID.
start_checkpoint() {
    start_qemu "$1" -global migration.x-compress=on -global migration.x-decompress-threads=2 -incoming "exec:cat $2"
}

# dest_runs NAME MINTICK: the destination reaches 'running' (cont if it ended paused) and its console ticks >= MINTICK.
dest_runs() {
    local name=$1 min=$2 D="timeout 30 $QMP $WORK/$1.qmp"
    wait_incoming_completed "$WORK/$name.qmp" 120 || { echo "  $name: incoming did not complete: $(tail -2 "$WORK/$name.log")"; return 1; }
    local s; s=$($D query-status | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [ "$s" = running ] || $D cont >/dev/null
    wait_console "$WORK/$name.console" '^tick [0-9]+' 40 || { echo "  $name: no tick within 40 s"; return 1; }
    local t; t=$(last_tick "$WORK/$name.console")
    echo "  $name: running, console at tick $t (source was at tick >= $min)"
    [ "$t" -ge "$min" ]
}

# The helpers below run engine processes and destination QEMUs for the live checks; the caller sets $OUT (logs) and $ENGINE.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_engine NAME ARGS...: runs the engine in the background, output in $OUT/NAME.log; sets LAST_PID.
start_engine() {
    local name=$1; shift
    echo "+ engine $*" > "$OUT/$name.log"
    # shellcheck disable=SC2086
    $ENGINE "$@" >> "$OUT/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# wait_listening LOG SECONDS: until the engine says it listens.
wait_listening() { wait_console "$1" 'listening on' "$2"; }

# wait_exit PID SECONDS: waits for a process this script started; sets EXIT_CODE (or returns 1 on timeout).
wait_exit() {
    local pid=$1 secs=$2 i
    for i in $(seq 1 $((secs * 20))); do
        if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; EXIT_CODE=$?; return 0; fi
        sleep 0.05
    done
    return 1
}

# exit_within PID MS: true if the process has exited (non-zero, recorded in EXIT_CODE) within MS milliseconds from now.
exit_within() {
    local pid=$1 ms=$2 start now
    start=$(date +%s%N)
    while kill -0 "$pid" 2>/dev/null; do
        now=$(date +%s%N)
        [ $(( (now - start) / 1000000 )) -gt "$ms" ] && return 1
        sleep 0.02
    done
    wait "$pid"; EXIT_CODE=$?
    EXIT_MS=$(( ($(date +%s%N) - start) / 1000000 ))
    return 0
}

# start_dest NAME [compress] : a destination QEMU listening on a fresh port (sets DPORT, LAST_PID).
start_dest() {
    local name=$1 compress=${2:-}
    DPORT=$(free_port)
    local paused=(); [ -n "${DEST_PAUSED:-}" ] && paused=(-S)
    if [ "$compress" = compress ]; then
        start_qemu "$name" "${paused[@]}" -global migration.x-compress=on -global migration.x-decompress-threads=2 -incoming "tcp:127.0.0.1:$DPORT"
    else
        start_qemu "$name" "${paused[@]}" -incoming "tcp:127.0.0.1:$DPORT"
    fi
    DPID=$LAST_PID
    # QEMU listens once it has started; its QMP socket appearing is the sign.
    for _ in $(seq 1 100); do [ -S "$WORK/$name.qmp" ] && break; sleep 0.1; done
}

# relay_pair NAME METHOD_A [compress]: destination QEMU, relay B (none or zlib), relay A (METHOD_A); sets APID BPID APORT.
relay_pair() {
    local name=$1 method=$2 mode=${3:-}
    start_dest "$name" "$mode"
    local bport; bport=$(free_port)
    local bmethod=none; [ "$mode" = compress ] && bmethod=zlib
    start_engine "$name-relayB" relay --listen "tcp:127.0.0.1:$bport" --to "tcp:127.0.0.1:$DPORT" --compress-method "$bmethod" --decompress-threads 2 --compress-threads 2
    BPID=$LAST_PID
    APORT=$(free_port)
    start_engine "$name-relayA" relay --listen "tcp:127.0.0.1:$APORT" --to "tcp:127.0.0.1:$bport" --compress-method "$method" --compress-level 1 --compress-threads 2 ${RELAY_A_ARGS:-}
    APID=$LAST_PID
    wait_listening "$OUT/$name-relayB.log" 60 && wait_listening "$OUT/$name-relayA.log" 60
}

have_qemu() {
    command -v qemu-system-x86_64 >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1
}

# compare_ram IMAGE PMEM: the block image equals the pmemsave dump outside the legacy VGA/ROM window.
compare_ram() {
    python3 - "$1" "$2" <<'PY'
import sys
a = open(sys.argv[1], 'rb').read(); b = open(sys.argv[2], 'rb').read()
if len(a) != len(b):
    print(f"  sizes differ: {len(a)} vs {len(b)}"); sys.exit(1)
lo, hi = 0xa0000, 0x100000
bad = [i for i in range(0, len(a), 4096) if not (lo <= i < hi) and a[i:i+4096] != b[i:i+4096]]
print(f"  {len(a) // 4096} pages compared, {len(bad)} differ" + (f" (first at 0x{bad[0]:x})" if bad else ""))
sys.exit(1 if bad else 0)
PY
}

# judge_by_stream IMAGE PMEM STREAM NAME: Engine's IMAGE differs from the source's PMEM; is that the stream's doing?
# A fresh QEMU loads STREAM (the exact bytes the source sent, e.g. kept by tee-proxy.py); true if Engine's image equals
# that QEMU's RAM, i.e. the stream itself carried those pages (QEMU 7.2's source can end a live migration with stale
# copies of pages its guest was writing), so Engine is judged against what it was sent. Sets JUDGED to one line.
judge_by_stream() {
    local image=$1 pmem=$2 stream=$3 name=$4 ok=1 vs_qemu qemu_vs_src
    start_qemu "$name-qemu" -S -incoming "exec:cat $stream"
    local qpid=$LAST_PID
    JUDGED=" differs from the source, and a QEMU destination could not load the stream it sent"
    if wait_incoming_completed "$WORK/$name-qemu.qmp" 120; then
        timeout 60 $QMP "$WORK/$name-qemu.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$WORK/$name.qemu-dest\"}" >/dev/null
        vs_qemu=$(compare_ram "$image" "$WORK/$name.qemu-dest") && ok=0
        qemu_vs_src=$(compare_ram "$WORK/$name.qemu-dest" "$pmem")
        echo "  Engine vs a QEMU destination of the same bytes:$vs_qemu; that QEMU destination vs the source:$qemu_vs_src"
        if [ $ok = 0 ]; then
            JUDGED=" equal to a QEMU destination fed the same bytes ($vs_qemu); QEMU's own stream differs from its source's pmemsave:$qemu_vs_src"
        else
            JUDGED=" differs from a QEMU destination fed the same bytes:$vs_qemu"
        fi
    fi
    stop_qemu "$qpid"; rm -f "$WORK/$name.qemu-dest"
    return $ok
}
