"""`worklist-console serve` in a process of its own, as a site runs it, for the benchmarks: a server
thread in the benchmark's process would share its interpreter lock with the client being timed."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Running:
    pid: int
    lines: list[str]  # what it wrote up to the line waited for

    @property
    def base_url(self) -> str:
        """The HTTP base URL the server said it is ready at."""
        ready = next(line for line in self.lines if "ready at " in line)
        return ready.split("ready at ", 1)[1].split()[0]


@contextlib.contextmanager
def serve_process(*options: str, until: str = "ready at ") -> Iterator[Running]:
    """`python -m app serve --http-port 0 OPTIONS`, read until a line holding `until`; yields it
    running, with the lines read so far (the caller takes its ports from them). After that its
    output is drained, so that a full pipe never stalls the server being timed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--http-port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout
    try:
        lines: list[str] = []
        for line in output:
            lines.append(line)
            if until in line:
                threading.Thread(target=lambda: [None for _ in output], daemon=True).start()
                yield Running(process.pid, lines)
                break
        else:
            raise RuntimeError("the server process did not start:\n" + "".join(lines[-20:]))
    finally:
        process.terminate()
        process.wait(30)
