#!/bin/bash
# make-streams.sh: boots the test guest under QEMU 7.2 (TCG), freezes it, and saves three migration streams that hold
# exactly the same RAM:
#   work/stream-plain.bin   no compression
#   work/stream-zlib1.bin   capability compress, level 1, 2 threads
#   work/stream-zlib9.bin   capability compress, level 9, 2 threads
# The compressed ones come from fresh QEMUs started with -S that load the plain stream and migrate it out again, so
# the guest never runs in between. Also writes work/source-last-tick (the last console tick before the freeze).
# Idempotent: does nothing when the three streams exist (FORCE=1 remakes them). Every wait is bounded.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
trap stop_all_started EXIT

if [ "${FORCE:-0}" != 1 ] && [ -s "$WORK/stream-plain.bin" ] && [ -s "$WORK/stream-zlib1.bin" ] \
   && [ -s "$WORK/stream-zlib9.bin" ] && [ -s "$WORK/source-last-tick" ]; then
    echo "make-streams: up to date ($WORK)"; exit 0
fi
mkdir -p "$WORK"
"$HERE/make-guest.sh" "$WORK" >/dev/null
rm -f "$WORK"/stream-*.bin "$WORK/source-last-tick"

echo "make-streams: booting the guest (TCG, ${MEM_MIB} MiB)"
start_qemu src
SRC=$LAST_PID
if ! wait_console "$WORK/src.console" '^tick 2\b' "${GUEST_BOOT_TIMEOUT:-180}"; then
    echo "make-streams: the guest did not reach 'tick 2' in time; console tail:" >&2
    tail -5 "$WORK/src.console" >&2 || true
    exit 1
fi
Q="timeout 60 $QMP $WORK/src.qmp"
$Q migrate-set-parameters '{"max-bandwidth":10737418240}' >/dev/null
$Q stop >/dev/null
last_tick "$WORK/src.console" > "$WORK/source-last-tick"
$Q migrate "{\"uri\":\"exec:cat > $WORK/stream-plain.bin.tmp\"}" >/dev/null
[ "$(timeout 300 $QMP "$WORK/src.qmp" wait-migrate 290)" = completed ] || { echo "make-streams: plain migration failed" >&2; exit 1; }
mv "$WORK/stream-plain.bin.tmp" "$WORK/stream-plain.bin"
stop_qemu "$SRC"

# resave NAME LEVEL: load the plain stream into a paused fresh QEMU and migrate it out with compress at LEVEL.
resave() {
    local name=$1 level=$2 pid
    start_qemu "re-$name" -S -incoming "exec:cat $WORK/stream-plain.bin"
    pid=$LAST_PID
    wait_incoming_completed "$WORK/re-$name.qmp" 300 || { echo "make-streams: reloading the plain stream failed" >&2; return 1; }
    local R="timeout 60 $QMP $WORK/re-$name.qmp"
    $R migrate-set-capabilities '{"capabilities":[{"capability":"compress","state":true}]}' >/dev/null
    $R migrate-set-parameters "{\"compress-level\":$level,\"compress-threads\":2,\"max-bandwidth\":10737418240}" >/dev/null
    $R migrate "{\"uri\":\"exec:cat > $WORK/stream-$name.bin.tmp\"}" >/dev/null
    [ "$(timeout 600 $QMP "$WORK/re-$name.qmp" wait-migrate 590)" = completed ] || { echo "make-streams: $name migration failed" >&2; return 1; }
    $R hmp info migrate > "$WORK/stream-$name.info" || true
    mv "$WORK/stream-$name.bin.tmp" "$WORK/stream-$name.bin"
    stop_qemu "$pid"
}
resave zlib1 1
resave zlib9 9
ls -l "$WORK"/stream-*.bin
