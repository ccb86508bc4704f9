"""When to try again: exponential backoff with jitter, and the file lock that lets one
process at a time send an owner's reports."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout


class Backoff:
    """About 1 s, 2 s, 4 s … up to 60 s between attempts, each drawn between half and all of
    that, so that consoles cut off together do not all come back at the same instant."""

    def __init__(self, first: float = 1.0, cap: float = 60.0, draw: Callable[[], float] = random.random) -> None:
        self.first, self.cap, self.draw = first, cap, draw
        self.failures = 0

    def next_delay(self) -> float:
        base = min(self.cap, self.first * 2 ** min(self.failures, 16))
        self.failures += 1
        return base * (0.5 + 0.5 * self.draw())

    def reset(self) -> None:
        self.failures = 0


class SendLock:
    """Held while reports are sent: two consoles of one AE title on one computer (two
    processes, or two windows) share the claim store but must not send the same report twice
    or out of order. The OS releases it when a process dies, so a crash leaves no stale lock."""

    def __init__(self, store_path: Path, owner: str) -> None:
        digest = hashlib.sha1(owner.encode()).hexdigest()[:12]
        self.path = store_path.with_name(f"{store_path.name}.{digest}.lock")
        self._lock = FileLock(self.path, timeout=0, thread_local=False)

    def acquire(self) -> bool:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()
