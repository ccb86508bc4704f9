"""Demo mode: the embedded server on its own thread, and a Simulate menu that plays the
other actors — a RIS adding an urgent order or asking for a cancellation, another
modality claiming, progressing and completing — plus a second console on the same server.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

from pydicom.uid import generate_uid
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu

from app.console.profiles import Profile
from app.domain.build import NewWorkitem
from app.domain.procedure import PerformedProcedure, progress_json, reason_attributes
from app.domain.search import parse_search
from app.domain.status import UPSError
from app.domain.workitem import Code, Workitem
from app.server import ServerConfig, UPSServer
from app.server.demo import PATIENTS

from .main_window import MainWindow
from .session import Session

log = logging.getLogger(__name__)
OTHER_MODALITY = "CT2"


class DemoController:
    def __init__(self, server: UPSServer, data_dir: Path) -> None:
        self.server = server
        self.data_dir = data_dir
        self.windows: list[QMainWindow] = []
        self._counter = 0
        self._other: dict[str, tuple[str, str]] = {}  # uid -> (transaction UID, start) of the simulated modality
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    @classmethod
    def start(cls, data_dir: Path, seed: int = 1) -> DemoController:
        data_dir.mkdir(parents=True, exist_ok=True)
        server = UPSServer(
            ServerConfig(http_port=0, db_path=str(data_dir / "demo-worklist.db"), seed="demo", seed_value=seed)
        ).start()
        log.info("Demo server at %s", server.base_url)
        return cls(server, data_dir)

    def profile(self, station: str, ae_title: str) -> Profile:
        return Profile(name=f"Demo {ae_title}", url=self.server.base_url, ae_title=ae_title, station=station)

    def session(self, profile: Profile) -> Session:
        """A console's session on the demo server. Its claims are kept under the AE title alone:
        the demo server's port changes from run to run, its database does not."""
        return Session(profile, self.data_dir / "console.db", owner=f"demo|{profile.ae_title}")

    def stop(self) -> None:
        self.server.stop()

    def install(self, window: MainWindow, menu: QMenu) -> None:
        station = window.session.profile.station_code
        menu.addAction("RIS: add an urgent order").triggered.connect(lambda: self.add_urgent_order(station))
        menu.addAction("RIS: request cancellation of a procedure").triggered.connect(
            lambda: self.request_cancellation(station)
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

    def add_urgent_order(self, station: str) -> str:
        self._counter += 1
        patient, birth, sex = PATIENTS[self._counter % len(PATIENTS)]
        now = datetime.now()
        # in five minutes, but today: at 23:58 a STAT order still belongs on today's list
        start = min(now + timedelta(minutes=5), now.replace(hour=23, minute=59, second=59, microsecond=0))
        modality = "".join(c for c in station if c.isalpha())[:2] or "CT"
        item = NewWorkitem(
            uid=generate_uid(),
            label=f"STAT {modality} — trauma",
            start=start.strftime("%Y%m%d%H%M%S"),
            patient=patient,
            patient_id=f"STAT{self._counter:04d}",
            station=station,
            modality=modality,
            priority="HIGH",
            birth_date=birth,
            sex=sex,
            accession=f"STAT{datetime.now():%H%M%S}",
            requested_procedure_id=f"RPSTAT{self._counter}",
            study_uid=generate_uid(),
            requested_procedure=Code("STAT", "99WLPROC", f"STAT {modality} trauma"),
        )
        return self.server.service.create(item.to_json()).uid

    def request_cancellation(self, station: str) -> str | None:
        candidates = self._items(station, "IN PROGRESS") or self._items(station, "SCHEDULED")
        if not candidates:
            return None
        reason = reason_attributes(
            Code("110510", "DCM", "Duplicate order"),
            "Duplicate order placed by the ward",
            contact_name="RIS front desk",
        )
        self.server.service.request_cancellation(candidates[0], "RIS", reason)
        return candidates[0]

    def other_claims(self, station: str) -> str | None:
        for uid in self._items(station, "SCHEDULED")[1:]:  # leave the first one to the technologist
            transaction = generate_uid()
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
