"""What the console window says: the event log, messages and configuration problems, what waits
to be sent, cancellation requests for this station's procedures, and the offer to resume what
was in progress when the console last stopped."""

from __future__ import annotations

from datetime import datetime

from app.console import CONFIGURATION, CONNECTION, named, procedure_key
from app.domain.events import WorkitemEvent
from app.domain.workitem import Workitem

from . import notices
from .main_window_list import WindowList
from .rich_text import plain


class WindowNews(WindowList):
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

    def _show_merge(self, w: Workitem, survivor: str) -> None:
        """Said once per merge and kept until dismissed: the procedure is not stopped, only renamed."""
        self.messages.show_message(
            f"merge:{w.uid}", notices.patient_merged(w, survivor), "warning", keep=True, object_name="mergeBanner"
        )

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
