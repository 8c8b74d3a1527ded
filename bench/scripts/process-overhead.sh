#!/bin/bash
# process-overhead.sh: issue 18's rows about the process around the migration and the series' single stream, each
# with its goal, two `engine` builds side by side (A then B, alternating, REPEAT times, medians):
#   1. `engine info` (start-up), wall                                                   goal <= 50 ms
#   2. `engine migrate` multifd zstd-1 x2 of the frozen 512 MiB guest into a sink:
#      the migration's own total-time, the process wall, and wall - total-time          goal (outside) <= 80 ms
#   3. the series' single stream zstd-1, 2 threads, into a file: own total-time, against the naive 4 KiB-frame limit
#      (`zstd -b1 -B4096` on the same non-zero pages, one thread, halved for 2 threads)  goal <= 1.0x the limit
# Usage: ENGINE_A="dotnet src/Engine.Cli/bin/Release/net10.0/engine.dll" ENGINE_B=artifacts/engine/engine \
#        bench/scripts/process-overhead.sh
# Needs tests/interop/work/mf-vs-qemu10/ram.raw (bench/scripts/mf-vs-qemu10.sh writes it from the test guest).
# RAW_REWRITE=1 times a copy of the image written in 16 MiB writes instead ($B/ram-rewritten.raw, the same bytes): the
# cost of mapping the image is the page cache's, by the size of its folios, and QEMU's pmemsave writes ram.raw in 4 KiB
# writes, so its cached pages are 4 KiB folios (populate 42-66 ms, unmap 17-21 ms for 512 MiB); a file written in large
# writes (or read cold) is cached in 2 MiB folios on ext4 with Linux >= 6.16, mapped by 2 MiB entries (populate under
# 1 ms, unmap 0.1 ms). docs/PERFORMANCE.md, "The process around the migration, once more".
set -u
REPEAT=${REPEAT:-5}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
RAW=${RAW:-$W/mf-vs-qemu10/ram.raw}
ENGINE_A=${ENGINE_A:-"dotnet $ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll"}
ENGINE_B=${ENGINE_B:-$ROOT/artifacts/engine/engine}
B=$W/process-overhead; mkdir -p "$B"
[ -s "$RAW" ] || { echo "no $RAW: run bench/scripts/mf-vs-qemu10.sh once" >&2; exit 1; }
if [ "${RAW_REWRITE:-0}" = 1 ]; then
  if [ ! "$B/ram-rewritten.raw" -nt "$RAW" ]; then
    python3 - "$RAW" "$B/ram-rewritten.raw" <<'PY'
import sys
with open(sys.argv[1], "rb") as src, open(sys.argv[2] + ".tmp", "wb") as out:
    while block := src.read(16 << 20):
        out.write(block)
PY
    mv "$B/ram-rewritten.raw.tmp" "$B/ram-rewritten.raw"
  fi
  RAW=$B/ram-rewritten.raw
fi

sink_start "$B" || exit 1
trap 'sink_stop; rm -f "$B/series.bin" "$B/series.bin.checksums.json"' EXIT

info() { # ENGINE -> wall ms
  local s; s=$(now_ns); $1 info > /dev/null; ms_since "$s"
}
migrate() { # ENGINE -> "total-time wall"
  engine_multifd_sink "$1" zstd "$RAW" "$SPORT" "$B/m.json"
}
series() { # ENGINE -> "total-time wall"
  local s; s=$(now_ns)
  $1 migrate --to "file:$B/series.bin" --image "$RAW" --compress-method zstd --compress-level 1 --compress-threads 2 \
    --max-bandwidth 0 --json > "$B/s.json" 2> "$B/s.err"
  echo "$(jget "$B/s.json" total-time) $(ms_since "$s")"
}

for k in A B; do : > "$B/info.$k"; : > "$B/mig.$k"; : > "$B/ser.$k"; done
for r in $(seq 1 "$REPEAT"); do
  for k in A B; do
    eval "E=\$ENGINE_$k"
    info "$E" >> "$B/info.$k"
    migrate "$E" >> "$B/mig.$k"
    series "$E" >> "$B/ser.$k"
  done
done

# The naive per-frame limit: the non-zero pages, each its own zstd-1 frame, in the zstd command's own benchmark.
python3 - "$RAW" "$B/nonzero.bin" <<'PY'
import mmap, sys
f = open(sys.argv[1], "rb"); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ); z = bytes(4096)
with open(sys.argv[2], "wb") as out:
    for i in range(0, len(m), 4096):
        if m[i:i + 4096] != z: out.write(m[i:i + 4096])
PY
NZ=$(stat -c %s "$B/nonzero.bin")
RATE=$(zstd -b1 -B4096 -i3 "$B/nonzero.bin" 2>&1 | tr '\r' '\n' | grep -- '->' | tail -1 | grep -o '[0-9.]* MB/s' | head -1 | cut -d' ' -f1)
LIMIT=$(python3 -c "print(round($NZ / ($RATE * 1e6) / 2 * 1000))")

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "image: $RAW"
echo "A = $ENGINE_A"
echo "B = $ENGINE_B"
echo "medians of $REPEAT, alternating A/B; ms"
printf '%-72s %8s %8s %s\n' "row" "A" "B" "goal"
printf '%-72s %8s %8s %s\n' "engine info, wall" "$(median $(cat "$B/info.A"))" "$(median $(cat "$B/info.B"))" "<= 50"
for k in A B; do
  eval "m_tt_$k=\$(median \$(cut -d' ' -f1 < \"\$B/mig.$k\"))"
  eval "m_wall_$k=\$(median \$(cut -d' ' -f2 < \"\$B/mig.$k\"))"
  eval "m_out_$k=\$(median \$(awk '{print \$2 - \$1}' < \"\$B/mig.$k\"))"
  eval "s_tt_$k=\$(median \$(cut -d' ' -f1 < \"\$B/ser.$k\"))"
  eval "s_out_$k=\$(median \$(awk '{print \$2 - \$1}' < \"\$B/ser.$k\"))"
done
printf '%-72s %8s %8s %s\n' "migrate multifd zstd-1 x2 into a sink, own total-time" "$m_tt_A" "$m_tt_B" ""
printf '%-72s %8s %8s %s\n' "  the same, whole process wall" "$m_wall_A" "$m_wall_B" ""
printf '%-72s %8s %8s %s\n' "  the same, outside the migration (wall - total-time)" "$m_out_A" "$m_out_B" "<= 80"
printf '%-72s %8s %8s %s\n' "series' single stream zstd-1 x2 to a file, own total-time" "$s_tt_A" "$s_tt_B" "<= $LIMIT (1.0x the limit)"
printf '%-72s %8s %8s %s\n' "  ratio to the naive 4 KiB-frame limit (zstd -b1 -B4096: $RATE MB/s, /2)" \
  "$(python3 -c "print(f'{$s_tt_A/$LIMIT:.2f}x')")" "$(python3 -c "print(f'{$s_tt_B/$LIMIT:.2f}x')")" "<= 1.00x"
printf '%-72s %8s %8s %s\n' "  the same, outside the migration (wall - total-time)" "$s_out_A" "$s_out_B" ""
echo "series stream bytes: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("ram",{}).get("transferred", "?"))' "$B/s.json")"
