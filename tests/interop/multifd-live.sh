#!/usr/bin/env bash
# multifd-live.sh: a real QEMU 7.2 migrates live with multifd into `engine incoming`, once per configuration, and the RAM
# Engine received must equal QEMU's pmemsave of the stopped source (outside 0xa0000-0x100000, where pmemsave reads the
# VGA window and ROM, not RAM).
#
# One QEMU serves every run: it loads the guest from $WORK/stream-plain.bin (make-streams.sh) instead of booting, which
# takes seconds. Between runs the source goes from postmigrate back to paused (cont, then stop); its RAM may change a
# little meanwhile, so each run is compared with its own pmemsave, taken after the migration completed.
#
# The other direction, `to-qemu:METHOD:CHANNELS`: `engine migrate --no-reply` sends the RAM Engine received in the first
# run (kept as $OUT/source.raw) with multifd into a fresh QEMU 7.2 (-incoming defer), whose pmemsave must equal it.
#
# `METHOD:CHANNELS:checkpoint` also saves what Engine received as a single-stream QEMU file (`--save-stream`, RAM
# re-encoded as zlib-1, the device state verbatim), which a fresh QEMU 7.2 then loads (`-incoming "exec:cat FILE"`,
# compress on) and whose guest must tick on: a separate line "multifd checkpoint METHOD xCHANNELS: PASS|FAIL".
#
# `relay:METHOD:CHANNELS`: the QEMU source migrates with multifd into `engine relay` A (which accepts the channels and
# writes one stream, zstd-1), then relay B (none), then a fresh plain QEMU 7.2 destination started paused: its pmemsave
# must equal the source's, and its guest must tick on once resumed ("multifd relay METHOD xCHANNELS: PASS|FAIL").
#
# `relay-kill-src:METHOD:CHANNELS` (last: it ends the source): the same relay pair, the source held to 20 MB/s and killed
# two seconds into the migration; both relays must exit non-zero within 1 s naming their source, and the destination QEMU
# must not run ("multifd relay-kill-src METHOD xCHANNELS: PASS|FAIL").
#
# Usage: multifd-live.sh [METHOD:CHANNELS[:checkpoint] | to-qemu:METHOD:CHANNELS | relay:METHOD:CHANNELS
#                         | relay-kill-src:METHOD:CHANNELS ...]
#        (default: zstd:2:checkpoint zlib:2 none:2 zstd:8 relay:zstd:2 relay-kill-src:zstd:2)
# Prints "multifd METHOD xCHANNELS: PASS" (or "multifd to-qemu METHOD xCHANNELS: PASS") or "...: FAIL (reason)" per
# run; exits 1 if any failed, 2 if it cannot run.
# Env: ENGINE (the engine command, default: dotnet run --project src/Engine.Cli -c Release --), INTEROP_WORK.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
trap stop_all_started EXIT
ENGINE=${ENGINE:-"dotnet run --project $ROOT/src/Engine.Cli -c Release --"}
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=(zstd:2:checkpoint zlib:2 none:2 zstd:8 relay:zstd:2 relay-kill-src:zstd:2)
OUT=$WORK/multifd
rm -rf "$OUT"; mkdir -p "$OUT"

T0=$(date +%s)
stamp() { [ -z "${MULTIFD_TIMING:-}" ] || echo "  [$(( $(date +%s) - T0 )) s] $*" >&2; }
have_qemu || { echo "multifd-live: qemu-system-x86_64 or python3 missing"; exit 2; }
[ -s "$WORK/stream-plain.bin" ] || { echo "multifd-live: $WORK/stream-plain.bin missing (run make-streams.sh)"; exit 2; }

start_qemu mfsrc -S -incoming "exec:cat $WORK/stream-plain.bin"
SRC=$LAST_PID
wait_incoming_completed "$WORK/mfsrc.qmp" 120 || { echo "multifd-live: the source QEMU did not load the guest"; exit 2; }
Q="timeout 60 $QMP $WORK/mfsrc.qmp"
stamp "source loaded"
$Q migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null || exit 2
$Q migrate-set-parameters '{"max-bandwidth":10737418240}' >/dev/null || exit 2

status=0
port=$((47000 + RANDOM % 2000))
# same_ram A B: true when A and B are the same size and equal outside 0xa0000-0x100000 (cmp is C: fast); else prints why.
same_ram() {
    local a=$1 b=$2
    if [ -s "$a" ] && [ "$(stat -c %s "$a")" = "$(stat -c %s "$b" 2>/dev/null)" ] && cmp -s -n $((0xa0000)) "$a" "$b" \
        && cmp -s -i $((0x100000)) "$a" "$b"; then
        return 0
    fi
    python3 - "$a" "$b" <<'PY'
import os, sys
a, b = sys.argv[1], sys.argv[2]
if not os.path.exists(a) or not os.path.exists(b) or os.path.getsize(a) != os.path.getsize(b):
    print(f"no two images of the same size: {a}, {b}"); sys.exit(0)
page, diff = 4096, []
with open(a, 'rb') as fa, open(b, 'rb') as fb:
    addr = 0
    while True:
        x, y = fa.read(page), fb.read(page)
        if not x:
            break
        if x != y and not (0xa0000 <= addr < 0x100000):
            diff.append(addr)
        addr += page
print(f"{len(diff)} pages differ, first at 0x{diff[0]:x}" if diff else "equal page by page, but cmp disagreed")
PY
    return 1
}

to_qemu() {
    local method=$1 channels=$2 name="to-qemu-$1-x$2" dst why
    fail() { echo "multifd to-qemu $method x$channels: FAIL ($1)"; status=1; }
    [ -s "$OUT/source.raw" ] || { fail "no image from an earlier run to send"; return; }
    start_qemu "$name" -S -incoming defer
    dst=$LAST_PID
    local D="timeout 60 $QMP $WORK/$name.qmp"
    $D migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null \
        && $D migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null \
        && $D migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$port\"}" >/dev/null || { fail "QEMU destination setup"; stop_qemu "$dst"; return; }
    stamp "$name: QEMU listening"
    if ! $ENGINE migrate --to "tcp:127.0.0.1:$port" --image "$OUT/source.raw" --multifd-channels "$channels" \
        --multifd-compression "$method" --max-bandwidth 0 --machine-type pc-i440fx-7.2 --no-reply --timeout 60 > "$OUT/$name.migrate" 2>&1; then
        fail "engine migrate: $(tail -2 "$OUT/$name.migrate" | tr '\n' ' ')"; stop_qemu "$dst"; return
    fi
    wait_incoming_completed "$WORK/$name.qmp" 120 || { fail "QEMU did not complete loading: $(tail -2 "$WORK/$name.log" | tr '\n' ' ')"; stop_qemu "$dst"; return; }
    stamp "$name: QEMU completed"
    $D pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.pmemsave\"}" >/dev/null
    if why=$(same_ram "$OUT/$name.pmemsave" "$OUT/source.raw"); then
        echo "multifd to-qemu $method x$channels: PASS ($MEM_MIB MiB equal outside 0xa0000-0x100000; Engine $(grep -o 'transferred ram: [0-9]* kbytes' "$OUT/$name.migrate"))"
    else
        fail "DIFFERENT: $why"
    fi
    rm -f "$OUT/$name.pmemsave"
    stop_qemu "$dst"
}

via_relay() {
    local method=$1 channels=$2 name="relay-$1-x$2" why st a b tick
    fail() { echo "multifd relay $method x$channels: FAIL ($1)"; status=1; }
    $Q migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null || { fail "set parameters"; return; }
    tick=$(last_tick "$WORK/mfsrc.console")
    # The destination starts paused (-S), so its RAM can be compared with the source's before the guest runs on.
    if ! DEST_PAUSED=1 RELAY_A_ARGS="--multifd-channels $channels --multifd-compression $method" relay_pair "$name" zstd; then
        fail "the relays did not listen"; stop_qemu "$DPID"; stop_qemu "$APID"; stop_qemu "$BPID"; return
    fi
    stamp "$name: relays listening"
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$APORT\"}" >/dev/null
    st=$(timeout 300 $QMP "$WORK/mfsrc.qmp" wait-migrate 290)
    EXIT_CODE=; wait_exit "$APID" 60; a=${EXIT_CODE:-timeout}
    EXIT_CODE=; wait_exit "$BPID" 60; b=${EXIT_CODE:-timeout}
    stamp "$name: QEMU says $st, relay A exited $a, relay B $b"
    if [ "$st" != completed ] || [ "$a" != 0 ] || [ "$b" != 0 ]; then
        fail "QEMU $st, relay A exit $a, relay B exit $b: $(tail -1 "$OUT/$name-relayA.log") / $(tail -1 "$OUT/$name-relayB.log")"
    elif ! wait_incoming_completed "$WORK/$name.qmp" 120; then
        fail "the destination QEMU did not load the stream: $(tail -2 "$WORK/$name.log" | tr '\n' ' ')"
    else
        $Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.src.pmem\"}" >/dev/null
        timeout 60 $QMP "$WORK/$name.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.dst.pmem\"}" >/dev/null
        if ! why=$(same_ram "$OUT/$name.dst.pmem" "$OUT/$name.src.pmem"); then
            fail "the destination's RAM is DIFFERENT from the source's: $why"
        elif dest_runs "$name" "$tick"; then
            echo "multifd relay $method x$channels: PASS (destination RAM equal to the source's outside 0xa0000-0x100000, guest ticking; relay A: $(grep -o 'relayed.*ms' "$OUT/$name-relayA.log"))"
        else
            fail "the destination guest did not run on: $(tail -1 "$WORK/$name.console")"
        fi
        rm -f "$OUT/$name.src.pmem" "$OUT/$name.dst.pmem"
    fi
    stop_qemu "$DPID"; stop_qemu "$APID"; stop_qemu "$BPID"
    $Q cont >/dev/null 2>&1 || true
    $Q stop >/dev/null 2>&1 || true
}

kill_source_under_relay() {
    local method=$1 channels=$2 name="relay-kill-$1-x$2" r="" ams bms ds
    fail() { echo "multifd relay-kill-src $method x$channels: FAIL ($1)"; status=1; }
    $Q migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\",\"max-bandwidth\":20971520}" >/dev/null || { fail "set parameters"; return; }
    if ! RELAY_A_ARGS="--multifd-channels $channels --multifd-compression $method" relay_pair "$name" zstd; then
        fail "the relays did not listen"; stop_qemu "$DPID"; stop_qemu "$APID"; stop_qemu "$BPID"; return
    fi
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$APORT\"}" >/dev/null
    sleep 2
    kill -9 "$SRC"
    exit_within "$APID" 1000 && [ "$EXIT_CODE" != 0 ] && grep -q 'relay stopped: the source' "$OUT/$name-relayA.log" \
        || r="relay A did not exit non-zero within 1 s naming the source: $(tail -1 "$OUT/$name-relayA.log")"
    ams=${EXIT_MS:-?}
    exit_within "$BPID" 1000 && [ "$EXIT_CODE" != 0 ] && grep -q 'the source.*ended the stream' "$OUT/$name-relayB.log" \
        || r="$r; relay B did not exit non-zero within 1 s naming its source: $(tail -1 "$OUT/$name-relayB.log")"
    bms=${EXIT_MS:-?}
    sleep 1
    ds=$(timeout 5 $QMP "$WORK/$name.qmp" query-status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo exited)
    [ "$ds" != running ] || r="$r; the destination QEMU runs"
    if [ -z "$r" ]; then
        echo "multifd relay-kill-src $method x$channels: PASS (relay A exited in $ams ms, relay B in $bms ms; destination: $ds; A: $(grep -o 'relay stopped.\{0,90\}' "$OUT/$name-relayA.log"))"
    else
        fail "$r"
    fi
    stop_qemu "$DPID"; stop_qemu "$APID"; stop_qemu "$BPID"
}

for run in "${RUNS[@]}"; do
    port=$((port + 1))
    case "$run" in
        to-qemu:*) rest=${run#to-qemu:}; to_qemu "${rest%%:*}" "${rest##*:}"; continue ;;
        relay:*) rest=${run#relay:}; via_relay "${rest%%:*}" "${rest##*:}"; continue ;;
        relay-kill-src:*) rest=${run#relay-kill-src:}; kill_source_under_relay "${rest%%:*}" "${rest##*:}"; continue ;;
    esac
    IFS=: read -r method channels checkpoint <<< "$run"; name="$method-x$channels"
    fail() { echo "multifd $method x$channels: FAIL ($1)"; status=1; }
    $Q migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null || { fail "set parameters"; continue; }
    save=()
    [ "$checkpoint" = checkpoint ] && save=(--save-stream "$OUT/$name.ckpt" --compress-method zlib --compress-level 1 --compress-threads 2)
    tick=$(last_tick "$WORK/mfsrc.console")
    $ENGINE incoming --listen "tcp:127.0.0.1:$port" --multifd-channels "$channels" --multifd-compression "$method" \
        --timeout 60 --save-images "$OUT/$name" "${save[@]}" > "$OUT/$name.incoming" 2>&1 &
    incoming=$!
    for _ in $(seq 1 100); do grep -q "listening on" "$OUT/$name.incoming" 2>/dev/null && break; sleep 0.1; done
    start=$(date +%s%N)
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$port\"}" >/dev/null || { fail "migrate command"; kill "$incoming" 2>/dev/null; wait "$incoming"; continue; }
    st=$(timeout 300 $QMP "$WORK/mfsrc.qmp" wait-migrate 290)
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    stamp "$name: QEMU says $st"
    timeout 120 tail --pid="$incoming" -f /dev/null; wait "$incoming"; rc=$?
    stamp "$name: engine incoming exited $rc"
    $Q query-migrate > "$OUT/$name.query-migrate.json" 2>/dev/null || true
    if [ "$st" != completed ]; then fail "QEMU's migration ended $st; engine: $(tail -2 "$OUT/$name.incoming" | tr '\n' ' ')"
    elif [ "$rc" != 0 ]; then fail "engine incoming exited $rc: $(tail -2 "$OUT/$name.incoming" | tr '\n' ' ')"
    else
        $Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.pmemsave\"}" >/dev/null
        stamp "$name: pmemsave done"
        if why=$(same_ram "$OUT/$name.pmemsave" "$OUT/$name/pc.ram.raw"); then
            verdict="$MEM_MIB MiB equal outside 0xa0000-0x100000"
        else
            verdict="DIFFERENT: $why"
        fi
        if [ "${verdict#DIFFERENT}" = "$verdict" ]; then
            got=$(grep -o 'received [0-9]* kbytes' "$OUT/$name.incoming" || echo "received ? kbytes")
            echo "multifd $method x$channels: PASS ($verdict; QEMU reported completed after $ms ms; Engine $got)"
        else
            fail "$verdict"
        fi
        # The first good image is kept for the to-qemu runs.
        if [ ! -s "$OUT/source.raw" ] && [ "${verdict#DIFFERENT}" = "$verdict" ]; then mv "$OUT/$name/pc.ram.raw" "$OUT/source.raw"; fi
        rm -f "$OUT/$name.pmemsave" "$OUT/$name/pc.ram.raw"
    fi
    stamp "$name: compared"
    if [ "$checkpoint" = checkpoint ]; then
        # The checkpoint: a single-stream QEMU file that a fresh QEMU loads and runs the guest from.
        if [ ! -s "$OUT/$name.ckpt" ] || [ -e "$OUT/$name.ckpt.tmp" ]; then
            echo "multifd checkpoint $method x$channels: FAIL (no checkpoint written, or its temporary file left: $(tail -2 "$OUT/$name.incoming" | tr '\n' ' '))"; status=1
        else
            start_checkpoint "ckpt-$name" "$OUT/$name.ckpt"
            ckpt=$LAST_PID
            if dest_runs "ckpt-$name" "$tick"; then
                echo "multifd checkpoint $method x$channels: PASS ($(stat -c %s "$OUT/$name.ckpt") bytes (zlib-1, $(grep -o 'QEMU ([0-9]* bytes of device state' "$OUT/$name.incoming" | grep -o '[0-9]*') bytes of device state) loaded by a fresh QEMU, guest ticking)"
            else
                echo "multifd checkpoint $method x$channels: FAIL (the checkpoint did not load or the guest did not tick: $(tail -2 "$WORK/ckpt-$name.log" | tr '\n' ' '))"; status=1
            fi
            stop_qemu "$ckpt"
            stamp "$name: checkpoint checked"
        fi
        rm -f "$OUT/$name.ckpt"
    fi
    # postmigrate -> paused, for the next run.
    $Q cont >/dev/null 2>&1 || true
    $Q stop >/dev/null 2>&1 || true
done
stop_qemu "$SRC"
rm -f "$OUT/source.raw"
exit $status
