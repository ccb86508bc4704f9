"""What the console window is made of: the toolbar, the worklist with its filter and the
messages over it, the procedure panel and details beside it, the event log and inspector
docks, the menus and the status bar. Each part is made here once; the window wires them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.console.profiles import ProfileBook
from app.domain.events import WorkitemEvent
from app.domain.states import State
from app.domain.workitem import Workitem
from app.domain.worklist_query import WorklistQuery

from . import wheel
from .connection_view import ConnectionView
from .detail_pane import DetailPane
from .inspector import EventLog, Inspector
from .messages import MessageStack
from .procedure_panel import ProcedurePanel
from .query_panel import QueryPanel
from .session import Session
from .status import ConsoleStatus, LiveIndicator
from .urgent_orders import UrgentOrders
from .worklist_view import WorklistView

if TYPE_CHECKING:
    from .main_window import MainWindow, Simulation


class WindowLayout(QMainWindow):
    """The widgets of the console window and what the window keeps between events."""

    session: Session
    book: ProfileBook
    config_path: Path | None
    demo: Simulation | None
    connection: ConnectionView
    urgent: UrgentOrders
    # what the window keeps between events (MainWindow.__init__ says what each is)
    _wanted: str | None
    _loaded_once: bool
    _listed_query: WorklistQuery | None
    _leave_confirmed: bool
    _busy_text: str
    _asked_holder: str
    _created: set[str]
    _successors: dict[str, str]
    _appeared: set[str]
    _resumable: set[str]
    cancel_requests: dict[str, WorkitemEvent]

    if TYPE_CHECKING:  # what the list, the news and the window itself add to these parts

        def select(self, uid: str) -> bool: ...
        def _selection_changed(self) -> None: ...
        def _show_empty(self, sentence: str) -> None: ...
        def _request_dealt_with(self, uid: str) -> None: ...
        def _show_merge(self, w: Workitem, survivor: str) -> None: ...
        def _reopen_if_changed(self) -> bool: ...
        def _switch_profile(self, name: str) -> None: ...
        def confirm_leave(self, verb: str = "quit") -> bool: ...
        def close_without_asking(self) -> None: ...
        def open_log_folder(self) -> bool: ...
        def show_about(self) -> None: ...

    # -- building --------------------------------------------------------------------------------
    def _fit_screen(self, offset: int = 0) -> None:
        """1280×800 where the screen allows it, never more than the screen shows."""
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = 1280, 800
        if screen is not None and screen.width() > 0:
            width, height = min(width, screen.width()), min(height, screen.height())
            self.move(
                screen.x() + min(offset, max(0, screen.width() - width)),
                screen.y() + min(offset, max(0, screen.height() - height)),
            )
        self.resize(width, height)

    def _profile_names(self) -> list[str]:
        own = self.session.profile.name
        if self.demo is not None:
            return [own]
        names = [p.name for p in self.book.profiles]
        return names if own in names else [own, *names]

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        self.profile_box = QComboBox()
        self.profile_box.setObjectName("profileSelector")
        self.profile_box.setAccessibleName("Profile")
        self.profile_box.addItems(self._profile_names())
        self.profile_box.setCurrentText(self.session.profile.name)
        self.profile_box.setToolTip("Profile: which worklist server and protocol this console uses")
        bar.addWidget(QLabel(" Profile "))
        bar.addWidget(self.profile_box)
        self._toolbar_wheel = wheel.guard(bar)  # a notch over it would switch the profile, or take the keyboard
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setObjectName("refreshAction")
        self.refresh_action.setShortcut(QKeySequence("F5"))
        self.refresh_action.setToolTip("Search the worklist again — F5")
        bar.addAction(self.refresh_action)
        self.unscheduled_action = QAction("Unscheduled patient…", self)
        self.unscheduled_action.setObjectName("unscheduledAction")
        self.unscheduled_action.setShortcut(QKeySequence("Ctrl+N"))
        self.unscheduled_action.setToolTip("A patient who is not on the worklist: create and start — Ctrl+N")
        bar.addAction(self.unscheduled_action)
        self.settings_action = QAction("Settings…", self)
        self.settings_action.setObjectName("settingsAction")
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.setToolTip("Profiles, servers, AE titles — Ctrl+,")
        bar.addAction(self.settings_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.live = LiveIndicator()
        bar.addWidget(self.live)

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 0, 6, 0)
        self.query_panel = QueryPanel(self.session.profile.station_code, self.session.profile.opening_dates)
        layout.addWidget(self.query_panel)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("mainSplitter")
        self.split.setChildrenCollapsible(False)
        self.list_view = WorklistView()
        # the list's parts, as tests and the rest of the window reach them
        self.model, self.proxy = self.list_view.model, self.list_view.proxy
        self.filter, self.table, self.empty_note = (
            self.list_view.filter,
            self.list_view.table,
            self.list_view.empty_note,
        )
        self.split.addWidget(self.list_view)

        right = QSplitter(Qt.Orientation.Vertical)
        right.setChildrenCollapsible(False)
        profile = self.session.profile
        self.procedure = ProcedurePanel(profile.station_code, profile.ae_title, staff=profile.staff)
        self.procedure.confirm_start = profile.confirm_start
        self.procedure.setMinimumWidth(260)
        self.details = DetailPane()
        self.details.setObjectName("detailPane")
        self.details.setAccessibleName("Details of the selected procedure")
        self.details.setMinimumWidth(260)
        right.addWidget(self.procedure)
        right.addWidget(self.details)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        layout.addWidget(self.split, 1)
        self.setCentralWidget(central)
        # over the list, in no layout: a banner that comes or goes moves nothing (see messages.py)
        self.messages = MessageStack()
        self.messages.setParent(central)
        self.messages.float_over(self.table.viewport())
        self.messages.focus_left.connect(lambda: self.table.setFocus(Qt.FocusReason.OtherFocusReason))

    def _build_docks(self) -> None:
        self.event_log = EventLog()
        self.inspector = Inspector()
        tabs = QTabWidget()
        self.dock_tabs = tabs  # the demo adds its HL7 tab
        tabs.addTab(self.event_log, "Event log")
        tabs.addTab(self.inspector, "Protocol inspector")
        self.bottom = QDockWidget("Messages", self)
        self.bottom.setObjectName("messagesDock")
        self.bottom.setWidget(tabs)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.bottom)
        self.bottom.hide()
        self._dock_sized = False
        self.bottom.visibilityChanged.connect(self._size_dock)

    def _size_dock(self, visible: bool) -> None:
        """A useful height the first time it opens, not three lines."""
        if visible and not self._dock_sized:
            self._dock_sized = True
            self.resizeDocks([self.bottom], [max(220, self.height() // 3)], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        file.addAction(self.settings_action)
        self.quit_action = file.addAction("Quit")
        self.quit_action.setObjectName("quitAction")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # the platform's standard may be none (offscreen)
        self.quit_action.triggered.connect(self.close)
        procedure = menu.addMenu("&Procedure")
        panel = self.procedure
        # the keys belong to the panel's buttons; the menu shows them (after a tab) without taking them
        for text, button in (
            ("Start\tF6", panel.start_button),
            ("Report progress\tF7", panel.progress_button),
            ("Complete…\tF8", panel.complete_button),
            ("Discontinue…\tF9", panel.discontinue_button),
            ("Request cancellation…\tShift+F9", panel.cancel_button),
        ):
            action = procedure.addAction(text)
            action.triggered.connect(button.click)
            procedure.aboutToShow.connect(lambda a=action, b=button: a.setEnabled(b.isEnabled()))
        procedure.addSeparator()
        self.complete_unstarted_action = procedure.addAction("Complete without starting…")
        self.complete_unstarted_action.setObjectName("completeUnstartedAction")
        self.complete_unstarted_action.setToolTip("Document a procedure performed without the console: asks first")
        self.complete_unstarted_action.triggered.connect(self.procedure.ask_complete_unstarted)
        procedure.aboutToShow.connect(
            lambda: self.complete_unstarted_action.setEnabled(self.procedure.can_complete_unstarted())
        )
        procedure.addAction(self._build_put_back(procedure))
        procedure.addAction(self.unscheduled_action)
        view = menu.addMenu("&View")
        self.inspector_action = self.bottom.toggleViewAction()
        self.inspector_action.setText("Event log and protocol inspector")
        self.inspector_action.setShortcut(QKeySequence("Ctrl+I"))
        view.addAction(self.inspector_action)
        view.addAction(self.refresh_action)
        if self.demo is not None:
            self.demo.install(cast("MainWindow", self), menu.addMenu("&Simulate"))
        help_menu = menu.addMenu("&Help")
        self.log_folder_action = help_menu.addAction("Open log folder")
        self.log_folder_action.setToolTip("The folder of the console's log files, for your IT or the vendor")
        self.log_folder_action.triggered.connect(self.open_log_folder)
        self.about_action = help_menu.addAction("About Worklist Console")
        self.about_action.triggered.connect(self.show_about)

    def _build_put_back(self, menu: QMenu) -> QAction:
        """Procedure → Put back on the worklist (Shift+F6, the undoing of F6): enabled only for a
        procedure of ours without series; the same key, when it is not, says why in the status bar."""
        self.put_back_action = QAction("Put back on the worklist…", self)
        self.put_back_action.setObjectName("putBackAction")
        self.put_back_action.setShortcut(QKeySequence("Shift+F6"))
        self.put_back_action.triggered.connect(self.procedure.ask_put_back)
        self.addAction(self.put_back_action)
        self.put_back_why = QShortcut(QKeySequence("Shift+F6"), self)
        self.put_back_why.setObjectName("putBackWhy")
        self.put_back_why.activated.connect(self.procedure.ask_put_back)  # disabled action: says why
        menu.setToolTipsVisible(True)
        menu.aboutToShow.connect(self._sync_put_back)
        self.procedure.actions_changed.connect(self._sync_put_back)
        self.procedure.refused.connect(lambda why: self.statusBar().showMessage(why, 10000))
        self.procedure.put_back.connect(self._put_back)
        self._sync_put_back()
        return self.put_back_action

    def _sync_put_back(self) -> None:
        why = self.procedure.put_back_refusal()
        self.put_back_action.setEnabled(why is None)
        self.put_back_action.setToolTip(why or "The start was a mistake: the order goes back on the worklist")
        self.put_back_action.setStatusTip(why or "")
        self.put_back_why.setEnabled(why is not None)  # one of the two has the key, never both

    def _put_back(self, w: Workitem, text: str) -> None:
        """Put back, then select the order where it is listed again: its replacement (UPS-RS), or the
        scheduled entry of the same accession (the RIS's, over MWL)."""
        done = self.session.put_back(w, text)

        def select_again(future: asyncio.Future) -> None:
            if future.cancelled() or future.exception() is not None or self.session.closed or not isValid(self):
                return  # failed (said by the workflow), or the window closed while it went
            replacement = future.result()
            again = replacement if replacement and self.model.workitem(replacement) else None
            if again is None:
                again = next(
                    (
                        o.uid
                        for o in self.model.workitems()
                        if o.state is State.SCHEDULED
                        and o.uid != w.uid
                        and (o.accession_number, o.patient_id) == (w.accession_number, w.patient_id)
                    ),
                    None,
                )
            if again is not None and self.select(again):
                self._selection_changed()

        done.add_done_callback(select_again)

    def _build_status(self) -> None:
        self.status = ConsoleStatus(self.statusBar(), self.session.profile)
        # the fields, as tests read them
        self.status_count, self.status_refresh, self.status_pending = (
            self.status.count,
            self.status.refresh,
            self.status.pending,
        )
