"""The suite under a moved clock: `WORKLIST_TEST_CLOCK=2028-02-29T23:59:30 python -m pytest`.

Each test starts at that local time and the clock runs on from there (time-machine, which
moves `time.time` and `datetime.now` for every thread of the process but leaves the
monotonic clock alone, so timers and asyncio keep working). Python programs the test
starts — `worklist-console serve`, `find`, `echo`, a console in a process of its own — run
on the same moved clock: `sitecustomize.py` beside this file travels them when they start,
from the anchor the test process leaves in the environment. DCMTK and Orthanc are not
Python and keep the real time; the tests give them explicit dates.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

CLOCK = "WORKLIST_TEST_CLOCK"  # the local date and time every test starts at (ISO 8601)
ANCHOR = "WORKLIST_TEST_CLOCK_ANCHOR"  # "moved epoch@real epoch", for the processes a test starts


def destination() -> datetime | None:
    """The moved start, as an aware local time; None when the clock is not moved."""
    text = os.environ.get(CLOCK, "").strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.astimezone()  # a naive time is local time


def travel_from_anchor():
    """In a started process: travel to where the test's clock is now; None when not moved."""
    moved, _, real = os.environ.get(ANCHOR, "").partition("@")
    if not moved or not real:
        return None
    import time_machine

    traveller = time_machine.travel(float(moved) + (time.time() - float(real)), tick=True)
    traveller.start()
    return traveller
