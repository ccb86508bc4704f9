"""A guard against a race in pynetdicom 3.0's association reactor, for the tests' own SCUs.

The reactor marks itself paused, passes `wait()` on its checkpoint while the checkpoint is still
set, and only then marks itself running again. A `send_*()` that clears the checkpoint in that
window reads the stale "paused" and sends; the reactor then takes the response off the queue
itself ("Received unexpected N-GET service message") and the request times out. Here `clear()`
returns only once the reactor has entered `wait()` again after it (within its 1 ms loop), or
after a second when no reactor runs (the association is ending)."""

from __future__ import annotations

import threading

from pynetdicom import association


class ConfirmedPause(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self._entries = threading.Condition()
        self._entered = 0

    def wait(self, timeout: float | None = None) -> bool:
        with self._entries:
            self._entered += 1
            self._entries.notify_all()
        return super().wait(timeout)

    def clear(self) -> None:
        super().clear()
        with self._entries:
            before = self._entered
            self._entries.wait_for(lambda: self._entered > before, timeout=1.0)


def install() -> None:
    """Every Association made from here on gets the confirming checkpoint."""
    original = association.Association.__init__
    if getattr(original, "confirms_pause", False):
        return

    def init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        checkpoint = ConfirmedPause()
        checkpoint.set()
        self._reactor_checkpoint = checkpoint

    init.confirms_pause = True  # type: ignore[attr-defined]
    association.Association.__init__ = init  # type: ignore[method-assign]
