#!/usr/bin/env bash
# qemu10-peer.sh MACHINE [RUN...]: Engine as a peer of QEMU 10.0 on one machine type (issue 16).
#
# Boots the test guest ONCE under QEMU 10.0 (tests/interop/qemu10.sh unpacks it into work/qemu10) with `-machine MACHINE`,
# stops it, and migrates the stopped guest once per RUN. A stopped source sends the same RAM in every stream, so each run
# is judged against an independent reference, the source's pmemsave taken right after that run's migration completed
# (compared outside 0xa0000-0x100000, where pmemsave reads the VGA window and ROM). Between runs the source goes from
# postmigrate back to paused (cont, then stop: a few milliseconds of guest time).
#
# RUNs (default: all of them):
#   plain              QEMU -> `engine incoming --listen tcp:... --save-images DIR`: pc.ram equals pmemsave
#   multifd:METHOD:N   the same with the multifd capability, multifd-channels N and multifd-compression METHOD on both
#                      ends (`engine incoming --multifd-channels N --multifd-compression METHOD`); QEMU 10's other
#                      parameters stay at their defaults (zero-page-detection=multifd on 9.0+ machine types, a multifd
#                      sync per round on 8.1+)
#   relay              QEMU -> `engine relay` A (zstd-1) -> relay B (none) -> a fresh QEMU 10.0 on MACHINE (-S, -incoming
#                      defer): the destination's pmemsave equals the source's, and after `cont` its guest ticks on
#   store              QEMU -> `engine incoming --save-stream F --compress-method zstd`; `engine relay --from file:F` into
#                      a fresh QEMU 10.0 on MACHINE: RAM equal to the source's, and the guest ticks on
#   mapped-ram         `migrate file:F` with the mapped-ram capability (libvirt's `virsh save` format); `engine extract F`
#                      equals pmemsave
#   mapped-ram:N       the same with multifd on N channels (libvirt's `virsh save --parallel-channels N`)
#   mapped-ram-out     QEMU -> `engine incoming --save-stream F --format mapped-ram`; a fresh QEMU 10.0 on MACHINE restores
#                      F (mapped-ram on, migrate-incoming file:F): RAM equal to the source's, and the guest ticks on
#   to-qemu:METHOD:N   `engine migrate --machine-type MACHINE` multifd into a fresh QEMU 10.0 (below)
#   tls                plain, over TLS (mk-certs.sh certificates, tls-creds-x509 endpoint=client on the source,
#                      `engine incoming --tls-creds DIR --tls-authz CN=client`)
#   tls-multifd:METHOD:N  multifd over TLS, on the main connection and on every channel
#   tls-relay          the relay run with TLS on every leg (mutual X.509): the source into relay A, A to B, and B into a
#                      fresh QEMU 10.0 with tls-creds-x509 endpoint=server,verify-peer=on and tls-authz (CN=client);
#                      RAM equal, the guest ticks on
#   tls-to-qemu        `engine migrate --tls-creds` (one stream) into a fresh QEMU 10.0 that verifies its peer (verify-peer=on,
#                      tls-authz CN=client): RAM equal to what Engine sent, the source's pmemsave (RAM only: no guest to run)
#   tls-to-qemu:METHOD:N  the same with multifd, TLS on the main connection and on every channel
#   tls-store          the store run over TLS: the source into `engine incoming --tls-creds --tls-authz CN=client
#                      --save-stream F --compress-method zstd`, then `relay --from file:F --tls-creds` into a fresh QEMU 10.0
#                      that verifies its peer: RAM equal, the guest ticks on
#   xbzrle             plain with the xbzrle capability on (the source is paused: QEMU sends no XBZRLE record; see run_xbzrle)
#   store-multifd:METHOD:N  the store run with a multifd source (`incoming --multifd-channels N --save-stream F`)
#   relay-multifd      QEMU (multifd zstd x2) -> relay A (one stream, zstd-1) -> relay B (--to-multifd-channels 2, none)
#                      -> a fresh QEMU 10.0 with multifd none x2: RAM equal to the source's, the guest ticks on
#   restore-multifd    the store run's checkpoint (else one of its own) restored by `relay --from file: --machine-type MACHINE
#                      --to-multifd-channels 2` into a fresh QEMU 10.0 with multifd none x2 (neither is in the
#                      default list; Qemu10PeerRuns names both for pc-q35-10.0)
# QEMU 10 has no compress capability (removed in 9.1); multifd needs a socket, so it is tested over TCP only.
# Not seen here: each page crosses once into zeroed memory, so a reader that dropped a multifd packet's zero pages
# (9.0+) would still end equal; the packet reader's unit and mutation tests cover that.
#
# Prints "q10 check MACHINE RUN: PASS|FAIL|SKIPPED (detail)" per run, after "== q10 MACHINE: ..." timing lines; exits 1
# if a run failed. SKIPPED (every run, with the reason) when QEMU 10.0 is not unpacked or QEMU / python3 are missing.
# Env: ENGINE (default: dotnet run --project src/Engine.Cli -c Release --), INTEROP_WORK, INTEROP_MEM_MIB (default 256),
#      QEMU10_DIR (default tests/interop/work/qemu10), Q10_TIME_LIMIT (default 300 s for the whole script),
#      GUEST_BOOT_TIMEOUT (default 180 s), QEMU10_EXTRA (more arguments for every QEMU 10 started, source and
#      destinations, e.g. "-global migration.send-switchover-start=off" to try a QEMU-side workaround).
# Every wait is bounded; only processes this script started are stopped, by their PIDs.
set -uo pipefail
if [ -z "${_Q10_PEER_TIMED:-}" ]; then
    exec timeout -k 10 "${Q10_TIME_LIMIT:-300}" env _Q10_PEER_TIMED=1 "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
INTEROP_MEM_MIB=${INTEROP_MEM_MIB:-256}
source "$HERE/lib.sh"
trap stop_all_started EXIT
ENGINE=${ENGINE:-"dotnet run --project $ROOT/src/Engine.Cli -c Release --"}

MACHINE=${1:?usage: qemu10-peer.sh MACHINE [plain | multifd:METHOD:N | relay | store | mapped-ram | mapped-ram:N | to-qemu:METHOD:N ...]}
shift
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=(plain multifd:zstd:2 multifd:none:2 relay store mapped-ram mapped-ram:2)
QEMU10_DIR=${QEMU10_DIR:-$HERE/work/qemu10}
# lib.sh's start_qemu runs $(qemu_base), which takes these two.
QEMU_BIN=$QEMU10_DIR/qemu-system-x86_64
QEMU_MACHINE=$MACHINE
# A quick guest (see guest-init.sh) and a quiet kernel: the boot is most of this script's time under TCG.
# no_timer_check: under a heavy host load TCG's timer can miss the kernel's IO-APIC timer check, which then panics
# ("IO-APIC + timer doesn't work!", seen here at a load average of 30).
QEMU_APPEND="console=ttyS0 panic=-1 quiet no_timer_check guest.quick"
QEMU_EXTRA=${QEMU10_EXTRA:-}
# QEMU's files (QMP socket, console, log) go to $WORK/$P.*; everything else to $OUT.
P=q10.$MACHINE
OUT=$WORK/q10/$MACHINE
rm -rf "$OUT"; mkdir -p "$OUT"
declare -A RESULT

report() {
    local status=0 run
    echo "== q10 $MACHINE: ${BOOT_S:-?} s to boot, $SECONDS s in all"
    for run in "${RUNS[@]}"; do
        echo "q10 check $MACHINE $run: ${RESULT[$run]:-FAIL (not finished before the time limit)}"
        case "${RESULT[$run]:-}" in FAIL*) status=1 ;; esac
    done
    exit $status
}

# At the time limit (timeout sends TERM) the runs reached so far are still reported.
trap 'echo "q10 $MACHINE: the time limit was reached at $SECONDS s"; report' TERM

all() { local run; for run in "${RUNS[@]}"; do RESULT[$run]=$1; done; report; }
have_qemu || all "SKIPPED (qemu-system-x86_64 or python3 is not installed)"
[ -x "$QEMU_BIN" ] || all "SKIPPED (QEMU 10.0 is not unpacked at $QEMU10_DIR: tests/install-deps.sh does it with tests/interop/qemu10.sh, which needs root, apt-get and Debian's archive)"
"$QEMU_BIN" -machine help 2>/dev/null | grep -q "^$MACHINE " || all "FAIL ($("$QEMU_BIN" --version | head -1) offers no machine type $MACHINE)"
if [ ! -s "$GUEST/vmlinuz" ] || [ ! -s "$GUEST/initramfs.cpio.gz" ]; then
    "$HERE/make-guest.sh" "$WORK" >/dev/null || all "FAIL (make-guest.sh failed)"
fi

# Why an engine run failed: its last "error" line, else its log's last line.
engine_said() {
    { grep 'error' "$OUT/$1.log" 2>/dev/null || tail -1 "$OUT/$1.log" 2>/dev/null; } | tail -1 | cut -c1-400
}
qemu_said() { tail -2 "$WORK/$1.log" 2>/dev/null | tr '\n' ' ' | cut -c1-300; }

# ram_equal A B: A and B are the same size and equal outside 0xa0000-0x100000; prints the verdict either way.
ram_equal() {
    local a=$1 b=$2
    if [ ! -s "$a" ] || [ ! -s "$b" ]; then
        echo "no image to compare: $(basename "$a") $( [ -s "$a" ] && echo present || echo missing), $(basename "$b") $( [ -s "$b" ] && echo present || echo missing)"
        return 1
    fi
    if [ "$(stat -c %s "$a")" = "$(stat -c %s "$b")" ] && cmp -s -n $((0xa0000)) "$a" "$b" && cmp -s -i $((0x100000)) "$a" "$b"; then
        echo "$MEM_MIB MiB equal outside 0xa0000-0x100000"
        return 0
    fi
    echo "DIFFERENT:$(compare_ram "$a" "$b")"
    return 1
}

Q="timeout 60 $QMP $WORK/$P.src.qmp"
pmem() { $Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$1\"}" >/dev/null; }

# caps MULTIFD MAPPED_RAM: the source's two capabilities that differ between runs (true/false).
caps() {
    $Q migrate-set-capabilities "{\"capabilities\":[{\"capability\":\"multifd\",\"state\":$1},{\"capability\":\"mapped-ram\",\"state\":$2}]}" >/dev/null 2>"$OUT/caps.err"
}

# source_migrate URI: migrates the stopped source; ST is QEMU's final status, QERR its error description, if any.
source_migrate() {
    QERR=""
    if ! $Q migrate "{\"uri\":\"$1\"}" >/dev/null 2>"$OUT/migrate.err"; then
        ST="refused"; QERR=$(tail -1 "$OUT/migrate.err"); return 1
    fi
    ST=$(timeout 300 $QMP "$WORK/$P.src.qmp" wait-migrate 290 2>/dev/null) || true
    [ -n "$ST" ] || ST="no answer"
    if [ "$ST" != completed ]; then
        QERR=$($Q query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("error-desc",""))' 2>/dev/null)
        return 1
    fi
}

# After a migration the source sits in postmigrate and refuses another; a moment of guest time brings it back to paused.
source_reset() {
    $Q cont >/dev/null 2>&1 || true
    $Q stop >/dev/null 2>&1 || true
}

# start_dest NAME: a fresh QEMU 10.0 on MACHINE, paused (-S), listening with -incoming defer + migrate-incoming on a free
# port; sets DPID and DPORT. False if it did not come up.
start_dest10() {
    local name=$1
    start_qemu "$name" -S -incoming defer
    DPID=$LAST_PID
    DPORT=$(free_port)
    timeout 60 $QMP "$WORK/$name.qmp" migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$DPORT\"}" >/dev/null 2>&1
}

# dest_judged RUN NAME SRC_PMEM TICK: the destination QEMU NAME completed loading, its RAM equals SRC_PMEM, and after cont
# its guest ticks on (>= TICK); sets RESULT[RUN] to the FAIL, or returns 0 with DETAIL set.
dest_judged() {
    local run=$1 name=$2 src=$3 tick=$4 same
    if ! wait_incoming_completed "$WORK/$name.qmp" 120; then
        RESULT[$run]="FAIL (the destination QEMU did not complete loading: $(qemu_said "$name"))"; return 1
    fi
    timeout 60 $QMP "$WORK/$name.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.pmem\"}" >/dev/null
    same=$(ram_equal "$OUT/$name.pmem" "$src")
    local ok=$?
    rm -f "$OUT/$name.pmem"
    if [ $ok != 0 ]; then
        RESULT[$run]="FAIL (the destination's RAM vs the source's: $same)"; return 1
    fi
    if ! dest_runs "$name" "$tick" > "$OUT/$name.runs" 2>&1; then
        RESULT[$run]="FAIL (RAM equal, but the destination guest did not run on: $(tail -1 "$OUT/$name.runs"); console: $(tail -1 "$WORK/$name.console"))"; return 1
    fi
    DETAIL="destination RAM: $same; guest ticking on (tick $(last_tick "$WORK/$name.console"), the source stopped at $tick)"
}

# run_incoming RUN MULTIFD ENGINE-ARGS...: the source into engine incoming (--save-images), compared with pmemsave.
run_incoming() {
    local run=$1 multifd=$2; shift 2
    local name=${run//:/-} port verdict ok
    caps "$multifd" false || { RESULT[$run]="FAIL (migrate-set-capabilities: $(tail -1 "$OUT/caps.err"))"; return; }
    port=$(free_port)
    start_engine "$name" incoming --listen "tcp:127.0.0.1:$port" --timeout 60 --save-images "$OUT/$name" "$@"
    local epid=$LAST_PID
    wait_listening "$OUT/$name.log" 60 || { RESULT[$run]="FAIL (engine incoming did not listen: $(engine_said "$name"))"; stop_qemu "$epid"; return; }
    source_migrate "tcp:127.0.0.1:$port"
    EXIT_CODE=; wait_exit "$epid" 60 || stop_qemu "$epid"
    if [ "$ST" != completed ] || [ "${EXIT_CODE:-timeout}" != 0 ]; then
        RESULT[$run]="FAIL (QEMU: $ST${QERR:+ ($QERR)}; engine incoming exit ${EXIT_CODE:-timeout}: $(engine_said "$name"))"; return
    fi
    pmem "$OUT/$name.pmem"
    verdict=$(ram_equal "$OUT/$name/pc.ram.raw" "$OUT/$name.pmem"); ok=$?
    rm -rf "$OUT/$name" "$OUT/$name.pmem"
    if [ $ok = 0 ]; then
        RESULT[$run]="PASS (RAM Engine received: $verdict; Engine $(grep -o 'received [0-9]* kbytes' "$OUT/$name.log" | head -1))"
    else
        RESULT[$run]="FAIL (RAM Engine received vs the source's pmemsave: $verdict)"
    fi
}

run_multifd() {
    local run=$1 method channels
    IFS=: read -r _ method channels <<< "$run"
    if [ -z "$method" ] || ! [[ "$channels" =~ ^[0-9]+$ ]]; then RESULT[$run]="FAIL (not multifd:METHOD:CHANNELS)"; return; fi
    $Q migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null 2>"$OUT/params.err" \
        || { RESULT[$run]="FAIL (migrate-set-parameters: $(tail -1 "$OUT/params.err"))"; return; }
    run_incoming "$run" true --multifd-channels "$channels" --multifd-compression "$method"
}

run_relay() {
    local run=$1 name=$P.relay a b tick
    caps false false || { RESULT[$run]="FAIL (migrate-set-capabilities: $(tail -1 "$OUT/caps.err"))"; return; }
    tick=$(last_tick "$WORK/$P.src.console")
    start_dest10 "$name" || { RESULT[$run]="FAIL (the destination QEMU did not start: $(qemu_said "$name"))"; stop_qemu "$DPID"; return; }
    local bport aport; bport=$(free_port); aport=$(free_port)
    start_engine relayB relay --listen "tcp:127.0.0.1:$bport" --to "tcp:127.0.0.1:$DPORT" --compress-method none --decompress-threads 2
    local bpid=$LAST_PID
    start_engine relayA relay --listen "tcp:127.0.0.1:$aport" --to "tcp:127.0.0.1:$bport" --compress-method zstd --compress-level 1 --compress-threads 2
    local apid=$LAST_PID
    if ! wait_listening "$OUT/relayB.log" 60 || ! wait_listening "$OUT/relayA.log" 60; then
        RESULT[$run]="FAIL (the relays did not listen: $(engine_said relayA) / $(engine_said relayB))"
    else
        source_migrate "tcp:127.0.0.1:$aport"
        EXIT_CODE=; wait_exit "$apid" 60; a=${EXIT_CODE:-timeout}
        EXIT_CODE=; wait_exit "$bpid" 60; b=${EXIT_CODE:-timeout}
        if [ "$ST" != completed ] || [ "$a" != 0 ] || [ "$b" != 0 ]; then
            RESULT[$run]="FAIL (QEMU: $ST${QERR:+ ($QERR)}; relay A exit $a: $(engine_said relayA); relay B exit $b: $(engine_said relayB); destination: $(qemu_said "$name"))"
        else
            pmem "$OUT/relay.src.pmem"
            dest_judged "$run" "$name" "$OUT/relay.src.pmem" "$tick" \
                && RESULT[$run]="PASS ($DETAIL; relay A: $(grep -o 'relayed.\{0,80\}' "$OUT/relayA.log" | head -1))"
            rm -f "$OUT/relay.src.pmem"
        fi
    fi
    stop_qemu "$apid"; stop_qemu "$bpid"; stop_qemu "$DPID"
}

# The restore leg's TLS options (relay --from file: --tls-creds ...), set by run_tls_store only.
STORE_OUT_TLS=()
# run_store RUN [MULTIFD ENGINE-ARGS...]: "store" (and, through run_tls_store and run_store_multifd, their runs). Each run's
# files and logs are its own (store.bin, store-in.log for "store"; tls-store.bin, tls-store-in.log, ...), so that the
# "store" run's checkpoint is still there for restore-multifd after the runs between.
run_store() {
    local run=$1 multifd=${2:-false} name=$P.store port tick st=store
    [ "$run" = store ] || st=${run//:/-}
    shift; [ $# -gt 0 ] && shift
    caps "$multifd" false || { RESULT[$run]="FAIL (migrate-set-capabilities: $(tail -1 "$OUT/caps.err"))"; return; }
    tick=$(last_tick "$WORK/$P.src.console")
    port=$(free_port)
    start_engine "$st-in" incoming --listen "tcp:127.0.0.1:$port" --timeout 60 --save-stream "$OUT/$st.bin" \
        --compress-method zstd --compress-level 1 --compress-threads 2 "$@"
    local epid=$LAST_PID
    wait_listening "$OUT/$st-in.log" 60 || { RESULT[$run]="FAIL (engine incoming did not listen: $(engine_said "$st-in"))"; stop_qemu "$epid"; return; }
    source_migrate "tcp:127.0.0.1:$port"
    EXIT_CODE=; wait_exit "$epid" 60 || stop_qemu "$epid"
    if [ "$ST" != completed ] || [ "${EXIT_CODE:-timeout}" != 0 ] || [ ! -s "$OUT/$st.bin" ]; then
        RESULT[$run]="FAIL (storing: QEMU: $ST${QERR:+ ($QERR)}; engine incoming --save-stream exit ${EXIT_CODE:-timeout}: $(engine_said "$st-in"))"; return
    fi
    pmem "$OUT/$st.src.pmem"
    local size; size=$(stat -c %s "$OUT/$st.bin")
    if [ ${#STORE_OUT_TLS[@]} -gt 0 ]; then
        start_dest10_tls "$name" || { RESULT[$run]="FAIL (the destination QEMU did not take tls-creds, tls-authz and migrate-incoming: $(qemu_said "$name"))"; stop_qemu "$DPID"; rm -f "$OUT/$st.bin" "$OUT/$st.src.pmem"; return; }
    else
        start_dest10 "$name" || { RESULT[$run]="FAIL (the destination QEMU did not start: $(qemu_said "$name"))"; stop_qemu "$DPID"; return; }
    fi
    start_engine "$st-out" relay --from "file:$OUT/$st.bin" --to "tcp:127.0.0.1:$DPORT" --compress-method none --decompress-threads 2 "${STORE_OUT_TLS[@]}"
    local rpid=$LAST_PID
    EXIT_CODE=; wait_exit "$rpid" 120 || stop_qemu "$rpid"
    if [ "${EXIT_CODE:-timeout}" != 0 ]; then
        RESULT[$run]="FAIL (restoring: engine relay --from file: exit ${EXIT_CODE:-timeout}: $(engine_said "$st-out"); destination: $(qemu_said "$name"))"
    elif dest_judged "$run" "$name" "$OUT/$st.src.pmem" "$tick"; then
        RESULT[$run]="PASS (checkpoint of $size bytes (zstd-1) for $MEM_MIB MiB; restored: $DETAIL)"
    fi
    # restore-multifd (below) restores the same checkpoint once more, so the source is not migrated again for it.
    if [ "$run" = store ] && [[ " ${RUNS[*]} " == *" restore-multifd "* ]]; then echo "$tick" > "$OUT/store.tick"; else rm -f "$OUT/$st.bin" "$OUT/$st.src.pmem"; fi
    stop_qemu "$DPID"
}

# run_to_qemu RUN: "to-qemu:METHOD:N": `engine migrate --no-reply --machine-type MACHINE` sends the stopped source's RAM
# (its pmemsave, as one pc.ram image) with multifd into a fresh QEMU 10.0 destination of the same machine type, whose
# pmemsave must equal it: Engine writes the framing that machine type expects (the 0x200 record from 8.1 on).
run_to_qemu() {
    local run=$1 method channels name=$P.toq verdict ok
    IFS=: read -r _ method channels <<< "$run"
    if [ -z "$method" ] || ! [[ "$channels" =~ ^[0-9]+$ ]]; then RESULT[$run]="FAIL (not to-qemu:METHOD:CHANNELS)"; return; fi
    pmem "$OUT/toq.src.pmem"
    start_qemu "$name" -S -incoming defer
    DPID=$LAST_PID
    DPORT=$(free_port)
    local D="timeout 60 $QMP $WORK/$name.qmp"
    if ! $D migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null 2>&1 \
        || ! $D migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null 2>&1 \
        || ! $D migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$DPORT\"}" >/dev/null 2>&1; then
        RESULT[$run]="FAIL (the destination QEMU did not take its setup: $(qemu_said "$name"))"; stop_qemu "$DPID"; rm -f "$OUT/toq.src.pmem"; return
    fi
    if ! timeout 180 $ENGINE migrate --to "tcp:127.0.0.1:$DPORT" --image "$OUT/toq.src.pmem" --multifd-channels "$channels" \
        --multifd-compression "$method" --max-bandwidth 0 --machine-type "$MACHINE" --no-reply --timeout 60 > "$OUT/toq.log" 2>&1; then
        RESULT[$run]="FAIL (engine migrate: $(engine_said toq); destination: $(qemu_said "$name"))"
    elif ! wait_incoming_completed "$WORK/$name.qmp" 120; then
        RESULT[$run]="FAIL (the destination QEMU did not complete loading: $(qemu_said "$name"))"
    else
        $D pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/toq.dst.pmem\"}" >/dev/null
        verdict=$(ram_equal "$OUT/toq.dst.pmem" "$OUT/toq.src.pmem"); ok=$?
        if [ $ok = 0 ]; then
            RESULT[$run]="PASS (QEMU 10.0 loaded Engine's multifd $method x$channels: $verdict)"
        else
            RESULT[$run]="FAIL (the destination's RAM vs what Engine sent: $verdict)"
        fi
    fi
    rm -f "$OUT/toq.src.pmem" "$OUT/toq.dst.pmem"
    stop_qemu "$DPID"
}

# run_mapped_ram RUN: "mapped-ram", or "mapped-ram:N" with multifd on N channels (libvirt's parallel save: the channels
# write their pages at the same fixed offsets; no packets, no compression).
run_mapped_ram() {
    local run=$1 file=$OUT/mapped-ram.bin verdict ok multifd=false channels=${1#mapped-ram:}
    if [ "$channels" != "$run" ]; then
        [[ "$channels" =~ ^[0-9]+$ ]] || { RESULT[$run]="FAIL (not mapped-ram:CHANNELS)"; return; }
        $Q migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"none\"}" >/dev/null 2>"$OUT/params.err" \
            || { RESULT[$run]="FAIL (migrate-set-parameters: $(tail -1 "$OUT/params.err"))"; return; }
        multifd=true
    fi
    # QEMU refuses mapped-ram beside a multifd-compression other than none, even with multifd off (left by a multifd run).
    $Q migrate-set-parameters '{"multifd-compression":"none"}' >/dev/null 2>&1 || true
    caps "$multifd" true || { RESULT[$run]="FAIL (migrate-set-capabilities: $(tail -1 "$OUT/caps.err"))"; return; }
    source_migrate "file:$file"
    caps false false || true
    if [ "$ST" != completed ]; then RESULT[$run]="FAIL (QEMU: $ST${QERR:+ ($QERR)})"; rm -f "$file"; return; fi
    pmem "$OUT/mapped-ram.pmem"
    echo "+ engine extract $file --out $OUT/mapped-ram" > "$OUT/extract.log"
    # shellcheck disable=SC2086
    if timeout 120 $ENGINE extract "$file" --out "$OUT/mapped-ram" >> "$OUT/extract.log" 2>&1; then
        verdict=$(ram_equal "$OUT/mapped-ram/pc.ram.raw" "$OUT/mapped-ram.pmem"); ok=$?
        if [ $ok = 0 ]; then
            RESULT[$run]="PASS (engine extract of the $(stat -c %s "$file")-byte mapped-ram file: $verdict)"
        else
            RESULT[$run]="FAIL (engine extract of the mapped-ram file vs the source's pmemsave: $verdict)"
        fi
    else
        RESULT[$run]="FAIL (engine extract of QEMU's mapped-ram file failed: $(engine_said extract))"
    fi
    rm -rf "$file" "$OUT/mapped-ram" "$OUT/mapped-ram.pmem"
}

# ---- q10tests: TLS, xbzrle, a multifd-source store and Engine-written mapped-ram on MACHINE (issue 16) ----
# TLS runs need certificates (mk-certs.sh, into $OUT/creds, made before the boot) and a tls-creds-x509 object on the
# source (endpoint=client, verify-peer on by default), which the source uses only during those runs.
SRC_EXTRA=()
CREDS=$OUT/creds
for run in "${RUNS[@]}"; do
    case "$run" in
        tls|tls-multifd:*|tls-relay|tls-to-qemu|tls-to-qemu:*|tls-store)
            if [ ${#SRC_EXTRA[@]} = 0 ]; then
                "$HERE/mk-certs.sh" "$CREDS" >/dev/null 2>&1 || all "FAIL (mk-certs.sh could not make the TLS certificates)"
                SRC_EXTRA=(-object "tls-creds-x509,id=tls0,dir=$CREDS,endpoint=client")
            fi ;;
    esac
done

# run_tls RUN: "tls" (precopy) or "tls-multifd:METHOD:N": the source with tls-creds and tls-hostname into `engine incoming
# --tls-creds DIR --tls-authz CN=client` (multifd: TLS on the main connection and on every channel); pc.ram equals the
# source's pmemsave. Engine checks QEMU's client certificate (CN=client) and QEMU checks Engine's (127.0.0.1).
run_tls() {
    local run=$1 method channels multifd=false extra=()
    if [ "$run" != tls ]; then
        IFS=: read -r _ method channels <<< "$run"
        if [ -z "$method" ] || ! [[ "$channels" =~ ^[0-9]+$ ]]; then RESULT[$run]="FAIL (not tls-multifd:METHOD:CHANNELS)"; return; fi
        $Q migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null 2>"$OUT/params.err" \
            || { RESULT[$run]="FAIL (migrate-set-parameters: $(tail -1 "$OUT/params.err"))"; return; }
        multifd=true
        extra=(--multifd-channels "$channels" --multifd-compression "$method")
    fi
    $Q migrate-set-parameters '{"tls-creds":"tls0","tls-hostname":"127.0.0.1"}' >/dev/null 2>"$OUT/params.err" \
        || { RESULT[$run]="FAIL (QEMU refused the TLS parameters: $(tail -1 "$OUT/params.err"))"; return; }
    run_incoming "$run" "$multifd" --tls-creds "$CREDS" --tls-authz CN=client "${extra[@]}"
    $Q migrate-set-parameters '{"tls-creds":"","tls-hostname":""}' >/dev/null 2>&1 || true
    case "${RESULT[$run]}" in PASS*) RESULT[$run]="PASS (over TLS, mutual X.509: ${RESULT[$run]#PASS (}" ;; esac
}

# start_dest10_tls NAME [CHANNELS METHOD]: as start_dest10, a fresh QEMU 10.0 on MACHINE that takes migration over TLS
# only from a verified client: tls-creds-x509 endpoint=server,verify-peer=on (mk-certs.sh's CA and server certificate for
# 127.0.0.1) and tls-authz naming an authz-simple object whose one identity is CN=client (the subject of mk-certs.sh's
# client certificate, which Engine's connecting end presents); with CHANNELS and METHOD, multifd on as well (TLS on
# every channel). Sets DPID and DPORT; false if QEMU did not take its setup.
start_dest10_tls() {
    local name=$1 channels=${2:-} method=${3:-}
    start_qemu "$name" -S -incoming defer -object "tls-creds-x509,id=tls0,dir=$CREDS,endpoint=server,verify-peer=on" \
        -object authz-simple,id=authz0,identity=CN=client
    DPID=$LAST_PID
    DPORT=$(free_port)
    local D="timeout 60 $QMP $WORK/$name.qmp"
    if [ -n "$channels" ]; then
        $D migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null 2>&1 \
            && $D migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null 2>&1 \
            || return 1
    fi
    $D migrate-set-parameters '{"tls-creds":"tls0","tls-authz":"authz0"}' >/dev/null 2>&1 \
        && $D migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$DPORT\"}" >/dev/null 2>&1
}

# run_tls_relay RUN: "tls-relay": a relay pair with TLS on every leg: the source (tls-creds, tls-hostname) -> relay A
# (--listen-tls-creds, --listen-tls-authz CN=client; zstd-1, --tls-creds to B) -> relay B (--listen-tls-creds; none,
# --tls-creds to the destination) -> a fresh QEMU 10.0 on MACHINE from start_dest10_tls (verify-peer=on, tls-authz
# CN=client). Each end verifies the other's certificate (the server's is for 127.0.0.1, the client's CN=client). The
# destination's pmemsave equals the source's, and its guest ticks on.
run_tls_relay() {
    local run=$1 name=$P.tlsrelay a b tick
    caps false false || { RESULT[$run]="FAIL (migrate-set-capabilities: $(tail -1 "$OUT/caps.err"))"; return; }
    $Q migrate-set-parameters '{"tls-creds":"tls0","tls-hostname":"127.0.0.1"}' >/dev/null 2>"$OUT/params.err" \
        || { RESULT[$run]="FAIL (QEMU refused the TLS parameters: $(tail -1 "$OUT/params.err"))"; return; }
    tick=$(last_tick "$WORK/$P.src.console")
    if ! start_dest10_tls "$name"; then
        RESULT[$run]="FAIL (the destination QEMU did not take tls-creds, tls-authz and migrate-incoming: $(qemu_said "$name"))"
        stop_qemu "$DPID"; $Q migrate-set-parameters '{"tls-creds":"","tls-hostname":""}' >/dev/null 2>&1; return
    fi
    local bport aport; bport=$(free_port); aport=$(free_port)
    start_engine tlsrelayB relay --listen "tcp:127.0.0.1:$bport" --listen-tls-creds "$CREDS" --listen-tls-authz CN=client \
        --to "tcp:127.0.0.1:$DPORT" --tls-creds "$CREDS" --tls-hostname 127.0.0.1 --compress-method none --decompress-threads 2
    local bpid=$LAST_PID
    start_engine tlsrelayA relay --listen "tcp:127.0.0.1:$aport" --listen-tls-creds "$CREDS" --listen-tls-authz CN=client \
        --to "tcp:127.0.0.1:$bport" --tls-creds "$CREDS" --tls-hostname 127.0.0.1 --compress-method zstd --compress-level 1 --compress-threads 2
    local apid=$LAST_PID
    if ! wait_listening "$OUT/tlsrelayB.log" 60 || ! wait_listening "$OUT/tlsrelayA.log" 60; then
        RESULT[$run]="FAIL (the relays did not listen: $(engine_said tlsrelayA) / $(engine_said tlsrelayB))"
    else
        source_migrate "tcp:127.0.0.1:$aport"
        EXIT_CODE=; wait_exit "$apid" 60; a=${EXIT_CODE:-timeout}
        EXIT_CODE=; wait_exit "$bpid" 60; b=${EXIT_CODE:-timeout}
        if [ "$ST" != completed ] || [ "$a" != 0 ] || [ "$b" != 0 ]; then
            RESULT[$run]="FAIL (QEMU: $ST${QERR:+ ($QERR)}; relay A exit $a: $(engine_said tlsrelayA); relay B exit $b: $(engine_said tlsrelayB); destination: $(qemu_said "$name"))"
        else
            pmem "$OUT/tlsrelay.src.pmem"
            dest_judged "$run" "$name" "$OUT/tlsrelay.src.pmem" "$tick" \
                && RESULT[$run]="PASS (TLS, mutual X.509, on all three legs: $DETAIL; relay A: $(grep -o 'relayed.\{0,80\}' "$OUT/tlsrelayA.log" | head -1))"
            rm -f "$OUT/tlsrelay.src.pmem"
        fi
    fi
    $Q migrate-set-parameters '{"tls-creds":"","tls-hostname":""}' >/dev/null 2>&1 || true
    stop_qemu "$apid"; stop_qemu "$bpid"; stop_qemu "$DPID"
}

# run_tls_to_qemu RUN: "tls-to-qemu" (one stream) or "tls-to-qemu:METHOD:N" (multifd, TLS on the main connection and
# on every channel): `engine migrate --tls-creds --tls-hostname 127.0.0.1 --no-reply --machine-type MACHINE` sends the
# stopped source's RAM (its pmemsave, as one pc.ram image) into a fresh QEMU 10.0 from start_dest10_tls (verify-peer=on,
# tls-authz CN=client), whose pmemsave must equal it. Engine's migrate streams carry RAM only (no device state), so the
# destination has no CPU state to run on: this judges the RAM; tls-store's restore is the Engine-as-TLS-source leg whose
# guest ticks on.
run_tls_to_qemu() {
    local run=$1 method="" channels="" name=$P.tlstoq verdict ok
    # One stream: --compress-method none, as QEMU 9.1+ has no compress capability (engine migrate's default, zlib, writes
    # compressed pages, flag 0x100, which QEMU 10.0 refuses: "Unknown combination of migration flags: 0x100").
    local mode=(--compress-method none) what="one stream"
    if [ "$run" != tls-to-qemu ]; then
        IFS=: read -r _ method channels <<< "$run"
        if [ -z "$method" ] || ! [[ "$channels" =~ ^[0-9]+$ ]]; then RESULT[$run]="FAIL (not tls-to-qemu:METHOD:CHANNELS)"; return; fi
        mode=(--multifd-channels "$channels" --multifd-compression "$method")
        what="multifd $method x$channels (TLS on the main connection and on every channel)"
    fi
    pmem "$OUT/tlstoq.src.pmem"
    if ! start_dest10_tls "$name" $channels $method; then
        RESULT[$run]="FAIL (the destination QEMU did not take its setup: $(qemu_said "$name"))"; stop_qemu "$DPID"; rm -f "$OUT/tlstoq.src.pmem"; return
    fi
    echo "+ engine migrate --tls-creds ... ${mode[*]}" > "$OUT/tlstoq.log"
    # shellcheck disable=SC2086
    if ! timeout 180 $ENGINE migrate --to "tcp:127.0.0.1:$DPORT" --tls-creds "$CREDS" --tls-hostname 127.0.0.1 --image "$OUT/tlstoq.src.pmem" \
        "${mode[@]}" --max-bandwidth 0 --machine-type "$MACHINE" --no-reply --timeout 60 >> "$OUT/tlstoq.log" 2>&1; then
        RESULT[$run]="FAIL (engine migrate --tls-creds: $(engine_said tlstoq); destination: $(qemu_said "$name"))"
    elif ! wait_incoming_completed "$WORK/$name.qmp" 120; then
        RESULT[$run]="FAIL (the destination QEMU did not complete loading: $(qemu_said "$name"))"
    else
        timeout 60 $QMP "$WORK/$name.qmp" pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/tlstoq.dst.pmem\"}" >/dev/null
        verdict=$(ram_equal "$OUT/tlstoq.dst.pmem" "$OUT/tlstoq.src.pmem"); ok=$?
        if [ $ok = 0 ]; then
            RESULT[$run]="PASS (QEMU 10.0 with verify-peer and tls-authz loaded Engine's $what, over TLS: $verdict)"
        else
            RESULT[$run]="FAIL (the destination's RAM vs what Engine sent: $verdict)"
        fi
    fi
    rm -f "$OUT/tlstoq.src.pmem" "$OUT/tlstoq.dst.pmem"
    stop_qemu "$DPID"
}

# run_tls_store RUN: "tls-store": the store run over TLS both ways: the source (tls-creds, tls-hostname) into `engine
# incoming --tls-creds --tls-authz CN=client --save-stream F --compress-method zstd`, then `engine relay --from file:F
# --tls-creds --tls-hostname 127.0.0.1` into a fresh QEMU 10.0 from start_dest10_tls (verify-peer=on, tls-authz
# CN=client): RAM equal to the source's, and the guest ticks on.
run_tls_store() {
    local run=$1
    $Q migrate-set-parameters '{"tls-creds":"tls0","tls-hostname":"127.0.0.1"}' >/dev/null 2>"$OUT/params.err" \
        || { RESULT[$run]="FAIL (QEMU refused the TLS parameters: $(tail -1 "$OUT/params.err"))"; return; }
    STORE_OUT_TLS=(--tls-creds "$CREDS" --tls-hostname 127.0.0.1)
    run_store "$run" false --tls-creds "$CREDS" --tls-authz CN=client
    STORE_OUT_TLS=()
    $Q migrate-set-parameters '{"tls-creds":"","tls-hostname":""}' >/dev/null 2>&1 || true
    case "${RESULT[$run]}" in PASS*) RESULT[$run]="PASS (stored and restored over TLS, mutual X.509: ${RESULT[$run]#PASS (}" ;; esac
}

# run_xbzrle RUN: "xbzrle": the xbzrle capability on (QEMU's default 64 MiB cache) into `engine incoming`. The source is
# paused, so QEMU sends each page once, in full: XBZRLE records only appear for pages dirtied again after a round, which
# a stopped guest never does. What this checks is that QEMU 10 migrates with xbzrle on (its configuration and framing)
# and Engine takes it; XBZRLE records themselves come from a running guest: run-live.sh (QEMU 7.2) and xbzrle-diff.sh
# (QEMU 10.0 in Qemu10PeerTests, which runs that instead of this run).
# The line says how many pages QEMU counted as xbzrle (query-migrate's xbzrle-cache.pages).
run_xbzrle() {
    local run=$1 sent
    # multifd off first: QEMU refuses xbzrle beside it.
    $Q migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":false},{"capability":"mapped-ram","state":false},{"capability":"xbzrle","state":true}]}' >/dev/null 2>"$OUT/caps.err" \
        || { RESULT[$run]="FAIL (migrate-set-capabilities xbzrle: $(tail -1 "$OUT/caps.err"))"; return; }
    run_incoming "$run" false
    sent=$($Q query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("xbzrle-cache",{}).get("pages","?"))' 2>/dev/null)
    $Q migrate-set-capabilities '{"capabilities":[{"capability":"xbzrle","state":false}]}' >/dev/null 2>&1 || true
    case "${RESULT[$run]}" in PASS*) RESULT[$run]="PASS (xbzrle on, ${sent:-?} xbzrle pages from the paused source: ${RESULT[$run]#PASS (}" ;; esac
}

# run_store_multifd RUN: "store-multifd:METHOD:N": the store run with a multifd source: QEMU multifd (N channels, METHOD)
# -> `engine incoming --multifd-channels N --multifd-compression METHOD --save-stream F --compress-method zstd`, then
# `engine relay --from file:F` into a fresh QEMU 10.0 on MACHINE (one stream): RAM equal, the guest ticks on.
run_store_multifd() {
    local run=$1 method channels
    IFS=: read -r _ method channels <<< "$run"
    if [ -z "$method" ] || ! [[ "$channels" =~ ^[0-9]+$ ]]; then RESULT[$run]="FAIL (not store-multifd:METHOD:CHANNELS)"; return; fi
    $Q migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null 2>"$OUT/params.err" \
        || { RESULT[$run]="FAIL (migrate-set-parameters: $(tail -1 "$OUT/params.err"))"; return; }
    run_store "$run" true --multifd-channels "$channels" --multifd-compression "$method"
}

# run_mapped_ram_out RUN: "mapped-ram-out": Engine writes mapped-ram: the source (plain precopy) into `engine incoming
# --save-stream F --format mapped-ram`, and a fresh QEMU 10.0 on MACHINE (-S -incoming defer, mapped-ram on) restores F
# with migrate-incoming file:F: RAM equal to the source's, and the guest ticks on.
run_mapped_ram_out() {
    local run=$1 name=$P.mrout port tick file=$OUT/engine-mapped-ram.bin
    caps false false || { RESULT[$run]="FAIL (migrate-set-capabilities: $(tail -1 "$OUT/caps.err"))"; return; }
    tick=$(last_tick "$WORK/$P.src.console")
    port=$(free_port)
    start_engine mrout-in incoming --listen "tcp:127.0.0.1:$port" --timeout 60 --save-stream "$file" --format mapped-ram
    local epid=$LAST_PID
    wait_listening "$OUT/mrout-in.log" 60 || { RESULT[$run]="FAIL (engine incoming did not listen: $(engine_said mrout-in))"; stop_qemu "$epid"; return; }
    source_migrate "tcp:127.0.0.1:$port"
    EXIT_CODE=; wait_exit "$epid" 60 || stop_qemu "$epid"
    if [ "$ST" != completed ] || [ "${EXIT_CODE:-timeout}" != 0 ] || [ ! -s "$file" ]; then
        RESULT[$run]="FAIL (writing: QEMU: $ST${QERR:+ ($QERR)}; engine incoming --save-stream --format mapped-ram exit ${EXIT_CODE:-timeout}: $(engine_said mrout-in))"; rm -f "$file"; return
    fi
    pmem "$OUT/mrout.src.pmem"
    start_qemu "$name" -S -incoming defer
    DPID=$LAST_PID
    local D="timeout 60 $QMP $WORK/$name.qmp"
    if ! $D migrate-set-capabilities '{"capabilities":[{"capability":"mapped-ram","state":true}]}' >/dev/null 2>&1 \
        || ! $D migrate-incoming "{\"uri\":\"file:$file\"}" >/dev/null 2>&1; then
        RESULT[$run]="FAIL (the destination QEMU did not take mapped-ram and migrate-incoming file: $(qemu_said "$name"))"
    elif dest_judged "$run" "$name" "$OUT/mrout.src.pmem" "$tick"; then
        RESULT[$run]="PASS (QEMU restored Engine's $(stat -c %s "$file")-byte mapped-ram file: $DETAIL)"
    fi
    rm -f "$file" "$OUT/mrout.src.pmem"
    stop_qemu "$DPID"
}
# ---- end of q10tests' block ----
# --- relay with multifd on to the destination (issue 16 item 2) ---------------------------------------------------------
# start_dest10_multifd NAME CHANNELS METHOD: as start_dest10, with the multifd capability and parameters set first.
start_dest10_multifd() {
    local name=$1 channels=$2 method=$3
    start_qemu "$name" -S -incoming defer
    DPID=$LAST_PID
    DPORT=$(free_port)
    local D="timeout 60 $QMP $WORK/$name.qmp"
    $D migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null 2>&1 \
        && $D migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null 2>&1 \
        && $D migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$DPORT\"}" >/dev/null 2>&1
}

# run_relay_multifd RUN: "relay-multifd": QEMU (multifd zstd x2) -> `engine relay` A (multifd in, one stream zstd-1 out)
# -> relay B (one stream in, --to-multifd-channels 2 --to-multifd-compression none) -> a fresh QEMU 10.0 on MACHINE with
# multifd none x2: relay B writes the framing of the stream's machine type (no --machine-type given); the destination's
# pmemsave equals the source's and its guest ticks on.
run_relay_multifd() {
    local run=$1 name=$P.relaymf a b tick
    $Q migrate-set-parameters '{"multifd-channels":2,"multifd-compression":"zstd"}' >/dev/null 2>"$OUT/params.err" \
        || { RESULT[$run]="FAIL (migrate-set-parameters: $(tail -1 "$OUT/params.err"))"; return; }
    caps true false || { RESULT[$run]="FAIL (migrate-set-capabilities: $(tail -1 "$OUT/caps.err"))"; return; }
    tick=$(last_tick "$WORK/$P.src.console")
    start_dest10_multifd "$name" 2 none || { RESULT[$run]="FAIL (the destination QEMU did not take its setup: $(qemu_said "$name"))"; stop_qemu "$DPID"; return; }
    local bport aport; bport=$(free_port); aport=$(free_port)
    start_engine relaymfB relay --listen "tcp:127.0.0.1:$bport" --to "tcp:127.0.0.1:$DPORT" --to-multifd-channels 2 --to-multifd-compression none --decompress-threads 2
    local bpid=$LAST_PID
    start_engine relaymfA relay --listen "tcp:127.0.0.1:$aport" --multifd-channels 2 --multifd-compression zstd --to "tcp:127.0.0.1:$bport" \
        --compress-method zstd --compress-level 1 --compress-threads 2
    local apid=$LAST_PID
    if ! wait_listening "$OUT/relaymfB.log" 60 || ! wait_listening "$OUT/relaymfA.log" 60; then
        RESULT[$run]="FAIL (the relays did not listen: $(engine_said relaymfA) / $(engine_said relaymfB))"
    else
        source_migrate "tcp:127.0.0.1:$aport"
        EXIT_CODE=; wait_exit "$apid" 60; a=${EXIT_CODE:-timeout}
        EXIT_CODE=; wait_exit "$bpid" 60; b=${EXIT_CODE:-timeout}
        if [ "$ST" != completed ] || [ "$a" != 0 ] || [ "$b" != 0 ]; then
            RESULT[$run]="FAIL (QEMU: $ST${QERR:+ ($QERR)}; relay A exit $a: $(engine_said relaymfA); relay B exit $b: $(engine_said relaymfB); destination: $(qemu_said "$name"))"
        else
            pmem "$OUT/relaymf.src.pmem"
            dest_judged "$run" "$name" "$OUT/relaymf.src.pmem" "$tick" \
                && RESULT[$run]="PASS ($DETAIL; relay B: $(grep -o 'relayed.\{0,80\}' "$OUT/relaymfB.log" | head -1))"
            rm -f "$OUT/relaymf.src.pmem"
        fi
    fi
    caps false false || true
    stop_qemu "$apid"; stop_qemu "$bpid"; stop_qemu "$DPID"
}

# run_restore_multifd RUN: "restore-multifd": the stopped source into `engine incoming --save-stream F` (one stream), then
# `engine relay --from file:F --machine-type MACHINE --to-multifd-channels 2` restores it into a fresh QEMU 10.0 with
# multifd none x2: the framing written follows --machine-type; RAM equal to the source's, and the guest ticks on.
run_restore_multifd() {
    local run=$1 name=$P.storemf port tick what
    if [ -s "$OUT/store.bin" ] && [ -s "$OUT/store.src.pmem" ] && [ -s "$OUT/store.tick" ]; then
        # The store run's zstd-1 checkpoint of the same stopped source, with its pmemsave and tick.
        mv "$OUT/store.bin" "$OUT/storemf.bin"; mv "$OUT/store.src.pmem" "$OUT/storemf.src.pmem"
        tick=$(cat "$OUT/store.tick"); rm -f "$OUT/store.tick"
        what="the store run's zstd-1 checkpoint"
    else
        caps false false || { RESULT[$run]="FAIL (migrate-set-capabilities: $(tail -1 "$OUT/caps.err"))"; return; }
        tick=$(last_tick "$WORK/$P.src.console")
        port=$(free_port)
        start_engine storemf-in incoming --listen "tcp:127.0.0.1:$port" --timeout 60 --save-stream "$OUT/storemf.bin"
        local epid=$LAST_PID
        wait_listening "$OUT/storemf-in.log" 60 || { RESULT[$run]="FAIL (engine incoming did not listen: $(engine_said storemf-in))"; stop_qemu "$epid"; return; }
        source_migrate "tcp:127.0.0.1:$port"
        EXIT_CODE=; wait_exit "$epid" 60 || stop_qemu "$epid"
        if [ "$ST" != completed ] || [ "${EXIT_CODE:-timeout}" != 0 ] || [ ! -s "$OUT/storemf.bin" ]; then
            RESULT[$run]="FAIL (storing: QEMU: $ST${QERR:+ ($QERR)}; engine incoming --save-stream exit ${EXIT_CODE:-timeout}: $(engine_said storemf-in))"; return
        fi
        pmem "$OUT/storemf.src.pmem"
        what="a checkpoint"
    fi
    start_dest10_multifd "$name" 2 none || { RESULT[$run]="FAIL (the destination QEMU did not take its setup: $(qemu_said "$name"))"; stop_qemu "$DPID"; return; }
    start_engine storemf-out relay --from "file:$OUT/storemf.bin" --to "tcp:127.0.0.1:$DPORT" --machine-type "$MACHINE" \
        --to-multifd-channels 2 --to-multifd-compression none --decompress-threads 2
    local rpid=$LAST_PID
    EXIT_CODE=; wait_exit "$rpid" 120 || stop_qemu "$rpid"
    if [ "${EXIT_CODE:-timeout}" != 0 ]; then
        RESULT[$run]="FAIL (restoring: engine relay --from file: --to-multifd-channels 2 exit ${EXIT_CODE:-timeout}: $(engine_said storemf-out); destination: $(qemu_said "$name"))"
    elif dest_judged "$run" "$name" "$OUT/storemf.src.pmem" "$tick"; then
        RESULT[$run]="PASS ($what restored as multifd none x2 with --machine-type $MACHINE: $DETAIL)"
    fi
    rm -f "$OUT/storemf.bin" "$OUT/storemf.src.pmem"
    stop_qemu "$DPID"
}
# --- end of relay with multifd on -----------------------------------------------------------------------------------------

echo "q10 $MACHINE: booting the guest under $("$QEMU_BIN" --version | head -1) (TCG, $MEM_MIB MiB)${QEMU_EXTRA:+ with $QEMU_EXTRA}"
start_qemu "$P.src" "${SRC_EXTRA[@]}"
SRC=$LAST_PID
wait_console "$WORK/$P.src.console" '^tick [0-9]+' "${GUEST_BOOT_TIMEOUT:-180}" \
    || all "FAIL (the guest did not boot: $(qemu_said "$P.src"); console: $(tail -1 "$WORK/$P.src.console" 2>/dev/null))"
# QEMU 10's default max-bandwidth is 128 MiB/s; loopback takes more.
$Q migrate-set-parameters '{"max-bandwidth":10737418240}' >/dev/null && $Q stop >/dev/null \
    || all "FAIL (the source QEMU did not take QMP commands: $(qemu_said "$P.src"))"
BOOT_S=$SECONDS
echo "== q10 $MACHINE: guest ready and stopped at $SECONDS s"

for run in "${RUNS[@]}"; do
    t=$SECONDS
    case "$run" in
        plain) run_incoming "$run" false ;;
        multifd:*) run_multifd "$run" ;;
        relay) run_relay "$run" ;;
        store) run_store "$run" ;;
        mapped-ram|mapped-ram:*) run_mapped_ram "$run" ;;
        to-qemu:*) run_to_qemu "$run" ;;
        tls|tls-multifd:*) run_tls "$run" ;;
        tls-relay) run_tls_relay "$run" ;;
        tls-to-qemu|tls-to-qemu:*) run_tls_to_qemu "$run" ;;
        tls-store) run_tls_store "$run" ;;
        xbzrle) run_xbzrle "$run" ;;
        store-multifd:*) run_store_multifd "$run" ;;
        mapped-ram-out) run_mapped_ram_out "$run" ;;
        relay-multifd) run_relay_multifd "$run" ;;
        restore-multifd) run_restore_multifd "$run" ;;
        *) RESULT[$run]="FAIL (unknown run; known: plain, multifd:METHOD:N, relay, store, mapped-ram, mapped-ram:N, to-qemu:METHOD:N, tls, tls-multifd:METHOD:N, tls-relay, tls-to-qemu, tls-to-qemu:METHOD:N, tls-store, xbzrle, store-multifd:METHOD:N, mapped-ram-out, relay-multifd, restore-multifd)" ;;
    esac
    source_reset
    echo "== q10 $MACHINE $run: $((SECONDS - t)) s, ${RESULT[$run]%% *}"
done
stop_qemu "$SRC"
report
