"""The access rule (app/domain/access.py) applied to the request at hand, and to a gateway.

Every front sets the `Actor` of its request (audit.py), whose identity is what its door
established. The local service asks `authorize` inside each write transaction, with the
workitem as that transaction reads it, so that no other write can change the facts between
the check and the change. A gateway keeps no worklist: `GuardedWorkitems` and
`GuardedPerformedSteps` read the facts from the upstream first and ask the same rule before
forwarding, so that a modality behind a gateway has no more rights than one on the server.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol, runtime_checkable

from app.domain import tags as t
from app.domain.access import Act, Identity, refusal
from app.domain.dicomjson import JsonDataset, items, text_value
from app.domain.search import SearchRequest, SubscriptionFilter
from app.domain.states import State, parse_state
from app.domain.status import Status, UPSError

from .audit import current_actor
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

STATE_ACTS = {State.IN_PROGRESS: Act.CLAIM, State.COMPLETED: Act.COMPLETE, State.CANCELED: Act.CANCEL}
PERFORMED_STATION_AE = "00400241"


class NotAuthorized(UPSError):
    """The access rule refused: 403 over HTTP, 0124 over DIMSE; the message is the rule's sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(Status.NOT_AUTHORIZED, message)


def identity() -> Identity | None:
    return current_actor().identity


def stations(dataset: JsonDataset) -> tuple[str, ...]:
    """Every station a workitem is scheduled for: the code values of its Scheduled Station Name
    Code Sequence, which hold AE titles (app/domain/mapping.py). Any of them makes it that
    station's work."""
    return tuple(value for item in items(dataset, t.STATION_NAME_CODE_SEQ) if (value := text_value(item, t.CODE_VALUE)))


def authorize(
    act: Act,
    *,
    acting_ae: str | None = None,
    dataset: JsonDataset | None = None,
    performer: str | None = None,
    extra_stations: Collection[str] = (),
) -> None:
    """NotAuthorized unless the request's identity may do `act` (to the workitem `dataset`)."""
    found = refusal(
        identity(),
        act,
        acting_ae=acting_ae,
        stations=(*(stations(dataset) if dataset else ()), *extra_stations),
        performer=performer,
    )
    if found is not None:
        raise NotAuthorized(found.text)


def state_act(requested: str | None) -> Act:
    try:
        return STATE_ACTS.get(parse_state(requested), Act.UPDATE)
    except UPSError:
        return Act.UPDATE  # the service refuses the state itself


def mpps_refusal(
    act: Act, *, acting_ae: str | None = None, performer: str | None = None, dataset: JsonDataset | None = None
) -> MppsOutcome | None:
    """The rule's answer to an MPPS request, as an MPPS outcome (None: allowed)."""
    try:
        authorize(act, acting_ae=acting_ae, performer=performer, dataset=dataset)
    except NotAuthorized as exc:
        return MppsOutcome(Status.NOT_AUTHORIZED, exc.message)
    return None


@dataclass
class GuardedWorkitems:
    """A gateway's upstream service with the access rule in front of every change."""

    inner: WorkitemService

    def __post_init__(self) -> None:
        self.serves_ups_rs = self.inner.serves_ups_rs

    @property
    def local(self) -> tzinfo:
        return self.inner.local

    def now_dt(self) -> str:
        return self.inner.now_dt()

    def _facts(self, uid: str) -> JsonDataset:
        if identity() is None:
            return {}
        return json.loads(self.inner.retrieve(uid))

    def create(self, dataset: JsonDataset, uid: str | None = None) -> Created:
        authorize(Act.CREATE, dataset=dataset)
        return self.inner.create(dataset, uid)

    def retrieve(self, uid: str) -> str:
        return self.inner.retrieve(uid)

    def update(self, uid: str, transaction_uid: str | None, changes: JsonDataset) -> Status:
        if identity() is not None:
            authorize(Act.UPDATE, dataset=self._facts(uid))
        return self.inner.update(uid, transaction_uid, changes)

    def change_state(
        self, uid: str, requested: str | None, transaction_uid: str | None, requester_ae: str | None = None
    ) -> Status:
        if identity() is not None:
            authorize(state_act(requested), acting_ae=requester_ae, dataset=self._facts(uid))
        return self.inner.change_state(uid, requested, transaction_uid, requester_ae)

    def request_cancellation(self, uid: str, requester_ae: str | None, request: JsonDataset) -> Status:
        if identity() is not None:
            authorize(Act.CANCEL_REQUEST, acting_ae=requester_ae, dataset=self._facts(uid))
        return self.inner.request_cancellation(uid, requester_ae, request)

    def search(self, request: SearchRequest) -> SearchResult:
        return self.inner.search(request)

    def search_all(self, request: SearchRequest) -> Sequence[JsonText]:
        return self.inner.search_all(request)

    def subscribe(
        self, aet: str, target: str, deletion_lock: bool = False, criteria: SubscriptionFilter | None = None
    ) -> Status:
        authorize(Act.SUBSCRIBE, acting_ae=aet)
        return self.inner.subscribe(aet, target, deletion_lock, criteria)

    def unsubscribe(self, aet: str, target: str) -> None:
        authorize(Act.SUBSCRIBE, acting_ae=aet)
        self.inner.unsubscribe(aet, target)

    def suspend(self, aet: str, target: str) -> None:
        authorize(Act.SUBSCRIBE, acting_ae=aet)
        self.inner.suspend(aet, target)

    def connect(self, aet: str) -> NotificationChannel:
        return self.inner.connect(aet)

    def divert(self, aets: Collection[str], deliver: Deliver) -> None:
        self.inner.divert(aets, deliver)

    def announce(self, status: str) -> int:
        return self.inner.announce(status)

    def __getattr__(self, name: str) -> object:
        # what a gateway's service offers beyond the interface (its close, its status) stays reachable
        return getattr(self.inner, name)


@runtime_checkable
class StartsWorkitems(Protocol):
    """A gateway's MPPS service that can say which workitem an N-CREATE would start."""

    def workitem_for(self, attributes: JsonDataset) -> JsonDataset | None:
        """The workitem the MPPS names (None: an unscheduled procedure); UPSError when unknowable."""
        ...


@runtime_checkable
class KeepsPerformedSteps(Protocol):
    """A gateway's MPPS service that keeps what it passed on, and can read it without the upstream."""

    def kept(self, uid: str) -> JsonDataset | None: ...


@dataclass
class GuardedPerformedSteps:
    """A gateway's upstream MPPS service with the access rule in front: the performing station on
    create, and the station that performs it on every later set and retrieve."""

    inner: PerformedStepService

    def create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome:
        # an N-CREATE claims the step it names: whose step that is decides, as for a UPS claim
        starts = None
        if identity() is not None and isinstance(self.inner, StartsWorkitems):
            try:
                starts = self.inner.workitem_for(attributes)
            except UPSError as exc:  # unknown whose step it is: not started
                return MppsOutcome(
                    Status.PROCESSING_FAILURE, exc.message, http_status=getattr(exc, "http_status", None)
                )
        refused = mpps_refusal(Act.CLAIM, acting_ae=calling_ae, dataset=starts)
        return refused or self.inner.create(uid, attributes, calling_ae)

    def _performer(self, uid: str) -> str | None:
        if identity() is None:
            return None
        # what the gateway passed on names the station as well as the upstream does, without a round trip
        read = self.inner.kept if isinstance(self.inner, KeepsPerformedSteps) else self.inner.get
        return text_value(read(uid) or {}, PERFORMED_STATION_AE) or None

    def set(self, uid: str, changes: JsonDataset) -> MppsOutcome:
        refused = mpps_refusal(Act.PERFORMED_STEP, performer=self._performer(uid))
        return refused or self.inner.set(uid, changes)

    def get(self, uid: str) -> JsonDataset | None:
        found = self.inner.get(uid)
        if found is not None and identity() is not None:
            authorize(Act.PERFORMED_STEP, performer=text_value(found, PERFORMED_STATION_AE) or None)
        return found

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)
