"""The console window's list: searching, the selection that stays where the technologist put it,
the pinned rows and their marks, the procedure asked for until it is listed, and urgent orders."""

from __future__ import annotations

import asyncio

from app.console import merged_into, named
from app.domain.events import EventType, WorkitemEvent
from app.domain.states import State
from app.domain.workitem import Workitem
from app.domain.worklist_query import WorklistQuery

from .main_window_layout import WindowLayout
from .procedure_panel import PanelState
from .startup_marks import FIRST_LIST, mark_when_shown
from .urgent_orders import filters_leaving_out, newly_urgent
from .worklist_model import WORKITEM_ROLE, is_urgent


class WindowList(WindowLayout):
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
        if items:
            mark_when_shown(FIRST_LIST)
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
        if mine and (survivor := merged_into(before, w)):
            self._show_merge(w, survivor)
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
