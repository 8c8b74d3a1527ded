#!/bin/bash
# mf-vs-qemu10.sh: multifd zstd-1 x2 and none x2 on the frozen test guest's RAM, QEMU 10.0 and Engine side by side,
# alternating, REPEAT times (docs/PERFORMANCE.md, "multifd against QEMU 10.0"). Prints the migration's own total-time
# (QEMU's query-migrate, Engine's --json) and Engine's process walls.
#   SINK_ONLY=1 bench/scripts/mf-vs-qemu10.sh   both sources into a server that discards what it reads
#   bench/scripts/mf-vs-qemu10.sh               both sources into `engine incoming`
# Needs tests/interop/work (make-streams.sh) and QEMU 10 unpacked by tests/interop/qemu10.sh; ENGINE= the CLI to time.
set -u
REPEAT=${REPEAT:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=${INTEROP_WORK:-$ROOT/tests/interop/work}; G=$W/guest
Q10=${QEMU10:-$W/qemu10/qemu-system-x86_64}; QMP="python3 $ROOT/tests/interop/qmp.py"
ENGINE=${ENGINE:-"dotnet $ROOT/src/Engine.Cli/bin/Release/net10.0/engine.dll"}
B=$W/mf-vs-qemu10; mkdir -p $B
RAW=$B/ram.raw
cat > $B/sink.py <<'PY'
import socket, sys, threading
# sink.py PORTFILE: accepts any number of connections on a free port and discards what they send
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
def drain(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    while c.recv(1 << 20): pass
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=drain, args=(c,), daemon=True).start()
PY
fp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
q10() { exec $Q10 -accel tcg -machine pc-i440fx-7.2 -smp 1 -m 512 -display none -nic none -no-reboot -monitor none -kernel $G/vmlinuz -initrd $G/initramfs.cpio.gz "$@"; }
jget() { python3 -c "import json,sys,functools; d=json.load(open(sys.argv[1])); print(functools.reduce(lambda o,k: o.get(k) if isinstance(o,dict) else None, sys.argv[2].split('.'), d))" "$1" "$2"; }
if [ ! -s $RAW ]; then
  q10 -S -incoming "exec:cat $W/stream-plain.bin" -qmp unix:$B/l.qmp,server=on,wait=off > $B/l.log 2>&1 & P=$!
  for i in $(seq 1 120); do st=$($QMP $B/l.qmp query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null); [ "$st" = completed ] && break; sleep 0.5; done
  $QMP $B/l.qmp pmemsave "{\"val\":0,\"size\":536870912,\"filename\":\"$RAW\"}" > /dev/null; sleep 1; kill $P; wait $P 2>/dev/null
fi
qemu_run() { # METHOD -> QEMU total-time (ms) into engine incoming
  local m=$1 port; port=$(fp)
  $ENGINE incoming --listen tcp:127.0.0.1:$port --multifd-channels 2 --multifd-compression $m --json > $B/qi.json 2> $B/qi.err & local E=$!
  q10 -S -incoming "exec:cat $W/stream-plain.bin" -qmp unix:$B/s.qmp,server=on,wait=off > $B/s.log 2>&1 & local P=$!
  for i in $(seq 1 120); do st=$($QMP $B/s.qmp query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null); [ "$st" = completed ] && break; sleep 0.5; done
  $QMP $B/s.qmp migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null
  $QMP $B/s.qmp migrate-set-parameters "{\"max-bandwidth\":10737418240,\"multifd-channels\":2,\"multifd-compression\":\"$m\",\"multifd-zstd-level\":1}" >/dev/null
  sleep 0.5
  $QMP $B/s.qmp migrate "{\"uri\":\"tcp:127.0.0.1:$port\"}" >/dev/null
  $QMP $B/s.qmp wait-migrate 120 >/dev/null
  local tt; tt=$($QMP $B/s.qmp query-migrate | python3 -c 'import json,sys; print(json.load(sys.stdin).get("total-time",""))')
  wait $E; kill $P; wait $P 2>/dev/null
  echo "$tt"
}
engine_run() { # METHOD -> "total-time wall-ms-both"
  local m=$1 port; port=$(fp)
  local s=$(date +%s%N)
  $ENGINE incoming --listen tcp:127.0.0.1:$port --multifd-channels 2 --multifd-compression $m --json > $B/ei.json 2> $B/ei.err & local E=$!
  for i in $(seq 1 100); do grep -q "listening" $B/ei.err 2>/dev/null && break; sleep 0.05; done
  $ENGINE migrate --to tcp:127.0.0.1:$port --image $RAW --multifd-channels 2 --multifd-compression $m --multifd-zstd-level 1 --max-bandwidth 0 --json > $B/em.json 2> $B/em.err
  wait $E
  local e=$(date +%s%N)
  echo "$(jget $B/em.json total-time) $(( (e - s) / 1000000 )) $(jget $B/em.json checksums-equal)"
}
sink_start() { rm -f $B/port; python3 $B/sink.py $B/port & SINK=$!; for i in $(seq 1 50); do [ -s $B/port ] && break; sleep 0.1; done; SPORT=$(cat $B/port); }
qemu_sink() {
  local m=$1; sink_start
  q10 -S -incoming "exec:cat $W/stream-plain.bin" -qmp unix:$B/s.qmp,server=on,wait=off > $B/s.log 2>&1 & local P=$!
  for i in $(seq 1 120); do st=$($QMP $B/s.qmp query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null); [ "$st" = completed ] && break; sleep 0.5; done
  $QMP $B/s.qmp migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null
  $QMP $B/s.qmp migrate-set-parameters "{\"max-bandwidth\":10737418240,\"multifd-channels\":2,\"multifd-compression\":\"$m\",\"multifd-zstd-level\":1}" >/dev/null
  sleep 0.5
  $QMP $B/s.qmp migrate "{\"uri\":\"tcp:127.0.0.1:$SPORT\"}" >/dev/null
  $QMP $B/s.qmp wait-migrate 120 >/dev/null
  local tt; tt=$($QMP $B/s.qmp query-migrate | python3 -c 'import json,sys; print(json.load(sys.stdin).get("total-time",""))')
  kill $P $SINK; wait $P $SINK 2>/dev/null
  echo "$tt"
}
engine_sink() {
  local m=$1; sink_start
  local s=$(date +%s%N)
  $ENGINE migrate --to tcp:127.0.0.1:$SPORT --image $RAW --multifd-channels 2 --multifd-compression $m --multifd-zstd-level 1 --max-bandwidth 0 --no-reply --machine-type pc-i440fx-7.2 --json > $B/es.json 2> $B/es.err
  local e=$(date +%s%N)
  kill $SINK; wait $SINK 2>/dev/null
  echo "$(jget $B/es.json total-time) $(( (e - s) / 1000000 ))"
}
if [ -n "${SINK_ONLY:-}" ]; then
for m in zstd none; do
  for r in $(seq 1 $REPEAT); do
    echo "$m qemu10 into a sink: total-time $(qemu_sink $m) ms"
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
