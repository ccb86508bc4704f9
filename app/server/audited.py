"""The audit of a service the server does not own: a gateway's changes go to its upstream, and no
local transaction records them, so the fronts' calls are recorded here once the upstream took
them (a refusal, upstream or ours, leaves no line), by the actor the front set, in the same
audit file format as the local store's.

What the upstream held before is not asked for (it would cost an upstream call per change): a
state change says the state it must have left, since only that one allows it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import tzinfo
from typing import Any

from app.domain.dicomjson import JsonDataset, first_value
from app.domain.mapping import MPPS_STATUS
from app.domain.search import SearchRequest, SubscriptionFilter
from app.domain.status import Status

from .audit import AuditLog, current_actor
from .service_api import (
    Created,
    Deliver,
    JsonText,
    MppsOutcome,
    NotificationChannel,
    PerformedStepService,
    SearchResult,
    WorkitemService,
)

# the action of a change of state, and the one state it can have been made from
_STATE_CHANGES = {
    "IN PROGRESS": ("claim", "SCHEDULED"),
    "COMPLETED": ("complete", "IN PROGRESS"),
    "CANCELED": ("cancel", "IN PROGRESS"),
}


class AuditedService:
    """`service`, with an audit line for each change it accepted."""

    def __init__(self, service: WorkitemService, audit: AuditLog, clock: Any) -> None:
        self.service = service
        self.audit = audit
        self.clock = clock
        self.serves_ups_rs = service.serves_ups_rs

    def _note(self, action: str, uid: str, **details: Any) -> None:
        self.audit.write([self.audit.record(action, uid, when=self.clock(), actor=current_actor(), **details)])

    # -- changes -------------------------------------------------------------------------------
    def create(self, dataset: JsonDataset, uid: str | None = None) -> Created:
        created = self.service.create(dataset, uid)
        self._note("create", created.uid, before=None, after="SCHEDULED", dataset=dataset)
        return created

    def update(self, uid: str, transaction_uid: str | None, changes: JsonDataset) -> Status:
        status = self.service.update(uid, transaction_uid, changes)
        self._note("update", uid)
        return status

    def change_state(
        self, uid: str, requested: str | None, transaction_uid: str | None, requester_ae: str | None = None
    ) -> Status:
        status = self.service.change_state(uid, requested, transaction_uid, requester_ae)
        action, before = _STATE_CHANGES.get(str(requested), ("change-state", None))
        after = requested if action != "change-state" else None
        # a warning (already in that state) changed nothing
        self._note(action, uid, before=after if status.is_warning else before, after=after, performer=requester_ae)
        return status

    def request_cancellation(self, uid: str, requester_ae: str | None, request: JsonDataset) -> Status:
        status = self.service.request_cancellation(uid, requester_ae, request)
        self._note("request-cancellation", uid, requester=requester_ae)
        return status

    def subscribe(
        self, aet: str, target: str, deletion_lock: bool = False, criteria: SubscriptionFilter | None = None
    ) -> Status:
        status = self.service.subscribe(aet, target, deletion_lock, criteria)
        # filter values may name a patient: only the keys, unless the site keeps PHI in the file
        shown = criteria and (criteria.text() if self.audit.phi else ",".join(key for key, _ in criteria.terms))
        self._note("subscribe", target, subscriber=aet, deletion_lock=deletion_lock or None, filter=shown or None)
        return status

    def unsubscribe(self, aet: str, target: str) -> None:
        self.service.unsubscribe(aet, target)
        self._note("unsubscribe", target, subscriber=aet)

    def suspend(self, aet: str, target: str) -> None:
        self.service.suspend(aet, target)
        self._note("suspend", target, subscriber=aet)

    # -- the rest passes through ----------------------------------------------------------------
    @property
    def local(self) -> tzinfo:
        return self.service.local

    def now_dt(self) -> str:
        return self.service.now_dt()

    def retrieve(self, uid: str) -> str:
        return self.service.retrieve(uid)

    def search(self, request: SearchRequest) -> SearchResult:
        return self.service.search(request)

    def search_all(self, request: SearchRequest) -> Sequence[JsonText]:
        return self.service.search_all(request)

    def connect(self, aet: str) -> NotificationChannel:
        return self.service.connect(aet)

    def divert(self, aets: Collection[str], deliver: Deliver) -> None:
        self.service.divert(aets, deliver)

    def announce(self, status: str) -> int:
        return self.service.announce(status)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.service, name)  # what a front or a gateway adds beyond the interface


class AuditedMpps:
    """`mpps`, with an audit line for each MPPS create and set it accepted (the line's UID is the
    MPPS's; its status is the state)."""

    def __init__(self, mpps: PerformedStepService, audit: AuditLog, clock: Any) -> None:
        self.mpps = mpps
        self.audit = audit
        self.clock = clock

    def _note(self, action: str, uid: str, **details: Any) -> None:
        self.audit.write([self.audit.record(action, uid, when=self.clock(), actor=current_actor(), **details)])

    def create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome:
        outcome = self.mpps.create(uid, attributes, calling_ae)
        if outcome.status == Status.SUCCESS:
            status = first_value(attributes, MPPS_STATUS)
            after = str(status) if status else None
            self._note("mpps-create", uid, before=None, after=after, dataset=attributes, performer=calling_ae)
        return outcome

    def set(self, uid: str, changes: JsonDataset) -> MppsOutcome:
        outcome = self.mpps.set(uid, changes)
        if outcome.status == Status.SUCCESS:
            status = first_value(changes, MPPS_STATUS)
            # only an MPPS in progress may be set: a new status is the one it left
            self._note("mpps-set", uid, before="IN PROGRESS" if status else None, after=str(status) if status else None)
        return outcome

    def get(self, uid: str) -> JsonDataset | None:
        return self.mpps.get(uid)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.mpps, name)
