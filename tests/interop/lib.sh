# lib.sh: helpers shared by the interop scripts (sourced, not run).
# Every wait is bounded; only QEMU processes started here (their PIDs are in $STARTED_PIDS) are ever stopped.

HERE=${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
WORK=${INTEROP_WORK:-$HERE/work}
GUEST=$WORK/guest
QMP="python3 $HERE/qmp.py"
MEM_MIB=${INTEROP_MEM_MIB:-512}
STARTED_PIDS=()

qemu_base() {
    echo "qemu-system-x86_64 -accel tcg -machine pc-i440fx-7.2 -smp 1 -m $MEM_MIB -display none -nic none" \
         "-no-reboot -monitor none -kernel $GUEST/vmlinuz -initrd $GUEST/initramfs.cpio.gz"
}

# start_qemu NAME EXTRA-ARGS...: starts QEMU in the background with a QMP socket $WORK/NAME.qmp and the serial
# console in $WORK/NAME.console; sets LAST_PID.
start_qemu() {
    local name=$1; shift
    rm -f "$WORK/$name.qmp" "$WORK/$name.console"
    # shellcheck disable=SC2046
    $(qemu_base) -append 'console=ttyS0 panic=-1' -serial "file:$WORK/$name.console" \
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
