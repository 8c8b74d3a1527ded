#!/usr/bin/env bash
# End-to-end throughput of `engine transcode` and `engine extract` on a generated migration stream, by method and
# thread count, in MB/s of guest RAM (10^6 bytes of RAM per second of wall time, the whole command included).
#   bench/scripts/stream-throughput.sh [GUEST_SIZE] [RUNS]     (defaults: 512M, 3; the best of RUNS is kept)
# Prints a Markdown table; the stream is the synthetic guest model (57 % zero pages, calibrated to a real Debian guest).
set -euo pipefail
SIZE=${1:-512M}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/engine-stream-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
dotnet build "$ROOT/src/Engine.Cli" -c Release -v q -nologo >/dev/null
ENGINE="dotnet $ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll"

$ENGINE migrate --to "file:$WORK/plain.mig" --guest "synthetic:$SIZE" --compress-method none --max-bandwidth 0 >/dev/null
RAM=$($ENGINE inspect "$WORK/plain.mig" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["totalRamBytes"])')

# best_seconds CMD...: the shortest wall time of RUNS runs.
best_seconds() {
    local best="" t0 t1 dt
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
        dt=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$dt < $best" | bc -l)" = 1 ]; then best=$dt; fi
    done
    echo "$best"
}
mbps() { echo "scale=0; $RAM / $1 / 1000000" | bc -l; }

echo "guest: synthetic $SIZE ($RAM bytes of RAM), $(nproc) cores; best of $RUNS runs; MB/s of guest RAM"
echo
echo "| command | method | threads | stream bytes | seconds | MB/s |"
echo "|---|---|---|---|---|---|"
for method in none zlib zstd; do
    for threads in 1 2 8; do
        [ "$method" = none ] && [ "$threads" != 1 ] && continue
        out="$WORK/$method-$threads.mig"
        s=$(best_seconds $ENGINE transcode "$WORK/plain.mig" "$out" --compress-method "$method" --compress-level 1 --compress-threads "$threads")
        echo "| transcode | $method-1 | $threads | $(stat -c %s "$out") | $s | $(mbps "$s") |"
    done
done
for method in none zlib zstd; do
    src="$WORK/$method-1.mig"
    for threads in 1 2; do
        s=$(best_seconds $ENGINE extract "$src" --out "$WORK/x-$method-$threads" --decompress-threads "$threads")
        rm -rf "$WORK/x-$method-$threads"
        echo "| extract | $method-1 | $threads | $(stat -c %s "$src") | $s | $(mbps "$s") |"
    done
done
