#!/bin/bash
# transcode-ab.sh: A/B of `engine transcode` between two builds, alternating (the order flips every repetition).
# D/base/engine and D/new/engine are the two builds' bin/Release/net10.0 folders copied to D (default /tmp/enc-bench);
# IN is a plain stream (default: the 512 MiB test guest's, tests/interop/make-streams.sh). Prints wall and CPU seconds
# (user+sys) per run and checks that both builds wrote the same bytes.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
IN=${IN:-$HERE/../../tests/interop/work/stream-plain.bin}
REPS=${REPS:-3}
D=${D:-/tmp/enc-bench}
cat "$IN" > /dev/null
for rep in $(seq 1 $REPS); do
  if [ $((rep % 2)) = 1 ]; then order="base new"; else order="new base"; fi
  for m in zstd zlib; do
    for v in $order; do
      /usr/bin/time -f "$rep $m $v wall %e cpu %U+%S" "$D/$v/engine" transcode "$IN" "$D/out-$v-$m.bin" --compress-method $m --compress-level 1 --compress-threads 2 > "$D/last-$v-$m.txt" 2> "$D/time.txt"
      tail -n 1 "$D/time.txt"
    done
  done
done
for m in zstd zlib; do cmp "$D/out-base-$m.bin" "$D/out-new-$m.bin" && echo "$m: outputs identical"; done
