"""The DICOMweb MWL + MPPS backend (Supplement 246): the worklist from a Search on
/modality-scheduled-procedure-steps, a claim as an MPPS Create IN PROGRESS, reports as MPPS
Updates, over the same HTTP client as UPS-RS.

As a DIMSE modality does, the console copies what the MWL item gives into the MPPS, and the
MPPS SOP Instance UID is the claim's "transaction UID" that the local claim store keeps. There
are no notifications in this service: the console polls. Where the supplement left the form
open, both are accepted: 200 or 201 on Create, an object or a one-element array on Retrieve,
and `?update` first, `/update` when the server does not know the first form (404 or 405).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx
from pydicom import Dataset

from app.domain import mpps_build
from app.domain.build import NewWorkitem
from app.domain.dicomjson import DicomJsonError, JsonDataset, first_value, from_dataset, parse_datasets
from app.domain.mapping import MODALITY, SPS_START_DATE, SPS_STATION_AE, SPS_STATUS, UPS_TO_SPS_STATUS
from app.domain.procedure import PerformedProcedure
from app.domain.replacement import WRONG_ENTRY
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery

from .dicomweb import (
    MPPS,
    MWL_SEARCH,
    RESOURCES,
    DicomWebClient,
    offered_services,
    permission_check,
    refusal_detail,
    refusal_of_any_service,
    services_sentence,
    warning_text,
)
from .errors import AlreadyFinished, BackendError, Conflict, NotPermitted, Refused, Unreachable
from .profiles import Profile
from .protocol import Capabilities, ConnectionSink, EventSink, Observer, PeerCheck
from .scheduled_steps import ScheduledSteps

log = logging.getLogger(__name__)

MWL_PATH = RESOURCES[MWL_SEARCH]
MPPS_PATH = RESOURCES[MPPS]
PAGE = 500  # a limit on every Search: a server may refuse a large unpaged answer (413)
MAX_RESULTS = 20000  # what one search may hold: a server that offers more is refused in a sentence
FINAL = {"COMPLETED": "COMPLETED", "DISCONTINUED": "CANCELED"}


class Paging:
    """Where the next page of a Supplement 246 Search starts, and whether there is one. The
    supplement leaves the page size to the server and prescribes no Warning: DICOM-RST answers 200
    at a time whatever `limit` asks, warns of nothing and ends with `200 []`. So after every page
    that holds items the next is asked for, until one is empty or shorter than an earlier one; a 299
    "additional results" Warning only confirms. A server that ignores `offset` repeats its first
    page: that ends the search too. The console and the Sup 246 gateway both page so."""

    def __init__(self, host: str, bound: int | None = None) -> None:
        self.host = host
        self.bound = MAX_RESULTS if bound is None else bound
        self.offset = 0
        self.done = False
        self._largest = 0
        self._first: JsonDataset | None = None

    def take(self, found: list[JsonDataset], warned: bool) -> list[JsonDataset]:
        """The items of this page that belong to the answer; `done` says whether it was the last.
        Refused when the server has given `bound` items and would still give more."""
        if not found:
            self.done = True
            return []
        if self.offset and found[0] == self._first:
            log.warning(
                "The worklist server %s answered the same page again for offset %d: it does not page, "
                "its first %d items are taken as the whole answer",
                self.host,
                self.offset,
                self.offset,
            )
            self.done = True
            return []
        if self._first is None:
            self._first = found[0]
        self.offset += len(found)
        short = len(found) < self._largest
        self._largest = max(self._largest, len(found))
        self.done = short and not warned
        if not self.done and self.offset >= self.bound:
            raise Refused(
                f"The worklist server at {self.host} had {self.offset} procedure steps for this search and "
                "was still sending more: narrow the search (a station, a day), or ask its administrator "
                "whether it pages with offset.",
                f"Supplement 246 Search stopped at {self.offset} items (bound {self.bound})",
            )
        return found


def search_params(query: WorklistQuery) -> list[tuple[str, str]]:
    """The Table K.6-1 matching keys of a worklist query. Several states cannot be one key: every
    status is then asked for (the server would answer SCHEDULED steps only, and the console
    needs its own started ones too) and `accepts` filters."""
    sps = "00400100."
    params: list[tuple[str, str]] = []
    if query.station:
        params.append((sps + SPS_STATION_AE, query.station))
    if query.date_from or query.date_to:
        low = f"{query.date_from:%Y%m%d}" if query.date_from else ""
        high = f"{query.date_to:%Y%m%d}" if query.date_to else ""
        # whole days, as over DIMSE (`dimse.mwl_identifier`); `holds` narrows to the hours
        params.append((sps + SPS_START_DATE, low if low == high else f"{low}-{high}"))
    if query.modality:
        params.append((sps + MODALITY, query.modality))
    for keyword, value in (
        ("PatientName", query.patient_name),
        ("PatientID", query.patient_id),
        ("AccessionNumber", query.accession),
    ):
        if value:
            params.append((keyword, value))
    status = UPS_TO_SPS_STATUS.get(query.states[0].value, "*") if len(query.states) == 1 else "*"
    params.append((sps + SPS_STATUS, status))
    return params


class MppsRsBackend:
    def __init__(
        self,
        profile: Profile,
        observer: Observer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        calling_ae: bool = False,
    ) -> None:
        """`calling_ae`: name our AE title on every request (the console does; a gateway acts for others)."""
        self.profile = profile
        self.http = DicomWebClient(profile, observer, transport, calling_ae=calling_ae)
        self.host = self.http.host
        self.capabilities = Capabilities(
            live_events=False,
            cancel_request=False,
            put_back_replaces=False,
            notes=[
                "Live events are not available with DICOMweb MWL + MPPS: "
                f"the list refreshes every {profile.poll_seconds:.0f} s."
            ],
        )
        self.steps = ScheduledSteps(self.http.base)
        self._update_path = False  # the server knows only …/{uid}/update

    # -- sending -------------------------------------------------------------------------------
    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        body: list[JsonDataset] | None = None,
        query: str = "",
        expect: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        return await self.http.expect(self._refusal, method, path, params=params, body=body, query=query, expect=expect)

    def _refusal(self, response: httpx.Response) -> BackendError:
        status, reason, detail = response.status_code, warning_text(response), refusal_detail(response)
        common = refusal_of_any_service(response, self.host, detail, self.profile)
        if common is not None:
            return common
        if status in (404, 405) and not reason:
            return Refused(self._no_service(status), detail, status, reason)
        if status == 404:
            return Refused("The server has no record of this procedure step.", detail, status, reason)
        if status == 410:
            return Refused("This procedure was removed from the worklist.", detail, status, reason)
        if status == 409:
            if "no longer" in reason.lower():
                return AlreadyFinished("The performed procedure step was already finished.", detail, status, reason)
            return Conflict(_conflict_sentence(reason), detail, status, reason)
        return Refused(
            f"The worklist server refused the request: {reason or f'HTTP {status}'}.", detail, status, reason
        )

    def _no_service(self, status: int) -> str:
        base = urlsplit(self.http.base)
        server = base.netloc.rpartition("@")[2]  # a password in the URL stays out of the sentence
        return (
            f"The server at {server} has no DICOMweb worklist (Supplement 246) at "
            f"{base._replace(netloc=server).geturl()} (HTTP {status}): check the URL — it usually ends in /dicom-web."
        )

    # -- the worklist --------------------------------------------------------------------------
    async def search_page(
        self, params: list[tuple[str, str]], offset: int = 0, limit: int = PAGE
    ) -> tuple[list[JsonDataset], bool]:
        """One page of a Search with these matching keys: its MWL items, and whether a Warning says
        more follow (`Paging` decides; many servers never say). Any JSON media type is read:
        DICOM-RST labels its answer application/json."""
        page = [*params, ("limit", str(limit)), ("offset", str(offset))]
        response = await self._send("GET", MWL_PATH, params=page, expect=(200, 204))
        return self._datasets(response), "additional results" in warning_text(response)

    async def search(self, query: WorklistQuery) -> list[Workitem]:
        params = search_params(query)
        answers: list[JsonDataset] = []
        paging = Paging(self.host)
        try:
            while not paging.done:
                found, warned = await self.search_page(params, paging.offset)
                answers.extend(paging.take(found, warned))
        except Refused as exc:
            if exc.status in (404, 405) and not exc.reason:
                raise await self._without_search(exc) from None
            raise
        items = [self.steps.read(mwl) for mwl in answers]
        return [w for w in items if query.holds(w)]

    async def _without_search(self, exc: Refused) -> Refused:
        """The server has no Sup 246 search here: say what it does offer, if anything."""
        try:
            offered = await offered_services(self.http)
        except BackendError:
            return exc
        if not any(offered.values()):
            return exc
        hint = " Choose the UPS-RS backend for this server." if offered.get("UPS-RS") else ""
        return Refused(f"{services_sentence(self.host, offered)}{hint}", exc.detail, exc.status, exc.reason)

    @staticmethod
    def _datasets(response: httpx.Response) -> list[JsonDataset]:
        if response.status_code == 204 or not response.content.strip():
            return []
        try:
            return parse_datasets(response.content)  # an object or an array: the supplement shows both
        except DicomJsonError as exc:
            raise Refused(f"The worklist server sent an answer this console cannot read: {exc}", str(exc)) from None

    async def retrieve(self, uid: str) -> Workitem:
        return self.steps.retrieve(uid)

    # -- MPPS ----------------------------------------------------------------------------------
    async def create_mpps(self, mpps_uid: str, dataset: JsonDataset) -> None:
        """Create an MPPS made elsewhere (a gateway passing a modality's N-CREATE on), as it is."""
        await self._send("POST", f"{MPPS_PATH}/{mpps_uid}", body=[dataset], expect=(201, 200))

    async def update_mpps(self, mpps_uid: str, dataset: JsonDataset) -> None:
        """Update an MPPS with a dataset made elsewhere, in whichever of the two forms the server knows."""
        await self._update(mpps_uid, dataset)

    async def _update(self, mpps_uid: str, ds: Dataset | JsonDataset) -> None:
        body = [from_dataset(ds) if isinstance(ds, Dataset) else ds]
        first: Refused | None = None
        if not self._update_path:
            try:
                await self._send("POST", f"{MPPS_PATH}/{mpps_uid}", body=body, query="update", expect=(200, 204))
                return
            except Refused as exc:
                if exc.status not in (404, 405):
                    raise
                first = exc
        try:
            await self._send("POST", f"{MPPS_PATH}/{mpps_uid}/update", body=body, expect=(200, 204))
        except Refused as exc:
            if first is not None and exc.status in (404, 405) and not exc.reason:
                raise first from None  # neither form is known: the first answer says why
            raise
        self._update_path = True

    async def retrieve_mpps(self, mpps_uid: str) -> JsonDataset | None:
        """The MPPS as the server has it; None where the server does not offer Retrieve."""
        try:
            response = await self._send("GET", f"{MPPS_PATH}/{mpps_uid}")
        except Refused as exc:
            if exc.status == 405 or (exc.status == 404 and not exc.reason):
                return None
            raise
        found = self._datasets(response)
        return found[0] if found else None

    def claim_record(self, workitem: Workitem) -> dict:
        return self.steps.record(workitem)

    async def claim(self, uid: str, transaction_uid: str, record: dict | None = None) -> None:
        self.steps.restore(uid, record)
        mwl = self.steps.item(uid)
        if mwl is None:
            raise Unreachable(  # a claim kept from an older console, before a search listed the item: retried
                "The start waits until the worklist lists this procedure again.",
                f"{uid} not in the Search answers of this session",
            )
        ds = mpps_build.in_progress(
            mwl,
            transaction_uid,
            ae_title=self.profile.ae_title,
            station_name=self.profile.station_code,
            unscheduled=self.steps.unscheduled(uid),
        )
        try:
            await self._send("POST", f"{MPPS_PATH}/{transaction_uid}", body=[from_dataset(ds)], expect=(201, 200))
        except Conflict:
            # 409 is both "this UID is in use" and "the step is taken": our own Create, retried after
            # a lost answer, is there to Retrieve
            if await self._retrieve_quietly(transaction_uid) is None:
                raise
        self.steps.mark(uid, "IN PROGRESS")

    async def _retrieve_quietly(self, mpps_uid: str) -> JsonDataset | None:
        try:
            return await self.retrieve_mpps(mpps_uid)
        except BackendError:
            return None

    async def report_progress(self, uid: str, transaction_uid: str, percent: float | None, description: str) -> None:
        await self._update(transaction_uid, mpps_build.progress(percent, description))

    async def set_performed(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None:
        await self._update(transaction_uid, mpps_build.performed_set(performed))

    async def complete(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None:
        await self._finish(uid, transaction_uid, mpps_build.completed(performed), "COMPLETED")

    async def discontinue(self, uid: str, transaction_uid: str, reason: Code, text: str) -> None:
        await self._finish(uid, transaction_uid, mpps_build.discontinued(reason, text), "DISCONTINUED")

    async def put_back(self, uid: str, transaction_uid: str, replacement_uid: str, text: str) -> None:
        """DISCONTINUED as a wrong entry: the RIS keeps the order, and the worklist says what it
        made of the step."""
        await self._finish(uid, transaction_uid, mpps_build.discontinued(WRONG_ENTRY, text), "DISCONTINUED")
        self.steps.forget(uid)

    async def _finish(self, uid: str, transaction_uid: str, ds: Dataset, status: str) -> None:
        try:
            await self._update(transaction_uid, ds)
        except Conflict:
            # a retry of a final report whose answer was lost: done if the MPPS already says so
            mpps = await self._retrieve_quietly(transaction_uid)
            if mpps is None or first_value(mpps, "00400252") != status:
                raise
        self.steps.mark(uid, FINAL[status])

    async def request_cancellation(self, uid: str, reason: Code | None, text: str) -> None:
        raise Refused("Cancellation requests are not part of MWL + MPPS; ask the RIS to cancel the order.")

    async def create(self, item: NewWorkitem) -> Workitem:
        """An unscheduled procedure: known only here until its MPPS Create reports it."""
        return self.steps.create(item)

    async def watch(self, on_event: EventSink, on_connection: ConnectionSink) -> None:
        on_connection(False, self.capabilities.notes[0])

    async def follow(self, station: str) -> None:
        return None  # no events in this service: every refresh searches what is shown

    async def check_peers(self) -> list[PeerCheck]:
        try:
            response = await self._send("GET", MWL_PATH, params=[("limit", "1")], expect=(200, 204))
        except NotPermitted as exc:
            return [PeerCheck(False, permission_check(self.profile, self.host, exc))]
        except Refused as exc:
            if exc.status in (404, 405) and not exc.reason:
                return [PeerCheck(False, (await self._without_search(exc)).sentence)]
            return [PeerCheck(False, exc.sentence)]
        except BackendError as exc:
            return [PeerCheck(False, exc.sentence)]
        checks = [
            PeerCheck(
                True,
                f"The server at {self.host} answers worklist queries (Supplement 246 Search, "
                f"HTTP {response.status_code}).",
            )
        ]
        try:
            offered = await offered_services(self.http)
        except BackendError as exc:
            return [*checks, PeerCheck(False, exc.sentence)]
        if offered[MPPS]:
            checks.append(PeerCheck(True, f"The server at {self.host} accepts procedure step reports (MPPS)."))
        else:
            checks.append(PeerCheck(False, f"The server at {self.host} does not offer MPPS over DICOMweb."))
        checks.append(PeerCheck(True, services_sentence(self.host, offered)))
        return checks

    async def close(self) -> None:
        await self.http.close()


def _conflict_sentence(reason: str) -> str:
    said = reason.lower()
    if "in progress" in said or "started" in said:
        return "Another station already started this procedure."
    if "completed" in said:
        return "This procedure was already completed."
    if "discontinued" in said or "canceled" in said:
        return "This procedure was discontinued."
    return f"The worklist server did not accept this: {reason or 'the procedure changed meanwhile'}."
