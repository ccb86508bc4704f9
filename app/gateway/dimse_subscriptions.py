"""The subscriptions of the gateway's UPS-RS clients, and the events they receive.

An MWL SCP sends no events, so the gateway keeps the subscriptions itself (in its tables, so
they survive a restart), finds who a change of a workitem reaches, and hands the event reports
to the server's event hub, which delivers them on the clients' WebSocket channels exactly as the
local service does.

On several nodes of one PostgreSQL database the subscriptions are the database's: each node reads
them before it decides who an event reaches, and the events go into the shared event log
(pg_events.py) in a write transaction, whence every node hands them to the channels open on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import tzinfo
from typing import TYPE_CHECKING

from app.domain import events as ev
from app.domain import tags as t
from app.domain.dicomjson import JsonDataset
from app.domain.identifiers import check_ae_title
from app.domain.query import Query
from app.domain.search import SubscriptionFilter
from app.domain.status import InvalidRequest, Status, UPSError
from app.server.notifications import EventHub

from .dimse_state import GatewayState, Subscription

if TYPE_CHECKING:
    from app.server.pg_events import SharedEvents

GLOBAL_TARGETS = (t.GLOBAL_SUBSCRIPTION_UID, t.FILTERED_SUBSCRIPTION_UID)


class Subscribers:
    def __init__(self, state: GatewayState, hub: EventHub, local: tzinfo, shared: SharedEvents | None = None) -> None:
        self.state = state
        self.hub = hub
        self.local = local
        self.shared = shared
        self._lock = threading.Lock()
        self._subs: dict[tuple[str, str], Subscription] = {(s.aet, s.target): s for s in state.subscriptions()}
        self._filters: dict[str, Query] = {}

    def _fresh(self) -> None:
        """The subscriptions as the database holds them now, when other nodes change them too."""
        if self.state.shared:
            subs = {(s.aet, s.target): s for s in self.state.subscriptions()}
            with self._lock:
                self._subs = subs

    def any(self) -> bool:
        self._fresh()
        with self._lock:
            return bool(self._subs)

    def _filter(self, text: str) -> Query:
        query = self._filters.get(text)
        if query is None:
            query = self._filters[text] = SubscriptionFilter.from_text(text).query(self.local)
        return query

    # -- who an event reaches --------------------------------------------------------------------
    def recipients(self, uid: str, dataset: JsonDataset, before: JsonDataset | None = None) -> set[str]:
        self._fresh()
        with self._lock:
            subs = list(self._subs.values())
        excluded = {s.aet for s in subs if s.target == uid and s.kind == "excluded"}
        aets = {s.aet for s in subs if s.target == uid and s.kind == "item"}
        for s in subs:
            if s.suspended or s.aet in excluded:
                continue
            if s.kind == "global":
                aets.add(s.aet)
            elif s.kind == "filtered" and s.filter:
                query = self._filter(s.filter)
                if query.matches(dataset, self.local) or (before is not None and query.matches(before, self.local)):
                    aets.add(s.aet)
        return aets

    def post(self, uid: str, kind: ev.EventType, attrs: JsonDataset, aets: Iterable[str]) -> None:
        aets = set(aets)
        if not aets:
            return
        if self.shared is not None:  # to every node, in the transaction of the change if it is in one
            with self.state.writing() as db:
                self.shared.record(db, [(aets, uid, kind, attrs)])
            return
        self.hub.post(aets, ev.message(uid, kind, self.hub.next_message_id(), attrs))

    def report_state(self, uid: str, dataset: JsonDataset, before: JsonDataset | None = None) -> None:
        """A State Report of the workitem to everyone its change reaches."""
        self.post(uid, ev.EventType.STATE_REPORT, ev.state_report(dataset), self.recipients(uid, dataset, before))

    # -- the subscription transactions (PS3.4 CC.2.3) ---------------------------------------------
    def subscribe(
        self,
        aet: str,
        target: str,
        deletion_lock: bool,
        criteria: SubscriptionFilter | None,
        known: Callable[[], dict[str, JsonDataset]],
        workitem: Callable[[str], JsonDataset],
    ) -> Status:
        """`known` gives the workitems the gateway knows now, `workitem` one of them by UID
        (raising NO_SUCH_UPS): the first reports go out for them."""
        aet = check_ae_title(aet)
        reports: list[tuple[str, JsonDataset]] = []
        if target == t.GLOBAL_SUBSCRIPTION_UID:
            sub = Subscription(aet, target, "global", deletion_lock)
            if deletion_lock:  # Table CC.2.3-2: a report for every existing item
                reports = list(known().items())
        elif target == t.FILTERED_SUBSCRIPTION_UID:
            if criteria is None or not criteria.terms:
                raise InvalidRequest(
                    "A Filtered Global Subscription needs a filter (filter=attribute=value).",
                    short="A filtered global subscription needs a filter.",
                )
            query = self._filter(criteria.text())
            sub = Subscription(aet, target, "filtered", deletion_lock, criteria.text())
            if deletion_lock:
                reports = [(uid, ds) for uid, ds in known().items() if query.matches(ds, self.local)]
        else:
            reports = [(target, workitem(target))]
            sub = Subscription(aet, target, "item", deletion_lock)
        self.state.put_subscriptions([sub])
        with self._lock:
            self._subs.pop((aet, target), None)
            self._subs[(aet, target)] = sub
        for uid, dataset in reports:
            self.post(uid, ev.EventType.STATE_REPORT, ev.state_report(dataset), {aet})
        return Status.SUCCESS

    def unsubscribe(self, aet: str, target: str, workitem: Callable[[str], JsonDataset | None]) -> None:
        self._fresh()
        with self._lock:
            mine = [key for key in self._subs if key[0] == aet]
        if target == t.GLOBAL_SUBSCRIPTION_UID:
            # CC.2.3.2: a global unsubscribe ends every subscription of the AE
            if not mine:
                raise UPSError(Status.UNKNOWN_RECEIVING_AE, f"{aet} has no subscriptions.")
            self.state.drop_subscriptions(aet)
            with self._lock:
                for key in mine:
                    self._subs.pop(key, None)
            self.hub.forget(aet)
            if self.shared is not None:
                self.shared.forget(aet)
            return
        if (aet, target) in mine:
            self.state.drop_subscriptions(aet, target)
            with self._lock:
                self._subs.pop((aet, target), None)
            dropped = True
        else:
            dropped = False
        if target == t.FILTERED_SUBSCRIPTION_UID:
            if not dropped:
                raise UPSError(Status.UNKNOWN_RECEIVING_AE, f"{aet} has no filtered subscription.")
            return
        dataset = workitem(target)
        if dataset is not None and aet in self.recipients(target, dataset):
            excluded = Subscription(aet, target, "excluded")
            self.state.put_subscriptions([excluded])
            with self._lock:
                self._subs[(aet, target)] = excluded
        elif not dropped:
            raise UPSError(
                Status.UNKNOWN_RECEIVING_AE,
                f"{aet} is not subscribed to Workitem {target}.",
                short=f"{aet} is not subscribed to this workitem.",
            )

    def suspend(self, aet: str, target: str, known: Callable[[], dict[str, JsonDataset]]) -> None:
        """No events for new workitems; those it covers now stay followed, one by one."""
        if target not in GLOBAL_TARGETS:
            raise InvalidRequest("Only a global or filtered global subscription can be suspended.")
        self._fresh()
        with self._lock:
            sub = self._subs.get((aet, target))
        if sub is None:
            raise UPSError(Status.UNKNOWN_RECEIVING_AE, f"{aet} has no such global subscription.")
        if sub.suspended:
            return
        covered = [
            uid
            for uid, dataset in known().items()
            if sub.kind == "global" or (sub.filter and self._filter(sub.filter).matches(dataset, self.local))
        ]
        with self._lock:
            kept = [s for s in (self._subs.get((aet, uid)) for uid in covered) if s is not None]
        items = [Subscription(aet, uid, "item") for uid in covered if all(s.target != uid for s in kept)]
        suspended = Subscription(aet, target, sub.kind, sub.deletion_lock, sub.filter, True)
        self.state.put_subscriptions([suspended, *items])
        with self._lock:
            self._subs[(aet, target)] = suspended
            for item in items:
                self._subs[(aet, item.target)] = item

    def aets(self) -> set[str]:
        self._fresh()
        with self._lock:
            return {s.aet for s in self._subs.values() if s.kind != "excluded"}
