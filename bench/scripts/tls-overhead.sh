#!/usr/bin/env bash
# tls-overhead.sh: what TLS adds to an Engine -> Engine migration over loopback (issue 12's benchmark), single stream and
# multifd, with and without TLS, interleaved in one run: round after round, each round runs the four in turn, so a load
# change on a shared machine hits all four alike.
#   bench/scripts/tls-overhead.sh [ROUNDS] [IMAGE]      (defaults: 5; /tmp/ram/pc.ram.raw, the real test RAM)
# Single stream: zstd-1, compress-threads 2 / decompress-threads 2. multifd: 2 channels, zstd level 1.
# Prints one line per run, then a Markdown table of medians: the source's total-time (from its --json), the wall and
# user+sys CPU of each process (/usr/bin/time), and the load average at the start and end.
# The image: pmemsave of the interop guest (see bench/scripts/vs-qemu.sh, which makes it as $WORK/ram.raw); certificates
# come from tests/interop/mk-certs.sh in a fresh temporary directory (never committed).
# Env: ENGINE (default: the Release build of src/Engine.Cli). Every wait is bounded; only processes started here are stopped.
set -uo pipefail
ROUNDS=${1:-5}
IMAGE=${2:-/tmp/ram/pc.ram.raw}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ -s "$IMAGE" ] || { echo "tls-overhead: $IMAGE missing (bench/scripts/vs-qemu.sh makes the RAM image)"; exit 2; }
if [ -z "${ENGINE:-}" ]; then
    dotnet build "$ROOT/src/Engine.Cli" -c Release -v q -nologo >/dev/null || exit 2
    ENGINE="dotnet $ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll"
fi
OUT=$(mktemp -d /tmp/engine-tls-bench.XXXXXX)
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$OUT"; }
trap cleanup EXIT
"$ROOT/tests/interop/mk-certs.sh" "$OUT/creds" >/dev/null || exit 2

# run MODE ROUND: MODE is single-plain, single-tls, multifd-plain or multifd-tls.
run() {
    local mode=$1 round=$2 tls=() mf=() mfin=() comp=() dec=() port pid i total
    case $mode in *-tls) tls=(--tls-creds "$OUT/creds") ;; esac
    case $mode in
        single-*) comp=(--compress-method zstd --compress-level 1 --compress-threads 2); dec=(--decompress-threads 2) ;;
        multifd-*) mfin=(--multifd-channels 2 --multifd-compression zstd); mf=("${mfin[@]}" --multifd-zstd-level 1) ;;
    esac
    local tag=$OUT/$mode.$round
    /usr/bin/time -f '%e %U %S' -o "$tag.in.time" $ENGINE incoming --listen tcp:127.0.0.1:0 "${tls[@]}" "${dec[@]}" "${mfin[@]}" --json \
        > "$tag.in.out" 2> "$tag.in.err" &
    pid=$!; PIDS+=("$pid")
    port=""
    for i in $(seq 1 150); do
        port=$(grep -Eo 'listening on .*:[0-9]+' "$tag.in.err" 2>/dev/null | grep -Eo '[0-9]+$' || true)
        [ -n "$port" ] && break
        sleep 0.2
    done
    [ -n "$port" ] || { echo "$mode: incoming did not listen"; return 1; }
    timeout 300 /usr/bin/time -f '%e %U %S' -o "$tag.out.time" $ENGINE migrate --image "$IMAGE" --to "tcp:127.0.0.1:$port" "${tls[@]}" \
        "${comp[@]}" "${mf[@]}" --max-bandwidth 0 --json > "$tag.out.out" 2> "$tag.out.err"
    timeout 60 tail --pid="$pid" -f /dev/null; wait "$pid" 2>/dev/null
    total=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["checksums-equal"]; print(d["total-time"])' "$tag.out.out" 2>/dev/null || echo FAIL)
    read -r sw su ss < "$tag.out.time"; read -r dw du ds < "$tag.in.time"
    echo "$mode $round total-time $total ms; source wall $sw s cpu $(echo "$su + $ss" | bc) s; destination wall $dw s cpu $(echo "$du + $ds" | bc) s"
    echo "$mode $total $(echo "$su + $ss" | bc) $(echo "$du + $ds" | bc) $sw" >> "$OUT/results"
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
MODES=(single-plain single-tls multifd-plain multifd-tls)
for r in $(seq 1 "$ROUNDS"); do
    for m in "${MODES[@]}"; do run "$m" "$r"; done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    mode, total, scpu, dcpu, swall = line.split()
    if total == "FAIL":
        continue
    rows.setdefault(mode, []).append((float(total), float(scpu), float(dcpu), float(swall)))
med = lambda xs: statistics.median(xs)
print("| run | n | total-time (median) | source wall | source CPU (user+sys) | destination CPU (user+sys) | both CPU |")
print("|---|---:|---:|---:|---:|---:|---:|")
for mode in ["single-plain", "single-tls", "multifd-plain", "multifd-tls"]:
    r = rows.get(mode, [])
    if not r:
        print(f"| {mode} | 0 | | | | | |"); continue
    t, s, d, w = (med([x[i] for x in r]) for i in range(4))
    both = med([x[1] + x[2] for x in r])
    print(f"| {mode} | {len(r)} | {t:.0f} ms | {w:.2f} s | {s:.2f} s | {d:.2f} s | {both:.2f} s |")
for kind in ["single", "multifd"]:
    p, q = rows.get(kind + "-plain"), rows.get(kind + "-tls")
    if p and q:
        print(f"{kind}: TLS/plain total-time {med([x[0] for x in q]) / med([x[0] for x in p]):.3f}, "
              f"both processes' CPU {med([x[1] + x[2] for x in q]) / med([x[1] + x[2] for x in p]):.3f}")
PY
