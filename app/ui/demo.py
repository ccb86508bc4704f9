"""Demo mode: the embedded server on its own thread, and a Simulate menu that plays the
other actors — a RIS adding an urgent order, asking for a cancellation, merging a patient or
correcting a name, another modality claiming, progressing and completing — plus a second
console on the same server.

The RIS speaks HL7 v2 over MLLP to the server's HL7 door, as a site's RIS does, from a thread of
its own (one message at a time, in order); each message and its ACK go to the windows' HL7 tab.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu
from shiboken6 import isValid

from app.console import Hl7Link
from app.console.profiles import Profile
from app.domain.hl7_ris import Order, Patient, SentMessage, cancel_order, merge_patient, new_order, update_patient
from app.domain.identifiers import new_uid
from app.domain.procedure import PerformedProcedure, progress_json
from app.domain.search import parse_search
from app.domain.status import UPSError
from app.domain.workitem import Code, Workitem
from app.server.http_socket import http_socket, http_url

from .hl7_inspector import Hl7Inspector
from .main_window import MainWindow
from .rich_text import plain
from .session import Session

if TYPE_CHECKING:
    from app.server import UPSServer

log = logging.getLogger(__name__)
OTHER_MODALITY = "CT2"
DUPLICATE_ORDER = Code("110510", "DCM", "Duplicate order")
HOST = "127.0.0.1"
STARTING = "Starting the demo server…"


class RisMessages(QObject):
    """Each HL7 message the demo's RIS sent and its answer, told from the sender's thread."""

    sent = Signal(object)  # SentMessage


class ServerStart(QObject):
    """The demo server's start, told from the thread that starts it: "" once it serves, else why not."""

    done = Signal(str)


class DemoController:
    """The demo: its server, and the other actors of the Simulate menu.

    The server's HTTP door is bound when the controller is made, so its address is known and a
    window can open on it at once; the server itself (Starlette, uvicorn, the store, the demo day)
    is imported and started on a thread of its own by `start_behind`, after the window is painted.
    A search the window asks meanwhile waits in the door's backlog and is answered once it serves."""

    def __init__(self, data_dir: Path, seed: int = 1) -> None:
        self.data_dir = data_dir
        self.seed = seed
        data_dir.mkdir(parents=True, exist_ok=True)
        self._socket = http_socket(HOST, 0, listen=True)
        self.base_url = http_url(HOST, self._socket.getsockname()[1])
        self._server: UPSServer | None = None
        self._starting: Future[UPSServer] | None = None
        self._stopped = False
        self.started = ServerStart()
        self.windows: list[QMainWindow] = []
        self._counter = 0
        self._other: dict[str, tuple[str, str]] = {}  # uid -> (transaction UID, start) of the simulated modality
        self.ris = RisMessages()
        self.hl7_sent: list[SentMessage] = []  # for a window opened later
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-ris")
        self.ris.sent.connect(self.hl7_sent.append)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    # -- the server ------------------------------------------------------------------------------
    def start_behind(self, window: MainWindow) -> None:
        """Start the server once `window` has been painted (the event loop's next turn), on a thread
        of its own. Until it serves, the window's status bar says so (its search, waiting for the
        server, says no more), and if it cannot start, the window's messages say why."""
        bar = window.statusBar()
        starting = [True]
        bar.showMessage(STARTING)

        def still_starting(busy: bool, _: str) -> None:
            if busy and starting[0]:
                bar.showMessage(STARTING)

        def done(failure: str) -> None:
            starting[0] = False
            if not isValid(window):  # closed meanwhile
                return
            if bar.currentMessage() == STARTING:
                bar.clearMessage()
            if failure:
                window.messages.show_message(
                    "demo-server", f"The demo server could not start: {plain(failure)}", "error"
                )

        window.session.busy.connect(still_starting)  # after the window's own: it has the last word
        self.started.done.connect(done)
        QTimer.singleShot(0, self.begin_start)

    def begin_start(self) -> Future[UPSServer]:
        """Start the server on a thread of its own (once); its outcome is told through `started.done`."""
        if self._starting is None:
            self._starting = Future()
            threading.Thread(target=self._start, name="demo-server-start", daemon=True).start()
        return self._starting

    def _start(self) -> None:
        assert self._starting is not None
        try:
            server = self._start_server()
        except Exception as exc:
            log.exception("The demo server could not start")
            self._socket.close()  # a search waiting in its backlog is told at once
            self._starting.set_exception(exc)
            self._tell(str(exc) or type(exc).__name__)
            return
        self._starting.set_result(server)
        self._tell("")

    def _start_server(self) -> UPSServer:
        from app.server import ServerConfig, UPSServer  # on this thread: the window is already up

        config = ServerConfig(
            http_port=0, hl7_port=0, db_path=str(self.data_dir / "demo-worklist.db"), seed="demo", seed_value=self.seed
        )
        server = UPSServer(config, sock=self._socket).start()
        self._server = server
        log.info("Demo server at %s", server.base_url)
        if self._stopped:  # the console quit while it started
            server.stop()
        return server

    def _tell(self, failure: str) -> None:
        try:
            self.started.done.emit(failure)
        except RuntimeError:  # the application is gone: nobody to tell
            pass

    @property
    def server(self) -> UPSServer:
        """The running server: waits while it starts (and starts it if nobody has asked yet);
        raises what kept it from starting."""
        return self.begin_start().result()

    def profile(self, station: str, ae_title: str) -> Profile:
        return Profile(name=f"Demo {ae_title}", url=self.base_url, ae_title=ae_title, station=station)

    def session(self, profile: Profile) -> Session:
        """A console's session on the demo server. Its claims are kept under the AE title alone:
        the demo server's port changes from run to run, its database does not."""
        return Session(profile, self.data_dir / "console.db", owner=f"demo|{profile.ae_title}")

    def stop(self) -> None:
        self._stopped = True
        self._sender.shutdown(wait=True, cancel_futures=True)  # what is on the wire gets its answer first
        if self._starting is not None:
            wait([self._starting], timeout=30)  # a start under way ends first (a failure was said)
        if self._server is not None:
            self._server.stop()
        else:
            self._socket.close()

    def install(self, window: MainWindow, menu: QMenu) -> None:
        station = window.session.profile.station_code
        hl7 = Hl7Inspector()
        window.dock_tabs.addTab(hl7, "HL7")
        for sent in self.hl7_sent:
            hl7.add(sent)
        self.ris.sent.connect(hl7.add)

        def selected() -> str | None:
            item = window.selected()
            return item.uid if item is not None else None

        menu.addAction("RIS: add an urgent order (HL7 ORM^O01)").triggered.connect(
            lambda: self.add_urgent_order(station)
        )
        menu.addAction("RIS: request cancellation of a procedure (HL7 ORM^O01 CA)").triggered.connect(
            lambda: self.request_cancellation(station)
        )
        menu.addAction("RIS: merge the patient into a new patient ID (HL7 ADT^A40)").triggered.connect(
            lambda: self.merge_patient(station, selected())
        )
        menu.addAction("RIS: correct the patient's name (HL7 ADT^A08)").triggered.connect(
            lambda: self.correct_name(station, selected())
        )
        menu.addSeparator()
        menu.addAction(f"{OTHER_MODALITY}: claim a procedure").triggered.connect(lambda: self.other_claims(station))
        menu.addAction(f"{OTHER_MODALITY}: report progress").triggered.connect(lambda: self.other_progresses())
        menu.addAction(f"{OTHER_MODALITY}: complete its procedure").triggered.connect(lambda: self.other_completes())
        menu.addSeparator()
        menu.addAction("Open second console").triggered.connect(lambda: self.open_second_console(window))

    # -- the other actors ---------------------------------------------------------------------
    def _items(self, station: str, state: str) -> list[str]:
        today = datetime.now().strftime("%Y%m%d")
        request = parse_search(
            [
                ("ScheduledStationNameCodeSequence.CodeValue", station),
                ("ProcedureStepState", state),
                ("ScheduledProcedureStepStartDateTime", f"{today}-{today}"),
            ],
            self.server.service.local,
        )
        return [json.loads(text)["00080018"]["Value"][0] for text in self.server.service.search(request).items]

    # -- the RIS, over HL7 ---------------------------------------------------------------------------------
    def send_hl7(self, message: str) -> Future[SentMessage]:
        """The message sent to the HL7 door from the RIS's thread; its answer is told through `ris.sent`."""
        return self._sender.submit(self._exchange, message)

    def _exchange(self, message: str) -> SentMessage:
        door = self.server.hl7
        if door is None:
            sent = SentMessage(datetime.now(), message, failure="The demo server has no HL7 door.")
        else:
            sent = Hl7Link(HOST, door.port).send(message)
        if sent.code != "AA":
            log.warning("The demo RIS's %s: %s %s", sent.name, sent.code, sent.failure or sent.ack)
        try:
            self.ris.sent.emit(sent)
        except RuntimeError:  # the application is gone: nobody to tell
            pass
        return sent

    @staticmethod
    def _now() -> str:
        return datetime.now().strftime("%Y%m%d%H%M%S")

    @staticmethod
    def _control_id(kind: str) -> str:
        return f"{kind}-{uuid.uuid4().hex[:10].upper()}"

    def add_urgent_order(self, station: str) -> str:
        """An ORM^O01 NW for `station`; the UID its workitem will have (the door derives it)."""
        from app.domain.hl7_orders import workitem_uid
        from app.server.demo import DEMO_RIS, PATIENTS

        self._counter += 1
        patient, birth, sex = PATIENTS[self._counter % len(PATIENTS)]
        now = datetime.now()
        # in five minutes, but today: at 23:58 a STAT order still belongs on today's list
        start = min(now + timedelta(minutes=5), now.replace(hour=23, minute=59, second=59, microsecond=0))
        modality = "".join(c for c in station if c.isalpha())[:2] or "CT"
        # the demo database outlives a run: an order number of this run alone, or the door finds the old order
        placer = f"STAT{self._counter:04d}-{uuid.uuid4().hex[:6].upper()}"
        order = Order(
            placer=placer,
            patient=Patient(f"STAT{self._counter:04d}", patient.alphabetic, birth, sex),
            procedure=Code("STAT", "99WLPROC", f"STAT {modality} trauma"),
            modality=modality,
            station=station,
            start=start.strftime("%Y%m%d%H%M%S"),
            priority="S",
            accession=f"STAT{now:%H%M%S}",
            requested_procedure_id=f"RPSTAT{self._counter}",
            reason="Trauma, suspected internal bleeding",
        )
        self.send_hl7(new_order(order, DEMO_RIS, self._control_id("ORM"), self._now()))
        return workitem_uid(DEMO_RIS.application, DEMO_RIS.facility, placer, "")

    def request_cancellation(self, station: str) -> str | None:
        """An ORM^O01 CA for the station's procedure in progress, else its first scheduled one: the UID."""
        from app.server.demo import DEMO_RIS

        for uid in self._items(station, "IN PROGRESS") + self._items(station, "SCHEDULED"):
            item = self._workitem(uid)
            if item is None or not item.placer_order:
                continue  # not ordered by the RIS: the RIS cannot cancel it
            message = cancel_order(
                item.placer_order,
                _patient(item),
                DEMO_RIS,
                self._control_id("CAN"),
                self._now(),
                DUPLICATE_ORDER,
                entered_by="RIS front desk",
            )
            self.send_hl7(message)
            return uid
        return None

    def merge_patient(self, station: str, uid: str | None = None) -> tuple[str, str] | None:
        """An ADT^A40 merging the patient of `uid` (else of the station's procedure in progress, else of
        its first scheduled one) into a new patient ID: (the UID, the new ID)."""
        from app.server.demo import DEMO_RIS

        item = self._chosen(station, uid)
        if item is None:
            return None
        survivor = f"M{uuid.uuid4().hex[:7].upper()}"
        patient = _patient(item)
        moved = Patient(survivor, patient.name, patient.birth_date, patient.sex)
        self.send_hl7(merge_patient(moved, patient.id, DEMO_RIS, self._control_id("MRG"), self._now()))
        return item.uid, survivor

    def correct_name(self, station: str, uid: str | None = None) -> str | None:
        """An ADT^A08 with the patient's name corrected: the middle initial the registration missed
        (taken back by the next correction). The UID."""
        from app.server.demo import DEMO_RIS

        item = self._chosen(station, uid)
        if item is None:
            return None
        patient = _patient(item)
        family, given, middle, *rest = (patient.name.split("^") + ["", "", ""])[:5]
        corrected = "^".join((family, given, "" if middle else "A.", *rest))
        fixed = Patient(patient.id, corrected.rstrip("^"), patient.birth_date, patient.sex)
        self.send_hl7(update_patient(fixed, DEMO_RIS, self._control_id("UPD"), self._now()))
        return item.uid

    def _chosen(self, station: str, uid: str | None) -> Workitem | None:
        candidates = [uid] if uid else self._items(station, "IN PROGRESS") + self._items(station, "SCHEDULED")
        for candidate in candidates:
            item = self._workitem(candidate)
            if item is not None and item.patient_id:
                return item
        return None

    def _workitem(self, uid: str) -> Workitem | None:
        try:
            return Workitem(json.loads(self.server.service.retrieve(uid)))
        except UPSError:
            return None

    def other_claims(self, station: str) -> str | None:
        for uid in self._items(station, "SCHEDULED")[1:]:  # leave the first one to the technologist
            transaction = new_uid()
            try:
                self.server.service.change_state(uid, "IN PROGRESS", transaction, OTHER_MODALITY)
            except UPSError:
                continue
            start = datetime.now().strftime("%Y%m%d%H%M%S")
            started = PerformedProcedure(Code(OTHER_MODALITY, "99WLSTATION", OTHER_MODALITY), start=start)
            self.server.service.update(uid, transaction, started.to_json())
            self._other[uid] = (transaction, start)
            return uid
        return None

    def other_progresses(self) -> None:
        for uid, (transaction, _) in list(self._other.items()):
            try:
                self.server.service.update(uid, transaction, progress_json(60, "Acquisition"))
            except UPSError:
                self._other.pop(uid, None)

    def other_completes(self) -> None:
        for uid, (transaction, start) in list(self._other.items()):
            now = datetime.now().strftime("%Y%m%d%H%M%S")
            try:  # what was scheduled is what was performed, from the claim until now
                scheduled = Workitem(json.loads(self.server.service.retrieve(uid))).workitem_codes
            except UPSError:
                scheduled = []
            done = PerformedProcedure(
                Code(OTHER_MODALITY, "99WLSTATION", OTHER_MODALITY),
                start=start,
                end=now,
                procedures=tuple(scheduled) or (Code("CTCHEST", "99WLPROC", "CT chest"),),
                technologist="García^Luis",
            )
            try:
                self.server.service.update(uid, transaction, done.to_json())
                self.server.service.change_state(uid, "COMPLETED", transaction)
            except UPSError as exc:
                log.info("Simulated modality could not complete %s: %s", uid, exc)
            self._other.pop(uid, None)

    def open_second_console(self, first: MainWindow) -> MainWindow:
        station = first.session.profile.station_code
        ae = f"{station}B"[:16]
        window = MainWindow(self.session(self.profile(station, ae)), demo=self)
        window._fit_screen(offset=60)
        window.show()
        self.windows.append(window)
        return window


def _patient(item: Workitem) -> Patient:
    return Patient(item.patient_id, item.patient_name.alphabetic, item.birth_date, item.sex)
