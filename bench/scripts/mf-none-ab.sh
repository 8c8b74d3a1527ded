#!/bin/bash
# mf-none-ab.sh: multifd none x2 on the frozen test guest's RAM into a sink that discards what it reads, two Engine builds
# and QEMU 10.0 alternating per round (QEMU, A, B), REPEAT rounds; prints each run's own total-time (ms) and Engine's
# process wall, then the medians and the load average (docs/PERFORMANCE.md, "multifd none: a gather write from the pages").
#   ENGINE_A=/tmp/a/engine ENGINE_B=/tmp/b/engine [QEMU=0] REPEAT=8 bench/scripts/mf-none-ab.sh
# Needs mf-vs-qemu10.sh's ram.raw (run it once) and, for QEMU's column, QEMU 10 unpacked by tests/interop/qemu10.sh.
set -u
REPEAT=${REPEAT:-8}; M=${METHOD:-none}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
B=$W/mf-vs-qemu10; RAW=$B/ram.raw
[ -s $RAW ] || { echo "run bench/scripts/mf-vs-qemu10.sh once first (ram.raw)"; exit 1; }
engine_sink() { # ENGINE -> "total-time wall"
  sink_start $B || return 1
  engine_multifd_sink "$1" $M $RAW $SPORT $B/ab.json
  sink_stop
}
QT=(); AT=(); AW=(); BT=(); BW=(); R=()
for r in $(seq 1 $REPEAT); do
  q=-; [ "${QEMU:-1}" = 1 ] && { q=$(q10_multifd_sink $M $B); QT+=($q); }
  read at aw < <(engine_sink "$ENGINE_A"); AT+=($at); AW+=($aw)
  read bt bw < <(engine_sink "$ENGINE_B"); BT+=($bt); BW+=($bw)
  R+=($(python3 -c "print(round($bt/$at,3))"))
  echo "round $r: QEMU $q ms | A $at ms (wall $aw) | B $bt ms (wall $bw) | load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "medians: QEMU $(median ${QT[@]+"${QT[@]}"}) | A $(median ${AT[@]}) ms (wall $(median ${AW[@]})) | B $(median ${BT[@]}) ms (wall $(median ${BW[@]})) | B/A per round median $(median ${R[@]})"
