"""The moments a console's start is judged by, for tests/benchmarks/bench_console.py.

With WORKLIST_STARTUP_MARKS set in the environment, the first time the window has been shown and
the first time a list is on screen each go to stderr once, as `startup-mark NAME SECONDS` on the
system's monotonic clock, which the benchmark that started the process reads on the same clock.
Without it, nothing is written.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QTimer

ENVIRONMENT = "WORKLIST_STARTUP_MARKS"
WINDOW = "window"
FIRST_LIST = "list"
_made: set[str] = set()


def mark_when_shown(name: str) -> None:
    """Mark `name` once the event loop has handled what is pending (the window's first paint
    included), the first time only."""
    if name in _made or not os.environ.get(ENVIRONMENT):
        return
    _made.add(name)
    QTimer.singleShot(0, lambda: print(f"startup-mark {name} {time.monotonic():.6f}", file=sys.stderr, flush=True))
