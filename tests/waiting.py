"""Waiting on a condition, outside Qt (qtbot.waitUntil does it there): a test that slept for what
it waits on fails on a busy machine, and one that waits on the condition never waits longer than
it must."""

from __future__ import annotations

import time
from collections.abc import Callable

STEP_SECONDS = 0.02


def until(condition: Callable[[], object], seconds: float = 10.0, what: str = "the condition") -> None:
    """Return once `condition()` is true; fail naming `what` if it is not within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:g} s")
        time.sleep(STEP_SECONDS)
