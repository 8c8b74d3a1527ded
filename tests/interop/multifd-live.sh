#!/usr/bin/env bash
# multifd-live.sh: a real QEMU 7.2 migrates live with multifd into `engine incoming`, once per configuration, and the RAM
# Engine received must equal QEMU's pmemsave of the stopped source (outside 0xa0000-0x100000, where pmemsave reads the
# VGA window and ROM, not RAM).
#
# One QEMU serves every run: it loads the guest from $WORK/stream-plain.bin (make-streams.sh) instead of booting, which
# takes seconds. Between runs the source goes from postmigrate back to paused (cont, then stop); its RAM may change a
# little meanwhile, so each run is compared with its own pmemsave, taken after the migration completed.
#
# Usage: multifd-live.sh [METHOD:CHANNELS ...]   (default: zstd:2 zlib:2 none:2 zstd:8)
# Prints "multifd METHOD xCHANNELS: PASS" or "...: FAIL (reason)" per run; exits 1 if any failed, 2 if it cannot run.
# Env: ENGINE (the engine command, default: dotnet run --project src/Engine.Cli -c Release --), INTEROP_WORK.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
trap stop_all_started EXIT
ENGINE=${ENGINE:-"dotnet run --project $ROOT/src/Engine.Cli -c Release --"}
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=(zstd:2 zlib:2 none:2 zstd:8)
OUT=$WORK/multifd
rm -rf "$OUT"; mkdir -p "$OUT"

have_qemu || { echo "multifd-live: qemu-system-x86_64 or python3 missing"; exit 2; }
[ -s "$WORK/stream-plain.bin" ] || { echo "multifd-live: $WORK/stream-plain.bin missing (run make-streams.sh)"; exit 2; }

start_qemu mfsrc -S -incoming "exec:cat $WORK/stream-plain.bin"
SRC=$LAST_PID
wait_incoming_completed "$WORK/mfsrc.qmp" 120 || { echo "multifd-live: the source QEMU did not load the guest"; exit 2; }
Q="timeout 60 $QMP $WORK/mfsrc.qmp"
$Q migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}' >/dev/null || exit 2
$Q migrate-set-parameters '{"max-bandwidth":10737418240}' >/dev/null || exit 2

status=0
port=$((47000 + RANDOM % 2000))
for run in "${RUNS[@]}"; do
    method=${run%%:*}; channels=${run##*:}; name="$method-x$channels"; port=$((port + 1))
    fail() { echo "multifd $method x$channels: FAIL ($1)"; status=1; }
    $Q migrate-set-parameters "{\"multifd-channels\":$channels,\"multifd-compression\":\"$method\"}" >/dev/null || { fail "set parameters"; continue; }
    $ENGINE incoming --listen "tcp:127.0.0.1:$port" --multifd-channels "$channels" --multifd-compression "$method" \
        --timeout 60 --save-images "$OUT/$name" > "$OUT/$name.incoming" 2>&1 &
    incoming=$!
    for _ in $(seq 1 100); do grep -q "listening on" "$OUT/$name.incoming" 2>/dev/null && break; sleep 0.1; done
    start=$(date +%s%N)
    $Q migrate "{\"uri\":\"tcp:127.0.0.1:$port\"}" >/dev/null || { fail "migrate command"; kill "$incoming" 2>/dev/null; wait "$incoming"; continue; }
    st=$(timeout 300 $QMP "$WORK/mfsrc.qmp" wait-migrate 290)
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    timeout 120 tail --pid="$incoming" -f /dev/null; wait "$incoming"; rc=$?
    $Q query-migrate > "$OUT/$name.query-migrate.json" 2>/dev/null || true
    if [ "$st" != completed ]; then fail "QEMU's migration ended $st; engine: $(tail -2 "$OUT/$name.incoming" | tr '\n' ' ')"
    elif [ "$rc" != 0 ]; then fail "engine incoming exited $rc: $(tail -2 "$OUT/$name.incoming" | tr '\n' ' ')"
    else
        $Q pmemsave "{\"val\":0,\"size\":$((MEM_MIB << 20)),\"filename\":\"$OUT/$name.pmemsave\"}" >/dev/null
        if verdict=$(python3 - "$OUT/$name.pmemsave" "$OUT/$name/pc.ram.raw" <<'PY'
import sys
a, b = sys.argv[1], sys.argv[2]
page, diff, n = 4096, [], 0
with open(a, 'rb') as fa, open(b, 'rb') as fb:
    while True:
        x, y = fa.read(1 << 20), fb.read(1 << 20)
        if not x and not y:
            break
        if len(x) != len(y):
            print(f"sizes differ at {n}"); sys.exit(1)
        if x != y:
            for o in range(0, len(x), page):
                addr = n + o
                if 0xa0000 <= addr < 0x100000:
                    continue
                if x[o:o + page] != y[o:o + page]:
                    diff.append(addr)
        n += len(x)
if diff:
    print(f"{len(diff)} pages differ, first at 0x{diff[0]:x}"); sys.exit(1)
print(f"{n >> 20} MiB equal outside 0xa0000-0x100000")
PY
        ); then
            mb=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["ram"]; print(round(r["transferred"]/1e6,1))' "$OUT/$name.query-migrate.json" 2>/dev/null || echo "?")
            echo "multifd $method x$channels: PASS ($verdict; $ms ms, QEMU transferred $mb MB)"
        else
            fail "$verdict"
        fi
        rm -f "$OUT/$name.pmemsave" "$OUT/$name/pc.ram.raw"
    fi
    # postmigrate -> paused, for the next run.
    $Q cont >/dev/null 2>&1 || true
    $Q stop >/dev/null 2>&1 || true
done
stop_qemu "$SRC"
exit $status
