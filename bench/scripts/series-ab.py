#!/usr/bin/env python3
"""series-ab.py: the series' single stream, several `engine` builds side by side on the same RAM, alternating each round.

Usage:
  bench/scripts/series-ab.py ROUNDS METHOD THREADS NAME=COMMAND [NAME=COMMAND ...]
  e.g. bench/scripts/series-ab.py 11 zstd 2 A=/tmp/a/engine B="dotnet /tmp/b/engine.dll"
Environment: RAW (default tests/interop/work/mf-vs-qemu10/ram.raw, written by bench/scripts/mf-vs-qemu10.sh).
Each run: `engine migrate --image RAW --to file:F --compress-method METHOD --compress-level 1 --compress-threads THREADS
--max-bandwidth 0 --json`; the migration's own total-time from the JSON, the process wall, and its CPU (user + system
of the child). Prints the load, each build's medians and the median of its per-round ratio to the first build's.
"""
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RAW = os.environ.get("RAW", os.path.join(ROOT, "tests", "interop", "work", "mf-vs-qemu10", "ram.raw"))


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    rounds, method, threads = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    builds = [a.split("=", 1) for a in sys.argv[4:]]
    tt = {n: [] for n, _ in builds}
    wall = {n: [] for n, _ in builds}
    cpu = {n: [] for n, _ in builds}
    size = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="series-ab-") as d:
        for _ in range(rounds):
            loads.append(os.getloadavg()[0])
            for name, command in builds:
                out = os.path.join(d, f"{name}.bin")
                before = os.times()
                t0 = time.monotonic()
                p = subprocess.run(shlex.split(command) + [
                    "migrate", "--to", f"file:{out}", "--image", RAW, "--compress-method", method, "--compress-level", "1",
                    "--compress-threads", threads, "--max-bandwidth", "0", "--json"], capture_output=True, text=True, timeout=300)
                wall[name].append((time.monotonic() - t0) * 1000)
                after = os.times()
                if p.returncode != 0:
                    sys.exit(f"{name} failed: {p.stderr}")
                cpu[name].append(((after.children_user - before.children_user)
                                  + (after.children_system - before.children_system)) * 1000)
                tt[name].append(json.loads(p.stdout)["total-time"])
                size[name] = os.path.getsize(out)
                for f in (out, out + ".checksums.json"):
                    if os.path.exists(f):
                        os.remove(f)
    print(f"{method}-1 x{threads}, {rounds} rounds, load {min(loads):.1f}-{max(loads):.1f}")
    base = builds[0][0]
    for name, _ in builds:
        ratio = statistics.median(a / b for a, b in zip(tt[name], tt[base]))
        print(f"{name}: total-time {statistics.median(tt[name]):.0f} ms (min {min(tt[name])}), wall "
              f"{statistics.median(wall[name]):.0f} ms, CPU {statistics.median(cpu[name]):.0f} ms, bytes {size[name]}, "
              f"per round against {base} {ratio:.3f}x; all {tt[name]}")


if __name__ == "__main__":
    main()
