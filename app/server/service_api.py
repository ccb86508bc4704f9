"""What the fronts of the server may ask of the worklist behind them.

The HTTP front (UPS-RS), the DIMSE fronts (MWL, MPPS, UPS) and the MPPS mapping depend on
these interfaces only, never on the store or the event hub: the local SQLite service
implements them today, and a gateway that forwards to another system can implement them
the same way. What crosses them is domain objects (search requests, subscription filters,
JSON datasets) and the status vocabulary of `app.domain.status`; each front turns them
into its own protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Protocol

from app.domain.dicomjson import JsonDataset
from app.domain.mpps_rules import Refusal
from app.domain.search import SearchRequest, SubscriptionFilter
from app.domain.status import Status, UPSError

Deliver = Callable[[str, str], None]  # (AE title, notification text); must not block


class UpstreamError(UPSError):
    """A refusal that came from, or a failure to reach, the system a gateway forwards to. The HTTP
    fronts answer `http_status` (502, 503, 504, or the upstream's own refusal); the DIMSE fronts
    answer `status`; the message names the upstream."""

    def __init__(self, status: Status, message: str, http_status: int, *, gone: bool = False, short: str = "") -> None:
        super().__init__(status, message, gone=gone, short=short)
        self.http_status = http_status


@dataclass(frozen=True)
class Created:
    uid: str
    status: Status = Status.SUCCESS


# A stored DICOM JSON text: UTF-8 bytes as the store keeps them (a Search page goes out without
# being decoded and encoded again), or str as a gateway's upstream gave it.
JsonText = str | bytes


@dataclass(frozen=True)
class SearchResult:
    items: Sequence[JsonText]
    remaining: int
    warnings: tuple[str, ...] = field(default_factory=tuple)


class NotificationChannel(Protocol):
    """One open notification connection of a subscriber AE (a WebSocket's source)."""

    dropped: asyncio.Event  # set when the subscriber fell too far behind: its connection must close

    async def next(self) -> str: ...

    def ready(self) -> str | None: ...  # the next event if one is queued already, without waiting

    def close(self, unsent: Collection[str] = ()) -> None: ...


class WorkitemService(Protocol):
    """The UPS transactions of PS3.4 Annex CC. Synchronous and thread-safe: a front calls them
    from a worker thread. Failures are `app.domain.status.UPSError` (or its `InvalidRequest`)."""

    # whether its UPS-RS transactions do anything (a gateway to a Sup 246-only origin has only
    # the worklist search and MPPS): what the capabilities say
    serves_ups_rs: bool

    @property
    def local(self) -> tzinfo:
        """The zone that dates and times without an offset are read in."""
        ...

    def now_dt(self) -> str: ...

    def create(self, dataset: JsonDataset, uid: str | None = None) -> Created: ...

    def retrieve(self, uid: str) -> str:
        """The workitem as DICOM JSON text."""
        ...

    def update(self, uid: str, transaction_uid: str | None, changes: JsonDataset) -> Status: ...

    def change_state(
        self, uid: str, requested: str | None, transaction_uid: str | None, requester_ae: str | None = None
    ) -> Status: ...

    def request_cancellation(self, uid: str, requester_ae: str | None, request: JsonDataset) -> Status: ...

    def search(self, request: SearchRequest) -> SearchResult: ...

    def search_all(self, request: SearchRequest) -> Sequence[JsonText]:
        """Every match, unpaged, as DICOM JSON texts."""
        ...

    def subscribe(
        self, aet: str, target: str, deletion_lock: bool = False, criteria: SubscriptionFilter | None = None
    ) -> Status: ...

    def unsubscribe(self, aet: str, target: str) -> None: ...

    def suspend(self, aet: str, target: str) -> None: ...

    def connect(self, aet: str) -> NotificationChannel:
        """Open the notification channel of `aet`; events kept while it was away come first."""
        ...

    def divert(self, aets: Collection[str], deliver: Deliver) -> None:
        """Send the events of these AEs to `deliver` (a DIMSE N-EVENT-REPORT sender) instead."""
        ...

    def announce(self, status: str) -> int: ...


@dataclass(frozen=True)
class MppsOutcome:
    """The answer to an MPPS request: a DIMSE status with its Error Comment and Error ID."""

    status: int
    comment: str = ""
    error_id: int | None = None
    gone: bool = False  # the workitem behind it was deleted (HTTP 410)
    # a gateway's upstream that failed (502, 503, 504) or refused with its own code: what HTTP answers
    http_status: int | None = None
    # the Error Comment (64 characters) when `comment` is longer; DIMSE logs the whole comment
    short: str = ""

    @property
    def error_comment(self) -> str:
        return self.short or self.comment

    @classmethod
    def refused(cls, refusal: Refusal) -> MppsOutcome:
        return cls(refusal.status, refusal.comment, refusal.error_id)


class PerformedStepService(Protocol):
    """MPPS (PS3.4 F.7) over the worklist: each call is one unit, done whole or not at all."""

    def create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome: ...

    def set(self, uid: str, changes: JsonDataset) -> MppsOutcome: ...

    def get(self, uid: str) -> JsonDataset | None:
        """The MPPS as created and since set, or None when there is none."""
        ...
