#!/bin/bash
# mf-none-ab.sh: multifd none x2 on the frozen test guest's RAM into a sink that discards what it reads, two Engine builds
# and QEMU 10.0 alternating per round (QEMU, A, B), REPEAT rounds; prints each run's own total-time (ms) and Engine's
# process wall, then the medians and the load average (docs/PERFORMANCE.md, "multifd none: a gather write from the pages").
#   ENGINE_A=/tmp/a/engine ENGINE_B=/tmp/b/engine [QEMU=0] REPEAT=8 bench/scripts/mf-none-ab.sh
# Needs mf-vs-qemu10.sh's ram.raw (run it once) and, for QEMU's column, QEMU 10 unpacked by tests/interop/qemu10.sh.
set -u
REPEAT=${REPEAT:-8}; M=${METHOD:-none}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=${INTEROP_WORK:-$ROOT/tests/interop/work}; G=$W/guest; B=$W/mf-vs-qemu10; RAW=$B/ram.raw
Q10=${QEMU10:-$W/qemu10/qemu-system-x86_64}; QMP="python3 $ROOT/tests/interop/qmp.py"
[ -s $RAW ] && [ -s $B/sink.py ] || { echo "run bench/scripts/mf-vs-qemu10.sh once first (ram.raw, sink.py)"; exit 1; }
jget() { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))" "$1" "$2"; }
sink_start() { rm -f $B/port; python3 $B/sink.py $B/port & SINK=$!; for i in $(seq 1 50); do [ -s $B/port ] && break; sleep 0.1; done; SPORT=$(cat $B/port); }
qemu_sink() {
  sink_start
  $Q10 -accel tcg -machine pc-i440fx-7.2 -smp 1 -m 512 -display none -nic none -no-reboot -monitor none -kernel $G/vmlinuz \
    -initrd $G/initramfs.cpio.gz -S -incoming "exec:cat $W/stream-plain.bin" -qmp unix:$B/ab.qmp,server=on,wait=off > $B/ab.log 2>&1 & local P=$!
  for i in $(seq 1 120); do st=$($QMP $B/ab.qmp query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null); [ "$st" = completed ] && break; sleep 0.5; done
  $QMP $B/ab.qmp migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null
  $QMP $B/ab.qmp migrate-set-parameters "{\"max-bandwidth\":10737418240,\"multifd-channels\":2,\"multifd-compression\":\"$M\",\"multifd-zstd-level\":1}" >/dev/null
  sleep 0.5
  $QMP $B/ab.qmp migrate "{\"uri\":\"tcp:127.0.0.1:$SPORT\"}" >/dev/null
  $QMP $B/ab.qmp wait-migrate 120 >/dev/null
  $QMP $B/ab.qmp query-migrate | python3 -c 'import json,sys; print(json.load(sys.stdin).get("total-time",""))'
  kill $P $SINK; wait $P $SINK 2>/dev/null
}
engine_sink() { # ENGINE -> "total-time wall"
  sink_start
  local s=$(date +%s%N)
  $1 migrate --to tcp:127.0.0.1:$SPORT --image $RAW --multifd-channels 2 --multifd-compression $M --multifd-zstd-level 1 --max-bandwidth 0 --no-reply --machine-type pc-i440fx-7.2 --json > $B/ab.json 2> $B/ab.err
  local e=$(date +%s%N)
  kill $SINK; wait $SINK 2>/dev/null
  echo "$(jget $B/ab.json total-time) $(( (e - s) / 1000000 ))"
}
med() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print("%g" % statistics.median(v) if v else "-")' "$@"; }
QT=(); AT=(); AW=(); BT=(); BW=(); R=()
for r in $(seq 1 $REPEAT); do
  q=-; [ "${QEMU:-1}" = 1 ] && { q=$(qemu_sink); QT+=($q); }
  read at aw < <(engine_sink "$ENGINE_A"); AT+=($at); AW+=($aw)
  read bt bw < <(engine_sink "$ENGINE_B"); BT+=($bt); BW+=($bw)
  R+=($(python3 -c "print(round($bt/$at,3))"))
  echo "round $r: QEMU $q ms | A $at ms (wall $aw) | B $bt ms (wall $bw) | load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "medians: QEMU $(med ${QT[@]+"${QT[@]}"}) | A $(med ${AT[@]}) ms (wall $(med ${AW[@]})) | B $(med ${BT[@]}) ms (wall $(med ${BW[@]})) | B/A per round median $(med ${R[@]})"
