#!/bin/bash
# dst-ab.sh: Engine -> Engine over loopback TCP, whole processes, two builds interleaved (A/B), the destination's CPU and
# peak RSS from /usr/bin/time. Usage:
#   bench/scripts/dst-ab.sh ROUNDS RAM.raw "NAME=CMD" "NAME=CMD" ...
# CMD runs the CLI, e.g. "before=dotnet /tmp/before/engine.dll". Modes: single stream zstd-1 x2 and multifd zstd-1 x2
# (MODES="multifd" for one of them).
# Prints one line per run: mode build wall_ms src_total_ms dst_user_s dst_sys_s dst_maxrss_kb dst_minor_faults.
# SINK=1 adds the mode "sink": the same multifd source alone (`--no-reply`) into a socket that discards what it reads,
# whole process (issue 18's "Engine -> Engine both processes <= 1.15x the source alone into a sink"); its line has the
# source's wall and total-time only.
set -euo pipefail
ROUNDS=$1; RAM=$2; shift 2
OUT=${OUT:-$(mktemp -d)}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
SINK_PORT=
if [ "${SINK:-0}" = 1 ]; then
    sink_start "$OUT" || exit 1
    trap sink_stop EXIT
    SINK_PORT=$SPORT
fi
sink() { # NAME CMD: the multifd source alone into the sink
    local name=$1 cmd=$2 t0 wall
    t0=$(now_ns)
    timeout 120 $cmd migrate --image "$RAM" --to "tcp:127.0.0.1:$SINK_PORT" --multifd-channels 2 --multifd-compression zstd \
        --multifd-zstd-level 1 --max-bandwidth 0 --no-reply --json > "$OUT/sink-$name.out" 2>&1
    wall=$(ms_since "$t0")
    echo "sink $name $wall $(jget "$OUT/sink-$name.out" total-time 2>/dev/null || echo '?')"
}
run() { # MODE NAME CMD
    local mode=$1 name=$2 cmd=$3 port t0 wall inc extra_in extra_out
    port=$(free_port)
    case $mode in
        single)  extra_in="--compress-method zstd --decompress-threads 2"; extra_out="--compress-method zstd --compress-level 1 --compress-threads 2" ;;
        multifd) extra_in="--multifd-channels 2 --multifd-compression zstd"; extra_out="--multifd-channels 2 --multifd-compression zstd --multifd-zstd-level 1" ;;
    esac
    rm -f "$OUT/$mode-$name.in" # else the wait below may see the last round's "listening on" before the new one truncates it
    t0=$(now_ns)
    /usr/bin/time -f '%U %S %M %R' -o "$OUT/$mode-$name.time" timeout 120 $cmd incoming --listen "tcp:127.0.0.1:$port" $extra_in --json > "$OUT/$mode-$name.in" 2>&1 &
    inc=$!
    for _ in $(seq 1 3000); do grep -q 'listening on' "$OUT/$mode-$name.in" 2>/dev/null && break; sleep 0.01; done
    timeout 120 $cmd migrate --image "$RAM" --to "tcp:127.0.0.1:$port" $extra_out --max-bandwidth 0 --json > "$OUT/$mode-$name.out" 2>&1
    wait "$inc"
    wall=$(ms_since "$t0")
    grep -q '"status": "completed"' "$OUT/$mode-$name.in" || { echo "$mode $name: incoming did not complete" >&2; exit 1; }
    echo "$mode $name $wall $(jget "$OUT/$mode-$name.out" total-time 2>/dev/null || echo '?') $(cat "$OUT/$mode-$name.time")"
}
for r in $(seq 1 "$ROUNDS"); do
    for mode in ${MODES:-multifd single}; do
        for spec in "$@"; do run "$mode" "${spec%%=*}" "${spec#*=}"; done
    done
    if [ -n "$SINK_PORT" ]; then
        for spec in "$@"; do sink "${spec%%=*}" "${spec#*=}"; done
    fi
done
