"""The console window, and `open_window`, which builds exactly what `worklist-console ARGS` shows.

Layout: toolbar (profile, refresh, live indicator, settings); a banner for what must not
be missed; the query bar; the worklist with a quick filter; beside it the selected
procedure's details and the procedure panel; below, the event log and protocol inspector.
"""
from __future__ import annotations

import asyncio
import logging
from html import escape
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QComboBox, QDialog, QDockWidget, QFrame, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QMainWindow, QMessageBox, QPushButton, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget,
)

from app import __version__
from app.backends import check_profile
from app.backends import profiles as profile_store
from app.backends.profiles import ProfileBook
from app.domain.events import WorkitemEvent
from app.domain.workitem import Workitem

from .detail_pane import DetailPane
from .dialogs import UnscheduledDialog
from .settings_dialog import SettingsDialog
from .inspector import EventLog, Inspector
from .procedure_panel import ProcedurePanel
from .query_panel import QueryPanel
from .session import Session
from .worklist_model import WORKITEM_ROLE, WorklistModel, WorklistProxy

log = logging.getLogger(__name__)


class Banner(QFrame):
    """A strip that cannot be missed: a sentence and up to two actions."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.action = QPushButton()
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.clicked.connect(self.hide)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action)
        layout.addWidget(self.dismiss)
        self._callback = None
        self.action.clicked.connect(self._run)
        self.hide()

    def show_message(self, html: str, action: str = "", callback=None, kind: str = "alert") -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.text.setText(html)
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self._callback = callback
        self.show()

    def _run(self) -> None:
        callback, self._callback = self._callback, None
        self.hide()
        if callback:
            callback()


class MainWindow(QMainWindow):
    def __init__(self, session: Session, book: ProfileBook | None = None, config_path: Path | None = None,
                 demo=None) -> None:
        super().__init__()
        self.session = session
        self.book = book if book is not None else ProfileBook(profiles=[session.profile], active=session.profile.name)
        self.config_path = config_path
        self.demo = demo
        self.last_refresh: datetime | None = None
        self._want_selected: str | None = None  # a procedure to select as soon as it is listed
        profile = session.profile
        self.setWindowTitle(f"Worklist Console — {profile.station_code} ({profile.name})")
        self.resize(1400, 860)

        self.model = WorklistModel()
        self.proxy = WorklistProxy()
        self.proxy.setSourceModel(self.model)
        self._build_toolbar()
        self._build_central()
        self._build_docks()
        self._build_menus()
        self._build_status()
        self._connect()
        session.start()
        QTimer.singleShot(0, self._offer_resume)

    # -- building --------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setMovable(False)
        self.profile_box = QComboBox()
        self.profile_box.addItems([p.name for p in self.book.profiles] or [self.session.profile.name])
        self.profile_box.setCurrentText(self.session.profile.name)
        self.profile_box.setToolTip("Profile: which worklist server and protocol this console uses")
        bar.addWidget(QLabel(" Profile "))
        bar.addWidget(self.profile_box)
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setShortcut(QKeySequence("F5"))
        self.refresh_action.setToolTip("Search the worklist again — F5")
        bar.addAction(self.refresh_action)
        self.unscheduled_action = QAction("Unscheduled patient…", self)
        self.unscheduled_action.setShortcut(QKeySequence("Ctrl+N"))
        self.unscheduled_action.setToolTip("A patient who is not on the worklist: create and start — Ctrl+N")
        bar.addAction(self.unscheduled_action)
        self.settings_action = QAction("Settings…", self)
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.setToolTip("Profiles, servers, AE titles — Ctrl+,")
        bar.addAction(self.settings_action)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy())
        bar.addWidget(spacer)
        self.live = QLabel("● connecting")
        self.live.setObjectName("live")
        self.live.setToolTip("Live events from the worklist server")
        bar.addWidget(self.live)

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 0, 6, 0)
        self.banner = Banner()
        self.notice = Banner()
        layout.addWidget(self.banner)
        layout.addWidget(self.notice)
        self.query_panel = QueryPanel(self.session.profile.station_code)
        layout.addWidget(self.query_panel)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter the list (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        left_layout.addWidget(self.filter)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((70, 118, 70, 190, 85, 125, 120, 230, 70, 65)):
            self.table.setColumnWidth(column, width)
        self.table.setAlternatingRowColors(True)
        left_layout.addWidget(self.table)
        split.addWidget(left)
        right = QSplitter(Qt.Orientation.Vertical)
        self.details = DetailPane()
        self.procedure = ProcedurePanel(self.session.profile.ae_title)
        right.addWidget(self.procedure)
        right.addWidget(self.details)
        right.setSizes([480, 300])
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([860, 540])
        layout.addWidget(split, 1)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.event_log = EventLog()
        self.inspector = Inspector()
        tabs = QTabWidget()
        tabs.addTab(self.event_log, "Event log")
        tabs.addTab(self.inspector, "Protocol inspector")
        self.bottom = QDockWidget("Messages", self)
        self.bottom.setObjectName("messages")
        self.bottom.setWidget(tabs)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.bottom)
        self.bottom.hide()

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        file.addAction(self.settings_action)
        quit_action = file.addAction("Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        view = menu.addMenu("&View")
        self.inspector_action = self.bottom.toggleViewAction()
        self.inspector_action.setText("Event log and protocol inspector")
        self.inspector_action.setShortcut(QKeySequence("Ctrl+I"))
        view.addAction(self.inspector_action)
        view.addAction(self.refresh_action)
        if self.demo is not None:
            self.demo.install(self, menu.addMenu("&Simulate"))
        help_menu = menu.addMenu("&Help")
        self.log_folder_action = help_menu.addAction("Open log folder")
        self.log_folder_action.setToolTip("The folder of the console's log files, for your IT or the vendor")
        self.log_folder_action.triggered.connect(self.open_log_folder)
        self.about_action = help_menu.addAction("About Worklist Console")
        self.about_action.triggered.connect(self.show_about)

    def _build_status(self) -> None:
        status = self.statusBar()
        self.status_connection = QLabel()
        self.status_server = QLabel(self.session.profile.url)
        self.status_ae = QLabel(f"AE {self.session.profile.ae_title}")
        self.status_count = QLabel("0 items")
        self.status_refresh = QLabel("never refreshed")
        self.status_pending = QLabel("outbox empty")
        for label in (self.status_connection, self.status_server, self.status_ae, self.status_count,
                      self.status_refresh, self.status_pending):
            status.addPermanentWidget(label)

    def _connect(self) -> None:
        s = self.session
        s.worklist.connect(self._show_worklist)
        s.workitem_changed.connect(self._update_workitem)
        s.message.connect(self._show_message)
        s.connection.connect(self._show_connection)
        s.event.connect(self._log_event)
        s.exchange.connect(self.inspector.add)
        s.pending.connect(self._show_pending)
        s.cancel_requested.connect(self._show_cancel_request)
        s.refreshed.connect(self._show_refreshed)
        s.busy.connect(lambda on, text: self.statusBar().showMessage(text if on else "", 0 if on else 1))
        self.refresh_action.triggered.connect(self.refresh)
        self.query_panel.search.connect(lambda q: s.refresh(q))
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())
        self.table.activated.connect(lambda *_: self.procedure.setFocus())
        self.procedure.start.connect(s.claim)
        self.procedure.progress.connect(s.report_progress)
        self.procedure.complete.connect(s.complete)
        self.procedure.discontinue.connect(s.discontinue)
        self.procedure.cancel_request.connect(s.request_cancellation)
        self.settings_action.triggered.connect(self.open_settings)
        self.unscheduled_action.triggered.connect(self.open_unscheduled)
        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(lambda: (self.filter.setFocus(), self.filter.selectAll()))
        self.addAction(find)
        self.profile_box.textActivated.connect(self._switch_profile)

    # -- reacting ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.session.refresh(self.query_panel.query())

    def selected(self) -> Workitem | None:
        index = self.table.currentIndex()
        return index.data(WORKITEM_ROLE) if index.isValid() else None

    def select(self, uid: str) -> bool:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(WORKITEM_ROLE).uid == uid:
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
                return True
        return False

    def _selection_changed(self) -> None:
        w = self.selected()
        claim = self.session.outbox.claim_of(w.uid) if w else None
        self.procedure.set_workitem(w, claim is not None, claim.claimed_at if claim else None)
        self.details.show_workitem(w)

    def _show_worklist(self, items: list[Workitem]) -> None:
        current = self.selected()
        self.model.set_workitems(items)
        self.status_count.setText(f"{len(items)} items")
        if self._select_wanted():
            return
        if current is None or not self.select(current.uid):
            if self.proxy.rowCount():
                self.select(self.proxy.index(0, 0).data(WORKITEM_ROLE).uid)
            else:
                self._selection_changed()

    def _update_workitem(self, w: Workitem) -> None:
        query = self.session.query
        known = self.model.workitem(w.uid) is not None
        if known or (query.accepts(w) and (not query.station or query.station in {c.value for c in w.station_names})):
            self.model.upsert(w)
            self.status_count.setText(f"{self.model.rowCount()} items")
        if self._select_wanted():
            return
        current = self.selected()
        if current is not None and current.uid == w.uid:
            self._selection_changed()

    def _select_wanted(self) -> bool:
        if self._want_selected and self.select(self._want_selected):
            self._want_selected = None
            return True
        return False

    def _log_event(self, event: WorkitemEvent) -> None:
        w = self.model.workitem(event.workitem_uid)
        what = f"{w.patient_name.display()}, {w.label}" if w else ""
        self.event_log.add(datetime.now().strftime("%H:%M:%S"), event, what)

    def _show_message(self, level: str, sentence: str) -> None:
        if level == "error":
            self.notice.show_message(f"<b>{sentence}</b>", kind="error")
        elif level == "warning":
            self.notice.show_message(sentence, kind="warning")
        else:
            self.notice.hide()
        self.statusBar().showMessage(sentence, 8000)

    def _show_connection(self, up: bool, sentence: str) -> None:
        polled = not self.session.backend.capabilities.live_events
        self.live.setText("● polling" if polled else "● live" if up else "● offline")
        self.live.setProperty("up", up)
        self.live.style().unpolish(self.live)
        self.live.style().polish(self.live)
        self.live.setToolTip(sentence)
        self.status_connection.setText("no live events" if polled else "connected" if up else "not connected")

    def _show_pending(self, count: int) -> None:
        self.status_pending.setText(f"{count} waiting to be sent" if count else "outbox empty")
        self.status_pending.setProperty("waiting", bool(count))

    def _show_refreshed(self, when: datetime) -> None:
        self.last_refresh = when
        self.status_refresh.setText(f"refreshed {when:%H:%M:%S}")

    def _show_cancel_request(self, event: WorkitemEvent) -> None:
        w = self.model.workitem(event.workitem_uid)
        what = f"{w.label} for {w.patient_name.display()}" if w else event.workitem_uid
        reason = f" Reason: {event.reason}." if event.reason else ""
        contact = f" Contact: {event.contact}." if event.contact else ""
        self.banner.show_message(
            f"<b>Cancellation requested</b> by {event.requesting_ae} for your procedure {what}.{reason}{contact}",
            "Discontinue now…", lambda: self._discontinue(event.workitem_uid), kind="alert")

    def _discontinue(self, uid: str) -> None:
        if self.select(uid):
            self.procedure.discontinue_button.click()

    def _offer_resume(self) -> None:
        claims = self.session.outbox.active_claims()
        if not claims:
            return
        first = claims[0]
        more = f" and {len(claims) - 1} more" if len(claims) > 1 else ""
        self.banner.show_message(
            f"<b>Procedure in progress</b> when the console last stopped: {first.label} for {first.patient}{more}.",
            "Resume", lambda: self._resume(first.uid), kind="info")

    def _resume(self, uid: str) -> None:
        async def run() -> None:
            w = await self.session.backend.retrieve(uid)
            self.model.upsert(w)
            self.select(uid)
        self.session.spawn(run(), "Resuming…")

    # -- dialogs -------------------------------------------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.book, check_profile, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and self.config_path is not None:
            profile_store.save(self.book, self.config_path)
            self.profile_box.clear()
            self.profile_box.addItems([p.name for p in self.book.profiles])
            self.profile_box.setCurrentText(self.session.profile.name)

    def open_unscheduled(self) -> None:
        modality = self.query_panel.modality.currentData() or ""
        dialog = UnscheduledDialog(self.session.profile.station_code, modality, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.create_unscheduled(dialog)

    def create_unscheduled(self, dialog: UnscheduledDialog) -> asyncio.Task:
        item = dialog.workitem()
        self._want_selected = item.uid
        return self.session.create_unscheduled(item)

    def _switch_profile(self, name: str) -> None:
        profile = self.book.get(name)
        if profile is None or profile.name == self.session.profile.name:
            return
        window = MainWindow(Session(profile, self.session.outbox.path), self.book, self.config_path, self.demo)
        window.show()
        self.close()

    def open_log_folder(self) -> bool:
        from app import logs

        folder = logs.log_directory()
        folder.mkdir(parents=True, exist_ok=True)
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        if not opened:
            self.notice.show_message(f"No file manager could be opened. The log files are in {escape(str(folder))}.",
                                       kind="info")
        return opened

    def about_text(self) -> str:
        import platform

        import pydicom
        import pynetdicom
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        from app import logs

        p = self.session.profile
        if p.backend == "dimse":
            mpps = p.mpps_peer
            where = (f"MWL + MPPS: worklist {p.mwl_aet} at {p.mwl_host}:{p.mwl_port}, "
                     f"MPPS {mpps[2]} at {mpps[0]}:{mpps[1]}")
        else:
            where = f"UPS-RS at {p.url}" + (f" ({p.auth} authentication)" if p.auth != "none" else "")
        kind = "demo, on the embedded server" if self.demo is not None else "site profile"
        return (f"<b>Worklist Console {__version__}</b><br>"
                f"Qt {qVersion()} (PySide6 {pyside_version}), pydicom {pydicom.__version__}, "
                f"pynetdicom {pynetdicom.__version__}, Python {platform.python_version()}<br><br>"
                f"<b>Profile:</b> {escape(p.name)} ({kind})<br>{escape(where)}<br>"
                f"Our AE title {escape(p.ae_title)}, station {escape(p.station_code)}<br><br>"
                f"<b>Log folder:</b> {escape(str(logs.log_directory()))}")

    def show_about(self) -> None:
        QMessageBox.about(self, "About Worklist Console", self.about_text())

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.session.blockSignals(True)  # its last signals must not reach a window being deleted
        asyncio.ensure_future(self.session.close())
        super().closeEvent(event)
        # Deleted by Qt on the GUI thread: left to Python's garbage collector, a window may be
        # destroyed on another thread, leaving its widgets' timers to fire into freed memory.
        self.deleteLater()


def ensure_loop(app: QApplication) -> asyncio.AbstractEventLoop:
    """A qasync loop that the Qt event loop drives (already running): the app's, or pytest-qt's."""
    import qasync

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if not isinstance(loop, qasync.QEventLoop):
        loop = qasync.QEventLoop(app, already_running=True)
        # plain Python worker threads (DNS look-ups, parsing): qasync's QThread pool is left
        # running at exit, which Qt reports as an error
        loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="console-worker"))
        asyncio.set_event_loop(loop)
    return loop


def open_window(args: list[str]) -> QWidget:
    """Build what `worklist-console ARGS` shows, without entering the event loop."""
    from app.options import build_parser

    from .launch import window_for

    app = QApplication.instance() or QApplication(["worklist-console"])
    ensure_loop(app)  # type: ignore[arg-type]
    return window_for(build_parser().parse_args(args))
