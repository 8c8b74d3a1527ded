#!/usr/bin/env bash
# Coverage-guided fuzzing of Engine with AFL++ and SharpFuzz, for a bounded time.
#
#   tests/Engine.Fuzz/run-afl.sh [reader|decoder|multifd] [MINUTES]      (defaults: reader, 10)
#
# Installs afl++ from Debian when it is missing (as root), publishes Engine.Fuzz into a scratch directory, instruments
# a copy of Engine.Core.dll there (Engine.Fuzz --instrument, SharpFuzz's Fuzzer.Instrument), writes the seed corpus,
# runs one afl-fuzz instance for MINUTES, copies what it found (crashes, hangs) into tests/fuzz-regressions/TARGET/,
# replays them through the harness, and prints a summary. Scratch files go to $ENGINE_FUZZ_WORK (default
# artifacts/fuzz/TARGET). Exit status: 0 when nothing was found, 1 on findings, 2 when AFL could not run.
set -euo pipefail

target="${1:-reader}"
minutes="${2:-10}"
case "$target" in reader|decoder|multifd) ;; *) echo "usage: $0 [reader|decoder|multifd] [MINUTES]" >&2; exit 2 ;; esac
[[ "$minutes" =~ ^[0-9]+$ ]] && [ "$minutes" -gt 0 ] || { echo "MINUTES must be a positive integer, got '$minutes'" >&2; exit 2; }

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${ENGINE_FUZZ_WORK:-$root/artifacts/fuzz/$target}"
regressions="$root/tests/fuzz-regressions/$target"

if ! command -v afl-fuzz >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "run-afl: installing afl++ from Debian"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null || echo "run-afl: apt-get update failed; trying the install anyway"
        apt-get install -y -qq afl++ >/dev/null
    else
        echo "run-afl: afl-fuzz is missing; install it with: sudo apt-get install afl++" >&2
        exit 2
    fi
fi

echo "run-afl: publishing Engine.Fuzz into $work/bin"
rm -rf "$work/bin" "$work/bin-afl" "$work/seeds" "$work/out"
mkdir -p "$work"
dotnet publish "$root/tests/Engine.Fuzz/Engine.Fuzz.csproj" -c Release -o "$work/bin" -nologo -v quiet
harness=(dotnet "$work/bin/Engine.Fuzz.dll")
"${harness[@]}" --make-corpus "$work/seeds"

# Instrumented code reports coverage into AFL's shared memory and faults without it, so AFL gets its own copy; the
# plain one writes the seeds and replays the findings.
cp -r "$work/bin" "$work/bin-afl"
"${harness[@]}" --instrument "$work/bin-afl"
afl_harness=(dotnet "$work/bin-afl/Engine.Fuzz.dll")

afl_args=(-i "$work/seeds/$target" -o "$work/out" -t 5000 -m none -V "$((minutes * 60))")
dictionary="$root/tests/Engine.Fuzz/dictionaries/$target.dict"
[ -f "$dictionary" ] && afl_args+=(-x "$dictionary")

# dotnet carries no AFL instrumentation of its own (SharpFuzz put it in the managed code), so afl-fuzz's binary check
# must be skipped. No CPU binding: the machine is shared. The fork server gets time for the runtime to start and JIT.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=30000

echo "run-afl: afl-fuzz ${afl_args[*]} -- ${afl_harness[*]} $target"
started=$(date +%s)
status=0
# A guard above -V in case afl-fuzz itself stalls.
timeout --signal=INT --kill-after=60 "$((minutes * 60 + 180))" \
    afl-fuzz "${afl_args[@]}" -- "${afl_harness[@]}" "$target" >"$work/afl.log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - started ))

stats="$work/out/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
    echo "run-afl: afl-fuzz did not start fuzzing (exit $status); the end of its log:" >&2
    tail -n 30 "$work/afl.log" >&2
    exit 2
fi

afl_stat() { sed -n "s/^$1 *: *//p" "$stats"; }

# AFL's file names (id:000000,sig:06,...) are awkward in git; findings are named by content instead.
mkdir -p "$regressions"
copied=0
for kind in crashes hangs; do
    for file in "$work/out/default/$kind"/id:*; do
        [ -e "$file" ] || continue
        case "$kind" in crashes) name=crash ;; *) name=hang ;; esac
        name="$name-$(sha1sum "$file" | cut -c1-12).bin"
        cp "$file" "$regressions/$name"
        copied=$((copied + 1))
    done
done
[ "$copied" -eq 0 ] && rmdir "$regressions" 2>/dev/null || true

crashes=$(afl_stat saved_crashes)
hangs=$(afl_stat saved_hangs)
cat <<SUMMARY | tee "$work/summary.txt"
run-afl summary ($target)
  time:       ${elapsed} s wall ($(afl_stat run_time) s fuzzing), limit ${minutes} min
  execs:      $(afl_stat execs_done) ($(afl_stat execs_per_sec) per s)
  paths:      $(afl_stat corpus_count) in the queue ($(afl_stat corpus_found) found beyond the seeds), edge coverage $(afl_stat bitmap_cvg)
  crashes:    ${crashes}
  hangs:      ${hangs}
  afl-fuzz:   $(afl_stat afl_version), exit ${status}; log $work/afl.log
SUMMARY

if [ "$copied" -gt 0 ]; then
    echo "run-afl: $copied finding(s) copied to ${regressions#$root/}; replaying them:"
    "${harness[@]}" "$target" "$regressions" || true
    exit 1
fi
