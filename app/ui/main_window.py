"""The console window.

Layout: toolbar (profile, refresh, live indicator, settings); the query bar; the worklist
with a quick filter, the messages that must not be missed lying over its bottom; beside it,
scrolling rather than forcing width, the selected procedure's panel and its details; below,
the event log and protocol inspector.

The selection changes only when the technologist changes it: a refresh, an event or a new
order keeps the selected procedure selected, and if it leaves the list the panel says so
instead of jumping to another patient.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app import logs
from app.console import CONFIGURATION, CONNECTION, named, procedure_key
from app.console import profiles as profile_store
from app.console.profiles import Profile, ProfileBook, holds_same_claims
from app.domain.events import EventType, WorkitemEvent
from app.domain.states import State
from app.domain.workitem import Workitem
from app.domain.worklist_query import WorklistQuery

from . import notices, wheel
from .about import about_text
from .connection_view import ConnectionView
from .detail_pane import DetailPane
from .dialogs import UnscheduledDialog
from .inspector import EventLog, Inspector
from .leaving import ask_to_leave, leave_question
from .messages import MessageStack
from .procedure_panel import PanelState, ProcedurePanel
from .query_panel import QueryPanel
from .rich_text import plain
from .session import Session
from .settings_dialog import SettingsDialog
from .status import ConsoleStatus, LiveIndicator
from .urgent_orders import UrgentOrders, filters_leaving_out, newly_urgent
from .worklist_model import WORKITEM_ROLE, is_urgent
from .worklist_view import WorklistView

log = logging.getLogger(__name__)


class Simulation(Protocol):
    """The demo's other actors, offered in a Simulate menu of every window on the demo server."""

    def install(self, window: MainWindow, menu: QMenu) -> None: ...


def window_title(profile: Profile) -> str:
    """Who this console is, and whose list it works when that is another station's: two
    consoles side by side (CT2 working CT1's list beside CT1) must not read alike."""
    who = profile.ae_title or profile.station_code
    if profile.station_code != who:
        who = f"{who} — viewing {profile.station_code}"
    return f"Worklist Console — {who} ({profile.name})"


class MainWindow(QMainWindow):
    def __init__(
        self,
        session: Session,
        book: ProfileBook | None = None,
        config_path: Path | None = None,
        demo: Simulation | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        # the site's profiles: what Settings edits and the profile box offers. The session's own
        # profile may be none of them (a demo, or an ad-hoc --url profile): it is shown, never
        # saved. A demo window lists only its own profile and never selects a site profile.
        self.book = book if book is not None else ProfileBook()
        self.config_path = config_path
        self.demo = demo
        # a procedure to select as soon as it is listed, until the request it was asked with is done
        self._wanted: str | None = None
        self._loaded_once = False
        self._listed_query: WorklistQuery | None = None  # the search the list shown answers
        self._leave_confirmed = False
        self._busy_text = ""
        self._asked_holder = ""
        self._created: set[str] = set()  # unscheduled procedures this console created
        self._successors: dict[str, str] = {}  # a procedure being discontinued -> the row to select after it
        self._appeared: set[str] = set()  # urgent orders an event brought, new or only new to us
        self._resumable: set[str] = set()  # procedures the start-up offered to resume
        self.cancel_requests: dict[str, WorkitemEvent] = {}  # uid -> the request, until dealt with
        profile = session.profile
        self.setWindowTitle(window_title(profile))
        self._fit_screen()

        self._build_toolbar()
        self._build_central()
        self._build_docks()
        self._build_menus()
        self._build_status()
        self._connect()
        session.start()
        QTimer.singleShot(0, self._after_start)

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
            self.demo.install(self, menu.addMenu("&Simulate"))
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

    def _connect(self) -> None:
        s = self.session
        self.connection = ConnectionView(s, self.live, self.messages, self._show_empty)
        s.worklist.connect(self._show_worklist)
        s.workitem_changed.connect(self._update_workitem)
        s.message.connect(self._show_message)
        s.connection.connect(self.connection.channel)
        self.urgent = UrgentOrders(self.messages, self._show_urgent)
        s.workitem_event.connect(self._log_event)
        s.workitem_event.connect(self._urgent_by_event)
        s.action.connect(
            lambda text: self.event_log.add_line(datetime.now().strftime("%H:%M:%S"), f"This console: {text}")
        )
        s.exchange.connect(self.inspector.add)
        s.pending.connect(lambda _: self._show_pending())
        s.cancel_requested.connect(self._show_cancel_request)
        s.refreshed.connect(self._show_refreshed)
        s.progress_sent.connect(self.procedure.progress_sent)
        s.busy.connect(self._show_busy)
        self.refresh_action.triggered.connect(self.refresh)
        self.query_panel.search.connect(self._search)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())
        self.table.activated.connect(lambda *_: self.procedure.focus_first())
        self.procedure.start.connect(s.claim)
        self.procedure.progress.connect(s.report_progress)
        self.procedure.complete.connect(s.complete)
        self.procedure.complete_unstarted.connect(s.complete_unstarted)
        self.procedure.discontinue.connect(s.discontinue)
        self.procedure.discontinue.connect(lambda w, *_: self._move_on_after(w.uid))
        self.procedure.refused.connect(lambda sentence: self.statusBar().showMessage(sentence, 10000))
        self.procedure.cancel_request.connect(s.request_cancellation)
        self.procedure.draft_changed.connect(s.save_draft)
        self.procedure.focus_left.connect(lambda: self.table.setFocus(Qt.FocusReason.OtherFocusReason))
        self.settings_action.triggered.connect(self.open_settings)
        self.unscheduled_action.triggered.connect(self.open_unscheduled)
        find = QAction(self)
        find.setShortcut(QKeySequence("Ctrl+F"))
        find.triggered.connect(self._focus_filter)
        self.addAction(find)
        self.profile_box.textActivated.connect(self._switch_profile)

    def _show_busy(self, on: bool, text: str) -> None:
        """What the console is doing, until it is done; what was said meanwhile stays said."""
        bar = self.statusBar()
        if on:
            self._busy_text = text
            bar.showMessage(text)
        elif bar.currentMessage() == self._busy_text:
            bar.clearMessage()

    def _focus_filter(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()

    def _show_empty(self, sentence: str) -> None:
        self.list_view.show_empty(sentence)

    def _after_start(self) -> None:
        for event in self.session.kept_cancel_requests():  # asked before the console last stopped
            self._show_cancel_request(event)
        width = max(self.split.width(), 800)
        # the identifying columns in view (about 660 px), the panel beside them the rest
        listed = min(max(int(width * 0.64), 680), width - 330)
        self.split.setSizes([listed, width - listed])
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self._offer_resume()
        self._show_pending()

    # -- the list ----------------------------------------------------------------------------------
    def refresh(self) -> asyncio.Future:
        return self._search(self.query_panel.query())

    def _search(self, query: WorklistQuery) -> asyncio.Future:
        searching = self.session.refresh(query)
        self.connection.searched()
        return searching

    def selected(self) -> Workitem | None:
        return self.list_view.selected()

    def select(self, uid: str) -> bool:
        return self.list_view.select(uid)

    def _selection_changed(self) -> None:
        w = self.selected()
        state = self._panel_state(w)
        self.procedure.set_workitem(w, state)
        self.details.show_workitem(w)
        self.complete_unstarted_action.setEnabled(self.procedure.can_complete_unstarted())
        if (
            w is not None
            and w.state is State.IN_PROGRESS
            and not state.mine
            and not self.procedure.holder()
            and w.uid != self._asked_holder
        ):
            # the claim's event can arrive before the holder recorded its station: ask again once
            self._asked_holder = w.uid
            uid = w.uid
            self.session.spawn(lambda: self.session.reload(uid))

    def _panel_state(self, w: Workitem | None) -> PanelState:
        if w is None:
            return PanelState()
        mine, claimed_at, waiting = self.session.procedure_state(w)
        request = self.cancel_requests.get(w.uid)
        return PanelState(
            mine=mine,
            claimed_at=claimed_at,
            waiting=waiting,
            draft=self.session.draft(w.uid),
            cancel_requested=(request.reason_code if request and request.reason_code else None),
            can_request_cancellation=self.session.capabilities.cancel_request,
            put_back_replaces=self.session.capabilities.put_back_replaces,
        )

    def _refresh_marks(self) -> None:
        """Pinned rows (mine in progress), and the marks a technologist must see on a row; the
        offers to resume go once nothing is left to resume."""
        self.model.set_pinned(self.session.mine_in_progress())
        resume_outlived, waiting_outlived = self.session.outlived_offers(self._resumable)
        if resume_outlived:
            self.messages.dismiss("resume")
        if waiting_outlived:
            self.messages.dismiss("resume-waiting")
        self.model.set_marks(self.session.row_marks(self.cancel_requests))

    def _show_worklist(self, items: list[Workitem]) -> None:
        current = self.selected()
        known = {w.uid for w in self.model.workitems()}
        query, listed = self.session.listed_query, self._listed_query
        self._listed_query = query
        self.model.set_workitems(items)
        self._asked_holder = ""  # a new list: a holder still unknown may be asked for once more
        self._refresh_marks()
        self.status.show_count(len(items))
        self._show_empty("" if items else "No procedure matches this query.")
        for w in items:
            self.urgent.changed(w)
        if self._loaded_once and query == listed:
            # the same search answered again (a polled server, a reconnect): what it did not hold
            # before is new; another search (a new day, other dates) only shows what was there
            for w in items:
                if w.uid not in known and is_urgent(w):
                    self._announce_urgent(w)
        first = not self._loaded_once
        self._loaded_once = True
        if self._select_wanted():
            return
        if self._moved_on(current):
            return
        if current is not None and self.select(current.uid):
            self._selection_changed()  # the same procedure, as it is now
        elif first and self.list_view.first_uid():
            self.select(self.list_view.first_uid())  # the next procedure: mine, urgent, earliest
        else:
            self.list_view.clear_selection()
            self._selection_changed()
            if current is not None:
                self.statusBar().showMessage(
                    f"The procedure you had selected ({named(current)}) is not on this list any more.", 15000
                )

    def _update_workitem(self, w: Workitem) -> None:
        query = self.session.searched
        before = self.model.workitem(w.uid)
        known = before is not None
        mine = w.uid in self.session.mine_in_progress()
        start = w.scheduled_start()
        # an order of another day is announced (if urgent and ours), never slipped into this list
        in_dates = start is None or (query.date_from or start.date()) <= start.date() <= (query.date_to or start.date())
        wanted = (
            query.accepts(w) and in_dates and (not query.station or query.station in {c.value for c in w.station_names})
        )
        if known or mine or wanted:
            self.model.upsert(w)
            self.status.show_count(self.model.rowCount())
        ours = self.session.profile.station_code in {c.value for c in w.station_names}
        self.urgent.changed(w)
        if self._loaded_once and newly_urgent(before, w) and (wanted or ours):
            if before is not None:  # its priority raised
                self._announce_urgent(w)
            else:  # new, or only new to this console: the event that brought it says which
                self._appeared.add(w.uid)
        if w.state in (State.COMPLETED, State.CANCELED):
            self._request_dealt_with(w.uid)
        self._refresh_marks()
        if self._select_wanted():
            return
        current = self.selected()
        if current is not None and current.uid == w.uid and not self._moved_on(current):
            self._selection_changed()

    def _move_on_after(self, uid: str) -> None:
        """The technologist ended this one: once it has ended, the selection goes to the row
        that followed it (the one before, if it was last), not to nothing."""
        order = [w.uid for w in self._listed()]
        if uid in order and len(order) > 1:
            at = order.index(uid)
            self._successors[uid] = order[at + 1] if at + 1 < len(order) else order[at - 1]

    def _listed(self) -> list[Workitem]:
        return [self.proxy.index(r, 0).data(WORKITEM_ROLE) for r in range(self.proxy.rowCount())]

    def _moved_on(self, current: Workitem | None) -> bool:
        """Select what follows a procedure that just ended while it is selected."""
        if current is None or current.uid not in self._successors:
            return False
        shown = self.model.workitem(current.uid)
        if shown is not None and not (shown.state is not None and shown.state.is_final):
            return False  # its end waits to be sent: it stays in view, selected
        successor = self._successors.pop(current.uid)
        return self.select(successor)

    def _want(self, uid: str, until: asyncio.Future, missed: str = "") -> None:
        """Select `uid` as soon as it is listed, but only until `until` (the search or the request
        it was asked with) is done: a later refresh never selects it behind the technologist's
        back. `missed`: what the status bar says if it was not listed by then."""
        self._wanted = uid

        def expire(_: asyncio.Future) -> None:
            if self._wanted == uid:
                self._wanted = None
                if missed and not self.select(uid):
                    self.statusBar().showMessage(missed, 15000)

        until.add_done_callback(expire)

    def _select_wanted(self) -> bool:
        if self._wanted and self.select(self._wanted):
            self._wanted = None
            return True
        return False

    def _urgent_by_event(self, event: WorkitemEvent, w: Workitem | None) -> None:
        """An order is created with a State Report and an Assignment of its station (Event 5,
        CC.2.4.3); a subscription's opening reports (Table CC.2.3-2), which may name orders days
        old, are State Reports only. So an order this console did not know is new when it is
        assigned — created, or given to this station."""
        if event.event_type is EventType.ASSIGNED and event.workitem_uid in self._appeared:
            self._appeared.discard(event.workitem_uid)
            if w is not None and is_urgent(w):
                self._announce_urgent(w)

    def _announce_urgent(self, w: Workitem) -> None:
        if w.uid not in self._created:  # not the one the technologist just made (Ctrl+N)
            self.urgent.announce(w)

    def _show_urgent(self, w: Workitem) -> None:
        """Show asked for: the order, selected; if the list does not hold it, a search that does
        (its station, dates widened to its day), or the reason it cannot."""
        if self.select(w.uid):
            return
        stations = [c.value for c in w.station_names]
        query = self.query_panel.query()
        leaving_out = filters_leaving_out(query)
        if leaving_out:
            self.statusBar().showMessage(
                f"The urgent order {named(w)} is not on this list: the search is filtered by {leaving_out}. "
                "Clear the filter to see it.",
                15000,
            )
            return
        if query.station and query.station not in stations:
            self.query_panel.station.setText(stations[0] if stations else "")
        start = w.scheduled_start()
        if start is not None:
            self.query_panel.include_date(start.date())
        self._want(
            w.uid,
            self.refresh(),
            f"The urgent order {named(w)} could not be shown: the worklist server no longer lists it as scheduled.",
        )

    # -- messages --------------------------------------------------------------------------------
    def _log_event(self, event: WorkitemEvent, w: Workitem | None) -> None:
        w = w or self.model.workitem(event.workitem_uid)
        what = named(w) if w else ""
        self.event_log.add(datetime.now().strftime("%H:%M:%S"), event, what)

    def _show_message(self, level: str, sentence: str, key: str) -> None:
        """A confirmation goes to the status bar and the event log, replacing what was said about
        the same thing (a report "saved" is now "sent"); a warning or an error stays above the
        list until dismissed — nothing fades there, so nothing moves under the technologist's hand."""
        if level == "info":
            self.messages.dismiss(key)
        elif key == CONFIGURATION:
            self._show_configuration(sentence)
        elif key == CONNECTION and level == "warning":
            self.connection.unreachable(sentence)
        elif key == CONNECTION:
            self.connection.search_refused(sentence)
        else:
            html = f"<b>{plain(sentence)}</b>" if level == "error" else plain(sentence)
            self.messages.show_message(key, html, "error" if level == "error" else "warning")
        self.statusBar().showMessage(sentence, 10000)
        self._refresh_marks()
        self._show_pending()
        current = self.selected()
        if current is not None and key == procedure_key(current.uid):
            self._selection_changed()

    def _show_configuration(self, sentence: str) -> None:
        """The server refuses who we are (HTTP 403): red at once, saying what to fix in Settings,
        with Try again — never "offline", and never held back as a short outage may be."""
        self.messages.show_message(
            CONFIGURATION,
            f"<b>{plain(sentence)}</b>",
            "error",
            "Try again",
            self._try_again,
            object_name="configurationBanner",
        )
        self.live.show_mode("refused", sentence)

    def _try_again(self) -> None:
        if not self._reopen_if_changed():
            self.session.retry()

    def _reopen_if_changed(self) -> bool:
        """The profile this console runs on was changed in Settings: open again on it, so that what
        was refused is asked again as the profile now says (its kept reports are sent from there)."""
        changed = self.book.get(self.session.profile.name) if self.demo is None else None
        if changed is None or changed == self.session.profile:
            return False
        if not holds_same_claims(changed, self.session.profile) and not self.confirm_leave("switch"):
            return False
        window = MainWindow(Session(changed, self.session.outbox_path), self.book, self.config_path, self.demo)
        window.show()
        self.close_without_asking()
        return True

    def _show_pending(self) -> None:
        self.status.show_pending(self.session.pending_count(), self.session.waiting_elsewhere())
        self._refresh_marks()

    def _show_refreshed(self, when: datetime) -> None:
        self.status.show_refreshed(when)
        self.connection.answered()

    def _show_cancel_request(self, event: WorkitemEvent) -> None:
        uid = event.workitem_uid
        self.cancel_requests[uid] = event
        self.messages.show_message(
            f"cancel:{uid}",
            notices.cancellation_request(event, self.model.workitem(uid)),
            "alert",
            "Discontinue now…",
            lambda: self._discontinue(uid),
            keep=True,
            object_name="cancelRequestBanner",
        )
        banner = self.messages.get(f"cancel:{uid}")
        if banner is not None:  # dismissing it is the technologist's decision to go on: the mark goes too
            banner.dismiss.clicked.connect(lambda: self._request_dealt_with(uid))
        self._refresh_marks()
        current = self.selected()
        if current is not None and current.uid == uid:
            self._selection_changed()

    def _request_dealt_with(self, uid: str) -> None:
        self.session.forget_cancel_request(uid)
        if self.cancel_requests.pop(uid, None) is not None:
            self.messages.dismiss(f"cancel:{uid}")
            self._refresh_marks()

    def _discontinue(self, uid: str) -> None:
        if self.select(uid):
            self.procedure.discontinue_button.click()
            if self.session.ending_waits(uid) or uid not in self.session.mine_in_progress():
                self._request_dealt_with(uid)

    def _offer_resume(self) -> None:
        offer = self.session.resume_offer()
        waiting, running = list(offer.waiting), list(offer.running)
        if waiting:
            self.messages.show_message(
                "resume-waiting", notices.ending_waits(waiting[0], offer.waiting_kind, waiting), "warning"
            )
        self._resumable = {c.uid for c in running}
        if running:
            self.messages.show_message(
                "resume",
                notices.in_progress_at_last_stop(running),
                "info",
                "Resume",
                lambda: self._resume(running[0].uid),
            )
        elsewhere = self.session.waiting_elsewhere()
        if elsewhere and self.demo is None:
            first_other = elsewhere[0]
            profile = self.book.get(first_other.profile) if first_other.profile else None
            action = f"Open {first_other.profile}" if profile and profile is not self.session.profile else ""
            self.messages.show_message(
                "elsewhere",
                notices.waiting_elsewhere(first_other),
                "warning",
                action,
                (lambda: self._switch_profile(first_other.profile)) if action else None,
            )

    def _resume(self, uid: str) -> None:
        if self.select(uid):
            return

        async def run() -> None:
            w = await self.session.retrieve(uid)
            self.model.upsert(w)
            self._refresh_marks()
            self._select_wanted()

        self._want(uid, self.session.spawn(run, "Resuming…"))

    # -- dialogs -------------------------------------------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.book, profile_store.check_profile, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or self.config_path is None:
            return
        profile_store.save(self.book, self.config_path)
        if self.demo is not None:
            self.messages.show_message(
                "settings", "The site's profiles are saved; this demo console keeps running on the demo server.", "info"
            )
            return
        if self._reopen_if_changed():
            return
        self.profile_box.clear()
        self.profile_box.addItems(self._profile_names())
        self.profile_box.setCurrentText(self.session.profile.name)

    def open_unscheduled(self) -> None:
        modality = self.session.profile.station_modality or self.query_panel.modality.currentData() or ""
        dialog = UnscheduledDialog(self.session.profile.station_code, modality, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.create_unscheduled(dialog)

    def create_unscheduled(self, dialog: UnscheduledDialog) -> asyncio.Future:
        item = dialog.workitem()
        self._created.add(item.uid)
        creating = self.session.create_unscheduled(item)
        self._want(item.uid, creating)
        return creating

    def _switch_profile(self, name: str) -> None:
        profile = self.book.get(name)
        if profile is None or profile.name == self.session.profile.name or not self.confirm_leave("switch"):
            self.profile_box.setCurrentText(self.session.profile.name)
            return
        window = MainWindow(Session(profile, self.session.outbox_path), self.book, self.config_path, self.demo)
        window.show()
        self.close_without_asking()

    def open_log_folder(self) -> bool:
        folder = logs.log_directory()
        folder.mkdir(parents=True, exist_ok=True)
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        if not opened:
            self.messages.show_message(
                "logs", f"No file manager could be opened. The log files are in {plain(str(folder))}.", "info"
            )
        return opened

    def about_text(self) -> str:
        return about_text(self.session.profile, self.demo is not None)

    def show_about(self) -> None:
        QMessageBox.about(self, "About Worklist Console", self.about_text())

    # -- leaving ----------------------------------------------------------------------------------------
    def leave_question(self, verb: str = "quit") -> str:
        requested = [named(w) for w in (self.model.workitem(uid) for uid in self.cancel_requests) if w is not None]
        return leave_question(self.session, requested, verb)

    def confirm_leave(self, verb: str = "quit") -> bool:
        question = self.leave_question(verb)
        return not question or ask_to_leave(self, question, verb)

    def close_without_asking(self) -> None:
        self._leave_confirmed = True
        self.close()

    def closeEvent(self, event) -> None:
        if not self._leave_confirmed and not self.confirm_leave():
            event.ignore()
            return
        self._leave_confirmed = True
        self.procedure.save_draft()
        self.session.blockSignals(True)  # its last signals must not reach a window being deleted
        asyncio.ensure_future(self.session.close())
        super().closeEvent(event)
        # Deleted by Qt on the GUI thread: left to Python's garbage collector, a window may be
        # destroyed on another thread, leaving its widgets' timers to fire into freed memory.
        self.deleteLater()
