"""The SCP / User-Agent gateway over a Supplement 246 origin server (MWL and MPPS over REST),
through the console's own DICOMweb MWL + MPPS client (`mpps_rs`).

- MWL C-FIND (and our Sup 246 Search door): a Search on /modality-scheduled-procedure-steps with
  the query's keys, page by page, each page's items answered as they arrive; the items are the
  origin's own (its Scheduled Procedure Step IDs included), and the query itself decides here.
- MPPS N-CREATE / N-SET (and our Sup 246 MPPS doors): Create / Update upstream, the dataset
  passed on as the modality sent it under its own SOP Instance UID; Retrieve answers what the
  origin has. The origin keeps the MPPS: the gateway records nothing of it.

UPS-RS has no counterpart upstream: its transactions are refused with a sentence (501).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine, Iterator
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import Any, TypeVar

from app.backends.errors import BackendError
from app.backends.mpps_rs import MppsRsBackend, Paging
from app.backends.profiles import Profile
from app.domain.dicomjson import JsonDataset
from app.domain.mapping import SPS_SEQ, SPS_STATUS
from app.domain.query import CombinedMatch, KeyMatch, MatchKind, Query, SequenceMatch
from app.domain.search import SearchRequest, SubscriptionFilter
from app.domain.status import Status, fitting
from app.server.notifications import EventHub
from app.server.service_api import (
    Created,
    Deliver,
    MppsOutcome,
    NotificationChannel,
    SearchResult,
    UpstreamError,
)
from app.server.store import Store

from .access import UpstreamAccess
from .bridge import Bridge, trace_exchange
from .ups_upstream import TIMEOUT_SECONDS, upstream_error, upstream_host

T = TypeVar("T")

PAGE = 200  # items asked for at a time: the first answers reach the modality while the next are read
_MPPS_STATUS_OF_HTTP = {
    400: Status.INVALID_ATTRIBUTE_VALUE,
    404: Status.NO_SUCH_SOP_INSTANCE,
    409: Status.PROCESSING_FAILURE,
    410: Status.NO_SUCH_SOP_INSTANCE,
}


def mwl_params(query: Query) -> list[tuple[str, str]]:
    """The query's keys as Sup 246 Search parameters: every key that selects (the universal ones
    say nothing), nested keys with dots. A query that names no status asks for every one, as the
    MWL C-FIND front of our own store answers (the Search alone would give SCHEDULED steps only)."""
    params: list[tuple[str, str]] = []

    def walk(keys: tuple[Any, ...], prefix: str) -> None:
        for key in keys:
            if isinstance(key, KeyMatch) and key.kind is not MatchKind.UNIVERSAL:
                params.append((prefix + key.tag, key.raw))
            elif isinstance(key, SequenceMatch):
                walk(tuple(key.keys), f"{prefix}{key.tag}.")
            # a CombinedMatch (date with time) is decided here, on the answers: its halves may not
            # be sent apart without changing what they select
            elif isinstance(key, CombinedMatch):
                continue

    walk(tuple(query.keys), "")
    status = f"{SPS_SEQ}.{SPS_STATUS}"
    if not any(name == status for name, _ in params):
        params.append((status, "*"))
    return params


class Sup246Upstream:
    """A `WorkitemService` whose worklist is an upstream Supplement 246 origin server."""

    serves_ups_rs = False  # no UPS-RS upstream: those transactions answer 501

    def __init__(
        self,
        url: str,
        *,
        access: UpstreamAccess | None = None,
        ae_title: str = "WORKLIST",
        timeout: float = TIMEOUT_SECONDS,
        trace: bool = False,
        page: int = PAGE,
        bound: int | None = None,
    ) -> None:
        self.host = upstream_host(url, "a Supplement 246 service")
        self.name = f"the upstream Supplement 246 server at {self.host}"
        profile = Profile(name="gateway upstream", backend="mpps-rs", url=url, ae_title=ae_title, timeout=timeout)
        self.profile = (access or UpstreamAccess()).apply(profile)
        self.page = page
        self.bound = bound  # None: the client's own (`mpps_rs.MAX_RESULTS`)
        self.bridge = Bridge("gateway-sup246", self.name[0].upper() + self.name[1:], timeout + 1.0, trace)
        self.backend = MppsRsBackend(self.profile, trace_exchange if trace else None)
        self.hub = EventHub()  # no events in this service: our subscribers are told nothing, and refused
        self.database: Store | None = None  # of the nodes' audit, on PostgreSQL (make)
        self._local: tzinfo = datetime.now().astimezone().tzinfo or UTC

    def call(self, what: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """`work()` on the gateway's loop, its failures as `UpstreamError`."""
        try:
            return self.bridge.run(work(), what)
        except BackendError as exc:
            raise upstream_error(exc, self.name, self.host) from None

    # -- the worklist --------------------------------------------------------------------------
    @property
    def local(self) -> tzinfo:
        return self._local

    def now_dt(self) -> str:
        return datetime.now(self._local).strftime("%Y%m%d%H%M%S")

    def mwl_items(self, query: Query) -> Iterator[JsonDataset]:
        """The origin's MWL items for `query`, page by page as the console's client pages
        (`Paging`): each page is given on as it arrives."""
        params = mwl_params(query)
        paging = Paging(self.host, self.bound)
        while not paging.done:
            offset = paging.offset
            found, warned = self.call(
                f"MWL search (from {offset})", partial(self.backend.search_page, params, offset, self.page)
            )
            try:
                taken = paging.take(found, warned)
            except BackendError as exc:
                short = fitting(f"Upstream {self.host} never ends its pages: narrow the query.", "Narrow the query.")
                raise UpstreamError(Status.PROCESSING_FAILURE, exc.sentence, 502, short=short) from None
            yield from taken

    def _not_here(self, what: str) -> UpstreamError:
        return UpstreamError(
            Status.PROCESSING_FAILURE,
            f"{self.name[0].upper()}{self.name[1:]} offers the worklist and MPPS (Supplement 246), not UPS-RS: "
            f"{what} is not available through this gateway.",
            501,
            short=fitting(
                f"The upstream has no UPS-RS: {what} is not available here.",
                "The upstream has no UPS-RS (Supplement 246 only).",
            ),
        )

    def create(self, dataset: JsonDataset, uid: str | None = None) -> Created:
        raise self._not_here("creating a workitem")

    def retrieve(self, uid: str) -> str:
        raise self._not_here("a workitem")

    def update(self, uid: str, transaction_uid: str | None, changes: JsonDataset) -> Status:
        raise self._not_here("updating a workitem")

    def change_state(
        self, uid: str, requested: str | None, transaction_uid: str | None, requester_ae: str | None = None
    ) -> Status:
        raise self._not_here("changing a workitem's state")

    def request_cancellation(self, uid: str, requester_ae: str | None, request: JsonDataset) -> Status:
        raise self._not_here("a cancellation request")

    def search(self, request: SearchRequest) -> SearchResult:
        raise self._not_here("a UPS-RS search (search the worklist on /modality-scheduled-procedure-steps)")

    def search_all(self, request: SearchRequest) -> list[str]:
        raise self._not_here("a workitem search")

    def subscribe(
        self, aet: str, target: str, deletion_lock: bool = False, criteria: SubscriptionFilter | None = None
    ) -> Status:
        raise self._not_here("subscribing to events")

    def unsubscribe(self, aet: str, target: str) -> None:
        raise self._not_here("unsubscribing")

    def suspend(self, aet: str, target: str) -> None:
        raise self._not_here("suspending a subscription")

    def connect(self, aet: str) -> NotificationChannel:
        return self.hub.connect(aet)

    def divert(self, aets: Collection[str], deliver: Deliver) -> None:
        self.hub.divert(aets, deliver)

    def announce(self, status: str) -> int:
        return 0

    def close(self) -> None:
        self.bridge.close(self.backend.close())
        if self.database is not None:
            self.database.close()


class Sup246Mpps:
    """A `PerformedStepService` that passes every MPPS on to the origin server as it came."""

    def __init__(self, upstream: Sup246Upstream) -> None:
        self.upstream = upstream

    def _failed(self, exc: UpstreamError) -> MppsOutcome:
        """The origin's refusal with its own code and reason; a failure to reach it as 502/503/504,
        its Error Comment (64 characters) naming it."""
        host = self.upstream.host
        if exc.http_status >= 500:
            what = "did not answer; send it again" if exc.http_status == 504 else "is unreachable; nothing changed"
            short = fitting(f"Upstream {host} {what}.", f"The upstream {what}.")
            whole = f"{exc.message[:1].upper()}{exc.message[1:]}"
            return MppsOutcome(Status.PROCESSING_FAILURE, whole, http_status=exc.http_status, short=short)
        status = _MPPS_STATUS_OF_HTTP.get(exc.http_status, Status.PROCESSING_FAILURE)
        return MppsOutcome(status, exc.message[:200], http_status=exc.http_status, short=exc.comment)

    def create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome:
        backend = self.upstream.backend
        try:
            self.upstream.call(f"MPPS create {uid}", lambda: backend.create_mpps(uid, attributes))
        except UpstreamError as exc:
            return self._failed(exc)
        return MppsOutcome(Status.SUCCESS)

    def set(self, uid: str, changes: JsonDataset) -> MppsOutcome:
        backend = self.upstream.backend
        try:
            self.upstream.call(f"MPPS update {uid}", lambda: backend.update_mpps(uid, changes))
        except UpstreamError as exc:
            return self._failed(exc)
        return MppsOutcome(Status.SUCCESS)

    def get(self, uid: str) -> JsonDataset | None:
        backend = self.upstream.backend
        try:
            return self.upstream.call(f"MPPS retrieve {uid}", lambda: backend.retrieve_mpps(uid))
        except UpstreamError as exc:
            if exc.http_status in (404, 410):
                return None
            raise

    def close(self) -> None:
        return None  # the upstream it belongs to closes the client


def make(
    spec: str, db_path: str | Store, trace: bool, access: UpstreamAccess | None = None
) -> tuple[Sup246Upstream, Sup246Mpps]:
    """`sup246:URL`: the services of the SCP / User-Agent gateway over a Supplement 246 origin server
    (it keeps no records: a PostgreSQL database given holds only its nodes' audit)."""
    upstream = Sup246Upstream(spec.partition(":")[2], access=access, trace=trace)
    upstream.database = db_path if isinstance(db_path, Store) else None
    return upstream, Sup246Mpps(upstream)
