#!/usr/bin/env bash
# vs-qemu.sh: Engine against QEMU 7.2 on the same frozen guest RAM (the interop test guest, 512 MiB), end to end.
#
# Usage:
#   bench/scripts/vs-qemu.sh                  QEMU runs, then Engine runs, then the table
#   bench/scripts/vs-qemu.sh --engine-only    Engine runs only; QEMU figures from the last saved run ($WORK/vs-qemu.qemu.tsv)
#   bench/scripts/vs-qemu.sh --qemu-only      QEMU runs only; Engine figures from the last saved run, if any
# Environment:
#   REPEAT=3          runs of each configuration; the median is kept
#   ENGINE=...        the Engine CLI (default: artifacts/engine/engine, the ReadyToRun build of `dotnet cake
#                     --target=Publish`, published once if missing), e.g. ENGINE="dotnet src/Engine.Cli/bin/.../engine.dll"
#   BENCH_WORK=DIR    work directory (default: tests/interop/work, git-ignored; it also holds the interop streams)
#   QEMU_COMPRESS8=1  also run QEMU's compress with 8 threads (0: skip)
#   QEMU_CONFIGS="plain zlib1-x2 zlib1-x8 mf-zstd1-x2 mf-none-x2", ENGINE_CONFIGS="zstd1-x2 zlib1-x2 none-x2
#   tcp-zstd1-x2 zstd1-x1 zstd1-x8 zlib1-x1 zlib1-x8 extract-zstd1-x1 extract-zstd1-x2 extract-zstd1-x8 info":
#                     run only these (default: all); the saved figures of the others are kept and shown
#
# What is measured:
#   QEMU:   each run is a fresh `-S -incoming "exec:cat stream-plain.bin"` QEMU (so every run migrates exactly the same
#           RAM), max-bandwidth 10 GiB/s; the figure is QEMU's own "total-time" from query-migrate (the migration only,
#           not QEMU's start-up nor the reload of the stream); bytes are the output file's size for file targets, and
#           over TCP "transferred" corrected with the multifd_send trace (7.2 counts multifd pages uncompressed).
#           plain -> file; compress zlib-1 x2 (and x8) -> file; multifd zstd-1 x2 and multifd none x2 over loopback TCP
#           to a destination QEMU (-incoming defer).
#   Engine: the whole process (start-up, JIT, reading $WORK/ram.raw, compression, writing, exit), wall time measured
#           from outside; over TCP from the start of `engine incoming` until both it and `engine migrate` have exited.
#           ram.raw is the same guest's RAM (pmemsave of a QEMU that loaded stream-plain.bin).
# Output: one table on stdout, and $WORK/vs-qemu.tsv / $WORK/vs-qemu.json (every run's figures, medians, ratios).
# Every wait is bounded; only the QEMU and Engine processes started here are ever stopped (by PID).
set -euo pipefail

MODE=both
case "${1:-}" in
    "") ;;
    --engine-only) MODE=engine ;;
    --qemu-only) MODE=qemu ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "vs-qemu: unknown option $1 (--engine-only, --qemu-only, --help)" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
INTEROP=$ROOT/tests/interop
if [ -n "${BENCH_WORK:-}" ]; then
    mkdir -p "$BENCH_WORK"
    INTEROP_WORK=$(cd "$BENCH_WORK" && pwd)   # lib.sh and make-streams.sh read INTEROP_WORK
    export INTEROP_WORK
fi
# shellcheck source=../../tests/interop/lib.sh
source "$INTEROP/lib.sh"
# shellcheck source=lib.sh
source "$ROOT/bench/scripts/lib.sh"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)   # absolute: pmemsave and exec: need it

REPEAT=${REPEAT:-3}
QEMU_COMPRESS8=${QEMU_COMPRESS8:-1}
MAXBW=10737418240
QEMU_TSV=$WORK/vs-qemu.qemu.tsv      # this script's last QEMU figures (reused by --engine-only)
ENGINE_TSV=$WORK/vs-qemu.engine.tsv  # last Engine figures (reused by --qemu-only)
T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)   # shown with the table: other work on the machine skews every figure

ENGINE_PIDS=()
cleanup() {
    local pid
    for pid in "${ENGINE_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
        wait "$pid" 2>/dev/null || true
    done
    stop_all_started
}
trap cleanup EXIT

log() { echo "vs-qemu: $*" >&2; }
die() { log "$*"; exit 1; }

# forget PID: drop a stopped QEMU from STARTED_PIDS so that the exit trap never signals a recycled PID.
forget() {
    local pid=$1 keep=() p
    for p in "${STARTED_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    STARTED_PIDS=("${keep[@]+"${keep[@]}"}")
}
stop_forget() { stop_qemu "$1"; forget "$1"; }

# median_ms MS...: their median in whole ms (lib.sh's median, rounded half to even).
median_ms() { printf '%.0f' "$(median "$@")"; }

# ---------------------------------------------------------------------------------------------------------------------
# 1. The frozen guest: stream-plain.bin (make-streams.sh, idempotent) and its RAM as one raw image.
STREAM=$WORK/stream-plain.bin
RAW=$WORK/ram.raw
RAM_BYTES=$((MEM_MIB * 1024 * 1024))
if [ "$MODE" != engine ] || [ "$(stat -c %s "$RAW" 2>/dev/null)" != "$RAM_BYTES" ]; then
    "$INTEROP/make-streams.sh" >&2
    "$INTEROP/make-guest.sh" "$WORK" >/dev/null   # instant when up to date; the QEMU runs boot its kernel
fi

# load_frozen NAME [QEMU-ARGS...]: a fresh paused QEMU that has loaded stream-plain.bin; sets LOADED_PID.
load_frozen() {
    local name=$1; shift
    start_qemu "$name" -S -incoming "exec:cat $STREAM" "$@"
    LOADED_PID=$LAST_PID
    wait_incoming_completed "$WORK/$name.qmp" 120 || { tail -3 "$WORK/$name.log" >&2; die "$name: loading $STREAM failed"; }
}

if [ "$(stat -c %s "$RAW" 2>/dev/null)" != "$RAM_BYTES" ]; then
    log "writing $RAW (pmemsave of the guest loaded from stream-plain.bin)"
    load_frozen ramdump
    timeout 120 $QMP "$WORK/ramdump.qmp" pmemsave \
        "{\"val\":0,\"size\":$RAM_BYTES,\"filename\":\"$RAW.tmp\"}" >/dev/null
    stop_forget "$LOADED_PID"
    [ "$(stat -c %s "$RAW.tmp")" = "$RAM_BYTES" ] || die "pmemsave wrote $(stat -c %s "$RAW.tmp") bytes, not $RAM_BYTES"
    mv "$RAW.tmp" "$RAW"
fi

# ---------------------------------------------------------------------------------------------------------------------
# The run functions below set RES_MS, RES_BYTES, RES_SELF (and RES_TRANSFERRED) instead of printing them: they start
# processes, and a $(...) subshell would keep their PIDs from the exit trap.

# 2. QEMU. qemu_once CONFIG: one migration from a fresh frozen QEMU; RES_MS is QEMU's total-time.
qemu_once() {
    local config=$1 src dst="" port="" uri caps='[]' params="{\"max-bandwidth\":$MAXBW}" out=""
    case "$config" in
        plain)      out=$WORK/q-plain.bin ;;
        zlib1-x2)   out=$WORK/q-zlib1-x2.bin; caps='[{"capability":"compress","state":true}]'
                    params="{\"max-bandwidth\":$MAXBW,\"compress-level\":1,\"compress-threads\":2}" ;;
        zlib1-x8)   out=$WORK/q-zlib1-x8.bin; caps='[{"capability":"compress","state":true}]'
                    params="{\"max-bandwidth\":$MAXBW,\"compress-level\":1,\"compress-threads\":8}" ;;
        mf-zstd1-x2) caps='[{"capability":"multifd","state":true}]'
                    params="{\"max-bandwidth\":$MAXBW,\"multifd-channels\":2,\"multifd-compression\":\"zstd\",\"multifd-zstd-level\":1}" ;;
        mf-none-x2) caps='[{"capability":"multifd","state":true}]'
                    params="{\"max-bandwidth\":$MAXBW,\"multifd-channels\":2,\"multifd-compression\":\"none\"}" ;;
        *) die "unknown QEMU config $config" ;;
    esac
    # multifd: QEMU 7.2 counts every multifd page as 4096 bytes in "transferred", compressed or not; the trace event
    # multifd_send gives each packet's real payload (next_packet_size), from which the bytes on the wire are computed.
    local trace=$WORK/q-src.trace
    rm -f "$trace"
    load_frozen q-src -trace "enable=multifd_send,file=$trace"
    src=$LOADED_PID
    local S="timeout 60 $QMP $WORK/q-src.qmp"
    $S migrate-set-capabilities "{\"capabilities\":$caps}" >/dev/null
    $S migrate-set-parameters "$params" >/dev/null
    if [ -n "$out" ]; then
        rm -f "$out"
        uri="exec:cat > $out"
    else
        # multifd: the destination sets the same capability and parameters before it listens (destination first).
        port=$(free_port)
        start_qemu q-dst -incoming defer
        dst=$LAST_PID
        local D="timeout 60 $QMP $WORK/q-dst.qmp"
        $D migrate-set-capabilities "{\"capabilities\":$caps}" >/dev/null
        $D migrate-set-parameters "$params" >/dev/null
        $D migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$port\"}" >/dev/null
        uri="tcp:127.0.0.1:$port"
    fi
    $S migrate "{\"uri\":\"$uri\"}" >/dev/null
    local st
    st=$(timeout 310 $QMP "$WORK/q-src.qmp" wait-migrate 300 || true)
    timeout 60 $QMP "$WORK/q-src.qmp" query-migrate > "$WORK/q-$config.json"
    if [ "$st" != completed ]; then
        log "QEMU $config: migration $st: $(jget "$WORK/q-$config.json" error-desc)"
        [ -z "$dst" ] || tail -3 "$WORK/q-dst.log" >&2
        die "QEMU $config failed"
    fi
    if [ -n "$dst" ]; then
        wait_incoming_completed "$WORK/q-dst.qmp" 120 || { tail -3 "$WORK/q-dst.log" >&2; die "QEMU $config: the destination did not complete"; }
    fi
    stop_forget "$src"   # first: QEMU flushes the trace when it exits
    [ -z "$dst" ] || stop_forget "$dst"
    local total transferred bytes
    total=$(jget "$WORK/q-$config.json" total-time)
    transferred=$(jget "$WORK/q-$config.json" ram.transferred)
    if [ -n "$out" ]; then
        bytes=$(stat -c %s "$out")
    else
        # wire bytes = transferred - 4096 * (pages sent by multifd) + (their real payload); exact for multifd none.
        bytes=$(python3 - "$trace" "$transferred" <<'EOF'
import re, sys
pages = payload = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"multifd_send .*normal pages (\d+) .*next packet size (\d+)", line)
    if m:
        if int(m.group(1)):  # a packet without pages carries a stale next_packet_size and no payload
            pages += int(m.group(1)); payload += int(m.group(2))
print(int(sys.argv[2]) - 4096 * pages + payload if pages else "")
EOF
)
        [ -n "$bytes" ] || { log "QEMU $config: no multifd_send trace in $trace; bytes = QEMU's transferred"; bytes=$transferred; }
    fi
    RES_MS=$total RES_TRANSFERRED=$transferred RES_BYTES=$bytes
}

# save_row FILE HEADER CONFIG ROW: puts ROW (tab-separated, CONFIG in column 2) into FILE, replacing that config's
# older row, so a partial run (QEMU_CONFIGS / ENGINE_CONFIGS) keeps the other figures of the last run.
save_row() {
    local file=$1 header=$2 config=$3 row=$4
    { printf '%s\n' "$header"
      [ -f "$file" ] && tail -n +2 "$file" | awk -F'\t' -v c="$config" '$2 != c'
      printf '%s\n' "$row"; } > "$file.tmp"
    mv "$file.tmp" "$file"
}

run_qemu() {
    local default="plain zlib1-x2" config r list
    [ "$QEMU_COMPRESS8" = 1 ] && default+=" zlib1-x8"
    default+=" mf-zstd1-x2 mf-none-x2"
    for config in ${QEMU_CONFIGS:-$default}; do
        list=()
        for r in $(seq "$REPEAT"); do
            qemu_once "$config"
            log "QEMU $config run $r: ${RES_MS} ms, $RES_BYTES bytes"
            list+=("$RES_MS")
        done
        save_row "$QEMU_TSV" "$(printf 'side\tconfig\tmedian_ms\truns_ms\tbytes\ttransferred')" "$config" \
            "$(printf 'qemu\t%s\t%s\t%s\t%s\t%s' "$config" "$(median_ms "${list[@]}")" "$(IFS=,; echo "${list[*]}")" \
               "$RES_BYTES" "$RES_TRANSFERRED")"
    done
}

# ---------------------------------------------------------------------------------------------------------------------
# 3. Engine. Every run is the whole process, timed from here with date +%s%N.
ENGINE_TIMEOUT=${ENGINE_TIMEOUT:-600}
if [ -z "${ENGINE:-}" ]; then
    # The published, ReadyToRun-compiled command (dotnet cake --target=Publish): what a user runs after installing it.
    PUBLISHED=$ROOT/artifacts/engine/engine
    if [ ! -x "$PUBLISHED" ]; then
        log "publishing src/Engine.Cli (Release, ReadyToRun) into artifacts/engine"
        (cd "$ROOT" && timeout 900 dotnet tool restore >/dev/null && timeout 900 dotnet cake --target=Publish >/dev/null) >&2
    fi
    ENGINE=$PUBLISHED
fi
untrack() {   # untrack PID: an Engine process that has been waited for
    local keep=() p
    for p in "${ENGINE_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    ENGINE_PIDS=("${keep[@]+"${keep[@]}"}")
}
# engine_run OUT CMD...: runs an Engine command (bounded by ENGINE_TIMEOUT) with stdout to OUT, as a tracked background
# job so that the exit trap stops it if this script is interrupted; returns its exit status.
engine_run() {
    local out=$1 pid rc=0; shift
    timeout "$ENGINE_TIMEOUT" "$@" > "$out" &
    pid=$!
    ENGINE_PIDS+=("$pid")
    wait "$pid" || rc=$?
    untrack "$pid"
    return "$rc"
}

# engine_file CONFIG METHOD THREADS: `engine migrate --image ram.raw --to file:...`; RES_SELF is its own total-time.
engine_file() {
    local config=$1 method=$2 threads=$3 out=$WORK/e-$1.bin t0 t1
    rm -f "$out" "$out.sha256.json"
    t0=$(now_ns)
    engine_run "$WORK/e-$config.json" $ENGINE migrate --image "$RAW" --to "file:$out" --compress-method "$method" \
        --compress-level 1 --compress-threads "$threads" --max-bandwidth 0 --json \
        || die "engine migrate ($config) failed: $(tail -3 "$WORK/e-$config.json")"
    t1=$(now_ns)
    [ "$(jget "$WORK/e-$config.json" status)" = completed ] || die "engine migrate ($config) did not complete"
    RES_MS=$(((t1 - t0) / 1000000)) RES_BYTES=$(stat -c %s "$out") RES_SELF=$(jget "$WORK/e-$config.json" total-time)
}

# engine_tcp CONFIG METHOD THREADS: `engine incoming --listen` in the background, then `engine migrate --to tcp:...`,
# timed from the start of the incoming until both have exited (the incoming exits after one migration).
engine_tcp() {
    local config=$1 method=$2 threads=$3 port t0 t1 inc i rc=0
    port=$(free_port)
    rm -f "$WORK/e-$config.in.json"
    t0=$(now_ns)
    timeout 120 $ENGINE incoming --listen "tcp:127.0.0.1:$port" --compress-method "$method" --decompress-threads "$threads" \
        --json > "$WORK/e-$config.in.json" 2>&1 &
    inc=$!
    ENGINE_PIDS+=("$inc")
    # The migrate side does not retry its connect: wait (bounded) until the incoming says it listens.
    for i in $(seq 1 3000); do
        grep -q 'listening on' "$WORK/e-$config.in.json" 2>/dev/null && break
        kill -0 "$inc" 2>/dev/null || break
        sleep 0.01
    done
    grep -q 'listening on' "$WORK/e-$config.in.json" || die "engine incoming did not listen: $(tail -3 "$WORK/e-$config.in.json")"
    engine_run "$WORK/e-$config.json" $ENGINE migrate --image "$RAW" --to "tcp:127.0.0.1:$port" --compress-method "$method" \
        --compress-level 1 --compress-threads "$threads" --max-bandwidth 0 --json \
        || die "engine migrate ($config) failed: $(tail -3 "$WORK/e-$config.json")"
    wait "$inc" || rc=$?
    t1=$(now_ns)
    untrack "$inc"
    [ "$rc" = 0 ] || die "engine incoming ($config) exited with $rc: $(tail -3 "$WORK/e-$config.in.json")"
    grep -q '"status": "completed"' "$WORK/e-$config.in.json" || die "engine incoming ($config) did not complete"
    [ "$(jget "$WORK/e-$config.json" status)" = completed ] || die "engine migrate ($config) did not complete"
    RES_MS=$(((t1 - t0) / 1000000)) RES_BYTES=$(jget "$WORK/e-$config.json" ram.transferred)
    RES_SELF=$(jget "$WORK/e-$config.json" total-time)
}

# engine_extract CONFIG THREADS: `engine extract e-zstd1-x2.bin --decompress-threads N`; RES_BYTES is the stream's size.
engine_extract() {
    local config=$1 threads=$2 in=$WORK/e-zstd1-x2.bin dir=$WORK/e-extract t0 t1
    if [ ! -s "$in" ]; then log "making $in for the extract runs"; engine_file zstd1-x2 zstd 2; fi
    rm -rf "$dir"
    t0=$(now_ns)
    engine_run "$WORK/e-$config.out" $ENGINE extract "$in" --out "$dir" --decompress-threads "$threads" \
        || die "engine extract ($config) failed: $(tail -3 "$WORK/e-$config.out")"
    t1=$(now_ns)
    cmp -s "$dir/pc.ram.raw" "$RAW" || log "warning: extract ($config) pc.ram.raw differs from ram.raw"
    rm -rf "$dir"
    RES_MS=$(((t1 - t0) / 1000000)) RES_BYTES=$(stat -c %s "$in") RES_SELF=
}

ENGINE_SPECS=(  # config kind method threads
    "zstd1-x2 file zstd 2" "zlib1-x2 file zlib 2" "none-x2 file none 2" "tcp-zstd1-x2 tcp zstd 2"
    "zstd1-x1 file zstd 1" "zstd1-x8 file zstd 8" "zlib1-x1 file zlib 1" "zlib1-x8 file zlib 8"
    "extract-zstd1-x1 extract - 1" "extract-zstd1-x2 extract - 2" "extract-zstd1-x8 extract - 8" "info info - -")
ENGINE_HEADER=$(printf 'side\tconfig\tmedian_ms\truns_ms\tbytes\tself_total_ms')

run_engine() {
    local spec config kind method threads r list selfs runs
    for spec in "${ENGINE_SPECS[@]}"; do
        read -r config kind method threads <<< "$spec"
        if [ -n "${ENGINE_CONFIGS:-}" ] && [[ " $ENGINE_CONFIGS " != *" $config "* ]]; then continue; fi
        if [ "$kind" = info ]; then
            # Start-up: `engine info` under hyperfine, 2 warm-up runs.
            runs=$((REPEAT > 10 ? REPEAT : 10))
            # shellcheck disable=SC2086
            timeout 300 hyperfine -N --warmup 2 --runs "$runs" --export-json "$WORK/e-info.hyperfine.json" "$ENGINE info" \
                >/dev/null || die "hyperfine $ENGINE info failed"
            save_row "$ENGINE_TSV" "$ENGINE_HEADER" info "$(python3 - "$WORK/e-info.hyperfine.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("engine\tinfo\t%d\t%s\t\t" % (round(r["median"] * 1000), ",".join(str(round(t * 1000)) for t in r["times"])))
EOF
)"
            log "Engine info: $(awk -F'\t' '$2 == "info" { print $3 }' "$ENGINE_TSV") ms (median of $runs, hyperfine)"
            continue
        fi
        list=(); selfs=()
        for r in $(seq "$REPEAT"); do
            case "$kind" in
                file)    engine_file "$config" "$method" "$threads" ;;
                tcp)     engine_tcp "$config" "$method" "$threads" ;;
                extract) engine_extract "$config" "$threads" ;;
            esac
            log "Engine $config run $r: ${RES_MS} ms, $RES_BYTES bytes${RES_SELF:+ (its own total-time ${RES_SELF} ms)}"
            list+=("$RES_MS"); [ -z "$RES_SELF" ] || selfs+=("$RES_SELF")
        done
        save_row "$ENGINE_TSV" "$ENGINE_HEADER" "$config" \
            "$(printf 'engine\t%s\t%s\t%s\t%s\t%s' "$config" "$(median_ms "${list[@]}")" "$(IFS=,; echo "${list[*]}")" \
               "$RES_BYTES" "$([ ${#selfs[@]} -eq 0 ] || median_ms "${selfs[@]}")")"
    done
}

# ---------------------------------------------------------------------------------------------------------------------
if [ "$MODE" != engine ]; then log "QEMU runs (REPEAT=$REPEAT)"; run_qemu; fi
if [ "$MODE" != qemu ]; then log "Engine runs (REPEAT=$REPEAT): $ENGINE"; run_engine; fi

# 4. The table, the targets, $WORK/vs-qemu.tsv and $WORK/vs-qemu.json.
python3 - "$QEMU_TSV" "$ENGINE_TSV" "$WORK/vs-qemu.tsv" "$WORK/vs-qemu.json" "$REPEAT" "$ENGINE" "$(($(date +%s) - T0))" \
    "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import csv, json, os, sys
qemu_tsv, engine_tsv, out_tsv, out_json, repeat, engine, secs, load0, load1 = sys.argv[1:10]

def load(path):
    if not os.path.exists(path):
        return {}, None
    with open(path) as f:
        rows = {r["config"]: r for r in csv.DictReader(f, delimiter="\t")}
    return rows, os.path.getmtime(path)

q, q_time = load(qemu_tsv)
e, e_time = load(engine_tsv)
def ms(rows, k):
    r = rows.get(k)
    return int(r["median_ms"]) if r and r["median_ms"] else None
def nbytes(rows, k):
    r = rows.get(k)
    return int(r["bytes"]) if r and r["bytes"] else None

# (work, QEMU config, Engine config, target ratio Engine/QEMU or None)
pairs = [
    ("none -> file (QEMU plain)",                       "plain",       "none-x2",      1.5),
    ("zlib-1 x2 -> file (QEMU compress)",               "zlib1-x2",    "zlib1-x2",     0.3),
    ("zlib-1 x8 -> file (QEMU compress)",               "zlib1-x8",    "zlib1-x8",     None),
    ("zstd-1 x2 -> file (QEMU multifd zstd-1 x2, tcp)", "mf-zstd1-x2", "zstd1-x2",     0.8),
    ("zstd-1 x2 -> tcp (QEMU multifd zstd-1 x2, tcp)",  "mf-zstd1-x2", "tcp-zstd1-x2", 1.0),
    ("QEMU multifd none x2, tcp (reference)",           "mf-none-x2",  None,           None),
]
fmt = lambda v: "-" if v is None else str(v)
results = {"repeat": int(repeat), "engine": engine, "pairs": [], "scaling": [], "qemu": q, "engine_runs": e}
lines = []
w = ["| work | QEMU ms | Engine ms | Engine/QEMU | target | QEMU bytes | Engine bytes |", "|---|---:|---:|---:|---|---:|---:|"]
tsv = [["table", "work", "qemu_ms", "engine_ms", "ratio", "target", "pass", "qemu_bytes", "engine_bytes"]]
for work, qk, ek, target in pairs:
    qm, em = ms(q, qk), (ms(e, ek) if ek else None)
    ratio = round(em / qm, 2) if qm and em else None
    ok = None if ratio is None or target is None else ratio <= target
    tgt = "-" if target is None else f"<= {target}x " + ("-" if ok is None else ("PASS" if ok else "FAIL"))
    w.append(f"| {work} | {fmt(qm)} | {fmt(em)} | {fmt(ratio)} | {tgt} | {fmt(nbytes(q, qk))} | {fmt(nbytes(e, ek) if ek else None)} |")
    tsv.append(["vs", work, fmt(qm), fmt(em), fmt(ratio), fmt(target), fmt(ok), fmt(nbytes(q, qk)), fmt(nbytes(e, ek) if ek else None)])
    results["pairs"].append(dict(work=work, qemu=qk, engine=ek, qemu_ms=qm, engine_ms=em, ratio=ratio, target=target, ok=ok))
lines += w
lines += ["", "| Engine scaling | 1 thread ms | 2 threads ms | 8 threads ms | x1/x2 (>= 1.7) | x8/x2 (<= 1.05) |",
          "|---|---:|---:|---:|---:|---:|"]
for name, base in [("migrate zstd-1 -> file", "zstd1-x"), ("migrate zlib-1 -> file", "zlib1-x"), ("extract zstd-1 stream", "extract-zstd1-x")]:
    t1, t2, t8 = (ms(e, base + n) for n in "128")
    s12 = round(t1 / t2, 2) if t1 and t2 else None
    s82 = round(t8 / t2, 2) if t8 and t2 else None
    ok12 = None if s12 is None else s12 >= 1.7
    ok82 = None if s82 is None else s82 <= 1.05
    mark = lambda v, ok: fmt(v) + ("" if ok is None else (" PASS" if ok else " FAIL"))
    lines.append(f"| {name} | {fmt(t1)} | {fmt(t2)} | {fmt(t8)} | {mark(s12, ok12)} | {mark(s82, ok82)} |")
    tsv.append(["scaling", name, fmt(t1), fmt(t2), fmt(t8), fmt(s12), fmt(ok12), fmt(s82), fmt(ok82)])
    results["scaling"].append(dict(work=name, ms_1=t1, ms_2=t2, ms_8=t8, x1_over_x2=s12, x8_over_x2=s82, ok_2v1=ok12, ok_8v2=ok82))
info = ms(e, "info")
lines += ["", f"Engine start-up (`engine info`, hyperfine, 2 warm-ups): {fmt(info)} ms median"]
tsv.append(["startup", "engine info", fmt(info)])
results["startup_ms"] = info

import time
stamp = lambda t: "none saved" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
nruns = lambda rows: "-" if not rows else "/".join(sorted({str(len(r["runs_ms"].split(","))) for r in rows.values()}))
print(f"QEMU 7.2: its own total-time of the migration (median of {nruns(q)} runs; figures of {stamp(q_time)}); "
      f"Engine: whole-process wall time (median of {nruns(e)} runs; figures of {stamp(e_time)}): {engine}")
print(f"{os.cpu_count()} cores; same guest RAM on both sides (512 MiB frozen test guest); benchmark took {secs} s; "
      f"load average {load0} at start, {load1} at end")
if float(load0.split()[0]) > 1.0:
    print("WARNING: the machine was busy before the start (1-min load average > 1): the figures may be skewed")
results.update(load_start=load0, load_end=load1, seconds=int(secs))
print()
print("\n".join(lines))
with open(out_tsv, "w") as f:
    f.write("\n".join("\t".join(map(str, r)) for r in tsv) + "\n")
with open(out_json, "w") as f:
    json.dump(results, f, indent=1)
print(f"\nwritten: {out_tsv}, {out_json}")
EOF
