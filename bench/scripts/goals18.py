#!/usr/bin/env python3
"""goals18.py: every row of issue 18 with its goal, QEMU 10.0 and QEMU 7.2 beside Engine, in one run.

Usage:
  bench/scripts/goals18.py [--repeat N] [--only GROUP,...] [--json FILE]
Environment:
  ENGINE         the engine command to time (default: artifacts/engine/engine, the Native AOT publish of
                 `dotnet cake --target=Publish`; else the JIT build src/Engine.Cli/bin/Release/net10.0/engine.dll)
  INTEROP_WORK   the interop work directory (default tests/interop/work): the test guest, stream-plain.bin, QEMU 10
                 unpacked by tests/interop/qemu10.sh
  QEMU72         QEMU 7.2 (default /usr/bin/qemu-system-x86_64), QEMU10 QEMU 10.0 (default $INTEROP_WORK/qemu10/...)
Groups (all by default): source, series, destination, info.

What each row measures (every program on the same RAM: the frozen 512 MiB test guest, 55 % zero pages):
  source       multifd zstd-1 x2 and none x2 into a server that discards what it reads: QEMU 10.0.2 and QEMU 7.2 (a fresh
               paused QEMU that loaded stream-plain.bin, its own query-migrate total-time) and `engine migrate --image`
               of the same RAM (its --json total-time, and the process wall measured from outside); Engine -> `engine
               incoming` (both processes, until both exit) against the source alone; the codec's limit: `zstd -b1
               -B524288 -i3` on the non-zero pages (multifd's 512 KiB packets), one thread, halved for two. The
               zstd run is timed twice: on ram.raw as QEMU's pmemsave wrote it (4 KiB writes: the page cache holds it
               in 4 KiB folios, each mapped and unmapped on its own) and on a copy written in 16 MiB writes (ram-large.raw,
               the same bytes, cached in 2 MiB folios as a file read cold or written in large writes is): the process
               around the migration differs by the page cache's folios, not by Engine (docs/PERFORMANCE.md, "Outside
               the migration, once more").
  series       the series' single stream, compress threads 2 (and 1), zstd-1 and zlib-1, into a file: Engine's own
               total-time against the 4 KiB-frame limit (`zstd -b1 -B4096 -i3`, halved) and QEMU 7.2's compress
               (`migrate exec:cat > file`, zlib-1 x2, its total-time).
  destination  a QEMU 10.0 pc-q35-10.0 guest's stopped RAM written by QEMU 10.0 as one stream and as mapped-ram
               (bench/scripts/extract-mapped-ram.sh writes them once): a fresh QEMU 10.0 `-incoming defer` loading
               each (migrate-incoming until completed, its start-up not counted) against `engine incoming --from
               file:` and `engine extract` (whole processes); and QEMU 10.0 multifd zstd-1 x2 live into `engine
               incoming` against into a QEMU 10.0 destination (the source's total-time).
  info         `engine info`, wall.
Rounds alternate the programs; medians of --repeat rounds. Prints one table (row, QEMU 10.0, QEMU 7.2, Engine, the
ratio the goal is about, the goal, met or not) and writes every run's figures as JSON.
Every wait is bounded; only processes started here are stopped.
"""
import argparse
import json
import mmap
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))
from qmp import Qmp  # noqa: E402

W = os.path.abspath(os.environ.get("INTEROP_WORK", os.path.join(ROOT, "tests", "interop", "work")))
G = os.path.join(W, "guest")
Q10 = os.environ.get("QEMU10", os.path.join(W, "qemu10", "qemu-system-x86_64"))
Q72 = os.environ.get("QEMU72", "/usr/bin/qemu-system-x86_64")
PLAIN = os.path.join(W, "stream-plain.bin")
RAW = os.path.join(W, "mf-vs-qemu10", "ram.raw")
MR_DIR = os.path.join(W, "extract-mapped-ram")
B = os.path.join(W, "goals18")
RAW_LARGE = os.path.join(B, "ram-large.raw")
MAXBW = 10 * 1024 ** 3


def engine_cmd():
    e = os.environ.get("ENGINE")
    if e:
        return e.split()
    aot = os.path.join(ROOT, "artifacts", "engine", "engine")
    if os.access(aot, os.X_OK):
        return [aot]
    return ["dotnet", os.path.join(ROOT, "src", "Engine.Cli", "bin", "Release", "net10.0", "engine.dll")]


ENGINE = engine_cmd()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Proc:
    """A child process stopped (by its PID) when the block ends."""

    def __init__(self, args, out=None, err=None):
        self.out = open(out, "wb") if out else subprocess.DEVNULL
        self.err = open(err, "wb") if err else None
        self.p = subprocess.Popen(args, stdout=self.out, stderr=self.err or subprocess.STDOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=30)
        if self.out is not subprocess.DEVNULL:
            self.out.close()
        if self.err:
            self.err.close()


def listening_incoming(args, name):
    """`engine incoming ARGS` started, once its stderr says it listens."""
    err = os.path.join(B, name + ".err")
    p = Proc(ENGINE + args, os.path.join(B, name), err)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "listening" in open(err, errors="replace").read():
            return p
        if p.p.poll() is not None:
            break
        time.sleep(0.01)
    p.__exit__()
    raise RuntimeError(f"engine incoming did not listen: {open(err, errors='replace').read()[-400:]}")


def sink():
    """sink.py (beside this script): accepts any number of connections on a free port and discards what they send."""
    portfile = os.path.join(B, "sink.port")
    if os.path.exists(portfile):
        os.remove(portfile)
    proc = Proc([sys.executable, os.path.join(ROOT, "bench", "scripts", "sink.py"), portfile])
    for _ in range(100):
        if os.path.exists(portfile):
            return proc, int(open(portfile).read())
        time.sleep(0.05)
    raise RuntimeError("the sink did not start")


def qmp_path(name):
    """A QMP socket path in the work directory, with no socket of an earlier QEMU left there."""
    sock = os.path.join(B, name)
    if os.path.exists(sock):
        os.remove(sock)
    return sock


def qemu_args(qemu, machine, qmp_path, *extra):
    return [qemu, "-accel", "tcg", "-machine", machine, "-smp", "1", "-m", "512", "-display", "none", "-nic", "none",
            "-no-reboot", "-monitor", "none", "-kernel", os.path.join(G, "vmlinuz"),
            "-initrd", os.path.join(G, "initramfs.cpio.gz"), "-qmp", f"unix:{qmp_path},server=on,wait=off", *extra]


def wait_status(q, want, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = q.cmd("query-migrate")
        st = info.get("status")
        if st == want:
            return info
        if st in ("failed", "cancelled"):
            raise RuntimeError(f"{what}: migration {st}: {info.get('error-desc', '')}")
        time.sleep(0.005)
    raise RuntimeError(f"{what}: no '{want}' within {timeout} s")


def frozen_source(qemu, name):
    """A fresh paused QEMU (pc-i440fx-7.2) that loaded stream-plain.bin; returns (Proc, Qmp)."""
    sock = qmp_path(f"{name}.qmp")
    p = Proc(qemu_args(qemu, "pc-i440fx-7.2", sock, "-S", "-incoming", f"exec:cat {PLAIN}"), os.path.join(B, f"{name}.log"))
    try:
        q = Qmp(sock, timeout=60)
        wait_status(q, "completed", 120, f"{name} loading stream-plain.bin")
        return p, q
    except Exception:
        p.__exit__()
        raise


def qemu_migrate(qemu, caps, params, uri):
    """QEMU's own total-time of one migration from a fresh frozen source to uri (ms)."""
    p, q = frozen_source(qemu, "src")
    with p:
        q.cmd("migrate-set-capabilities", capabilities=[{"capability": c, "state": True} for c in caps])
        q.cmd("migrate-set-parameters", **params)
        q.cmd("migrate", uri=uri)
        info = wait_status(q, "completed", 300, f"{os.path.basename(qemu)} migrate {uri}")
        return info["total-time"]


def qemu_multifd_sink(qemu, method):
    sp, port = sink()
    with sp:
        return qemu_migrate(qemu, ["multifd"], {"max-bandwidth": MAXBW, "multifd-channels": 2,
                                                "multifd-compression": method, "multifd-zstd-level": 1}
                            if method == "zstd" else {"max-bandwidth": MAXBW, "multifd-channels": 2,
                                                      "multifd-compression": method}, f"tcp:127.0.0.1:{port}")


def run_engine(args, out_name, timeout=300):
    """Runs engine ARGS; returns (wall ms, parsed --json of stdout or None)."""
    out = os.path.join(B, out_name)
    t0 = time.monotonic_ns()
    with open(out, "wb") as f, open(out + ".err", "wb") as err:
        rc = subprocess.run(ENGINE + args, stdout=f, stderr=err, timeout=timeout).returncode
    wall = (time.monotonic_ns() - t0) / 1e6
    if rc != 0:
        raise RuntimeError(f"engine {' '.join(args[:3])} failed ({rc}): {open(out + '.err').read()[-400:]}")
    try:
        return wall, json.load(open(out))
    except ValueError:
        return wall, None


def engine_multifd_sink(method, image=RAW):
    sp, port = sink()
    with sp:
        args = ["migrate", "--to", f"tcp:127.0.0.1:{port}", "--image", image, "--multifd-channels", "2",
                "--multifd-compression", method, "--max-bandwidth", "0", "--no-reply", "--machine-type", "pc-i440fx-7.2",
                "--json"]
        if method == "zstd":
            args += ["--multifd-zstd-level", "1"]
        wall, j = run_engine(args, "em.json")
        return j["total-time"], wall


def engine_to_engine():
    port = free_port()
    t0 = time.monotonic_ns()
    with listening_incoming(["incoming", "--listen", f"tcp:127.0.0.1:{port}", "--multifd-channels", "2",
                             "--multifd-compression", "zstd", "--json"], "ei.json") as inc:
        wall_src, j = run_engine(["migrate", "--to", f"tcp:127.0.0.1:{port}", "--image", RAW, "--multifd-channels", "2",
                                  "--multifd-compression", "zstd", "--multifd-zstd-level", "1", "--max-bandwidth", "0",
                                  "--json"], "ee.json")
        inc.p.wait(timeout=120)
    wall = (time.monotonic_ns() - t0) / 1e6
    if inc.p.returncode != 0 or not j.get("checksums-equal", True):
        raise RuntimeError("engine -> engine did not complete with equal checksums")
    return wall, j["total-time"]


def engine_series(method, threads):
    out = os.path.join(B, f"series-{method}-{threads}.bin")
    wall, j = run_engine(["migrate", "--to", f"file:{out}", "--image", RAW, "--compress-method", method,
                          "--compress-level", "1", "--compress-threads", str(threads), "--max-bandwidth", "0", "--json"],
                         "es.json")
    size = os.path.getsize(out)
    for f in (out, out + ".checksums.json"):
        if os.path.exists(f):
            os.remove(f)
    return j["total-time"], wall, size


def qemu72_compress_zlib():
    out = os.path.join(B, "q72-zlib1-x2.bin")
    tt = qemu_migrate(Q72, ["compress"], {"max-bandwidth": MAXBW, "compress-level": 1, "compress-threads": 2},
                      f"exec:cat > {out}")
    size = os.path.getsize(out)
    os.remove(out)
    return tt, size


def qemu10_load(path, mapped_ram):
    sock = qmp_path("load.qmp")
    with Proc(qemu_args(Q10, "pc-q35-10.0", sock, "-S", "-incoming", "defer"), os.path.join(B, "load.log")):
        q = Qmp(sock, timeout=60)
        q.cmd("migrate-set-capabilities", capabilities=[{"capability": "mapped-ram", "state": mapped_ram}])
        t0 = time.monotonic()
        q.cmd("migrate-incoming", uri=f"file:{path}")
        wait_status(q, "completed", 120, f"QEMU 10.0 loading {path}")
        return (time.monotonic() - t0) * 1000


def engine_load(kind, path):
    if kind == "incoming":
        wall, _ = run_engine(["incoming", "--from", f"file:{path}", "--json"], "load.json")
    else:
        out = os.path.join(B, "extract-out")
        shutil.rmtree(out, ignore_errors=True)
        wall, _ = run_engine(["extract", path, "--out", out], "extract.txt")
        shutil.rmtree(out, ignore_errors=True)
    return wall


def qemu10_live_multifd(into_engine):
    port = free_port()
    params = {"max-bandwidth": MAXBW, "multifd-channels": 2, "multifd-compression": "zstd", "multifd-zstd-level": 1}
    if into_engine:
        with listening_incoming(["incoming", "--listen", f"tcp:127.0.0.1:{port}", "--multifd-channels", "2",
                                 "--multifd-compression", "zstd", "--json"], "qi.json") as inc:
            tt = qemu_migrate(Q10, ["multifd"], params, f"tcp:127.0.0.1:{port}")
            inc.p.wait(timeout=120)
            if inc.p.returncode != 0:
                raise RuntimeError("engine incoming failed on QEMU 10.0's multifd stream")
            return tt
    sock = qmp_path("dst.qmp")
    with Proc(qemu_args(Q10, "pc-i440fx-7.2", sock, "-S", "-incoming", "defer"), os.path.join(B, "dst.log")):
        d = Qmp(sock, timeout=60)
        d.cmd("migrate-set-capabilities", capabilities=[{"capability": "multifd", "state": True}])
        d.cmd("migrate-set-parameters", **params)
        d.cmd("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        tt = qemu_migrate(Q10, ["multifd"], params, f"tcp:127.0.0.1:{port}")
        wait_status(d, "completed", 120, "QEMU 10.0 destination")
        return tt


def engine_info():
    t0 = time.monotonic_ns()
    subprocess.run(ENGINE + ["info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=True)
    return (time.monotonic_ns() - t0) / 1e6


def nonzero_pages():
    path = os.path.join(B, "nonzero.bin")
    if not os.path.exists(path):
        zero = bytes(4096)
        with open(RAW, "rb") as f, open(path + ".tmp", "wb") as out:
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            for i in range(0, len(m), 4096):
                if m[i:i + 4096] != zero:
                    out.write(m[i:i + 4096])
        os.rename(path + ".tmp", path)
    return path


def zstd_limit(block):
    """(MB/s one thread, compressed ratio) of `zstd -b1 -B<block> -i3` on the non-zero pages."""
    path = nonzero_pages()
    res = subprocess.run(["zstd", "-b1", f"-B{block}", "-i3", path], capture_output=True, text=True, timeout=300)
    text = (res.stdout + "\n" + res.stderr).replace("\r", "\n")
    line = [l for l in text.splitlines() if "MB/s" in l][-1]
    rate = float(re.findall(r"([0-9.]+) MB/s", line)[0])
    ratio = float(re.search(r"\(x?([0-9.]+)\)", line).group(1))
    return rate, ratio


def ensure_inputs(groups):
    os.makedirs(B, exist_ok=True)
    if not os.path.exists(os.path.join(G, "vmlinuz")) or not os.path.exists(PLAIN):
        sys.exit(f"goals18: no test guest or stream-plain.bin in {W}: run tests/interop/make-streams.sh first")
    if not os.access(Q10, os.X_OK):
        sys.exit(f"goals18: no QEMU 10.0 at {Q10}: run tests/interop/qemu10.sh first")
    if not os.path.exists(RAW):
        log(f"writing {RAW} (pmemsave of a QEMU 10.0 that loaded stream-plain.bin)")
        os.makedirs(os.path.dirname(RAW), exist_ok=True)
        p, q = frozen_source(Q10, "ramdump")
        with p:
            q.cmd("pmemsave", val=0, size=512 * 1024 * 1024, filename=RAW + ".tmp")
            time.sleep(1)
        os.rename(RAW + ".tmp", RAW)
    if "source" in groups and not (os.path.exists(RAW_LARGE) and os.path.getmtime(RAW_LARGE) >= os.path.getmtime(RAW)):
        log(f"writing {RAW_LARGE} (ram.raw's bytes in 16 MiB writes)")
        with open(RAW, "rb") as src, open(RAW_LARGE + ".tmp", "wb") as out:
            while block := src.read(16 << 20):
                out.write(block)
        os.rename(RAW_LARGE + ".tmp", RAW_LARGE)
    if "destination" in groups and not (os.path.exists(os.path.join(MR_DIR, "stream.bin"))
                                        and os.path.exists(os.path.join(MR_DIR, "mapped-ram.bin"))):
        log("writing QEMU 10.0's single-stream and mapped-ram files (bench/scripts/extract-mapped-ram.sh REPEAT=1)")
        subprocess.run([os.path.join(ROOT, "bench", "scripts", "extract-mapped-ram.sh")], check=True,
                       env=dict(os.environ, REPEAT="1", INTEROP_WORK=W, ENGINE=" ".join(ENGINE)), timeout=900,
                       stdout=subprocess.DEVNULL)
    if shutil.which("zstd") is None:
        sys.exit("goals18: the zstd command is needed for the codec's limit (apt-get install zstd)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("REPEAT", "3")))
    ap.add_argument("--only", default="source,series,destination,info")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    groups = set(a.only.split(","))
    ensure_inputs(groups)
    runs = {}

    def rec(key, value):
        runs.setdefault(key, []).append(value)

    load_start = open("/proc/loadavg").read().split()[:3]
    for r in range(1, a.repeat + 1):
        log(f"round {r} of {a.repeat} (load {open('/proc/loadavg').read().split()[0]})")
        if "source" in groups:
            for m in ("zstd", "none"):
                rec(f"q10.mf.{m}", qemu_multifd_sink(Q10, m))
                rec(f"q72.mf.{m}", qemu_multifd_sink(Q72, m))
                tt, wall = engine_multifd_sink(m)
                rec(f"e.mf.{m}.tt", tt)
                rec(f"e.mf.{m}.wall", wall)
            tt, wall = engine_multifd_sink("zstd", RAW_LARGE)
            rec("e.mf.zstd.large.tt", tt)
            rec("e.mf.zstd.large.wall", wall)
            wall, tt = engine_to_engine()
            rec("e.e2e.wall", wall)
            rec("e.e2e.tt", tt)
        if "series" in groups:
            for m, t in (("zstd", 2), ("zstd", 1), ("zlib", 2)):
                tt, wall, size = engine_series(m, t)
                rec(f"e.series.{m}.{t}.tt", tt)
                rec(f"e.series.{m}.{t}.wall", wall)
                rec(f"e.series.{m}.{t}.bytes", size)
            tt, size = qemu72_compress_zlib()
            rec("q72.series.zlib.2.tt", tt)
            rec("q72.series.zlib.2.bytes", size)
        if "destination" in groups:
            for name, mr in (("stream", False), ("mapped-ram", True)):
                path = os.path.join(MR_DIR, f"{name}.bin")
                rec(f"q10.load.{name}", qemu10_load(path, mr))
                rec(f"e.incoming.{name}", engine_load("incoming", path))
                rec(f"e.extract.{name}", engine_load("extract", path))
            rec("q10.live.q10", qemu10_live_multifd(False))
            rec("q10.live.engine", qemu10_live_multifd(True))
        if "info" in groups:
            rec("e.info", engine_info())
    limits = {}
    if groups & {"source", "series"}:
        limits["packet"] = zstd_limit(524288)
        limits["frame"] = zstd_limit(4096)
        limits["nonzero_bytes"] = os.path.getsize(nonzero_pages())
    load_end = open("/proc/loadavg").read().split()[:3]

    med = {k: statistics.median(v) for k, v in runs.items()}
    rows = []

    def row(name, q10, q72, eng, ratio, goal, met):
        rows.append((name, q10, q72, eng, ratio, goal, met))

    def f(v):
        return "-" if v is None else f"{v:,.0f}"

    def g(k):
        return med.get(k)

    if "source" in groups:
        nz = limits["nonzero_bytes"]
        lim = nz / (limits["packet"][0] * 1e6) / 2 * 1000
        e, q = g("e.mf.zstd.tt"), g("q10.mf.zstd")
        row("multifd zstd-1 x2 into a sink, own total-time (ms)", f(q), f(g("q72.mf.zstd")), f(e), f"{e / q:.2f}x QEMU 10.0",
            "<= 0.80x", e / q <= 0.8)
        row(f"  against the codec's limit, zstd -b1 -B524288 {limits['packet'][0]:.1f} MB/s /2 = {lim:.0f} ms", "", "", "",
            f"{e / lim:.2f}x (QEMU 10.0 {q / lim:.2f}x)", "<= 1.15x", e / lim <= 1.15)
        e, q = g("e.mf.none.tt"), g("q10.mf.none")
        row("multifd none x2 into a sink, own total-time (ms)", f(q), f(g("q72.mf.none")), f(e), f"{e / q:.2f}x QEMU 10.0",
            "<= 1.00x", e / q <= 1.0)
        out = statistics.median([w - t for w, t in zip(runs["e.mf.zstd.wall"], runs["e.mf.zstd.tt"])])
        row("  zstd: engine migrate's process wall (ms)", "", "", f(g("e.mf.zstd.wall")), "", "", None)
        row("  zstd: outside the migration, wall - total-time (ms), ram.raw as pmemsave wrote it", "", "", f(out), "",
            "<= 80 ms", out <= 80)
        out = statistics.median([w - t for w, t in zip(runs["e.mf.zstd.large.wall"], runs["e.mf.zstd.large.tt"])])
        row(f"  the same, its bytes written in 16 MiB writes (own total-time {f(g('e.mf.zstd.large.tt'))} ms)", "", "",
            f(out), "", "<= 80 ms", out <= 80)
        e2e, alone = g("e.e2e.wall"), g("e.mf.zstd.wall")
        row("Engine -> engine incoming, multifd zstd-1 x2, both processes (ms)", "", "", f(e2e),
            f"{e2e / alone:.2f}x the source alone", "<= 1.15x", e2e / alone <= 1.15)
    if "series" in groups:
        nz = limits["nonzero_bytes"]
        lim = nz / (limits["frame"][0] * 1e6) / 2 * 1000
        e = g("e.series.zstd.2.tt")
        row("series' single stream zstd-1 x2 to a file, own total-time (ms)", "", "", f(e),
            f"{e / lim:.2f}x the 4 KiB-frame limit ({limits['frame'][0]:.1f} MB/s /2 = {lim:.0f} ms)", "<= 1.00x",
            e / lim <= 1.0)
        row("  its file's bytes (the zero pages' records included)", "", "", f(g("e.series.zstd.2.bytes")),
            f"zstd -B4096 on the non-zero pages: {nz / limits['frame'][1]:,.0f}", "<= +2 %", None)
        e, q = g("e.series.zlib.2.tt"), g("q72.series.zlib.2.tt")
        row("series' zlib-1 x2 to a file, own total-time (ms)", "", f(q), f(e), f"{e / q:.2f}x QEMU 7.2 compress",
            "<= 0.30x", e / q <= 0.3)
        s = g("e.series.zstd.1.tt") / g("e.series.zstd.2.tt")
        row("series' zstd-1, 1 -> 2 threads, own total-time", "", "", f"{g('e.series.zstd.1.tt'):,.0f} -> {g('e.series.zstd.2.tt'):,.0f}",
            f"{s:.2f}x", ">= 1.80x", s >= 1.8)
    if "destination" in groups:
        for name in ("stream", "mapped-ram"):
            q = g(f"q10.load.{name}")
            for kind in ("incoming", "extract"):
                e = g(f"e.{kind}.{name}")
                row(f"QEMU 10.0's {name} file: engine {kind} (whole process) vs QEMU 10.0 loading it (ms)", f(q), "", f(e),
                    f"{e / q:.2f}x QEMU 10.0", "<= 0.70x", e / q <= 0.7)
        q, e = g("q10.live.q10"), g("q10.live.engine")
        row("QEMU 10.0 multifd zstd-1 x2 live: source's total-time into QEMU 10.0 / into engine incoming (ms)", f(q), "",
            f(e), f"{e / q:.2f}x", "", None)
    if "info" in groups:
        e = g("e.info")
        row("engine info, wall (ms)", "", "", f(e), "", "<= 50 ms", e <= 50)

    ver = lambda q: subprocess.run([q, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"goals18: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, "
          f"{open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}; "
          f"load {' '.join(load_start)} at the start, {' '.join(load_end)} at the end")
    print(f"engine: {' '.join(ENGINE)}; {ver(Q10)}; {ver(Q72)}; medians of {a.repeat} rounds, alternating")
    widths = [max(len(str(x[i])) for x in rows + [("row", "QEMU 10.0", "QEMU 7.2", "Engine", "ratio", "goal", "")])
              for i in range(6)]
    header = ("row", "QEMU 10.0", "QEMU 7.2", "Engine", "ratio", "goal", "")
    for x in [header] + rows:
        met = x[6] if isinstance(x[6], str) else ("" if x[6] is None else ("met" if x[6] else "NOT met"))
        print("  ".join([str(x[0]).ljust(widths[0])] + [str(x[i]).rjust(widths[i]) for i in (1, 2, 3)]
                        + [str(x[4]).ljust(widths[4]), str(x[5]).ljust(widths[5]), met]).rstrip())
    out = a.json or os.path.join(B, "goals18.json")
    json.dump({"engine": ENGINE, "load": [load_start, load_end], "runs": runs, "limits": limits}, open(out, "w"), indent=1)
    print(f"every run: {out}")


if __name__ == "__main__":
    main()
