#!/bin/bash
# xbzrle-diff.sh: who is right about an xbzrle stream from a running guest? Saves QEMU 7.2's own xbzrle stream to a file
# (the guest held in rounds as run-live.sh check 2 does), then compares three RAM images page by page: pmemsave of the
# stopped source, pmemsave of a fresh QEMU that loaded the file (-S, never runs), and `engine extract` of the file.
# Env: ENGINE, INTEROP_WORK, INTEROP_MEM_MIB (default 256). Bounded; stops only the QEMUs it started.
set -uo pipefail
if [ -z "${_XD_TIMED:-}" ]; then exec timeout -k 10 600 env _XD_TIMED=1 "$0" "$@"; fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
INTEROP_MEM_MIB=${INTEROP_MEM_MIB:-256}
source "$HERE/lib.sh"
trap stop_all_started EXIT
ENGINE=${ENGINE:-"dotnet run --project $ROOT/src/Engine.Cli -c Release --"}
OUT=$WORK/xbzrle-diff; rm -rf "$OUT"; mkdir -p "$OUT"
"$HERE/make-guest.sh" "$WORK" >/dev/null
start_qemu xd-src; SRC=$LAST_PID
wait_console "$WORK/xd-src.console" '^tick 2\b' 240 || { echo "guest did not boot"; exit 1; }
Q="timeout 60 $QMP $WORK/xd-src.qmp"
$Q migrate-set-capabilities '{"capabilities":[{"capability":"xbzrle","state":true}]}' >/dev/null
$Q migrate-set-parameters '{"max-bandwidth":52428800,"downtime-limit":1}' >/dev/null
$Q migrate "{\"uri\":\"exec:cat > $OUT/xbzrle.bin\"}" >/dev/null
for _ in $(seq 1 300); do
    n=$($Q query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("ram",{}).get("dirty-sync-count",0))' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 2 ] && break; sleep 0.2
done
sleep 4
$Q migrate-set-parameters '{"downtime-limit":300,"max-bandwidth":10737418240}' >/dev/null
echo "source: $(timeout 300 $QMP "$WORK/xd-src.qmp" wait-migrate 290)"
$Q hmp 'info migrate' | grep -iE 'xbzrle|overflow|cache miss' || true
$Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/source.pmem\"}" >/dev/null
stop_qemu "$SRC"
start_qemu xd-dst -S -incoming "exec:cat $OUT/xbzrle.bin"; DST=$LAST_PID
wait_incoming_completed "$WORK/xd-dst.qmp" 300 || { echo "QEMU could not load the stream"; tail -3 "$WORK/xd-dst.log"; exit 1; }
timeout 60 $QMP "$WORK/xd-dst.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/qemu-dest.pmem\"}" >/dev/null
stop_qemu "$DST"
$ENGINE extract "$OUT/xbzrle.bin" --out "$OUT/extract" | tail -1
python3 - "$OUT/source.pmem" "$OUT/qemu-dest.pmem" "$OUT/extract/pc.ram.raw" <<'PY'
import sys
src, qd, en = (open(p, 'rb').read() for p in sys.argv[1:4])
lo, hi = 0xa0000, 0x100000
def diff(a, b):
    return [i for i in range(0, len(a), 4096) if not (lo <= i < hi) and a[i:i+4096] != b[i:i+4096]]
print(f"QEMU destination vs source: {len(diff(qd, src))} pages differ")
print(f"engine extract   vs source: {len(diff(en, src))} pages differ")
print(f"engine extract   vs QEMU destination: {len(diff(en, qd))} pages differ")
PY
