"""The UPS service of the SCP / User-Agent gateway: every transaction forwarded to an upstream
UPS-RS origin server through the console's own UPS-RS client.

The fronts (UPS-RS, Sup 246, DIMSE MWL/MPPS/UPS) call it as they call the local service. What
the upstream refuses comes back with its own reason and HTTP status; an upstream that cannot
be reached, fails or is too slow comes back as a processing failure with 502, 503 or 504, its
sentence naming the upstream. Events of upstream subscriptions are relayed to our subscribers
through a local event hub (`relay.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Coroutine, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from app.backends.errors import BackendError, Refused, ServerFault, TimedOut
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain import tags as t
from app.domain.dicomjson import DicomJsonError, JsonDataset, first_value, parse_datasets
from app.domain.search import SearchRequest, SubscriptionFilter
from app.domain.status import STATUS_TEXT, InvalidRequest, Status, fitting
from app.server.notifications import EventHub
from app.server.service_api import Created, Deliver, NotificationChannel, SearchResult, UpstreamError
from app.server.store import Store

from .access import UpstreamAccess
from .bridge import Bridge, trace_exchange
from .mpps_upstream import UpstreamMpps
from .records import MppsLinks
from .relay import EventRelay

T = TypeVar("T")

MAX_RESULTS = 20000  # an unpaged search stops here, as the console's own does
PAGE = 100  # workitems asked for at a time: a modality has the first answers while the next are read
TIMEOUT_SECONDS = 10.0
_ADDITIONAL = re.compile(r"There are (\d+) additional results")
# A refusal's HTTP status as the DIMSE fronts' status, where its Warning does not say which.
_STATUS_OF_HTTP = {
    400: Status.INVALID_ATTRIBUTE_VALUE,
    404: Status.NO_SUCH_UPS,
    409: Status.ACTION_NOT_APPROPRIATE,
    410: Status.NO_SUCH_UPS,
}
_STATUS_OF_TEXT = {text: status for status, text in STATUS_TEXT.items()}


def upstream_error(exc: BackendError, upstream: str, host: str = "") -> UpstreamError:
    """What an upstream's failure is for our callers: its refusal with its own status and reason,
    or a 502/503/504 processing failure saying the upstream did not do it. The whole sentence
    names `upstream`; the Error Comment a modality gets (64 characters) names its `host`."""
    short_name = f"Upstream {host}" if host else "The upstream"
    if isinstance(exc, Refused) and exc.status:
        reason = exc.reason or exc.sentence
        status = _STATUS_OF_TEXT.get(reason, _STATUS_OF_HTTP.get(exc.status, Status.PROCESSING_FAILURE))
        message = f"{reason} ({upstream})"
        return UpstreamError(
            status, message, exc.status, gone=exc.status == 410, short=fitting(message, f"{reason} ({host})", reason)
        )
    if isinstance(exc, TimedOut):
        short = fitting(f"{short_name} did not answer in time.", "The upstream did not answer in time.")
        return UpstreamError(Status.PROCESSING_FAILURE, f"{upstream} did not answer in time.", 504, short=short)
    if isinstance(exc, ServerFault):
        code = 503 if "HTTP 503" in exc.detail else 502
        short = fitting(
            f"{short_name} failed; the gateway's log says how.", "The upstream failed; see the gateway's log."
        )
        return UpstreamError(Status.PROCESSING_FAILURE, f"{upstream} failed: {exc.sentence}", code, short=short)
    short = fitting(
        f"{short_name} cannot be reached; the gateway's log says why.",
        f"{short_name} cannot be reached.",
        "The upstream cannot be reached; see the gateway's log.",
    )
    return UpstreamError(Status.PROCESSING_FAILURE, f"{upstream} cannot be reached: {exc.sentence}", 502, short=short)


def upstream_host(url: str, service: str) -> str:
    """HOST[:PORT] of an upstream's URL; ValueError in a sentence when it is not an http:// or
    https:// URL naming a host and, if any, a port from 1 to 65535."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValueError(
            f"The upstream {url!r} is not an http:// or https:// URL of {service} (a host, a port from 1 to 65535)."
        )
    return parts.netloc.rpartition("@")[2]


class UpsRsUpstream:
    """A `WorkitemService` whose worklist is an upstream UPS-RS origin server."""

    serves_ups_rs = True

    def __init__(
        self,
        url: str,
        *,
        dcm4chee: bool = False,
        access: UpstreamAccess | None = None,
        ae_title: str = "WORKLIST",
        timeout: float = TIMEOUT_SECONDS,
        trace: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.host = upstream_host(url, "a UPS-RS service")
        self.name = f"the upstream UPS-RS server at {self.host}"
        self.profile = (access or UpstreamAccess()).apply(
            Profile(
                name="gateway upstream", backend="upsrs", url=url, ae_title=ae_title, dcm4chee=dcm4chee, timeout=timeout
            )
        )
        self.page = PAGE
        self.bridge = Bridge("gateway-upsrs", self.name[0].upper() + self.name[1:], timeout + 1.0, trace)
        self.backend = UpsRsBackend(self.profile, trace_exchange if trace else None, transport)
        self.hub = EventHub()
        self.relay = EventRelay(self.backend, self.hub, self.bridge, trace)
        self._local: tzinfo = datetime.now().astimezone().tzinfo or UTC

    # -- calling the upstream ------------------------------------------------------------------
    def call(self, what: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """`work()` on the gateway's loop, its failures as `UpstreamError`."""
        try:
            return self.bridge.run(work(), what)
        except BackendError as exc:
            raise upstream_error(exc, self.name, self.host) from None

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.backend.send(method, path, **kwargs)

    async def _datasets(self, response: httpx.Response) -> list[JsonDataset]:
        if response.status_code == 204 or not response.content.strip():
            return []
        try:
            return parse_datasets(response.content)
        except DicomJsonError as exc:
            raise Refused(f"{self.name} sent an answer that is not DICOM JSON: {exc}", str(exc), 502) from None

    def _requester(self, path: str, aet: str | None) -> str:
        """dcm4chee-arc names the requesting AE in the path; the standard form does not."""
        return f"{path}/{aet or self.profile.ae_title}" if self.profile.dcm4chee else path

    # -- WorkitemService -------------------------------------------------------------------------
    @property
    def local(self) -> tzinfo:
        return self._local

    def now_dt(self) -> str:
        return datetime.now(self._local).strftime("%Y%m%d%H%M%S")

    def create(self, dataset: JsonDataset, uid: str | None = None) -> Created:
        in_dataset = first_value(dataset, t.SOP_INSTANCE_UID)
        if uid and in_dataset and uid != in_dataset:
            raise InvalidRequest(f"The URL names Workitem {uid} but the dataset carries SOP Instance UID {in_dataset}.")
        from pydicom.uid import generate_uid

        uid = str(uid or in_dataset or generate_uid())
        query = f"workitem={uid}" if self.profile.dcm4chee else uid
        self.call(
            f"create {uid}",
            lambda: self._send("POST", "/workitems", body=[dataset], query=query, expect=(201, 200)),
        )
        return Created(uid)

    def retrieve(self, uid: str) -> str:
        async def work() -> str:
            found = await self._datasets(await self._send("GET", f"/workitems/{uid}"))
            if not found:
                raise Refused(f"{self.name} answered no workitem {uid}.", "", 404, Status.NO_SUCH_UPS.text)
            return json.dumps(found[0], ensure_ascii=False)

        return self.call(f"retrieve {uid}", work)

    def update(self, uid: str, transaction_uid: str | None, changes: JsonDataset) -> Status:
        transaction = transaction_uid or first_value(changes, t.TRANSACTION_UID)
        self.call(
            f"update {uid}",
            lambda: self.backend.update_workitem(uid, str(transaction) if transaction else None, changes),
        )
        return Status.SUCCESS

    def change_state(
        self, uid: str, requested: str | None, transaction_uid: str | None, requester_ae: str | None = None
    ) -> Status:
        body: JsonDataset = {t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": [requested] if requested else []}}
        if transaction_uid:
            body[t.TRANSACTION_UID] = {"vr": "UI", "Value": [transaction_uid]}
        path = self._requester(f"/workitems/{uid}/state", requester_ae)
        response = self.call(f"change state of {uid} to {requested}", lambda: self._send("PUT", path, body=[body]))
        return _warning_status(response)

    def request_cancellation(self, uid: str, requester_ae: str | None, request: JsonDataset) -> Status:
        path = self._requester(f"/workitems/{uid}/cancelrequest", requester_ae)
        params = {"requester": requester_ae} if requester_ae and not self.profile.dcm4chee else None
        self.call(
            f"request cancellation of {uid}",
            lambda: self._send("POST", path, params=params, body=[request], expect=(202, 200)),
        )
        return Status.SUCCESS

    def search(self, request: SearchRequest) -> SearchResult:
        async def work() -> SearchResult:
            response = await self._send("GET", "/workitems", params=list(request.params), expect=(200, 204))
            found = await self._datasets(response)
            warnings, remaining = [], 0
            for value in response.headers.get_list("warning"):
                text = value.partition(": ")[2].strip().strip('"') or value
                more = _ADDITIONAL.search(text)
                if more:
                    remaining = int(more.group(1))  # the front says it again, in its own words
                else:
                    warnings.append(text)
            items = [json.dumps(ds, ensure_ascii=False) for ds in found]
            return SearchResult(items, remaining, tuple(warnings))

        return self.call("search", work)

    def search_all(self, request: SearchRequest) -> list[str]:
        """Every match, all attributes (the MWL fronts shape them as K.6-1), following the pages."""
        return list(self.search_stream(request))

    def search_stream(self, request: SearchRequest) -> Iterator[str]:
        """Every match, page by page: each page is given on as it arrives (the MWL C-FIND front
        sends its pending responses from it while the next page is asked for)."""
        params = [(k, v) for k, v in request.params if k not in ("offset", "limit", "includefield")]
        params.append(("includefield", "all"))
        offset = 0
        while offset < MAX_RESULTS:
            page_params = [*params, ("limit", str(self.page)), ("offset", str(offset))]

            async def page(page_params: list[tuple[str, str]] = page_params) -> tuple[list[str], bool]:
                response = await self.backend.send("GET", "/workitems", params=page_params, expect=(200, 204))
                found = [json.dumps(ds, ensure_ascii=False) for ds in await self._datasets(response)]
                return found, any(_ADDITIONAL.search(w) for w in response.headers.get_list("warning"))

            found, more = self.call(f"search (from {offset})", page)
            yield from found
            offset += len(found)
            if not found or not more:
                return

    # -- subscriptions and events ----------------------------------------------------------------
    def subscribe(
        self, aet: str, target: str, deletion_lock: bool = False, criteria: SubscriptionFilter | None = None
    ) -> Status:
        params = {"deletionlock": "true" if deletion_lock else "false"}
        if criteria is not None and criteria.terms:
            params["filter"] = criteria.text()
        response = self.call(
            f"subscribe {aet} to {target}",
            lambda: self._send("POST", f"/workitems/{target}/subscribers/{aet}", params=params, expect=(201, 200)),
        )
        self.relay.follow(aet, response.headers.get("content-location") or response.headers.get("location"))
        return _warning_status(response)

    def unsubscribe(self, aet: str, target: str) -> None:
        self.call(
            f"unsubscribe {aet} from {target}",
            lambda: self._send("DELETE", f"/workitems/{target}/subscribers/{aet}", expect=(200, 204)),
        )
        if target == t.GLOBAL_SUBSCRIPTION_UID:
            self.relay.drop(aet)  # a global unsubscribe ends every subscription of the AE (CC.2.3.2)

    def suspend(self, aet: str, target: str) -> None:
        self.call(
            f"suspend {aet} on {target}",
            lambda: self._send("POST", f"/workitems/{target}/subscribers/{aet}/suspend", expect=(200, 204)),
        )

    def connect(self, aet: str) -> NotificationChannel:
        self.relay.follow(aet, None)
        return self.hub.connect(aet)

    def divert(self, aets: Collection[str], deliver: Deliver) -> None:
        self.hub.divert(aets, deliver)

    def announce(self, status: str) -> int:
        """Our own comings and goings are not the upstream's: the relayed channels say those."""
        return 0

    def close(self) -> None:
        self.relay.stop()
        self.bridge.close(self.backend.close())


def make(
    spec: str, db_path: str | Store, trace: bool, access: UpstreamAccess | None = None
) -> tuple[UpsRsUpstream, UpstreamMpps]:
    """`upsrs:URL` or `upsrs+dcm4chee:URL`: the services of the SCP / User-Agent gateway."""
    kind, _, url = spec.partition(":")
    upstream = UpsRsUpstream(url, dcm4chee=kind.endswith("+dcm4chee"), access=access, trace=trace)
    return upstream, UpstreamMpps(upstream, MppsLinks(db_path))


def _warning_status(response: httpx.Response) -> Status:
    """An upstream success with a warning (already completed, deletion lock not granted …) as ours."""
    for value in response.headers.get_list("warning"):
        text = value.partition(": ")[2].strip().strip('"')
        status = _STATUS_OF_TEXT.get(text)
        if status is not None and status.is_warning:
            return status
    return Status.SUCCESS
