#!/bin/bash
# run-interop.sh: the three interop checks of issue 4 against real QEMU 7.2 (Debian's qemu-system-x86, TCG):
#   1. engine extract of the plain stream and of each compressed stream (zlib-1, zlib-9 x2 threads) give identical images;
#   2. engine transcode of the plain stream to zlib loads into a fresh QEMU with compress on, reaches 'running', and the
#      guest's console goes on ticking;
#   3. engine transcode to zstd, then engine extract, gives identical images; transcode back to zlib still loads into QEMU.
# Prints PASS / FAIL / SKIPPED (reason) per check; exits 1 if any check failed, else 0.
#
# Env: ENGINE   the engine command (default: dotnet run --project src/Engine.Cli -c Release --); before the CLI has
#               extract/transcode, ENGINE="dotnet run tests/interop/engine-shim.cs --" runs the library directly.
#      INTEROP_WORK (default tests/interop/work), INTEROP_TIME_LIMIT (whole run, default 1500 s), FORCE=1 remakes streams.
# Every wait is bounded; only QEMU processes this script started are stopped, by PID.
set -uo pipefail
if [ -z "${_INTEROP_TIMED:-}" ]; then
    exec timeout -k 10 "${INTEROP_TIME_LIMIT:-1500}" env _INTEROP_TIMED=1 "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
trap stop_all_started EXIT
ENGINE=${ENGINE:-"dotnet run --project $ROOT/src/Engine.Cli -c Release --"}
declare -A RESULT

report() {
    local status=0 n
    echo "== interop results"
    for n in 1 2 3; do
        echo "interop check $n: ${RESULT[$n]:-SKIPPED (not reached)}"
        case "${RESULT[$n]:-}" in FAIL*) status=1 ;; esac
    done
    exit $status
}

skip_all() {
    RESULT[1]="SKIPPED ($1)"; RESULT[2]="SKIPPED ($1)"; RESULT[3]="SKIPPED ($1)"
    report
}

# 0. QEMU and the streams.
if ! have_qemu && [ "$(id -u)" != 0 ]; then
    skip_all "qemu-system-x86_64 is not installed and this is not root, so it cannot be installed"
fi
if ! "$HERE/make-streams.sh"; then
    have_qemu || skip_all "qemu-system-x86 could not be installed"
    skip_all "QEMU could not make the migration streams (see the log above)"
fi
LAST_TICK=$(cat "$WORK/source-last-tick")

# 0b. The engine command.
cd "$ROOT"
HELP=$(timeout 600 $ENGINE --help 2>&1 || true)
if ! grep -q extract <<< "$HELP" || ! grep -q transcode <<< "$HELP"; then
    skip_all "the engine command has no 'extract' yet: $ENGINE"
fi

engine() {
    echo "+ engine $*"
    timeout 900 $ENGINE "$@"
}

# hash_images DIR: "file sha256" lines of a directory of block images, sorted.
hash_images() {
    (cd "$1" && sha256sum -- *.raw | sort -k2)
}

# load_into_qemu NAME STREAM: loads STREAM into a fresh QEMU with compress on; checks it runs and the console ticks on.
load_into_qemu() {
    local name=$1 stream=$2 pid tick
    start_qemu "$name" -incoming defer
    pid=$LAST_PID
    local D="timeout 60 $QMP $WORK/$name.qmp"
    $D migrate-set-capabilities '{"capabilities":[{"capability":"compress","state":true}]}' >/dev/null || { stop_qemu "$pid"; return 1; }
    $D migrate-set-parameters '{"decompress-threads":2}' >/dev/null || { stop_qemu "$pid"; return 1; }
    $D migrate-incoming "{\"uri\":\"exec:cat $stream\"}" >/dev/null || { stop_qemu "$pid"; return 1; }
    if ! wait_incoming_completed "$WORK/$name.qmp" 180; then
        echo "  $name: the incoming migration did not complete; its log:"; tail -5 "$WORK/$name.log"
        stop_qemu "$pid"; return 1
    fi
    # The streams were saved from a stopped guest, and QEMU carries the source's run state over (global-state), so the
    # destination ends paused, as the source was; resume it as an operator would.
    $D cont >/dev/null || { stop_qemu "$pid"; return 1; }
    if ! timeout 60 $QMP "$WORK/$name.qmp" wait-status running 50 >/dev/null; then
        echo "  $name: QEMU did not reach 'running'; its log:"; tail -5 "$WORK/$name.log"
        stop_qemu "$pid"; return 1
    fi
    if ! wait_console "$WORK/$name.console" '^tick [0-9]+' 40; then
        echo "  $name: running, but no 'tick' on the console within 40 s"
        stop_qemu "$pid"; return 1
    fi
    tick=$(last_tick "$WORK/$name.console")
    stop_qemu "$pid"
    echo "  $name: running; console went on at tick $tick (source stopped at tick $LAST_TICK)"
    [ "$tick" -ge "$LAST_TICK" ]
}

rm -rf "$WORK/out"; mkdir -p "$WORK/out"

# 1. Extract equality.
ok=1
for s in plain zlib1 zlib9; do
    engine extract "$WORK/stream-$s.bin" --out "$WORK/out/extract-$s" || { ok=0; continue; }
    hash_images "$WORK/out/extract-$s" > "$WORK/out/extract-$s.sha256"
done
if [ $ok = 1 ] && cmp -s "$WORK/out/extract-plain.sha256" "$WORK/out/extract-zlib1.sha256" \
   && cmp -s "$WORK/out/extract-plain.sha256" "$WORK/out/extract-zlib9.sha256"; then
    RESULT[1]="PASS ($(wc -l < "$WORK/out/extract-plain.sha256") block images identical across plain, zlib-1, zlib-9)"
else
    RESULT[1]="FAIL (extract failed or images differ; see $WORK/out/*.sha256)"
fi
rm -rf "$WORK/out/extract-zlib1" "$WORK/out/extract-zlib9"

# 2. Transcode plain -> zlib, load into QEMU.
if engine transcode "$WORK/stream-plain.bin" "$WORK/out/transcoded-zlib.bin" --compress-method zlib --compress-level 1 --compress-threads 2 \
   && load_into_qemu dst-zlib "$WORK/out/transcoded-zlib.bin"; then
    RESULT[2]="PASS (transcoded zlib stream loaded, guest running and ticking)"
else
    RESULT[2]="FAIL (transcode to zlib, or loading it into QEMU, failed)"
fi

# 3. Transcode to zstd, extract, compare; back to zlib, load into QEMU.
r3=""
if engine transcode "$WORK/stream-plain.bin" "$WORK/out/transcoded-zstd.bin" --compress-method zstd --compress-level 3 --compress-threads 2 \
   && engine extract "$WORK/out/transcoded-zstd.bin" --out "$WORK/out/extract-zstd"; then
    hash_images "$WORK/out/extract-zstd" > "$WORK/out/extract-zstd.sha256"
    cmp -s "$WORK/out/extract-plain.sha256" "$WORK/out/extract-zstd.sha256" || r3="FAIL (zstd images differ from the plain stream's)"
else
    r3="FAIL (transcode to zstd or its extract failed)"
fi
rm -rf "$WORK/out/extract-zstd" "$WORK/out/extract-plain"
if [ -z "$r3" ]; then
    if engine transcode "$WORK/out/transcoded-zstd.bin" "$WORK/out/back-zlib.bin" --compress-method zlib --compress-level 1 --compress-threads 2 \
       && load_into_qemu dst-back "$WORK/out/back-zlib.bin"; then
        r3="PASS (zstd images identical; transcoded back to zlib, loaded and ticking)"
    else
        r3="FAIL (zstd -> zlib transcode, or loading it into QEMU, failed)"
    fi
fi
RESULT[3]=$r3
report
