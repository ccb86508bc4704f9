"""The UPS-RS backend: the WorklistBackend over httpx and websockets.

Works with our embedded server and with dcm4chee-arc, whose forms a profile switches on
(`dcm4chee`): requester AE in the state and cancel paths, `?workitem=` on create, 409 for
Transaction UID faults (treated like the standard's 400), WebSocket URL from the
Subscribe answer, and no SCHEDULED→COMPLETED in one call (never sent anyway).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import websockets

from app.domain import tags as t
from app.domain.build import STATION_SCHEME, NewWorkitem
from app.domain.dicomjson import DicomJsonError, JsonDataset, parse_datasets
from app.domain.events import parse_event
from app.domain.identifiers import CALLING_AE_HEADER, probe_uid
from app.domain.procedure import PerformedProcedure, discontinuation_json, progress_json, reason_attributes
from app.domain.replacement import WRONG_ENTRY, replacement
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery

from .dicomweb import (
    DicomWebClient,
    offered_services,
    permission_check,
    refusal_detail,
    refusal_of_any_service,
    services_sentence,
    tls_context,
    warning_text,
)
from .errors import BackendError, Conflict, NotPermitted, Refused, Unreachable
from .profiles import Profile
from .protocol import Capabilities, ConnectionSink, EventSink, Observer, PeerCheck

log = logging.getLogger(__name__)

MAX_RESULTS = 20000  # the console's own cap when following `offset`
# Pauses between attempts to reopen the event channel. Capped at 5 s: a server back after an
# outage is live again within 5 s (the window raises its outage banner after 10 s away, and a
# 10 s pause left that banner up for 10 s after the server was back); an attempt costs one request.
BACKOFF = (0.5, 1.0, 2.0, 3.0, 5.0)


def _state_body(state: str, transaction_uid: str) -> list[JsonDataset]:
    return [
        {
            t.TRANSACTION_UID: {"vr": "UI", "Value": [transaction_uid]},
            t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": [state]},
        }
    ]


class UpsRsBackend:
    capabilities = Capabilities(live_events=True)

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
        self.observer = observer
        self.calling_ae = calling_ae
        self.followed = profile.station_code  # whose worklist events are asked for ("": every station's)
        self._connected = False
        self._global = False
        self.http = DicomWebClient(profile, observer, transport, calling_ae=calling_ae)
        self.base = self.http.base
        self.host = self.http.host

    @property
    def client(self) -> httpx.AsyncClient:
        return self.http.client

    def handshake_headers(self) -> dict[str, str] | None:
        """The headers a WebSocket handshake needs: the same credentials, and the same AE title, as
        every HTTP request."""
        headers = {CALLING_AE_HEADER: self.profile.ae_title} if self.calling_ae and self.profile.ae_title else {}
        if self.profile.auth == "bearer":
            headers["Authorization"] = f"Bearer {self.profile.token}"
        elif self.profile.auth == "basic":
            pair = f"{self.profile.username}:{self.profile.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers or None

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What a wss:// connection trusts: the profile's CA file, else the system store (False: no checks)."""
        return tls_context(self.profile)

    def _observe(
        self, direction: str, summary: str, headers: httpx.Headers | None = None, body: bytes | str = b""
    ) -> None:
        self.http.observe(direction, summary, headers, body)

    # -- sending -----------------------------------------------------------------------------
    async def send(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | dict[str, str] | None = None,
        body: list[JsonDataset] | None = None,
        query: str = "",
        expect: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """One request under the base URL: the answer when its status is one of `expect`, else the
        BackendError that says what the refusal means (Refused, Conflict, ServerFault; Unreachable
        or TimedOut when nothing came back)."""
        return await self.http.expect(self._refusal, method, path, params=params, body=body, query=query, expect=expect)

    def _refusal(self, response: httpx.Response) -> BackendError:
        status, reason, detail = response.status_code, warning_text(response), refusal_detail(response)
        common = refusal_of_any_service(response, self.host, detail, self.profile)
        if common is not None:
            return common
        if status == 404:
            # A UPS-RS service says why it has no such workitem (a Warning); a 404 on the collection
            # itself, or one without a Warning, comes from something at that URL that is not the service.
            base = urlsplit(self.base)
            collection = response.request.url.path.rstrip("/") == base.path.rstrip("/") + "/workitems"
            if reason and not collection:
                return Refused("This procedure is no longer on the worklist.", detail, status, reason)
            server = base.netloc.rpartition("@")[2]  # a password in the URL stays out of the sentence
            usual = "/aets/AET/rs" if self.profile.dcm4chee else "/dicom-web"
            return Refused(
                f"The server at {server} has no UPS-RS service at {base._replace(netloc=server).geturl()} "
                f"(HTTP {status}): check the URL — it usually ends in {usual}.",
                detail,
                status,
                reason,
            )
        if status == 410:
            return Refused("This procedure was removed from the worklist.", detail, status, reason)
        if status == 409 or "Transaction UID" in reason:
            return Conflict(
                f"The worklist server did not accept this: {reason or 'the procedure changed meanwhile'}.",
                detail,
                status,
                reason,
            )
        return Refused(
            f"The worklist server refused the request: {reason or f'HTTP {status}'}.", detail, status, reason
        )

    async def _workitems(self, response: httpx.Response) -> list[Workitem]:
        if response.status_code == 204 or not response.content.strip():
            return []
        try:
            if len(response.content) > 65536:  # a big page is parsed off the event loop: the UI must not stall
                datasets = await asyncio.to_thread(parse_datasets, response.content)
            else:
                datasets = parse_datasets(response.content)
        except DicomJsonError as exc:
            raise Refused(f"The worklist server sent an answer this console cannot read: {exc}", str(exc)) from None
        return [Workitem(ds) for ds in datasets]

    # -- the worklist --------------------------------------------------------------------------
    async def search(self, query: WorklistQuery) -> list[Workitem]:
        params = query.search_params()
        found: list[Workitem] = []
        while len(found) < MAX_RESULTS:
            response = await self.send(
                "GET", "/workitems", params=params + [("offset", str(len(found)))], expect=(200, 204)
            )
            page = await self._workitems(response)
            found.extend(page)
            if not page or "additional results" not in warning_text(response):
                break
        return [w for w in found if query.accepts(w)]

    async def retrieve(self, uid: str) -> Workitem:
        items = await self._workitems(await self.send("GET", f"/workitems/{uid}"))
        if not items:
            raise Refused("This procedure is no longer on the worklist.")
        return items[0]

    def _requester(self, path: str) -> str:
        return f"{path}/{self.profile.ae_title}" if self.profile.dcm4chee else path

    async def _change_state(self, uid: str, state: str, transaction_uid: str) -> None:
        await self.send("PUT", self._requester(f"/workitems/{uid}/state"), body=_state_body(state, transaction_uid))

    async def update_workitem(self, uid: str, transaction_uid: str | None, attrs: JsonDataset) -> None:
        """Update (PS3.18 11.6) with these attributes, under the Transaction UID that holds the claim."""
        body = dict(attrs)
        if transaction_uid:
            body[t.TRANSACTION_UID] = {"vr": "UI", "Value": [transaction_uid]}
        await self.send("POST", f"/workitems/{uid}", body=[body], query=transaction_uid or "")

    def claim_record(self, workitem: Workitem) -> dict:
        return {}  # the server holds the workitem: the Transaction UID is all a claim needs

    async def claim(self, uid: str, transaction_uid: str, record: dict | None = None) -> None:
        """Claim, then record where and when it started, so other consoles can say who has it."""
        try:
            await self._change_state(uid, "IN PROGRESS", transaction_uid)
        except Conflict as exc:
            if not await self.owns(uid, transaction_uid):
                raise await self._claim_conflict(uid, exc) from None
            return  # a retry of our own claim whose answer was lost
        # the performed station is this device (our AE title), which may serve another's schedule
        started = PerformedProcedure(
            Code(self.profile.ae_title, STATION_SCHEME, self.profile.ae_title),
            start=datetime.now().strftime("%Y%m%d%H%M%S"),
        )
        await self.update_workitem(uid, transaction_uid, started.to_json())

    async def owns(self, uid: str, transaction_uid: str) -> bool:
        """Is `transaction_uid` the claim on `uid`? An empty Update succeeds only for its owner."""
        try:
            await self.update_workitem(uid, transaction_uid, {})
        except BackendError:
            return False
        return True

    async def _claim_conflict(self, uid: str, exc: Conflict) -> Conflict:
        try:
            item = await self.retrieve(uid)
        except BackendError:
            return exc
        state = item.state.value if item.state else ""
        if state == "IN PROGRESS":
            performed = item.performed
            who = performed.station.value if performed and performed.station else "another station"
            sentence = (
                f"Another station ({who}) already started this procedure."
                if performed and performed.station
                else "Another station already started this procedure."
            )
        elif state == "COMPLETED":
            sentence = "This procedure was already completed."
        elif state == "CANCELED":
            sentence = "This procedure was canceled."
        else:
            return exc
        return Conflict(sentence, exc.detail, exc.status, exc.reason)

    async def report_progress(self, uid: str, transaction_uid: str, percent: float | None, description: str) -> None:
        await self.update_workitem(uid, transaction_uid, progress_json(percent, description))

    async def set_performed(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None:
        await self.update_workitem(uid, transaction_uid, performed.to_json())

    async def complete(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None:
        await self.finish(uid, transaction_uid, performed.to_json(), "COMPLETED")

    async def discontinue(self, uid: str, transaction_uid: str, reason: Code, text: str) -> None:
        await self.finish(uid, transaction_uid, discontinuation_json(reason, text), "CANCELED")

    async def finish(self, uid: str, transaction_uid: str, attrs: JsonDataset, state: str) -> None:
        """The final report: update with `attrs`, then change state to COMPLETED or CANCELED. On a
        retry the item may already be final, so the update is refused; the state change then says
        whether it was ours (200 + B304/B306) or not."""
        try:
            await self.update_workitem(uid, transaction_uid, attrs)
        except Refused as exc:
            try:
                await self._change_state(uid, state, transaction_uid)
            except BackendError:
                raise exc from None
            return
        await self._change_state(uid, state, transaction_uid)

    async def put_back(self, uid: str, transaction_uid: str, replacement_uid: str, text: str) -> None:
        """CANCELED as a wrong entry, then the replacement created SCHEDULED. A retry finds the
        cancel already done (B304) and the replacement already there, by its UID fixed when the
        put-back was saved."""
        await self.finish(uid, transaction_uid, discontinuation_json(WRONG_ENTRY, text), "CANCELED")
        await self.schedule_replacement(uid, replacement_uid)

    async def schedule_replacement(self, uid: str, replacement_uid: str) -> None:
        """A new SCHEDULED step in place of the CANCELED `uid`, naming it, made from what Retrieve
        shows of it (the server adds what it keeps beyond that); one already made under
        `replacement_uid` (our own Create, whose answer was lost) is taken as done."""
        old = await self.retrieve(uid)
        query = f"workitem={replacement_uid}" if self.profile.dcm4chee else replacement_uid
        try:
            await self.send(
                "POST", "/workitems", body=[replacement(old.json, replacement_uid)], query=query, expect=(201, 200)
            )
        except Conflict as exc:
            try:
                await self.retrieve(replacement_uid)
            except BackendError:
                raise exc from None

    async def request_cancellation(self, uid: str, reason: Code | None, text: str) -> None:
        attrs = reason_attributes(reason, text, contact_name=self.profile.ae_title)
        await self.send("POST", self._requester(f"/workitems/{uid}/cancelrequest"), body=[attrs], expect=(202, 200))

    async def create(self, item: NewWorkitem) -> Workitem:
        query = f"workitem={item.uid}" if self.profile.dcm4chee else item.uid
        await self.send("POST", "/workitems", body=[item.to_json()], query=query, expect=(201, 200))
        return await self.retrieve(item.uid)

    async def check_peers(self) -> list[PeerCheck]:
        try:
            response = await self.send("GET", "/workitems", params={"limit": "1"}, expect=(200, 204))
            await self._may_subscribe()
        except NotPermitted as exc:
            return [PeerCheck(False, permission_check(self.profile, self.host, exc))]
        except BackendError as exc:
            return [PeerCheck(False, exc.sentence)]
        checks = [
            PeerCheck(True, f"The UPS-RS server at {self.host} answers worklist queries (HTTP {response.status_code}).")
        ]
        try:  # the same base may offer the Supplement 246 services too: say so, for the mpps-rs backend
            return [*checks, PeerCheck(True, services_sentence(self.host, await offered_services(self.http)))]
        except BackendError as exc:
            log.info("Which DICOMweb services %s offers is unknown: %s", self.host, exc.detail or exc.sentence)
            return checks

    async def _may_subscribe(self) -> None:
        """Raises NotPermitted when the server does not let us act as our AE title. The probe
        subscribes our AE title to a workitem nobody made: a server that allows it answers 404
        (no such workitem), one that does not answers 403 — and no subscription of a console
        running as this AE title is touched, as a global Subscribe/Unsubscribe would."""
        path = f"/workitems/{probe_uid()}/subscribers/{self.profile.ae_title}"
        response = await self.http.request("POST", path, params={"deletionlock": "false"})
        if response.status_code == 403:
            raise self._refusal(response)
        if response.status_code in (200, 201):  # a server that keeps subscriptions to unknown workitems
            await self.http.request("DELETE", path)

    # -- events ----------------------------------------------------------------------------------
    async def _subscribe(self) -> str:
        """Subscribe for the station followed (filtered where the server can; every station
        when none is followed) and return the channel URL."""
        aet = self.profile.ae_title
        station = self.followed
        if station:
            if self._global:  # a global unsubscribe ends every subscription of the AE (CC.2.3.2)
                await self.send(
                    "DELETE", f"/workitems/{t.GLOBAL_SUBSCRIPTION_UID}/subscribers/{aet}", expect=(200, 204, 404, 409)
                )
                self._global = False
            try:
                response = await self.send(
                    "POST",
                    f"/workitems/{t.FILTERED_SUBSCRIPTION_UID}/subscribers/{aet}",
                    params={"deletionlock": "false", "filter": f"ScheduledStationNameCodeSequence.CodeValue={station}"},
                    expect=(201, 200),
                )
                return self._channel(response)
            except NotPermitted:
                raise
            except Refused:
                pass  # no filtered subscriptions here: every station's events, filtered by the console
        response = await self.send(
            "POST",
            f"/workitems/{t.GLOBAL_SUBSCRIPTION_UID}/subscribers/{aet}",
            params={"deletionlock": "false"},
            expect=(201, 200),
        )
        self._global = True
        return self._channel(response)

    def _channel(self, response: httpx.Response) -> str:
        url = response.headers.get("content-location") or response.headers.get("location")
        if not url:
            scheme = "wss" if self.base.startswith("https") else "ws"
            url = f"{scheme}{self.base[self.base.index(':') :]}/ws/subscribers/{self.profile.ae_title}"
        return url

    async def follow(self, station: str) -> None:
        """Live events for this station's worklist ('' for every station's), so that what the
        console shows stays live whatever it is asked to show. Raises BackendError."""
        if station == self.followed:
            return
        self.followed = station
        if self._connected:
            await self._subscribe()

    async def watch(self, on_event: EventSink, on_connection: ConnectionSink) -> None:
        """Keep a notification channel open until cancelled, reconnecting with backoff."""
        attempt = 0
        while True:
            try:
                url = await self._subscribe()
                headers = self.handshake_headers()
                ssl_context = self.ssl_context() if url.startswith("wss") else None
                async with websockets.connect(
                    url, additional_headers=headers, ssl=ssl_context or None, open_timeout=self.profile.timeout
                ) as socket:
                    attempt = 0
                    self._connected = True
                    on_connection(True, f"Live events from {self.host}.")
                    async for message in socket:
                        self._observe("⇐", f"event on {url}", None, message if isinstance(message, str) else b"")
                        try:
                            on_event(parse_event(json.loads(message)))
                        except (ValueError, TypeError) as exc:
                            log.warning("Ignored an unreadable event report: %s", exc)
                raise Unreachable(f"The event channel to {self.host} closed.")
            except (asyncio.CancelledError, NotPermitted):
                self._connected = False
                raise  # a refusal of who we are is not an outage: reconnecting would not mend it
            except (TimeoutError, BackendError, OSError, websockets.WebSocketException) as exc:
                self._connected = False
                delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                attempt += 1
                sentence = exc.sentence if isinstance(exc, BackendError) else f"Lost live events from {self.host}."
                log.info("Event channel down (%s); retrying in %.1f s", exc, delay)
                on_connection(False, sentence)
                await asyncio.sleep(delay)

    async def close(self) -> None:
        await self.http.close()
