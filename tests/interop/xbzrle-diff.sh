#!/bin/bash
# xbzrle-diff.sh: who is right about an xbzrle stream from a running guest? A QEMU migrates its running guest with the
# xbzrle capability into `engine incoming --listen` through tests/interop/tee-proxy.py, which keeps the exact bytes in a
# file (the guest is held in rounds, as run-live.sh check 2 does, so the stream carries XBZRLE records). Then RAM images
# are compared page by page (outside 0xa0000-0x100000): pmemsave of the stopped source, pmemsave of a fresh QEMU that
# loaded the file (-S, never runs: what QEMU itself makes of the stream), and
#   incoming `engine incoming --save-images`, live over TCP: it must count XBZRLE records (> 0) and equal that QEMU;
#   extract  `engine extract` of the file: it must decode XBZRLE records (a count > 0) and equal the QEMU that loaded the
#            same bytes; its difference from the source is printed too (QEMU 7.2 was seen leaving stale pages in its own
#            stream, docs/MIGRATION.md, so the bytes QEMU sent are the reference, not the source);
#   relay    `engine relay --from file: --compress-method none` into another fresh QEMU (-S): the relay passes the XBZRLE
#            records on (its count > 0) and that QEMU's RAM equals the first one's.
# The system QEMU 7.2 by default; QEMU_BIN, QEMU_MACHINE and QEMU_APPEND (lib.sh) name another, e.g. QEMU 10.0 on
# pc-q35-10.0 with "guest.quick" (Qemu10PeerTests runs it so).
# Prints "xbzrle-diff check NAME: PASS|FAIL|SKIPPED (detail)" per check after "== xbzrle-diff: ..." timing lines; exits 1
# if a check failed. Env: ENGINE, INTEROP_WORK, INTEROP_MEM_MIB (default 256), XD_TIME_LIMIT (default 600 s for the whole
# script), GUEST_BOOT_TIMEOUT (default 240 s). Bounded; stops only the processes it started, by their PIDs.
set -uo pipefail
if [ -z "${_XD_TIMED:-}" ]; then exec timeout -k 10 "${XD_TIME_LIMIT:-600}" env _XD_TIMED=1 "$0" "$@"; fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
INTEROP_MEM_MIB=${INTEROP_MEM_MIB:-256}
source "$HERE/lib.sh"
trap stop_all_started EXIT
ENGINE=${ENGINE:-"dotnet run --project $ROOT/src/Engine.Cli -c Release --"}
OUT=$WORK/xbzrle-diff; rm -rf "$OUT"; mkdir -p "$OUT"
CHECKS=(incoming extract relay)
declare -A RESULT

report() {
    local status=0 check
    echo "== xbzrle-diff: ${BOOT_S:-?} s to boot, $SECONDS s in all"
    for check in "${CHECKS[@]}"; do
        echo "xbzrle-diff check $check: ${RESULT[$check]:-FAIL (not finished before the time limit)}"
        case "${RESULT[$check]:-}" in FAIL*) status=1 ;; esac
    done
    exit $status
}
trap 'echo "xbzrle-diff: the time limit was reached at $SECONDS s"; report' TERM
all() { local check; for check in "${CHECKS[@]}"; do RESULT[$check]=$1; done; report; }

have_qemu || all "SKIPPED (qemu-system-x86_64 or python3 is not installed)"
QBIN=${QEMU_BIN:-qemu-system-x86_64}
command -v "$QBIN" >/dev/null || all "SKIPPED (no QEMU at $QBIN)"
"$HERE/make-guest.sh" "$WORK" >/dev/null || all "FAIL (make-guest.sh failed)"
VERSION=$("$QBIN" --version | head -1)

echo "xbzrle-diff: booting the guest under $VERSION on ${QEMU_MACHINE:-pc-i440fx-7.2} (TCG, $MEM_MIB MiB)"
start_qemu xd-src; SRC=$LAST_PID
wait_console "$WORK/xd-src.console" '^tick 2\b' "${GUEST_BOOT_TIMEOUT:-240}" \
    || all "FAIL (the guest did not boot: $(tail -2 "$WORK/xd-src.log" | tr '\n' ' '); console: $(tail -1 "$WORK/xd-src.console" 2>/dev/null))"
BOOT_S=$SECONDS
echo "== xbzrle-diff: guest ticking at $SECONDS s"
Q="timeout 60 $QMP $WORK/xd-src.qmp"
$Q migrate-set-capabilities '{"capabilities":[{"capability":"xbzrle","state":true}]}' >/dev/null \
    || all "FAIL (QEMU refused the xbzrle capability)"
EPORT=$(free_port); TPORT=$(free_port)
echo "+ engine incoming --listen tcp:127.0.0.1:$EPORT --timeout 60 --save-images $OUT/incoming --json" > "$OUT/incoming.log"
# shellcheck disable=SC2086
$ENGINE incoming --listen "tcp:127.0.0.1:$EPORT" --timeout 60 --save-images "$OUT/incoming" --json >> "$OUT/incoming.log" 2>&1 &
EPID=$!; STARTED_PIDS+=("$EPID")
wait_listening "$OUT/incoming.log" 60 || all "FAIL (engine incoming did not listen: $(tail -1 "$OUT/incoming.log"))"
python3 "$HERE/tee-proxy.py" "$TPORT" "$EPORT" "$OUT/xbzrle.bin" > "$OUT/tee.log" 2>&1 &
TPID=$!; STARTED_PIDS+=("$TPID")
wait_console "$OUT/tee.log" listening 30 || all "FAIL (tee-proxy.py did not listen)"
# Held in rounds, so that pages are sent a third time: QEMU starts xbzrle after its first pass, the second pass sends a
# page whole into its cache, a later one as an XBZRLE delta against it. The guest dirties its heap in bursts, about once
# a second (guest-init.sh), and QEMU switches over at the first sync that finds (next to) nothing dirty, which between
# bursts is most of them: rounds shorter than the gap between bursts end the migration without a delta (seen with QEMU
# 10 at 50 MB/s). So one QMP connection, polled every 10 ms, starts the migration at 50 MB/s with a 1 ms downtime limit,
# drops the bandwidth to 1 MB/s when the first pass has at most 4 MiB left (or is over: the second dirty sync), so that
# the second pass, the heap pages the first one left dirty, outlasts a burst, and lets it finish (300 ms, no limit) once
# QEMU has counted 1000 xbzrle pages, or after 12 s.
# Prints QEMU's final status, its xbzrle page count and its dirty syncs.
SENT=$(python3 - "$HERE" "$WORK/xd-src.qmp" "$TPORT" 2>"$OUT/control.err" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
from qmp import Qmp
q = Qmp(sys.argv[2])
q.cmd("migrate-set-parameters", **{"max-bandwidth": 50 << 20, "downtime-limit": 1})
q.cmd("migrate", uri=f"tcp:127.0.0.1:{sys.argv[3]}")
start, low = time.time(), None
while time.time() - start < 90:
    d = q.cmd("query-migrate")
    if d.get("status") in ("completed", "failed", "cancelled"):
        break
    if d.get("status") == "active":
        ram = d.get("ram", {})
        if low is None and (ram.get("dirty-sync-count", 0) >= 2 or (ram.get("transferred", 0) > 16 << 20 and ram.get("remaining", 1 << 40) <= 4 << 20)):
            q.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 20})
            low = time.time()
        if low is not None and (d.get("xbzrle-cache", {}).get("pages", 0) >= 1000 or time.time() - low > 12):
            break
    time.sleep(0.01)
q.cmd("migrate-set-parameters", **{"downtime-limit": 300, "max-bandwidth": 10 << 30})
st = q.wait_migrate(240)
d = q.cmd("query-migrate")
held = f"{time.time() - low:.1f}" if low else "-"
print(st, d.get("xbzrle-cache", {}).get("pages", 0), d.get("ram", {}).get("dirty-sync-count", 0), held)
PY
)
read -r ST XPAGES SYNCS HELD <<< "${SENT:-none 0 0 -}"
echo "== xbzrle-diff: source $ST at $SECONDS s, $XPAGES xbzrle pages, $SYNCS dirty syncs, $HELD s at 1 MB/s$( [ -s "$OUT/control.err" ] && echo "; QMP: $(tail -1 "$OUT/control.err")")"
wait_exit "$TPID" 60 || stop_qemu "$TPID"
EXIT_CODE=; wait_exit "$EPID" 60 || stop_qemu "$EPID"
[ "$ST" = completed ] || all "FAIL (the source's migration ended $ST; engine incoming exit ${EXIT_CODE:-timeout}: $(tail -1 "$OUT/incoming.log"))"
[ "${XPAGES:-0}" -gt 0 ] || all "FAIL (QEMU counted no xbzrle page ($SYNCS dirty syncs): it switched over before a page was sent a third time)"
$Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/source.pmem\"}" >/dev/null
stop_qemu "$SRC"

start_qemu xd-dst -S -incoming "exec:cat $OUT/xbzrle.bin"; DST=$LAST_PID
wait_incoming_completed "$WORK/xd-dst.qmp" 120 || all "FAIL (QEMU could not load its own stream: $(tail -2 "$WORK/xd-dst.log" | tr '\n' ' '))"
timeout 60 $QMP "$WORK/xd-dst.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/qemu-dest.pmem\"}" >/dev/null
stop_qemu "$DST"

# pages_differ A B: the number of 4 KiB pages that differ outside 0xa0000-0x100000 (-1 if the sizes differ or one is missing).
pages_differ() {
    python3 - "$1" "$2" <<'PY'
import os, sys
a, b = sys.argv[1:3]
if not (os.path.isfile(a) and os.path.isfile(b)) or os.path.getsize(a) != os.path.getsize(b):
    print(-1); sys.exit()
lo, hi, n = 0xa0000, 0x100000, 0
with open(a, 'rb') as fa, open(b, 'rb') as fb:
    i = 0
    while True:
        x, y = fa.read(1 << 20), fb.read(1 << 20)
        if not x:
            break
        for p in range(0, len(x), 4096):
            if not (lo <= i + p < hi) and x[p:p + 4096] != y[p:p + 4096]:
                n += 1
        i += len(x)
print(n)
PY
}
QD_SRC=$(pages_differ "$OUT/qemu-dest.pmem" "$OUT/source.pmem")
echo "QEMU destination vs source: $QD_SRC pages differ"

t=$SECONDS
if [ "${EXIT_CODE:-timeout}" = 0 ]; then
    records=$(sed -n '/^{/,/^}/p' "$OUT/incoming.log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["xbzrle-cache"]["pages"])' 2>/dev/null)
    vs_qemu=$(pages_differ "$OUT/incoming/pc.ram.raw" "$OUT/qemu-dest.pmem")
    vs_src=$(pages_differ "$OUT/incoming/pc.ram.raw" "$OUT/source.pmem")
    detail="$XPAGES xbzrle pages sent by $VERSION, ${records:-?} XBZRLE records applied by engine incoming; pages differing from the QEMU that loaded the same bytes: $vs_qemu, from the source: $vs_src (QEMU's own destination vs the source: $QD_SRC)"
    if [ "${records:-0}" -gt 0 ] && [ "$vs_qemu" = 0 ]; then RESULT[incoming]="PASS ($detail)"; else RESULT[incoming]="FAIL ($detail)"; fi
else
    RESULT[incoming]="FAIL (engine incoming exit ${EXIT_CODE:-timeout}: $(grep error "$OUT/incoming.log" | tail -1))"
fi
rm -rf "$OUT/incoming"
echo "== xbzrle-diff incoming: ${RESULT[incoming]%% *}"

t=$SECONDS
if timeout 120 $ENGINE extract "$OUT/xbzrle.bin" --out "$OUT/extract" > "$OUT/extract.log" 2>&1; then
    records=$(grep -o '[0-9]* xbzrle' "$OUT/extract.log" | tail -1 | cut -d' ' -f1)
    vs_qemu=$(pages_differ "$OUT/extract/pc.ram.raw" "$OUT/qemu-dest.pmem")
    vs_src=$(pages_differ "$OUT/extract/pc.ram.raw" "$OUT/source.pmem")
    detail="$XPAGES xbzrle pages sent by $VERSION, ${records:-?} XBZRLE records decoded by engine extract; pages differing from the QEMU that loaded the stream: $vs_qemu, from the source: $vs_src (QEMU's own destination vs the source: $QD_SRC)"
    if [ "${records:-0}" -gt 0 ] && [ "$vs_qemu" = 0 ]; then RESULT[extract]="PASS ($detail)"; else RESULT[extract]="FAIL ($detail)"; fi
else
    RESULT[extract]="FAIL (engine extract failed: $(tail -1 "$OUT/extract.log"))"
fi
rm -rf "$OUT/extract"
echo "== xbzrle-diff extract: $((SECONDS - t)) s, ${RESULT[extract]%% *}"

t=$SECONDS
PORT=$(free_port)
start_qemu xd-relay -S -incoming defer; RDST=$LAST_PID
if ! timeout 60 $QMP "$WORK/xd-relay.qmp" migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$PORT\"}" >/dev/null 2>&1; then
    RESULT[relay]="FAIL (the destination QEMU did not listen: $(tail -2 "$WORK/xd-relay.log" | tr '\n' ' '))"
elif ! timeout 120 $ENGINE relay --from "file:$OUT/xbzrle.bin" --to "tcp:127.0.0.1:$PORT" --compress-method none --decompress-threads 2 > "$OUT/relay.log" 2>&1; then
    RESULT[relay]="FAIL (engine relay --from file: failed: $(tail -1 "$OUT/relay.log"); destination: $(tail -2 "$WORK/xd-relay.log" | tr '\n' ' '))"
elif ! wait_incoming_completed "$WORK/xd-relay.qmp" 120; then
    RESULT[relay]="FAIL (the destination QEMU did not complete loading what the relay sent: $(tail -2 "$WORK/xd-relay.log" | tr '\n' ' '))"
else
    timeout 60 $QMP "$WORK/xd-relay.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/relay-dest.pmem\"}" >/dev/null
    passed=$(grep -o '[0-9]* xbzrle' "$OUT/relay.log" | tail -1 | cut -d' ' -f1)
    vs_qemu=$(pages_differ "$OUT/relay-dest.pmem" "$OUT/qemu-dest.pmem")
    detail="engine relay --from file: passed ${passed:-?} XBZRLE records on to a fresh $VERSION; its RAM vs the QEMU that loaded the file directly: $vs_qemu pages differ"
    if [ "${passed:-0}" -gt 0 ] && [ "$vs_qemu" = 0 ]; then RESULT[relay]="PASS ($detail)"; else RESULT[relay]="FAIL ($detail)"; fi
fi
stop_qemu "$RDST"
echo "== xbzrle-diff relay: $((SECONDS - t)) s, ${RESULT[relay]%% *}"
rm -f "$OUT"/*.pmem "$OUT/xbzrle.bin"
report
