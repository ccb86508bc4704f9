"""`worklist-console self-test`: the embedded server and both backends, end to end, in one process.

An installation is exercised the way the console uses it: the embedded server starts on
free loopback ports with a demo day, then a technologist's procedure goes search → claim →
progress → complete over UPS-RS (`UpsRsBackend`, with live events over WebSocket) and over
DIMSE (`DimseBackend`: C-ECHO, MWL C-FIND, MPPS N-CREATE/N-SET), and every step is checked against
what the server stored. A packaged bundle that lacks a module or a resource fails here —
on the build machine, in CI — instead of at a site.

One line per step (`PASS`, `FAIL`, or `SKIP` after an earlier failure in the same flow),
then a summary; the exit code is 0 only if every step passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from pydicom.uid import generate_uid

from app import __version__
from app.backends import make_backend
from app.backends.errors import BackendError
from app.backends.profiles import Profile
from app.backends.protocol import WorklistBackend
from app.domain import tags as t
from app.domain.dicomjson import items, values
from app.domain.events import WorkitemEvent
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.search import parse_search
from app.domain.states import State
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery
from app.resources import STYLE_SHEET, WINDOW_ICON, resource, resources_dir
from app.server import ServerConfig, UPSServer
from app.server.demo import demo_workitems, seed_demo_day

SEED = 1
UPSRS_STATION = "CT1"  # the two flows work on different stations, so they never reach for the same item
DIMSE_STATION = "CT2"
SERVER_AE = "WORKLIST"
PROGRESS_TEXT = "Self-test halfway"

log = logging.getLogger(__name__)


class CheckFailed(Exception):
    """A step ran but what it found is wrong; the message says what was expected and found."""


@dataclass(frozen=True)
class StepResult:
    status: str  # PASS, FAIL or SKIP
    name: str
    detail: str
    seconds: float = 0.0

    def line(self) -> str:
        timing = f" [{self.seconds:.2f} s]" if self.status != "SKIP" else ""
        return f"{self.status:<5} {self.name}: {self.detail}{timing}"


class Report:
    """Prints each step as it finishes, so a hang shows where it is."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.results: list[StepResult] = []

    def add(self, result: StepResult) -> None:
        self.results.append(result)
        print(result.line(), file=self.out, flush=True)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.status == "PASS" for r in self.results)

    def summary(self) -> str:
        total = len(self.results)
        passed = sum(r.status == "PASS" for r in self.results)
        if self.passed:
            return f"self-test passed: {passed} of {total} steps (worklist-console {__version__})"
        failed = sum(r.status == "FAIL" for r in self.results)
        skipped = total - passed - failed
        return f"self-test FAILED: {passed} of {total} steps passed, {failed} failed, {skipped} skipped"


class Flow:
    """A chain of steps where each needs the one before: after a failure the rest are skipped."""

    def __init__(self, report: Report, timeout: float) -> None:
        self.report = report
        self.timeout = timeout
        self.broken = False

    async def step(self, name: str, check: Callable[[], Awaitable[str]]) -> bool:
        if self.broken:
            self.report.add(StepResult("SKIP", name, "not run: an earlier step failed"))
            return False
        began = time.monotonic()
        try:
            detail = await asyncio.wait_for(check(), self.timeout)
            status = "PASS"
        except TimeoutError:
            detail, status = f"no answer within {self.timeout:.0f} s", "FAIL"
        except BackendError as exc:
            detail, status = f"{exc.sentence}{f' ({exc.detail})' if exc.detail else ''}", "FAIL"
        except CheckFailed as exc:
            detail, status = str(exc), "FAIL"
        except Exception as exc:  # noqa: BLE001 -- a self-test reports whatever broke, a missing module above all
            detail, status = f"{type(exc).__name__}: {exc}", "FAIL"
        self.broken = status != "PASS"
        self.report.add(StepResult(status, name, detail, time.monotonic() - began))
        return not self.broken


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# -- what the server holds ------------------------------------------------------------------------
def stored(server: UPSServer, uid: str) -> Workitem:
    """The workitem as the server's store has it — the truth a step is checked against."""
    return Workitem(json.loads(server.service.retrieve(uid)))


def stored_by_accession(server: UPSServer, accession: str) -> Workitem:
    found = server.service.search_all(parse_search([("ReferencedRequestSequence.AccessionNumber", accession)]))
    expect(len(found) == 1, f"the server holds {len(found)} workitems with accession {accession}, not 1")
    return stored(server, Workitem(json.loads(found[0])).uid)  # a search answers only some attributes


def performed_comments(item: Workitem) -> str:
    performed = next(iter(items(item.json, t.PERFORMED_PROCEDURE_SEQ)), {})
    return " ".join(str(v) for v in values(performed, "00400280"))


def expected_accessions(day: date, station: str) -> set[str]:
    return {w.accession for w in demo_workitems(day, SEED) if w.station == station}


def check_worklist(items: list[Workitem], day: date, station: str) -> Workitem:
    """The search found exactly the demo day's items for the station, all scheduled; returns the first."""
    wanted = expected_accessions(day, station)
    got = {w.accession_number for w in items}
    expect(
        got == wanted,
        f"expected the {len(wanted)} workitems of {station} on {day} ({', '.join(sorted(wanted))}), "
        f"found {len(got)} ({', '.join(sorted(got)) or 'none'})",
    )
    expect(all(w.state is State.SCHEDULED for w in items), "some workitems found are not SCHEDULED")
    return min(items, key=lambda w: w.scheduled_start() or datetime.max)


def finished(station: str, series_uid: str) -> PerformedProcedure:
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return PerformedProcedure(
        Code(station, "99WLSTATION", station),
        start=now,
        end=now,
        procedures=(Code("CTCHEST", "99WLPROC", "CT chest"),),
        technologist="Self^Test",
        series=(OutputSeries(series_uid, "Self-test series"),),
    )


async def connection(backend: WorklistBackend) -> str:
    """The check Settings → Test connection runs: every peer answers and offers its services."""
    checks = await backend.check_peers()
    expect(bool(checks) and all(c.ok for c in checks), " ".join(c.sentence for c in checks) or "no peer was checked")
    return " ".join(c.sentence for c in checks)


def state_of(item: Workitem) -> str:
    return item.state.value if item.state else "no state"


def expect_state(on_server: Workitem, item: Workitem, state: State) -> None:
    expect(on_server.state is state, f"the server has {item.accession_number} {state_of(on_server)}")


def expect_series(on_server: Workitem, series_uid: str) -> None:
    expect(
        on_server.performed is not None and series_uid in on_server.performed.series_uids,
        "the server did not keep the performed series",
    )


# -- the flows ------------------------------------------------------------------------------------
async def upsrs_flow(server: UPSServer, day: date, report: Report, timeout: float) -> None:
    flow = Flow(report, timeout)
    profile = Profile(name="Self-test UPS-RS", url=server.base_url, ae_title=UPSRS_STATION, timeout=timeout)
    backend = make_backend(profile)  # as the console makes it
    events: asyncio.Queue[WorkitemEvent] = asyncio.Queue()
    connected = asyncio.Event()

    def on_connection(up: bool, sentence: str) -> None:
        if up:
            connected.set()

    watcher = asyncio.create_task(backend.watch(events.put_nowait, on_connection))
    found: dict[str, Workitem] = {}
    tx = generate_uid()
    series_uid = generate_uid()

    async def search() -> str:
        items = await backend.search(WorklistQuery.today(UPSRS_STATION, day))
        found["item"] = check_worklist(items, day, UPSRS_STATION)
        return f"{len(items)} workitems for {UPSRS_STATION} on {day}"

    async def subscribe() -> str:
        await connected.wait()  # the watcher subscribes, then opens the WebSocket
        return "subscribed; WebSocket event channel open"

    async def claim() -> str:
        item = found["item"]
        await backend.claim(item.uid, tx)
        on_server = stored(server, item.uid)
        expect_state(on_server, item, State.IN_PROGRESS)
        return f"{item.accession_number} ({item.patient_name.display()}) IN PROGRESS on the server"

    async def event() -> str:
        uid = found["item"].uid
        while True:
            got = await events.get()
            if got.workitem_uid == uid and got.state == "IN PROGRESS":
                return f"state report IN PROGRESS for {found['item'].accession_number} over WebSocket"

    async def progress() -> str:
        item = found["item"]
        await backend.report_progress(item.uid, tx, 50, PROGRESS_TEXT)
        on_server = stored(server, item.uid)
        expect(
            on_server.progress == 50 and on_server.progress_description == PROGRESS_TEXT,
            f"the server has progress {on_server.progress} {on_server.progress_description!r}",
        )
        return f"50 % {PROGRESS_TEXT!r} on the server"

    async def complete() -> str:
        item = found["item"]
        await backend.complete(item.uid, tx, finished(UPSRS_STATION, series_uid))
        on_server = stored(server, item.uid)
        expect_state(on_server, item, State.COMPLETED)
        expect_series(on_server, series_uid)
        retrieved = await backend.retrieve(item.uid)
        expect(retrieved.state is State.COMPLETED, f"a UPS-RS Retrieve says {state_of(retrieved)}")
        return f"{item.accession_number} COMPLETED with its series, on the server and by UPS-RS Retrieve"

    try:
        await flow.step("UPS-RS connection", lambda: connection(backend))
        await flow.step("UPS-RS search", search)
        await flow.step("UPS-RS subscribe", subscribe)
        await flow.step("UPS-RS claim", claim)
        await flow.step("UPS-RS event", event)
        await flow.step("UPS-RS progress", progress)
        await flow.step("UPS-RS complete", complete)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await backend.close()


async def dimse_flow(server: UPSServer, day: date, report: Report, timeout: float) -> None:
    flow = Flow(report, timeout)
    port = server.dimse.port if server.dimse is not None else 0
    profile = Profile(
        name="Self-test DIMSE",
        backend="dimse",
        ae_title=DIMSE_STATION,
        mwl_host="127.0.0.1",
        mwl_port=port,
        mwl_aet=SERVER_AE,
        timeout=timeout,
        dimse_timeout=timeout,
    )
    backend = make_backend(profile)
    found: dict[str, Workitem] = {}
    mpps_uid = generate_uid()
    series_uid = generate_uid()

    async def search() -> str:
        items = await backend.search(WorklistQuery.today(DIMSE_STATION, day))
        found["item"] = check_worklist(items, day, DIMSE_STATION)
        return f"{len(items)} MWL items for {DIMSE_STATION} on {day}"

    async def claim() -> str:
        item = found["item"]
        await backend.claim(item.uid, mpps_uid)
        on_server = stored_by_accession(server, item.accession_number)
        expect_state(on_server, item, State.IN_PROGRESS)
        return f"MPPS N-CREATE: {item.accession_number} ({item.patient_name.display()}) IN PROGRESS on the server"

    async def progress() -> str:
        item = found["item"]
        await backend.report_progress(item.uid, mpps_uid, 50, PROGRESS_TEXT)
        on_server = stored_by_accession(server, item.accession_number)
        expect_state(on_server, item, State.IN_PROGRESS)
        expect(
            PROGRESS_TEXT in performed_comments(on_server),
            f"the server's performed procedure says {performed_comments(on_server)!r}",
        )
        return f"MPPS N-SET: {PROGRESS_TEXT!r} on the server"

    async def complete() -> str:
        item = found["item"]
        await backend.complete(item.uid, mpps_uid, finished(DIMSE_STATION, series_uid))
        on_server = stored_by_accession(server, item.accession_number)
        expect_state(on_server, item, State.COMPLETED)
        expect_series(on_server, series_uid)
        return f"MPPS N-SET COMPLETED: {item.accession_number} COMPLETED with its series on the server"

    try:
        await flow.step("DIMSE connection", lambda: connection(backend))
        await flow.step("DIMSE MWL search", search)
        await flow.step("DIMSE MPPS claim", claim)
        await flow.step("DIMSE MPPS progress", progress)
        await flow.step("DIMSE MPPS complete", complete)
    finally:
        await backend.close()


async def console_step(report: Report, timeout: float) -> None:
    """The GUI's own modules and resources load (nothing is shown: no display is needed)."""

    async def check() -> str:
        import qasync
        from PySide6 import QtCore, QtGui, QtWidgets  # noqa: F401  (the three the console uses)
        from PySide6 import __version__ as qt_version

        import app.ui.launch  # noqa: F401  (the window, its panels, the demo mode)

        for name in (STYLE_SHEET, WINDOW_ICON):
            expect(resource(name).is_file(), f"{name} is missing (looked in {resources_dir()})")
        return f"Qt {qt_version} (QtCore, QtGui, QtWidgets), {qasync.__name__}, the window's modules, style sheet, icon"

    await Flow(report, timeout).step("console modules", check)


# -- running it -----------------------------------------------------------------------------------
def start_server(db_path: Path, day: date, report: Report) -> UPSServer | None:
    began = time.monotonic()
    # The server runs on a thread of its own: what stops it from starting (a module missing
    # from a bundle, above all) is raised there, and is caught here to be named on the line.
    failures: list[BaseException] = []
    previous = threading.excepthook

    def catch(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        failures.append(args.exc_value)
        log.error(
            "The embedded server failed on its thread", exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
        )

    threading.excepthook = catch
    try:
        server = UPSServer(
            ServerConfig(http_port=0, dimse_port=0, db_path=str(db_path), ae_title=SERVER_AE, purge_interval=3600)
        )
        if server.local is not None:  # always: this server has its own store
            seed_demo_day(server.local, seed=SEED, today=day)
        server.start()
    except Exception as exc:  # noqa: BLE001 -- whatever stops the server is the step's failure
        cause = failures[-1] if failures else exc
        report.add(StepResult("FAIL", "embedded server", f"{type(cause).__name__}: {cause}", time.monotonic() - began))
        return None
    finally:
        threading.excepthook = previous
    dimse = f", DIMSE {SERVER_AE} on port {server.dimse.port}" if server.dimse is not None else ""
    report.add(StepResult("PASS", "embedded server", f"UPS-RS at {server.base_url}{dimse}", time.monotonic() - began))
    return server


def run(out: TextIO | None = None, timeout: float = 30.0) -> int:
    """Run every step, print one line each and a summary; 0 only if all passed."""
    report = Report(out or sys.stdout)
    day = date.today()  # one day for seeding and searching, even across midnight
    with tempfile.TemporaryDirectory(prefix="worklist-selftest-", ignore_cleanup_errors=True) as work:
        server = start_server(Path(work) / "selftest.db", day, report)
        if server is not None:
            try:
                asyncio.run(_flows(server, day, report, timeout))
            finally:
                server.stop()
    print(report.summary(), file=report.out, flush=True)
    return 0 if report.passed else 1


async def _flows(server: UPSServer, day: date, report: Report, timeout: float) -> None:
    await upsrs_flow(server, day, report, timeout)
    await dimse_flow(server, day, report, timeout)
    await console_step(report, timeout)


def main(args: argparse.Namespace) -> int:
    """`worklist-console self-test` (app.cli keeps INFO lines off the terminal, in the log file)."""
    return run(timeout=getattr(args, "timeout", 30.0))
