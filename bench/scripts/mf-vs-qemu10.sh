#!/bin/bash
# mf-vs-qemu10.sh: multifd zstd-1 x2 and none x2 on the frozen test guest's RAM, QEMU 10.0 and Engine side by side,
# alternating, REPEAT times (docs/PERFORMANCE.md, "multifd against QEMU 10.0"). Prints the migration's own total-time
# (QEMU's query-migrate, Engine's --json) and Engine's process walls.
#   SINK_ONLY=1 bench/scripts/mf-vs-qemu10.sh   both sources into a server that discards what it reads
#   bench/scripts/mf-vs-qemu10.sh               both sources into `engine incoming`
# Needs tests/interop/work (make-streams.sh) and QEMU 10 unpacked by tests/interop/qemu10.sh; ENGINE= the CLI to time.
set -u
REPEAT=${REPEAT:-3}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ENGINE=${ENGINE:-"dotnet $ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll"}
B=$W/mf-vs-qemu10; mkdir -p $B
RAW=$B/ram.raw
if [ ! -s $RAW ]; then
  q10_frozen $B/l.qmp $B/l.log
  $QMP $B/l.qmp pmemsave "{\"val\":0,\"size\":536870912,\"filename\":\"$RAW\"}" > /dev/null; sleep 1; kill $QPID; wait $QPID 2>/dev/null
fi
qemu_run() { # METHOD -> QEMU total-time (ms) into engine incoming
  local m=$1 port; port=$(free_port)
  $ENGINE incoming --listen tcp:127.0.0.1:$port --multifd-channels 2 --multifd-compression $m --json > $B/qi.json 2> $B/qi.err & local E=$!
  q10_frozen $B/s.qmp $B/s.log
  local tt; tt=$(q10_multifd $B/s.qmp $m $port)
  wait $E; kill $QPID; wait $QPID 2>/dev/null
  echo "$tt"
}
engine_run() { # METHOD -> "total-time wall-ms-both"
  local m=$1 port; port=$(free_port)
  local s; s=$(now_ns)
  $ENGINE incoming --listen tcp:127.0.0.1:$port --multifd-channels 2 --multifd-compression $m --json > $B/ei.json 2> $B/ei.err & local E=$!
  for i in $(seq 1 100); do grep -q "listening" $B/ei.err 2>/dev/null && break; sleep 0.05; done
  $ENGINE migrate --to tcp:127.0.0.1:$port --image $RAW --multifd-channels 2 --multifd-compression $m --multifd-zstd-level 1 --max-bandwidth 0 --json > $B/em.json 2> $B/em.err
  wait $E
  echo "$(jget $B/em.json total-time) $(ms_since "$s") $(jget $B/em.json checksums-equal)"
}
engine_sink() { # METHOD -> "total-time wall"
  sink_start $B || return 1
  engine_multifd_sink "$ENGINE" "$1" $RAW $SPORT $B/es.json
  sink_stop
}
if [ -n "${SINK_ONLY:-}" ]; then
for m in zstd none; do
  for r in $(seq 1 $REPEAT); do
    echo "$m qemu10 into a sink: total-time $(q10_multifd_sink $m $B) ms"
    echo "$m engine into a sink: total-time/process-wall $(engine_sink $m)"
  done
done
exit 0
fi
for m in zstd none; do
  for r in $(seq 1 $REPEAT); do
    echo "$m qemu10 total-time $(qemu_run $m) ms"
    echo "$m engine total-time/wall-both/checksums $(engine_run $m)"
  done
done
