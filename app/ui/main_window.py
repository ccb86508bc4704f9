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
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QMenu,
    QMessageBox,
)

from app import logs
from app.console import named
from app.console import profiles as profile_store
from app.console.profiles import Profile, ProfileBook, holds_same_claims
from app.domain.events import WorkitemEvent
from app.domain.worklist_query import WorklistQuery

from .about import about_text
from .connection_view import ConnectionView
from .dialogs import UnscheduledDialog
from .leaving import ask_to_leave, leave_question
from .main_window_news import WindowNews
from .rich_text import plain
from .session import Session
from .settings_dialog import SettingsDialog
from .urgent_orders import UrgentOrders

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


class MainWindow(WindowNews):
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
