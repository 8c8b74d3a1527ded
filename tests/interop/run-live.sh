#!/bin/bash
# run-live.sh: Engine as a live peer of real QEMU 7.2 (issue 11), on one booted guest (TCG, loopback):
#   1. plain: a running guest migrates into `engine incoming`; the RAM it holds equals pmemsave of the stopped source
#      (outside 0xa0000-0x100000); --save-stream writes a zlib checkpoint
#   2. xbzrle: the same with the xbzrle capability (a running guest, a few rounds, XBZRLE records on the wire)
#   3. compress zlib (2 threads), guest stopped before the migration (QEMU's own compress races on a running guest);
#      --save-stream keeps a zstd-1 checkpoint of it (restored in check 12)
#   4. the checkpoint of check 1 loads into a fresh QEMU (compress on) and the guest ticks on
#   5. QEMU -> relay A (zstd-1) -> relay B (none) -> QEMU: completed, destination runs and ticks on; relays exit 0
#   6. relay --from file:CHECKPOINT -> QEMU: the destination runs and ticks on
#   7. faults: the destination QEMU killed mid-migration: both relays exit non-zero within 1 s, naming the destination
#      (relay B) / the other relay (relay A); the source QEMU reports failed and runs on
#   8. faults: relay B killed mid-migration: relay A exits non-zero within 1 s naming it; the destination QEMU does not run
#   9. unsupported: postcopy-ram on the source: relay exits non-zero naming postcopy; the destination QEMU never runs
#  10. faults: the source QEMU killed mid-migration: both relays exit non-zero within 1 s, naming the source
#  11. compress zlib (2 threads, the source paused): QEMU -> relay A (zstd-1) -> relay B (none) -> a plain QEMU: RAM equal
#      to the source's pmemsave, the destination ticks on (run after check 12)
#  12. compress store & restore: check 3's `--save-stream` checkpoint (zstd-1) -> `relay --from file:` -> a plain QEMU:
#      RAM equal to the source's pmemsave (still paused as check 3 left it), the destination ticks on (run after check 3)
# Prints "live check N: PASS|FAIL|SKIPPED (detail)"; exits 1 if any check failed.
# Env: ENGINE (default: dotnet run --project src/Engine.Cli -c Release --), INTEROP_WORK, LIVE_TIME_LIMIT (default 600 s).
# Every wait is bounded; only processes this script started are stopped, by PID.
set -uo pipefail
if [ -z "${_LIVE_TIMED:-}" ]; then
    exec timeout -k 10 "${LIVE_TIME_LIMIT:-600}" env _LIVE_TIMED=1 "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
INTEROP_MEM_MIB=${INTEROP_MEM_MIB:-256}
source "$HERE/lib.sh"
trap stop_all_started EXIT
ENGINE=${ENGINE:-"dotnet run --project $ROOT/src/Engine.Cli -c Release --"}
CHECKS=12
declare -A RESULT
OUT=$WORK/live
rm -rf "$OUT"; mkdir -p "$OUT"

report() {
    local status=0 n
    echo "== live run: $SECONDS s"
    echo "== live results"
    for n in $(seq 1 $CHECKS); do
        echo "live check $n: ${RESULT[$n]:-SKIPPED (not reached)}"
        case "${RESULT[$n]:-}" in FAIL*) status=1 ;; esac
    done
    exit $status
}

# At the time limit (timeout sends TERM) the checks reached so far are still reported; the rest say "not reached".
trap 'echo "live: the time limit was reached at $SECONDS s"; report' TERM

if ! have_qemu; then
    for n in $(seq 1 $CHECKS); do RESULT[$n]="SKIPPED (qemu-system-x86_64 or python3 is not installed)"; done
    report
fi
mkdir -p "$WORK"
"$HERE/make-guest.sh" "$WORK" >/dev/null || { for n in $(seq 1 $CHECKS); do RESULT[$n]="FAIL (make-guest.sh failed)"; done; report; }

migrate_status() { timeout 10 $QMP "$WORK/src.qmp" query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null; }


# json_field FILE a.b.c: a member of engine's final JSON object (query-migrate's names; extensions under "engine").
json_field() { python3 -c "import json,sys,functools; d=json.load(open(sys.argv[1])); print(functools.reduce(lambda o,k: o.get(k) if isinstance(o,dict) else None, sys.argv[2].split('.'), d))" "$1" "$2" 2>/dev/null; }

# incoming_check N NAME EXTRA-ENGINE-ARGS...: source migrates into engine incoming; compares RAM with pmemsave.
incoming_check() {
    local n=$1 name=$2; shift 2
    local port; port=$(free_port)
    start_engine "$name" incoming --listen "tcp:127.0.0.1:$port" --save-images "$OUT/$name" --json "$@"
    local epid=$LAST_PID
    wait_listening "$OUT/$name.log" 60 || { RESULT[$n]="FAIL (engine incoming did not listen)"; return 1; }
    local uri_port=$port
    if [ -n "${TEE_FILE:-}" ]; then
        # The exact bytes QEMU sends, kept to be loaded by QEMU itself as well.
        uri_port=$(free_port)
        python3 "$HERE/tee-proxy.py" "$uri_port" "$port" "$TEE_FILE" > "$OUT/$name.tee.log" 2>&1 &
        STARTED_PIDS+=("$!")
        wait_console "$OUT/$name.tee.log" listening 30
    fi
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$uri_port\"}" >/dev/null
    local st; st=$(timeout 300 $QMP "$WORK/src.qmp" wait-migrate 290)
    if ! wait_exit "$epid" 60 || [ "$EXIT_CODE" != 0 ] || [ "$st" != completed ]; then
        RESULT[$n]="FAIL (QEMU: $st; engine incoming exit ${EXIT_CODE:-?}: $(tail -2 "$OUT/$name.log" | tr '\n' ' '))"; return 1
    fi
    $Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.pmem\"}" >/dev/null
    sed -n '/^{/,/^}/p' "$OUT/$name.log" > "$OUT/$name.json"
    local detail; detail=$(compare_ram "$OUT/$name/pc.ram.raw" "$OUT/$name.pmem")
    local ok=$?
    echo "$detail"
    if [ $ok != 0 ] && [ -n "${TEE_FILE:-}" ] && judge_by_stream "$OUT/$name/pc.ram.raw" "$OUT/$name.pmem" "$TEE_FILE" "$name"; then
        ok=0; detail=$JUDGED
    fi
    rm -f "$OUT/$name.pmem" "${TEE_FILE:-/nonexistent}"; rm -rf "$OUT/$name"
    local counts="xbzrle $(json_field "$OUT/$name.json" xbzrle-cache.pages), compressed $(json_field "$OUT/$name.json" compression.pages), raw $(json_field "$OUT/$name.json" ram.normal), source $(json_field "$OUT/$name.json" engine.source)"
    if [ $ok = 0 ]; then RESULT[$n]="PASS (RAM equals what QEMU sent:${detail}; $counts)"; else RESULT[$n]="FAIL (RAM differs from pmemsave:$detail; $counts)"; fi
    [ $ok = 0 ]
}

echo "live: booting the source guest (TCG, ${MEM_MIB} MiB)"
start_qemu src
SRC=$LAST_PID
if ! wait_console "$WORK/src.console" '^tick 2\b' "${GUEST_BOOT_TIMEOUT:-180}"; then
    for n in $(seq 1 $CHECKS); do RESULT[$n]="FAIL (the guest did not boot)"; done; report
fi
Q="timeout 60 $QMP $WORK/src.qmp"
$Q migrate-set-parameters '{"max-bandwidth":10737418240}' >/dev/null

echo "live: guest ready at $SECONDS s"
# 1. plain, running guest, with a zlib checkpoint; judged by what QEMU sent (a tee) if RAM differs from the source's.
TICK1=$(last_tick "$WORK/src.console")
TEE_FILE=$OUT/plain.stream incoming_check 1 plain --save-stream "$OUT/checkpoint.bin" --compress-method zlib --compress-level 1 --compress-threads 2
[ -s "$OUT/checkpoint.bin" ] || RESULT[1]="FAIL (no checkpoint written; ${RESULT[1]})"
[ -e "$OUT/checkpoint.bin.tmp" ] && RESULT[1]="FAIL (a temporary checkpoint file was left)"
$Q cont >/dev/null

echo "live: check 2 starts at $SECONDS s"
# 2. xbzrle, running guest. XBZRLE records appear only once a page is sent again after the first pass (the cache fills
#    in the rounds after it), so the migration is held in rounds (downtime-limit 1 ms) for 4 s after the first pass.
$Q migrate-set-capabilities '{"capabilities":[{"capability":"xbzrle","state":true}]}' >/dev/null
$Q migrate-set-parameters '{"max-bandwidth":52428800,"downtime-limit":1}' >/dev/null
release_after_rounds() {
    local n deadline=$((SECONDS + 90))
    # This migration's own counters: only once it is active (before, query-migrate still shows the last one's).
    while [ $SECONDS -lt $deadline ]; do
        n=$(timeout 10 $QMP "$WORK/src.qmp" query-migrate 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("ram",{}).get("dirty-sync-count",0) if d.get("status")=="active" else 0)' 2>/dev/null || echo 0)
        [ "${n:-0}" -ge 2 ] && break
        sleep 0.2
    done
    # The first pass is over; rounds of dirty pages (the guest's heap rewrites thousands of entries a second) until QEMU
    # has sent some XBZRLE pages, for at most 15 s (each QMP poll costs a Python start, slow on a loaded machine).
    deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        n=$(timeout 10 $QMP "$WORK/src.qmp" query-migrate 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("xbzrle-cache",{}).get("pages",0) if d.get("status")=="active" else 0)' 2>/dev/null || echo 0)
        [ "${n:-0}" -ge 50 ] && break
        sleep 0.5
    done
    timeout 10 $QMP "$WORK/src.qmp" migrate-set-parameters '{"downtime-limit":300,"max-bandwidth":10737418240}' >/dev/null
}
release_after_rounds &
RELEASE_PID=$!
TEE_FILE=$OUT/xbzrle.stream incoming_check 2 xbzrle
wait "$RELEASE_PID" 2>/dev/null
[ "$(json_field "$OUT/xbzrle.json" xbzrle-cache.pages)" -gt 0 ] 2>/dev/null || RESULT[2]="FAIL (no XBZRLE records reached Engine: ${RESULT[2]})"
$Q cont >/dev/null
$Q migrate-set-capabilities '{"capabilities":[{"capability":"xbzrle","state":false}]}' >/dev/null
$Q migrate-set-parameters '{"max-bandwidth":10737418240,"downtime-limit":300}' >/dev/null

echo "live: check 3 starts at $SECONDS s"
# 3. compress zlib, guest stopped first.
$Q stop >/dev/null
$Q migrate-set-capabilities '{"capabilities":[{"capability":"compress","state":true}]}' >/dev/null
$Q migrate-set-parameters '{"compress-level":1,"compress-threads":2}' >/dev/null
incoming_check 3 zlib --save-stream "$OUT/compress.ckpt" --compress-method zstd --compress-level 1 --compress-threads 2

# dest_ram_check NAME PMEM: the paused destination NAME has completed its incoming migration; its RAM against PMEM.
# Sets SAME ("RAM equal: ..." or "RAM DIFFERS: ...").
dest_ram_check() {
    SAME="not loaded: $(tail -1 "$WORK/$1.log")"
    wait_incoming_completed "$WORK/$1.qmp" 120 || return 1
    timeout 60 $QMP "$WORK/$1.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$1-dst.pmem\"}" >/dev/null
    SAME=$(compare_ram "$OUT/$1-dst.pmem" "$2") && SAME="RAM equal:$SAME" || SAME="RAM DIFFERS:$SAME"
    rm -f "$OUT/$1-dst.pmem"
    [[ "$SAME" == "RAM equal"* ]]
}

# The source is still paused as check 3 migrated it: its pmemsave is what check 3's stream (and checkpoint) carried.
$Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/compress-src.pmem\"}" >/dev/null
TICK3=$(last_tick "$WORK/src.console")

echo "live: check 12 starts at $SECONDS s"
# 12. the compress source's store (check 3's `incoming --save-stream`, zstd-1) restored by `relay --from file:` into a
#     fresh plain QEMU (started paused): RAM equal to the paused source's, the destination runs and ticks on.
if [ -s "$OUT/compress.ckpt" ]; then
    DEST_PAUSED=1 start_dest crestore
    start_engine crestore relay --from "file:$OUT/compress.ckpt" --to "tcp:127.0.0.1:$DPORT" --compress-method none --decompress-threads 2
    rpid=$LAST_PID
    EXIT_CODE=; wait_exit "$rpid" 120; r=${EXIT_CODE:-timeout}
    dest_ram_check crestore "$OUT/compress-src.pmem"
    echo "  compress store & restore: destination vs source $SAME"
    if [ "$r" = 0 ] && [[ "$SAME" == "RAM equal"* ]] && dest_runs crestore "$TICK3"; then
        RESULT[12]="PASS (checkpoint of $(stat -c %s "$OUT/compress.ckpt") bytes from the compress source, restored: destination $SAME; guest ticking)"
    else
        RESULT[12]="FAIL (relay --from file: exit $r: $(tail -1 "$OUT/crestore.log"); destination $SAME; console: $(tail -1 "$WORK/crestore.console"))"
    fi
    stop_qemu "$DPID"
else
    RESULT[12]="FAIL (check 3 wrote no checkpoint: ${RESULT[3]:-})"
fi
echo "live: check 11 starts at $SECONDS s"
# 11. the compress source (still paused, compress on; QEMU's own compress races on a running guest, so the source's
#     pmemsave is what it sent) -> relay A (zstd-1) -> relay B (none) -> a plain QEMU (started paused): RAM equal to the
#     source's, relays exit 0, the destination runs and ticks on.
#     From postmigrate: cont, then stop (as run-tls-interop.sh does), so the source is an ordinary paused guest again.
$Q cont >/dev/null 2>&1
$Q stop >/dev/null
rm -f "$OUT/compress-src.pmem"
$Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/compress-src.pmem\"}" >/dev/null
TICK11=$(last_tick "$WORK/src.console")
if DEST_PAUSED=1 relay_pair crelay zstd; then
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$APORT\"}" >/dev/null
    st=$(timeout 300 $QMP "$WORK/src.qmp" wait-migrate 290)
    EXIT_CODE=; wait_exit "$APID" 30; a=${EXIT_CODE:-timeout}
    EXIT_CODE=; wait_exit "$BPID" 30; b=${EXIT_CODE:-timeout}
    dest_ram_check crelay "$OUT/compress-src.pmem"
    echo "  compress relay pair: destination vs source $SAME"
    if [ "$st" = completed ] && [ "$a" = 0 ] && [ "$b" = 0 ] && [[ "$SAME" == "RAM equal"* ]] && dest_runs crelay "$TICK11"; then
        RESULT[11]="PASS (compress zlib x2 source, completed; destination $SAME; relay A: $(grep -o 'relayed.*' "$OUT/crelay-relayA.log" | cut -c1-80); destination ticking)"
    else
        RESULT[11]="FAIL (QEMU $st, relay A exit $a, relay B exit $b, destination $SAME: $(tail -1 "$OUT/crelay-relayA.log") / $(tail -1 "$OUT/crelay-relayB.log"); destination console: $(tail -1 "$WORK/crelay.console"))"
    fi
else
    RESULT[11]="FAIL (the relays did not listen)"
fi
stop_qemu "$DPID"; stop_qemu "$APID"; stop_qemu "$BPID"

rm -f "$OUT/compress-src.pmem" "$OUT/compress.ckpt"
$Q migrate-set-capabilities '{"capabilities":[{"capability":"compress","state":false}]}' >/dev/null
$Q cont >/dev/null

echo "live: check 4 starts at $SECONDS s"
# 4. the checkpoint loads into a fresh QEMU.
if [ -s "$OUT/checkpoint.bin" ]; then
    start_checkpoint ckpt "$OUT/checkpoint.bin"
    pid=$LAST_PID
    if dest_runs ckpt "$TICK1"; then RESULT[4]="PASS (checkpoint of $(stat -c %s "$OUT/checkpoint.bin") bytes loaded, guest ticking)"; else RESULT[4]="FAIL (the checkpoint did not load or the guest did not run: $(tail -2 "$WORK/ckpt.log" | tr '\n' ' '))"; fi
    CKPT_PID=$pid  # kept running: the source of check 9
else
    RESULT[4]="FAIL (no checkpoint from check 1)"
fi

echo "live: check 5 starts at $SECONDS s"
# 5. QEMU -> relay A (zstd) -> relay B (none) -> QEMU.
TICK5=$(last_tick "$WORK/src.console")
# The destination starts paused (-S), so its RAM can be compared with the source's before the guest runs on.
if DEST_PAUSED=1 relay_pair relay zstd; then
    # The exact bytes QEMU sends go through a tee, so that a page QEMU's stream itself carried stale is not blamed on the relays.
    TPORT=$(free_port)
    python3 "$HERE/tee-proxy.py" "$TPORT" "$APORT" "$OUT/relay.tee" > "$OUT/relay.tee.log" 2>&1 &
    STARTED_PIDS+=("$!")
    wait_console "$OUT/relay.tee.log" listening 30
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$TPORT\"}" >/dev/null
    st=$(timeout 300 $QMP "$WORK/src.qmp" wait-migrate 290)
    wait_exit "$APID" 30; a=${EXIT_CODE:-timeout}; EXIT_CODE=
    wait_exit "$BPID" 30; b=${EXIT_CODE:-timeout}; EXIT_CODE=
    same=""
    if wait_incoming_completed "$WORK/relay.qmp" 120; then
        $Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/relay-src.pmem\"}" >/dev/null
        timeout 60 $QMP "$WORK/relay.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/relay-dst.pmem\"}" >/dev/null
        same=$(compare_ram "$OUT/relay-dst.pmem" "$OUT/relay-src.pmem") && same="RAM equal:$same" || same="RAM DIFFERS:$same"
        echo "  relay: destination vs source $same"
        if [[ "$same" != "RAM equal"* ]] && judge_by_stream "$OUT/relay-dst.pmem" "$OUT/relay-src.pmem" "$OUT/relay.tee" relay-judge; then
            same="RAM equal to what QEMU sent:$JUDGED"
        fi
        rm -f "$OUT/relay-src.pmem" "$OUT/relay-dst.pmem" "$OUT/relay.tee"
    fi
    if [ "$st" = completed ] && [ "$a" = 0 ] && [ "$b" = 0 ] && [[ "$same" == "RAM equal"* ]] && dest_runs relay "$TICK5"; then
        RESULT[5]="PASS (completed; destination $same; relay A: $(grep -o 'relayed.*' "$OUT/relay-relayA.log" | cut -c1-60)...; destination ticking)"
    else
        RESULT[5]="FAIL (QEMU $st, relay A exit $a, relay B exit $b, destination ${same:-not loaded}: $(tail -1 "$OUT/relay-relayA.log") / $(tail -1 "$OUT/relay-relayB.log"); destination console: $(tail -1 "$WORK/relay.console"))"
    fi
else
    RESULT[5]="FAIL (the relays did not listen)"
fi
stop_qemu "$DPID"
$Q cont >/dev/null 2>&1

echo "live: check 6 starts at $SECONDS s"
# 6. replay the checkpoint through a relay into a plain destination.
if [ -s "$OUT/checkpoint.bin" ]; then
    start_dest replay
    start_engine replay relay --from "file:$OUT/checkpoint.bin" --to "tcp:127.0.0.1:$DPORT" --compress-method none --decompress-threads 2
    rpid=$LAST_PID
    if wait_exit "$rpid" 120 && [ "$EXIT_CODE" = 0 ] && dest_runs replay "$TICK1"; then
        RESULT[6]="PASS (replayed into a plain QEMU, guest ticking)"
    else
        RESULT[6]="FAIL (replay exit ${EXIT_CODE:-timeout}: $(tail -1 "$OUT/replay.log"))"
    fi
    stop_qemu "$DPID"
else
    RESULT[6]="FAIL (no checkpoint from check 1)"
fi

# Fault checks run at 20 MB/s on the source's link so that a migration takes several seconds.
$Q migrate-set-parameters '{"max-bandwidth":20971520}' >/dev/null

echo "live: check 7 starts at $SECONDS s"
# 7. the destination QEMU dies mid-migration.
if relay_pair kill-dest zstd; then
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$APORT\"}" >/dev/null
    sleep 2
    kill -9 "$DPID"
    r=""
    exit_within "$BPID" 1000 && [ "$EXIT_CODE" != 0 ] && grep -q 'the destination' "$OUT/kill-dest-relayB.log" || r="relay B did not exit non-zero within 1 s naming the destination"
    bms=${EXIT_MS:-?}
    exit_within "$APID" 1000 && [ "$EXIT_CODE" != 0 ] && grep -q 'the destination' "$OUT/kill-dest-relayA.log" || r="$r; relay A did not exit non-zero within 1 s"
    st=$(timeout 60 $QMP "$WORK/src.qmp" wait-migrate 50)
    [ "$st" = failed ] || r="$r; source QEMU: $st"
    if [ -z "$r" ]; then RESULT[7]="PASS (relay B exited in $bms ms, relay A in ${EXIT_MS} ms; source: failed; B: $(grep -o 'relay stopped.\{0,70\}' "$OUT/kill-dest-relayB.log"))"; else RESULT[7]="FAIL ($r)"; fi
else
    RESULT[7]="FAIL (the relays did not listen)"
fi
stop_qemu "$DPID"; stop_qemu "$APID"; stop_qemu "$BPID"
timeout 30 $QMP "$WORK/src.qmp" wait-status running 20 >/dev/null 2>&1 || $Q cont >/dev/null 2>&1

echo "live: check 8 starts at $SECONDS s"
# 8. relay B dies mid-migration.
if relay_pair kill-relay zstd; then
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$APORT\"}" >/dev/null
    sleep 2
    kill -9 "$BPID"
    r=""
    exit_within "$APID" 1000 && [ "$EXIT_CODE" != 0 ] && grep -q 'the destination' "$OUT/kill-relay-relayA.log" || r="relay A did not exit non-zero within 1 s naming its destination"
    ams=${EXIT_MS:-?}
    st=$(timeout 60 $QMP "$WORK/src.qmp" wait-migrate 50)
    [ "$st" = failed ] || r="$r; source QEMU: $st"
    sleep 1
    ds=$(timeout 5 $QMP "$WORK/kill-relay.qmp" query-status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo exited)
    [ "$ds" != running ] || r="$r; the destination QEMU runs"
    if [ -z "$r" ]; then RESULT[8]="PASS (relay A exited in $ams ms; source: failed; destination: $ds)"; else RESULT[8]="FAIL ($r)"; fi
else
    RESULT[8]="FAIL (the relays did not listen)"
fi
stop_qemu "$DPID"; stop_qemu "$APID"; stop_qemu "$BPID"
timeout 30 $QMP "$WORK/src.qmp" wait-status running 20 >/dev/null 2>&1 || $Q cont >/dev/null 2>&1

echo "live: check 9 starts at $SECONDS s"
# 9. postcopy is refused before the destination gets anything to start a guest from. The source is the QEMU that loaded
#    the checkpoint (check 4): QEMU 7.2 keeps sending the return-path command in later migrations once one used it.
P="timeout 60 $QMP $WORK/ckpt.qmp"
$P migrate-set-capabilities '{"capabilities":[{"capability":"postcopy-ram","state":true}]}' >/dev/null
if [ -n "${CKPT_PID:-}" ] && relay_pair postcopy zstd; then
    $P migrate "{\"uri\":\"tcp:127.0.0.1:$APORT\"}" >/dev/null
    r=""
    wait_exit "$APID" 30 && [ "$EXIT_CODE" != 0 ] && grep -q 'postcopy' "$OUT/postcopy-relayA.log" || r="relay A did not exit non-zero naming postcopy"
    wait_exit "$BPID" 30 && [ "$EXIT_CODE" != 0 ] || r="$r; relay B did not exit non-zero"
    st=$(timeout 60 $QMP "$WORK/ckpt.qmp" wait-migrate 50)
    sleep 1
    ds=$(timeout 5 $QMP "$WORK/postcopy.qmp" query-status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo exited)
    [ "$ds" != running ] || r="$r; the destination QEMU runs"
    if [ -z "$r" ]; then RESULT[9]="PASS (source: $st; destination: $ds; $(grep -o 'unsupported stream feature.\{0,60\}' "$OUT/postcopy-relayA.log"))"; else RESULT[9]="FAIL ($r)"; fi
else
    RESULT[9]="FAIL (the relays did not listen)"
fi
stop_qemu "$DPID"; stop_qemu "$APID"; stop_qemu "$BPID"; [ -n "${CKPT_PID:-}" ] && stop_qemu "$CKPT_PID"

echo "live: check 10 starts at $SECONDS s"
# 10. the source QEMU dies mid-migration (last: it ends the source).
if relay_pair kill-src zstd; then
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$APORT\"}" >/dev/null
    sleep 2
    kill -9 "$SRC"
    r=""
    exit_within "$APID" 1000 && [ "$EXIT_CODE" != 0 ] && grep -q 'the source.*ended the stream' "$OUT/kill-src-relayA.log" || r="relay A did not exit non-zero within 1 s naming the source"
    ams=${EXIT_MS:-?}
    exit_within "$BPID" 1000 && [ "$EXIT_CODE" != 0 ] && grep -q 'the source.*ended the stream' "$OUT/kill-src-relayB.log" || r="$r; relay B did not exit non-zero within 1 s naming its source"
    if [ -z "$r" ]; then RESULT[10]="PASS (relay A exited in $ams ms, relay B in ${EXIT_MS} ms; A: $(grep -o 'relay stopped.\{0,60\}' "$OUT/kill-src-relayA.log"))"; else RESULT[10]="FAIL ($r)"; fi
else
    RESULT[10]="FAIL (the relays did not listen)"
fi
report
