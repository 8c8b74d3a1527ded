# lib.sh: what the bench scripts share (sourced, not run): ports, wall-clock timing, medians, one field of a JSON file, the
# TCP sink that discards what it reads (sink.py), and QEMU 10.0 on the frozen test guest (loading stream-plain.bin, a
# multifd migration, loading a file). Every wait is bounded; only processes started here are stopped, by PID.
# Sets, unless the caller set them before: ROOT (the checkout), W (INTEROP_WORK, default tests/interop/work), G (the test
# guest), Q10 (QEMU10, default QEMU 10.0 unpacked by tests/interop/qemu10.sh) and QMP (tests/interop/qmp.py).

BENCH_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${ROOT:-$(cd "$BENCH_SCRIPTS/../.." && pwd)}
W=${W:-${INTEROP_WORK:-$ROOT/tests/interop/work}}
G=${G:-$W/guest}
Q10=${Q10:-${QEMU10:-$W/qemu10/qemu-system-x86_64}}
QMP=${QMP:-"python3 $ROOT/tests/interop/qmp.py"}

# free_port: a TCP port of 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# now_ns: the wall clock in ns; ms_since T0: the ms from T0 (a now_ns) until now.
now_ns() { date +%s%N; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# median NUMBER...: their median (the mean of the middle two for an even count), whole numbers without a fraction, others
# to 3 decimals; "-" when there are none.
median() {
    python3 -c 'import statistics, sys
v = [float(x) for x in sys.argv[1:]]
m = statistics.median(v) if v else None
print("-" if m is None else int(m) if m == int(m) else f"{m:.3f}".rstrip("0"))' "$@"
}

# jget FILE KEY.PATH: one value of a JSON file (KEY.PATH as "ram.transferred"), empty when absent.
jget() {
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$1" "$2"
}

# sink_start DIR: sink.py listening, its port file in DIR; sets SINK_PID and SPORT. sink_stop: stops it.
sink_start() {
    rm -f "$1/sink.port"
    python3 "$BENCH_SCRIPTS/sink.py" "$1/sink.port" &
    SINK_PID=$!
    local _
    for _ in $(seq 1 100); do [ -s "$1/sink.port" ] && break; sleep 0.05; done
    [ -s "$1/sink.port" ] || { echo "the sink did not start" >&2; return 1; }
    SPORT=$(cat "$1/sink.port")
}
sink_stop() { kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; }

# q10_frozen SOCKET LOG: QEMU 10.0 on the test guest (pc-i440fx-7.2, one TCG CPU, 512 MiB), paused, with stream-plain.bin
# loaded (the frozen guest every run migrates), its QMP at SOCKET; waits (up to 60 s) until the load has completed. Sets
# QPID (QEMU's own PID: kill it when done).
q10_frozen() {
    "$Q10" -accel tcg -machine pc-i440fx-7.2 -smp 1 -m 512 -display none -nic none -no-reboot -monitor none \
        -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" -S -incoming "exec:cat $W/stream-plain.bin" \
        -qmp "unix:$1,server=on,wait=off" > "$2" 2>&1 &
    QPID=$!
    local _ st
    for _ in $(seq 1 120); do
        st=$($QMP "$1" query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null)
        [ "$st" = completed ] && break
        sleep 0.5
    done
}

# q10_multifd SOCKET METHOD PORT: the QEMU at SOCKET migrates with multifd METHOD, 2 channels (zstd at level 1), at 10 GiB/s
# to 127.0.0.1:PORT, waited for (up to 120 s); prints QEMU's own total-time (ms).
q10_multifd() {
    $QMP "$1" migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null
    $QMP "$1" migrate-set-parameters "{\"max-bandwidth\":10737418240,\"multifd-channels\":2,\"multifd-compression\":\"$2\",\"multifd-zstd-level\":1}" >/dev/null
    sleep 0.5
    $QMP "$1" migrate "{\"uri\":\"tcp:127.0.0.1:$3\"}" >/dev/null
    $QMP "$1" wait-migrate 120 >/dev/null
    $QMP "$1" query-migrate | python3 -c 'import json,sys; print(json.load(sys.stdin).get("total-time",""))'
}

# q10_multifd_sink METHOD DIR: the frozen guest under QEMU 10.0 into a fresh sink (multifd METHOD x2, q10_multifd); prints
# its total-time (ms). Its QMP socket and log are DIR/sink.qmp and DIR/sink.log.
q10_multifd_sink() {
    sink_start "$2" || return 1
    q10_frozen "$2/sink.qmp" "$2/sink.log"
    q10_multifd "$2/sink.qmp" "$1" "$SPORT"
    kill "$QPID"; wait "$QPID" 2>/dev/null
    sink_stop
}

# engine_multifd_sink ENGINE METHOD RAW PORT JSON: `engine migrate --image RAW` with multifd METHOD x2 (zstd at level 1),
# machine type pc-i440fx-7.2, into the sink at PORT (--no-reply); its --json in JSON. Prints "total-time wall" (ms, the
# migration's own and the whole process's).
engine_multifd_sink() {
    local t0; t0=$(now_ns)
    $1 migrate --to "tcp:127.0.0.1:$4" --image "$3" --multifd-channels 2 --multifd-compression "$2" --multifd-zstd-level 1 \
        --max-bandwidth 0 --no-reply --machine-type pc-i440fx-7.2 --json > "$5" 2> "${5%.json}.err"
    echo "$(jget "$5" total-time) $(ms_since "$t0")"
}

# q10_load FILE MAPPED_RAM(true|false) DIR [MACHINE [MEM]]: a fresh QEMU 10.0 (-S -incoming defer, MACHINE default
# pc-q35-10.0 with MEM 512 MiB, its QMP socket DIR/load.qmp) loads FILE with `migrate-incoming file:` (the mapped-ram
# capability as given). Prints the ms from that command until query-migrate says completed (polled every 5 ms; QEMU's
# start-up not counted), or "failed" (and returns 1). IDLE=SECONDS waits that long after QEMU's start-up.
q10_load() {
    local file=$1 mapped=$2 dir=$3 machine=${4:-pc-q35-10.0} mem=${5:-512} d rc=0 _
    rm -f "$dir/load.qmp"
    "$Q10" -accel tcg -machine "$machine" -smp 1 -m "$mem" -display none -nic none -no-reboot -monitor none -S \
        -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio.gz" -qmp "unix:$dir/load.qmp,server=on,wait=off" \
        -incoming defer > "$dir/load.log" 2>&1 &
    d=$!
    for _ in $(seq 1 500); do [ -S "$dir/load.qmp" ] && break; sleep 0.02; done
    sleep "${IDLE:-0}"
    timeout 120 python3 - "$dir/load.qmp" "$file" "$mapped" "$ROOT/tests/interop" <<'PY' || rc=1
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
    kill "$d"; wait "$d" 2>/dev/null
    if [ "$rc" != 0 ]; then echo "QEMU 10.0 did not load $file" >&2; echo failed; fi
    return "$rc"
}
