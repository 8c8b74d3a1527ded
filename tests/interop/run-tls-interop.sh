#!/bin/bash
# run-tls-interop.sh: migration TLS between Engine and real QEMU 7.2 (tls-creds-x509, mutual X.509), one guest boot:
#   1. a QEMU source (endpoint=client) whose certificate subject is not in engine incoming's --tls-authz is refused:
#      QEMU's migration fails, Engine says why, and no migration starts;
#   2. the same QEMU source (paused), tls-creds + tls-hostname set, migrates into `engine incoming --tls-creds`
#      (--tls-authz CN=client); Engine's RAM equals the source's pmemsave outside 0xa0000-0x100000;
#   3. `engine migrate --tls-creds` to a QEMU destination (endpoint=server, verify-peer=on, machine pc-q35-7.2 as Engine's
#      stream names): both ends accept each other's certificate and QEMU loads Engine's whole 512 MiB RAM section and EOF
#      inside TLS. Engine's migrate streams hold RAM only, no device state and no VM description, so QEMU ends with
#      "Expected vmdescription section"; that message (and no TLS error on either side) is the pass.
#   5. relay pair over TLS on every leg: the same source (paused) -> relay A (--listen-tls-creds, --listen-tls-authz
#      CN=client, zstd-1, --tls-creds on to B) -> relay B -> a QEMU destination with verify-peer=on: RAM equal to the
#      source's pmemsave, the guest ticks on (run after check 6);
#   6. store & restore over TLS: check 2's `--save-stream` checkpoint (zstd-1) restored by `relay --from file: --tls-creds`
#      into a QEMU destination with verify-peer=on: RAM equal to check 2's pmemsave, the guest ticks on (run after check 2);
#   4. the same QEMU source (paused) with multifd (2 channels, zstd) and TLS migrates into `engine incoming --tls-creds
#      --multifd-channels 2 --multifd-compression zstd`: TLS on the main connection and on each channel; Engine's RAM equals
#      the source's pmemsave outside 0xa0000-0x100000.
# Certificates come from mk-certs.sh in a fresh directory (never committed). Prints PASS / FAIL / SKIPPED per check.
#
# Env: ENGINE (default: dotnet run --project src/Engine.Cli -c Release --), INTEROP_WORK (default tests/interop/work),
#      INTEROP_TIME_LIMIT (default 600 s). Every wait is bounded; only processes started here are stopped, by PID.
set -uo pipefail
if [ -z "${_INTEROP_TIMED:-}" ]; then
    exec timeout -k 10 "${INTEROP_TIME_LIMIT:-600}" env _INTEROP_TIMED=1 "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
ENGINE=${ENGINE:-"dotnet run --project $ROOT/src/Engine.Cli -c Release --"}
ENGINE_PIDS=()
cleanup() {
    local pid
    for pid in "${ENGINE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    stop_all_started
}
trap cleanup EXIT
declare -A RESULT

report() {
    local status=0 n
    echo "== tls interop: $SECONDS s"
    echo "== tls interop results"
    for n in 1 2 3 4 5 6; do
        echo "tls interop check $n: ${RESULT[$n]:-SKIPPED (not reached)}"
        case "${RESULT[$n]:-}" in FAIL*) status=1 ;; esac
    done
    exit $status
}

if ! have_qemu; then
    RESULT[1]="SKIPPED (qemu-system-x86_64 or python3 missing)"; for n in 2 3 4 5 6; do RESULT[$n]=${RESULT[1]}; done; report
fi
mkdir -p "$WORK"
"$HERE/make-guest.sh" "$WORK" >/dev/null || { RESULT[1]="FAIL (make-guest.sh failed)"; report; }
T=$WORK/tls
rm -rf "$T"; mkdir -p "$T"
"$HERE/mk-certs.sh" "$T/creds" || { RESULT[1]="FAIL (mk-certs.sh failed)"; report; }
cd "$ROOT"
# lib.sh's start_engine writes its logs to $OUT.
OUT=$T

# start_incoming NAME ARGS...: engine incoming on a free port in the background; sets INCOMING_PID and PORT.
start_incoming() {
    local name=$1; shift
    # exec: the PID is the engine's own, so it is the one stopped.
    bash -c 'exec "$@"' _ $ENGINE incoming --listen tcp:127.0.0.1:0 --tls-creds "$T/creds" "$@" > "$T/$name.out" 2> "$T/$name.err" &
    INCOMING_PID=$!
    ENGINE_PIDS+=("$INCOMING_PID")
    local i
    for i in $(seq 1 150); do
        PORT=$(grep -Eo 'listening on .*:[0-9]+' "$T/$name.err" 2>/dev/null | grep -Eo '[0-9]+$' || true)
        [ -n "$PORT" ] && return 0
        sleep 0.2
    done
    echo "  $name: engine incoming did not listen; stderr:"; cat "$T/$name.err"
    return 1
}

migrate_status() {
    timeout 10 $QMP "$WORK/tls-src.qmp" query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null || true
}

# wait_migrate_end SECONDS: the source's migration status once it is completed or failed.
wait_migrate_end() {
    local i st
    for i in $(seq 1 $(($1 * 2))); do
        st=$(migrate_status)
        case "$st" in completed|failed|cancelled) echo "$st"; return 0 ;; esac
        sleep 0.5
    done
    echo "timeout"
}

echo "tls interop: booting the guest (TCG) with tls-creds-x509 endpoint=client"
start_qemu tls-src -object "tls-creds-x509,id=tls0,dir=$T/creds,endpoint=client"
SRC=$LAST_PID
if ! wait_console "$WORK/tls-src.console" '^tick 2\b' "${GUEST_BOOT_TIMEOUT:-180}"; then
    RESULT[1]="FAIL (the guest did not boot)"; report
fi
Q="timeout 60 $QMP $WORK/tls-src.qmp"
$Q migrate-set-parameters '{"max-bandwidth":10737418240,"tls-creds":"tls0","tls-hostname":"127.0.0.1"}' >/dev/null \
    || { RESULT[1]="FAIL (QEMU refused the TLS parameters)"; report; }

# 1. Refused: the QEMU source's certificate (CN=client) is not in --tls-authz.
if start_incoming refused --tls-authz "CN=admin"; then
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$PORT\"}" >/dev/null
    st=$(wait_migrate_end 60)
    wait_console "$T/refused.err" 'not in tls-authz' 10
    kill "$INCOMING_PID" 2>/dev/null; wait "$INCOMING_PID" 2>/dev/null
    why=$(grep -m1 'not in tls-authz' "$T/refused.err" || true)
    if [ "$st" = failed ] && [ -n "$why" ]; then
        RESULT[1]="PASS (QEMU's migration failed; engine: ${why#engine incoming: })"
    else
        RESULT[1]="FAIL (QEMU status '$st'; engine stderr: $(tr '\n' ' ' < "$T/refused.err"))"
    fi
else
    RESULT[1]="FAIL (engine incoming did not start)"
fi

# 2. QEMU -> Engine over TLS; Engine's RAM against the source's pmemsave. The guest is paused for this migration: a
#    running guest's QEMU 7.2 stream can carry a stale copy of a page it was writing (seen here: one page, a counter 1
#    apart), and a TLS stream cannot be kept to judge Engine by what QEMU sent, as run-live.sh does for plain TCP (where
#    the running-guest rounds are checked). QEMU still runs its whole precopy protocol, every byte inside TLS.
r2=""
if start_incoming live --tls-authz "CN=client" --save-images "$T/images" --json \
    --save-stream "$T/tls.ckpt" --compress-method zstd --compress-level 1 --compress-threads 2; then
    $Q stop >/dev/null
    # QEMU leaves a failed migration in 'failed' and may go again at once.
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$PORT\"}" >/dev/null
    st=$(wait_migrate_end 240)
    for _ in $(seq 1 150); do kill -0 "$INCOMING_PID" 2>/dev/null || break; sleep 0.2; done
    wait "$INCOMING_PID"; rc=$?
    if [ "$st" != completed ] || [ $rc != 0 ]; then
        r2="FAIL (QEMU status '$st', engine incoming exit $rc: $(tail -2 "$T/live.err" | tr '\n' ' '))"
    else
        $Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$T/source.raw\"}" >/dev/null
        sleep 1
        same=$(compare_ram "$T/images/pc.ram.raw" "$T/source.raw"); ok=$?
        echo "  engine's pc.ram.raw vs the source's pmemsave:$same"
        if [ $ok = 0 ]; then
            r2="PASS (migration over TLS completed; engine's RAM equals the source's:$same)"
        else
            r2="FAIL (engine's RAM differs from the source's pmemsave:$same)"
        fi
    fi
else
    r2="FAIL (engine incoming did not start)"
fi
RESULT[2]=$r2

# start_tls_dest NAME: a QEMU 7.2 destination (paused, -S) with tls-creds-x509 endpoint=server,verify-peer=on,
# tls-creds set before migrate-incoming on a fresh port; sets DPID and DPORT.
start_tls_dest() {
    start_qemu "$1" -S -incoming defer -object "tls-creds-x509,id=tls0,dir=$T/creds,endpoint=server,verify-peer=on"
    DPID=$LAST_PID
    DPORT=$(free_port)
    local D="timeout 60 $QMP $WORK/$1.qmp"
    $D migrate-set-parameters '{"tls-creds":"tls0"}' >/dev/null 2>&1 && $D migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$DPORT\"}" >/dev/null 2>&1
}

# tls_dest_judged NAME PMEM MINTICK: the destination completed its incoming migration, its RAM equals PMEM, and once
# continued its guest ticks on; sets JUDGED (one line).
tls_dest_judged() {
    local name=$1 pmem=$2 tick=$3 same
    JUDGED="the destination did not complete its incoming migration: $(tail -2 "$WORK/$name.log" | tr '\n' ' ')"
    wait_incoming_completed "$WORK/$name.qmp" 120 || return 1
    timeout 60 $QMP "$WORK/$name.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$T/$name.pmem\"}" >/dev/null
    same=$(compare_ram "$T/$name.pmem" "$pmem"); local ok=$?
    rm -f "$T/$name.pmem"
    echo "  $name: destination vs the source's pmemsave:$same"
    JUDGED="destination RAM differs from the source's:$same"
    [ $ok = 0 ] || return 1
    JUDGED="RAM equal, but the guest did not tick on"
    dest_runs "$name" "$tick" || return 1
    JUDGED="destination RAM equal to the source's:$same; the guest ticks on"
}

echo "tls interop: check 6 starts at $SECONDS s"
# 6. store & restore over TLS: check 2's checkpoint (`engine incoming --tls-creds ... --save-stream`, zstd-1) restored by
#    `engine relay --from file: --tls-creds --tls-hostname` into a QEMU destination with verify-peer=on: RAM equal to the
#    paused source's pmemsave of check 2, the guest ticks on.
r6=""
TICK2=$(last_tick "$WORK/tls-src.console")
if [ ! -s "$T/tls.ckpt" ] || [ ! -s "$T/source.raw" ]; then
    r6="FAIL (check 2 left no checkpoint or pmemsave: $r2)"
elif ! start_tls_dest tls-restore; then
    r6="FAIL (the destination QEMU did not take tls-creds and migrate-incoming: $(tail -2 "$WORK/tls-restore.log" | tr '\n' ' '))"
else
    start_engine restore relay --from "file:$T/tls.ckpt" --to "tcp:127.0.0.1:$DPORT" --tls-creds "$T/creds" --tls-hostname 127.0.0.1 \
        --compress-method none --decompress-threads 2
    rpid=$LAST_PID
    EXIT_CODE=; wait_exit "$rpid" 120 || stop_qemu "$rpid"
    if [ "${EXIT_CODE:-timeout}" != 0 ]; then
        r6="FAIL (relay --from file: --tls-creds exit ${EXIT_CODE:-timeout}: $(tail -2 "$T/restore.log" | tr '\n' ' '); destination: $(tail -2 "$WORK/tls-restore.log" | tr '\n' ' '))"
    elif tls_dest_judged tls-restore "$T/source.raw" "$TICK2"; then
        r6="PASS (checkpoint of $(stat -c %s "$T/tls.ckpt") bytes stored over TLS, restored over TLS into verify-peer=on: $JUDGED)"
    else
        r6="FAIL ($JUDGED)"
    fi
fi
stop_qemu "$DPID"
RESULT[6]=$r6

echo "tls interop: check 5 starts at $SECONDS s"
# 5. relay pair with TLS on all three legs: the paused source (tls-creds, tls-hostname) -> relay A (--listen-tls-creds,
#    --listen-tls-authz CN=client; zstd-1; --tls-creds to B) -> relay B (--listen-tls-creds; none; --tls-creds to the
#    destination) -> a QEMU destination with verify-peer=on: RAM equal to the source's pmemsave, the guest ticks on.
#    From postmigrate: cont, then stop (as check 4).
r5=""
$Q cont >/dev/null 2>&1
$Q stop >/dev/null
$Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$T/relay-source.raw\"}" >/dev/null
TICK5=$(last_tick "$WORK/tls-src.console")
if ! start_tls_dest tls-relay; then
    r5="FAIL (the destination QEMU did not take tls-creds and migrate-incoming: $(tail -2 "$WORK/tls-relay.log" | tr '\n' ' '))"
else
    BPORT=$(free_port); APORT=$(free_port)
    start_engine relayB relay --listen "tcp:127.0.0.1:$BPORT" --listen-tls-creds "$T/creds" --listen-tls-authz CN=client \
        --to "tcp:127.0.0.1:$DPORT" --tls-creds "$T/creds" --tls-hostname 127.0.0.1 --compress-method none --decompress-threads 2
    bpid=$LAST_PID
    start_engine relayA relay --listen "tcp:127.0.0.1:$APORT" --listen-tls-creds "$T/creds" --listen-tls-authz CN=client \
        --to "tcp:127.0.0.1:$BPORT" --tls-creds "$T/creds" --tls-hostname 127.0.0.1 --compress-method zstd --compress-level 1 --compress-threads 2
    apid=$LAST_PID
    if ! wait_listening "$T/relayB.log" 60 || ! wait_listening "$T/relayA.log" 60; then
        r5="FAIL (the relays did not listen: $(tail -1 "$T/relayA.log") / $(tail -1 "$T/relayB.log"))"
    else
        $Q migrate "{\"uri\":\"tcp:127.0.0.1:$APORT\"}" >/dev/null
        st=$(wait_migrate_end 240)
        EXIT_CODE=; wait_exit "$apid" 60; a=${EXIT_CODE:-timeout}
        EXIT_CODE=; wait_exit "$bpid" 60; b=${EXIT_CODE:-timeout}
        if [ "$st" != completed ] || [ "$a" != 0 ] || [ "$b" != 0 ]; then
            r5="FAIL (QEMU status '$st'; relay A exit $a: $(tail -1 "$T/relayA.log"); relay B exit $b: $(tail -1 "$T/relayB.log"); destination: $(tail -2 "$WORK/tls-relay.log" | tr '\n' ' '))"
        elif tls_dest_judged tls-relay "$T/relay-source.raw" "$TICK5"; then
            r5="PASS (TLS, mutual X.509, on all three legs: $JUDGED; relay A: $(grep -o 'relayed.\{0,80\}' "$T/relayA.log" | head -1))"
        else
            r5="FAIL ($JUDGED)"
        fi
    fi
    stop_qemu "$apid"; stop_qemu "$bpid"
fi
stop_qemu "$DPID"
rm -f "$T/relay-source.raw" "$T/tls.ckpt"
RESULT[5]=$r5

echo "tls interop: check 4 starts at $SECONDS s"
# 4. QEMU -> Engine with multifd over TLS (the main connection and each channel); RAM against the pmemsave. Paused as in
#    check 2 (from postmigrate: cont, then stop): from a running guest, one of three such runs left 7-9 pages a few bytes
#    older than the pmemsave (plain multifd: 0 of 2), the stale-page symptom check 2 describes.
r4=""
$Q cont >/dev/null 2>&1
$Q stop >/dev/null
if ! $Q migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null \
    || ! $Q migrate-set-parameters '{"multifd-channels":2,"multifd-compression":"zstd"}' >/dev/null; then
    r4="FAIL (QEMU refused the multifd parameters)"
elif start_incoming multifd --tls-authz "CN=client" --multifd-channels 2 --multifd-compression zstd --save-images "$T/mf-images" --json; then
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$PORT\"}" >/dev/null
    st=$(wait_migrate_end 240)
    for _ in $(seq 1 150); do kill -0 "$INCOMING_PID" 2>/dev/null || break; sleep 0.2; done
    wait "$INCOMING_PID"; rc=$?
    if [ "$st" != completed ] || [ $rc != 0 ]; then
        r4="FAIL (QEMU status '$st', engine incoming exit $rc: $(tail -2 "$T/multifd.err" | tr '\n' ' '))"
    else
        $Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$T/mf-source.raw\"}" >/dev/null
        sleep 1
        pages=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["compression"]["pages"])' "$T/multifd.out" 2>/dev/null || echo "?")
        same=$(compare_ram "$T/mf-images/pc.ram.raw" "$T/mf-source.raw"); ok=$?
        echo "  multifd: engine's pc.ram.raw vs the source's pmemsave:$same"
        if [ $ok = 0 ]; then
            r4="PASS (multifd x2 zstd over TLS on every connection; $pages pages came in channel packets; engine's RAM equals the source's:$same)"
        else
            r4="FAIL (engine's RAM differs from the source's pmemsave:$same)"
        fi
    fi
else
    r4="FAIL (engine incoming did not start)"
fi
RESULT[4]=$r4
stop_qemu "$SRC"

# 3. Engine -> QEMU destination (endpoint=server, verify-peer=on).
PORT3=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start_qemu tls-dst -machine pc-q35-7.2 -object "tls-creds-x509,id=tls0,dir=$T/creds,endpoint=server,verify-peer=on" -incoming defer
DST=$LAST_PID
D="timeout 60 $QMP $WORK/tls-dst.qmp"
if $D migrate-set-capabilities '{"capabilities":[{"capability":"compress","state":true}]}' >/dev/null \
   && $D migrate-set-parameters '{"tls-creds":"tls0","decompress-threads":2}' >/dev/null && $D migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$PORT3\"}" >/dev/null; then
    timeout 120 $ENGINE migrate --to "tcp:127.0.0.1:$PORT3" --tls-creds "$T/creds" --guest "synthetic:${MEM_MIB}M" --compress-method zlib \
        --compress-threads 2 --max-bandwidth 0 --timeout 10 > "$T/to-qemu.out" 2> "$T/to-qemu.err"
    for _ in $(seq 1 50); do kill -0 "$DST" 2>/dev/null || break; sleep 0.2; done
    qlog=$(tr '\n' ' ' < "$WORK/tls-dst.log")
    echo "  QEMU destination's log: $qlog"
    echo "  engine migrate: $(tr '\n' ' ' < "$T/to-qemu.err")"
    if grep -Eqi 'tls|certificate|handshake|gnutls' "$WORK/tls-dst.log" || grep -Eq 'error: TLS: ' "$T/to-qemu.err"; then
        RESULT[3]="FAIL (a TLS error on one side; see the logs above)"
    elif grep -q 'Expected vmdescription section' "$WORK/tls-dst.log"; then
        RESULT[3]="PASS (handshake accepted both ways; QEMU loaded the RAM section and EOF inside TLS, then wanted the VM description a RAM-only stream lacks)"
    else
        RESULT[3]="FAIL (no sign that QEMU read the stream; see the logs above)"
    fi
else
    RESULT[3]="FAIL (the QEMU destination did not take the TLS parameters)"
fi
stop_qemu "$DST"
report
