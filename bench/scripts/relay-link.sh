#!/usr/bin/env bash
# The series' experiment on real QEMU 7.2 (issue 11): the test guest (tests/interop, TCG, its awk heap rewriting thousands
# of entries a second) migrated at one link limit, QEMU's own compress zlib-1 directly against
# QEMU (plain, local) -> relay A (Engine, zstd-1 or zlib-1, same threads, --max-bandwidth LIMIT) -> relay B (none) -> QEMU;
# plus, at unlimited bandwidth, plain QEMU -> QEMU against the same through a relay pair (the relays' overhead). The link
# is the relay A's --max-bandwidth, and for direct runs bench/scripts/link-limit.py, a rate-limited TCP middlebox.
#   bench/scripts/relay-link.sh [LIMIT_BYTES_PER_S] [THREADS...]     (defaults: 12500000 = 100 Mbit/s; threads 2 8)
# Prints a Markdown table: QEMU's total time and downtime (source side), the wall time until the destination runs, and
# the bytes on the limited link (QEMU's transferred ram directly; relay A's bytes out through the relays).
# Env: INTEROP_MEM_MIB (default 512), ENGINE. Every wait is bounded; only processes started here are stopped, by PID.
set -uo pipefail
LIMIT=${1:-12500000}; shift || true
THREADS=${*:-2 8}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/interop
INTEROP_MEM_MIB=${INTEROP_MEM_MIB:-512}
INTEROP_WORK=${INTEROP_WORK:-$HERE/work}
source "$HERE/lib.sh"
# shellcheck source=lib.sh
source "$ROOT/bench/scripts/lib.sh"
trap stop_all_started EXIT
if [ -z "${ENGINE:-}" ]; then
    dotnet build "$ROOT/src/Engine.Cli" -c Release -v q -nologo >/dev/null
    ENGINE="dotnet $ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll"
fi
OUT=$WORK/bench-relay; rm -rf "$OUT"; mkdir -p "$OUT"
"$HERE/make-guest.sh" "$WORK" >/dev/null

start_qemu bsrc; SRC=$LAST_PID
wait_console "$WORK/bsrc.console" '^tick 2\b' 300 || { echo "the guest did not boot"; exit 1; }
sleep 5 # let the heap writer settle into its steady rewrite rate
Q="timeout 60 $QMP $WORK/bsrc.qmp"

# run ID LABEL SRC_BW COMPRESS_THREADS RELAY_METHOD RELAY_THREADS RELAY_BW [LINK]: one migration into a fresh destination
# QEMU; COMPRESS_THREADS 0 = QEMU's compress off; RELAY_METHOD "" = direct; LINK (bytes/s): a direct migration goes through
# link-limit.py at that rate (QEMU's own max-bandwidth is lifted at completion, a link is not).
run() {
    local id=$1 label=$2; shift
    local name=$id srcbw=$2 cthreads=$3 rmethod=$4 rthreads=$5 rbw=$6 dport aport bport apid bpid dpid t0 wall st
    dport=$(free_port)
    if [ "$cthreads" -gt 0 ]; then
        start_qemu "b-$name" -global migration.x-compress=on -global migration.x-decompress-threads=2 -incoming "tcp:127.0.0.1:$dport"
    else
        start_qemu "b-$name" -incoming "tcp:127.0.0.1:$dport"
    fi
    dpid=$LAST_PID
    for _ in $(seq 1 100); do [ -S "$WORK/b-$name.qmp" ] && break; sleep 0.1; done
    local target=$dport link=${7:-0}
    if [ "$link" != 0 ]; then
        target=$(free_port)
        python3 "$ROOT/bench/scripts/link-limit.py" "$target" "$dport" "$link" > "$OUT/$name-link.log" 2>&1 &
        STARTED_PIDS+=("$!")
        wait_console "$OUT/$name-link.log" listening 30
    fi
    if [ -n "$rmethod" ]; then
        bport=$(free_port); aport=$(free_port)
        $ENGINE relay --listen "tcp:127.0.0.1:$bport" --to "tcp:127.0.0.1:$dport" --compress-method none --decompress-threads 2 --json > "$OUT/$name-B.json" 2> "$OUT/$name-B.err" &
        bpid=$!; STARTED_PIDS+=("$bpid")
        $ENGINE relay --listen "tcp:127.0.0.1:$aport" --to "tcp:127.0.0.1:$bport" --compress-method "$rmethod" --compress-level 1 \
            --compress-threads "$rthreads" --max-bandwidth "$rbw" --json > "$OUT/$name-A.json" 2> "$OUT/$name-A.err" &
        apid=$!; STARTED_PIDS+=("$apid")
        wait_console "$OUT/$name-B.err" 'listening' 60; wait_console "$OUT/$name-A.err" 'listening' 60
        target=$aport
    fi
    if [ "$cthreads" -gt 0 ]; then
        $Q migrate-set-capabilities '{"capabilities":[{"capability":"compress","state":true}]}' >/dev/null
        $Q migrate-set-parameters "{\"compress-level\":1,\"compress-threads\":$cthreads}" >/dev/null
    else
        $Q migrate-set-capabilities '{"capabilities":[{"capability":"compress","state":false}]}' >/dev/null
    fi
    $Q migrate-set-parameters "{\"max-bandwidth\":$srcbw}" >/dev/null
    t0=$(now_ns)
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$target\"}" >/dev/null
    st=$(timeout 900 $QMP "$WORK/bsrc.qmp" wait-migrate 890)
    timeout 120 $QMP "$WORK/b-$name.qmp" wait-status running 100 >/dev/null 2>&1
    wall=$(ms_since "$t0")
    local info; info=$($Q query-migrate)
    echo "$info" > "$OUT/$name.query-migrate.json"
    local bytes=""
    if [ -n "$rmethod" ]; then
        wait "$apid" 2>/dev/null; wait "$bpid" 2>/dev/null
        bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ram"]["transferred"])' "$OUT/$name-A.json" 2>/dev/null || echo "?")
    fi
    python3 - "$label" "$st" "$wall" "$bytes" "$OUT/$name.query-migrate.json" <<'PY' | tee -a "$OUT/table.md"
import json, sys
name, st, wall, link, path = sys.argv[1:6]
d = json.load(open(path))
if not link:
    link = str(d.get("ram", {}).get("transferred", "?"))
link = f"{int(link) / 1e6:.1f}" if link.isdigit() else link
print(f"| {name} | {st} | {d.get('total-time', '?')} | {d.get('downtime', '?')} | {wall} | {link} |")
PY
    stop_qemu "$dpid"
    $Q cont >/dev/null 2>&1
    sleep 3 # the guest runs a little between migrations
}

echo "guest: ${MEM_MIB} MiB, TCG, $(nproc) cores; link limit $LIMIT bytes/s ($((LIMIT * 8 / 1000000)) Mbit/s)" | tee "$OUT/table.md"
echo "| run | status | total time (ms, QEMU) | downtime (ms, QEMU) | until the destination runs (ms) | bytes on the link (MB) |" | tee -a "$OUT/table.md"
echo "|---|---|---|---|---|---|" | tee -a "$OUT/table.md"
UNLIMITED=10737418240
run direct "plain QEMU->QEMU, unlimited" $UNLIMITED 0 "" 0 0
run pair-none "plain QEMU->relay none->relay->QEMU, unlimited" $UNLIMITED 0 none 2 0
run pair-zstd "plain QEMU->relay zstd-1 x2->relay->QEMU, unlimited" $UNLIMITED 0 zstd 2 0
run direct-link "plain QEMU->QEMU, link" $UNLIMITED 0 "" 0 0 "$LIMIT"
for t in $THREADS; do
    run "qemu-zlib-$t" "QEMU compress zlib-1 x$t, link" $UNLIMITED "$t" "" 0 0 "$LIMIT"
    run "relay-zstd-$t" "relay zstd-1 x$t, link" $UNLIMITED 0 zstd "$t" "$LIMIT"
    run "relay-zlib-$t" "relay zlib-1 x$t, link" $UNLIMITED 0 zlib "$t" "$LIMIT"
done
