"""Benchmark: the shell commands from a cold process, beside DCMTK's echoscu and findscu.

    python tests/benchmarks/bench_cold_start.py [--runs 5]

Starts `serve --seed demo` on free loopback ports, then times each command as a whole process
(start to exit, wall clock, best of N): `worklist-console --version`, `echo` and `find` over
UPS-RS (HTTP) and over DIMSE (C-ECHO, MWL C-FIND), and DCMTK's echoscu and findscu against the
same DIMSE port for the ratio. The promises (issue 21): `echo` and `find` answer in at most
0.3 s, `--version` in at most 0.1 s. Exits 1 when one is missed. Not part of CI: the figures
depend on the machine and its load, which it prints (`test_cold_start.py` guards the imports).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ECHOSCU = "/usr/bin/echoscu"  # DCMTK's, not the pynetdicom apps of the same names
FINDSCU = "/usr/bin/findscu"
GOALS = {"--version": 0.1, "echo": 0.3, "find": 0.3}


def best_of(runs: int, command: list[str]) -> float:
    """The shortest wall time of `runs` runs; the command must succeed every time."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        best = min(best, elapsed)
    return best


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path) -> tuple[subprocess.Popen, str, int]:
    """`serve` with a demo day; --dimse-port 0 would turn the DIMSE front off, so a free one is given."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--http-port", "0", "--dimse-port", str(free_port()), "--seed", "demo"]
        + ["--db", str(folder / "w.db"), "--log-dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        ready = re.search(r"ready at (http://\S+) .*DIMSE .* on port (\d+)", line)
        if ready:
            return proc, ready.group(1), int(ready.group(2))
        if "Server stopped" in line or "Cannot" in line:
            break
    proc.kill()
    raise SystemExit("the server never said it was ready")


def from_source() -> bool:
    """Whether each command compiles app/ anew: PYTHONDONTWRITEBYTECODE set (or -B) and no bytecode
    cached. An installed copy (pip, the packaged bundle) runs from bytecode, 50-100 ms less a command."""
    spec = importlib.util.find_spec("app.cli")
    if spec is None or spec.origin is None or not sys.flags.dont_write_bytecode:
        return False
    return not Path(importlib.util.cache_from_source(spec.origin)).exists()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command; the best counts (default 5)")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server, base, dimse_port = start_server(folder)
        try:
            app = [sys.executable, "-m", "app"]
            logs = ["--log-dir", str(folder / "shell-logs")]
            mwl = f"127.0.0.1:{dimse_port}:WORKLIST"
            ours = {
                "--version": [*app, "--version"],
                "echo over UPS-RS": [*app, "echo", "--url", base, *logs],
                "find over UPS-RS": [*app, "find", "--url", base, "--station", "CT1", *logs],
                "echo over DIMSE": [*app, "echo", "--mwl", mwl, *logs],
                "find over DIMSE": [*app, "find", "--mwl", mwl, "--station", "CT1", *logs],
            }
            figures = {name: best_of(runs, command) for name, command in ours.items()}
            peers = {}
            if shutil.which(ECHOSCU) and shutil.which(FINDSCU):
                dimse = ["-aec", "WORKLIST", "127.0.0.1", str(dimse_port)]
                peers["echo over DIMSE"] = best_of(runs, [ECHOSCU, *dimse])
                station = "(0040,0100)[0].(0040,0001)=CT1"
                peers["find over DIMSE"] = best_of(runs, [FINDSCU, "-W", "-k", station, "-k", "(0010,0010)", *dimse])
            bare = best_of(runs, [sys.executable, "-c", "pass"])
        finally:
            server.terminate()
            server.wait(timeout=20)
    load = os.getloadavg()
    print(f"Cold start, wall clock, best of {runs}, on {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f}")
    print(f"(a bare `python -c pass` takes {bare * 1000:.0f} ms here)")
    if from_source():
        print("(app/ is compiled from source on every run: bytecode writing is off and none is cached)")
    missed = []
    for name, seconds in figures.items():
        goal = GOALS[name.split()[0]]
        peer = peers.get(name)
        beside = f"   DCMTK {peer * 1000:4.0f} ms = {seconds / peer:4.1f}x" if peer else ""
        verdict = "met" if seconds <= goal else "MISSED"
        print(f"  {name:18} {seconds * 1000:5.0f} ms (goal {goal * 1000:.0f} ms, {verdict}){beside}")
        if seconds > goal:
            missed.append(name)
    if not peers:
        print("  DCMTK's echoscu and findscu: skipped (apt-get install dcmtk)")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
