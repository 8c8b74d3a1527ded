#!/bin/bash
# worker-stalls.sh: where the series' compress workers' time goes in one `engine migrate` to a file: for each
# engine-compress thread of that process, inside its active span, the time it ran, slept (parked: no work, or all its
# credit held by finished batches) and was runnable but preempted. From `perf record -a -e sched:sched_switch`.
# Usage: bench/scripts/worker-stalls.sh ROUNDS METHOD THREADS NAME=ENGINE_BINARY [NAME=ENGINE_BINARY ...]
# Environment: RAW as in series-ab.py. Needs perf and root (system-wide tracepoints).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RAW=${RAW:-$ROOT/tests/interop/work/mf-vs-qemu10/ram.raw}
R=$1; M=$2; T=$3; shift 3
D=$(mktemp -d /tmp/worker-stalls.XXXXXX)
trap 'rm -rf "$D"' EXIT
for r in $(seq "$R"); do for nb in "$@"; do n=${nb%%=*}; b=${nb#*=}
  perf record -q -a -e sched:sched_switch -o "$D/st.data" -- sh -c 'echo $$ > "$1"; shift; exec "$@"' sh "$D/pid" \
    "$b" migrate --to "file:$D/out.bin" --image "$RAW" --compress-method "$M" --compress-level 1 \
    --compress-threads "$T" --max-bandwidth 0 --json > "$D/out.json" 2>/dev/null
  rm -f "$D"/out.bin*
  perf script -i "$D/st.data" -F pid,tid,cpu,time,trace 2>/dev/null > "$D/st.txt"
  python3 - "$n" "$D" <<'PY'
import collections, json, re, sys
name, d = sys.argv[1], sys.argv[2]
mine, names, ev = set(), {}, collections.defaultdict(list)
pid = open(f"{d}/pid").read().strip()
for line in open(f"{d}/st.txt"):
    m0 = re.match(r"\s*(\d+)/(\d+)\s+", line)
    if m0:
        if m0.group(1) == pid:
            mine.add(m0.group(2))
        line = line[m0.end():]
    m = re.match(r"\s*\[\d+\]\s+([\d.]+):\s+prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> "
                 r"next_comm=(.*?) next_pid=(\d+)", line)
    if not m:
        continue
    t, pc, pp, st, nc, np = m.groups()
    t = float(t)
    names[pp], names[np] = pc, nc
    ev[pp].append((t, "slept" if st.startswith(("S", "D")) else "preempted"))
    ev[np].append((t, "ran"))
out = []
for tid, e in ev.items():
    if tid not in mine or not names[tid].startswith("engine-compress"):
        continue
    iv = [(e[i][0], e[i + 1][0], e[i][1]) for i in range(len(e) - 1)]
    runs = [x for x in iv if x[2] == "ran"]
    if not runs:
        continue
    a, b = runs[0][0], runs[-1][1]
    c = collections.Counter()
    for x, y, s in iv:
        if a <= x and y <= b:
            c[s] += y - x
    out.append(f"ran {1000 * c['ran']:.0f} slept {1000 * c['slept']:.0f} preempted {1000 * c['preempted']:.0f} ms")
tt = json.load(open(f"{d}/out.json"))["total-time"]
print(f"{name}: total-time {tt} ms; " + " | ".join(out) + f"; load {open('/proc/loadavg').read().split()[0]}")
PY
done; done
