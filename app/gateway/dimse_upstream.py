"""The Origin-Server / SCU gateway: UPS-RS and Supplement 246 clients in front, a RIS that speaks
only DIMSE (an MWL SCP, an MPPS SCP) behind (sup246.md §3, WG27 diagrams 21–23).

- Search: an MWL C-FIND narrowed by the UPS keys it can carry, each step shown as a workitem
  whose UID is stable for that step (`mwl_to_ups`); what C-FIND cannot say is matched here.
- Claim (IN PROGRESS): an MPPS N-CREATE filled from the MWL item, as a modality would send it;
  the gateway keeps the client's Transaction UID. Update: N-SET of progress and performed data.
  COMPLETED / CANCELED: N-SET COMPLETED / DISCONTINUED with the reason.
- Events: the MWL SCP sends none, so the gateway polls it and reports what changed; its own
  claims and completions are reported at once.
- Several nodes: given a PostgreSQL database (a `PgStore`) in place of an SQLite file, the
  gateway's tables are shared by the nodes, a claim of a step has one winner across them
  (`GatewayState.holding`), one node polls the RIS, and events reach every node (pg_events.py).

The upstream clients are the console's DIMSE backend, run on the gateway's loop thread
(`Bridge`); its failures come back as `UpstreamError` naming the RIS.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Collection, Coroutine
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

from pydicom.uid import generate_uid

from app.backends.dimse import DimseBackend
from app.backends.errors import BackendError, Refused, TimedOut, Unreachable
from app.backends.profiles import Profile
from app.domain import events as ev
from app.domain import tags as t
from app.domain.dicomjson import JsonDataset, first_value
from app.domain.mapping import sps_id, ups_to_mwl
from app.domain.requirements import check_set, complete_cancellation, prepare_create
from app.domain.search import SearchRequest, SubscriptionFilter
from app.domain.states import State, change_state, check_update_allowed, parse_state, request_cancellation
from app.domain.status import InvalidRequest, Status, UPSError
from app.domain.transitions import Event, check_completable, created_events, entered, updated, updated_events
from app.domain.workitem import Workitem
from app.domain.worklist_query import WorklistQuery
from app.server.notifications import Channel, EventHub
from app.server.service_api import Created, Deliver, SearchResult, UpstreamError
from app.server.store import Store

from .access import UpstreamAccess
from .bridge import Bridge, trace_exchange
from .dimse_mapping import discontinuation_of, left_to_match, performed_of, progress_of, tells_mpps, worklist_query
from .dimse_mpps import DimseMpps, peer_comment
from .dimse_polling import WorklistPolling
from .dimse_pool import AssociationPool
from .dimse_spec import CA_HINT, parse_spec
from .dimse_state import GatewayState, Step
from .dimse_subscriptions import Subscribers

if TYPE_CHECKING:
    from app.server.pg_events import SharedEvents

log = logging.getLogger(__name__)
T = TypeVar("T")

# A long-lived search client logs an unknown SPS status once; renewed so its memory stays bounded.
SEARCH_CLIENT_SECONDS = 3600.0
MAX_SEEN = 50_000


class DimseUpstream(WorklistPolling):
    """A `WorkitemService` over an MWL SCP and an MPPS SCP."""

    serves_ups_rs = True

    def __init__(
        self,
        profile: Profile,
        db_path: str | Store,
        *,
        trace: bool = False,
        hub: EventHub | None = None,
        clock: Any = time.time,
        max_results: int = 1000,
    ) -> None:
        self.profile = profile
        self.trace = trace
        self.clock = clock
        self.max_results = max_results
        self.upstream = f"the worklist server {profile.mwl_aet} at {profile.mwl_host}:{profile.mwl_port}"
        mpps = profile.mpps_peer
        self.mpps_upstream = f"the MPPS server {mpps[2]} at {mpps[0]}:{mpps[1]}"
        self._local = datetime.now().astimezone().tzinfo or datetime.now().tzinfo
        self.state = GatewayState(db_path)
        self.hub = hub or EventHub()
        self.shared: SharedEvents | None = None
        if isinstance(db_path, Store):  # several nodes: events reach the subscribers of each
            from app.server.pg_events import SharedEvents
            from app.server.pg_store import PgStore

            assert isinstance(db_path, PgStore)
            self.shared = SharedEvents(db_path, self.hub, clock)
        self.subscribers = Subscribers(self.state, self.hub, self.local, self.shared)
        # the answers the association itself may take, then a margin: a hung peer never holds a caller
        self.bridge = Bridge("dimse-gateway", self.upstream, 2 * profile.timeout + profile.dimse_timeout + 5)
        self._seen: dict[str, tuple[JsonDataset, JsonDataset]] = {}  # UID -> (MWL item, workitem view)
        self._seen_lock = threading.Lock()
        self._polls = threading.Lock()
        self._polling_here = False
        self.associations = AssociationPool()  # kept open between calls: a search is one C-FIND
        self._searcher: DimseBackend | None = None
        self._searcher_since = 0.0
        self._stop = threading.Event()
        self._failing = False
        self._poller = threading.Thread(target=self._poll_loop, name="dimse-gateway poll", daemon=True)
        self._poller.start()

    # -- the service's frame ---------------------------------------------------------------------
    @property
    def local(self) -> tzinfo:
        return self._local  # type: ignore[return-value]

    def now_dt(self) -> str:
        return datetime.fromtimestamp(self.clock(), self.local).strftime("%Y%m%d%H%M%S")

    @property
    def database(self) -> Store | None:
        """The PostgreSQL database the gateway's nodes share (None with an SQLite file)."""
        return self.state.store

    def close(self) -> None:
        self._stop.set()
        self._poller.join(5)
        self.bridge.close()
        self.associations.close()
        if self.shared is not None:
            self.shared.close()
        self.state.close()

    def _holding(self, uid: str) -> AbstractContextManager[None]:
        """One change of a step at a time, on any node: two claims of one step must not both reach the RIS."""
        return self.state.holding(uid)

    # -- the upstream --------------------------------------------------------------------------
    def _backend(self, station: str = "") -> DimseBackend:
        profile = replace(self.profile, station=station[:16]) if station else self.profile
        return DimseBackend(profile, trace_exchange if self.trace else None, self.associations, ca_hint=CA_HINT)

    def _reporter(self, step: Step) -> DimseBackend:
        """The MPPS client of a claimed step's N-SETs, knowing its worklist item: they declare its
        character set where it carries their text, as the N-CREATE did."""
        backend = self._backend()
        backend.steps.restore(step.uid, {"mwl": step.mwl, "unscheduled": step.unscheduled})
        return backend

    def _call(self, coroutine: Coroutine[Any, Any, T], what: str, upstream: str) -> T:
        try:
            return self.bridge.run(coroutine, what)
        except BackendError as exc:
            raise _failure(exc, upstream) from None

    def run(self, coroutine: Coroutine[Any, Any, T], what: str) -> T:
        """An upstream call with the gateway's deadline; its failure as the backend's BackendError."""
        return self.bridge.run(coroutine, what)

    def mpps_client(self) -> DimseBackend:
        return self._backend()

    def _find(self, query: WorklistQuery) -> list[tuple[str, JsonDataset, JsonDataset]]:
        now = time.monotonic()
        if self._searcher is None or now - self._searcher_since > SEARCH_CLIENT_SECONDS:
            self._searcher, self._searcher_since = self._backend(), now
        backend = self._searcher

        async def find() -> list[tuple[str, JsonDataset, JsonDataset]]:
            found = await backend.search(query)
            return [(w.uid, backend.claim_record(w).get("mwl") or {}, w.json) for w in found]

        answers = self._call(find(), "MWL C-FIND", self.upstream)
        with self._seen_lock:
            if len(self._seen) > MAX_SEEN:
                self._seen.clear()
            self._seen.update({uid: (mwl, view) for uid, mwl, view in answers})
        return answers

    # -- what the gateway knows of a step ----------------------------------------------------------
    def _view(self, uid: str, view: JsonDataset) -> JsonDataset:
        step = self.state.step(uid)
        return step.dataset if step is not None else view

    def _known(self) -> dict[str, JsonDataset]:
        """Every workitem the gateway knows now: the last answers, and the steps it holds."""
        with self._seen_lock:
            known = {uid: view for uid, (_, view) in self._seen.items()}
        known.update({step.uid: step.dataset for step in self.state.steps()})
        return known

    def _step(self, uid: str) -> Step:
        """The step as the gateway holds it, else as the RIS lists it (a fresh C-FIND if need be)."""
        step = self.state.step(uid)
        if step is not None:
            return step
        with self._seen_lock:
            seen = self._seen.get(uid)
        if seen is None:
            self._find(WorklistQuery(states=()))
            with self._seen_lock:
                seen = self._seen.get(uid)
        if seen is None:
            raise UPSError(
                Status.NO_SUCH_UPS,
                f"There is no Workitem {uid} on {self.upstream}.",
                short="There is no such workitem on the RIS.",
            )
        mwl, view = seen
        return Step(uid, mwl, view, str(first_value(view, t.PROCEDURE_STEP_STATE) or "SCHEDULED"))

    def _remember(self, step: Step, before: JsonDataset | None) -> None:
        step.changed_at = self.clock()
        self.state.save(step)  # and into the poll's baseline: it must not report again what is said now

    # -- create, retrieve, update --------------------------------------------------------------
    def create(self, dataset: JsonDataset, uid: str | None = None) -> Created:
        """A procedure the RIS did not schedule: kept here until its MPPS N-CREATE reports it."""
        in_dataset = first_value(dataset, t.SOP_INSTANCE_UID)
        if uid and in_dataset and uid != in_dataset:
            raise InvalidRequest(f"The URL names Workitem {uid} but the dataset carries SOP Instance UID {in_dataset}.")
        uid = str(uid or in_dataset or generate_uid())
        prepared = prepare_create(dataset, uid, self.now_dt())
        with self._holding(uid):
            if self.state.step(uid) is not None:
                raise UPSError(
                    Status.DUPLICATE_INSTANCE,
                    f"A Workitem with UID {uid} already exists.",
                    short="A workitem with this UID already exists.",
                )
            step = Step(uid, ups_to_mwl(prepared.dataset), prepared.dataset, State.SCHEDULED.value, unscheduled=True)
            self._remember(step, None)
            self._tell(uid, created_events(step.dataset), step.dataset)
        return Created(uid, Status.CREATED_WITH_MODIFICATIONS if prepared.modified else Status.SUCCESS)

    def retrieve(self, uid: str) -> str:
        return json.dumps(self._step(uid).dataset, ensure_ascii=False, separators=(",", ":"))

    def update(self, uid: str, transaction_uid: str | None, changes: JsonDataset) -> Status:
        transaction_uid = transaction_uid or first_value(changes, t.TRANSACTION_UID)
        changes = check_set(changes)
        with self._holding(uid):
            step = self._step(uid)
            check_update_allowed(State(step.state), transaction_uid, step.transaction_uid)
            if step.state == State.SCHEDULED.value:
                raise UPSError(
                    Status.NOT_IN_PROGRESS,
                    f"{self.upstream} schedules its own steps: a step can be changed through the gateway "
                    "only once it is IN PROGRESS.",
                    short="The RIS schedules it: change it once it is IN PROGRESS.",
                )
            before = step.dataset
            after = updated(before, changes, self.now_dt())
            progress_changed = ev.progress_fingerprint(before) != ev.progress_fingerprint(after)
            mpps_uid = step.mpps_uid or ""
            if progress_changed:
                percent, description = progress_of(after)
                if percent is not None or description:
                    self._call(
                        self._reporter(step).report_progress(uid, mpps_uid, percent, description),
                        "MPPS N-SET (progress)",
                        self.mpps_upstream,
                    )
            if t.PERFORMED_PROCEDURE_SEQ in changes and changes[t.PERFORMED_PROCEDURE_SEQ] != before.get(
                t.PERFORMED_PROCEDURE_SEQ
            ):
                performed = performed_of(after, step.performer_ae or "", self.now_dt())
                if tells_mpps(performed):
                    self._call(
                        self._reporter(step).set_performed(uid, mpps_uid, performed),
                        "MPPS N-SET (performed data)",
                        self.mpps_upstream,
                    )
            step.dataset = after
            self._remember(step, before)
            self._tell(uid, updated_events(before, after), after, before)
        return Status.SUCCESS

    def _tell(self, uid: str, events: list[Event], dataset: JsonDataset, before: JsonDataset | None = None) -> None:
        if events:
            aets = self.subscribers.recipients(uid, dataset, before)
            for kind, attrs in events:
                self.subscribers.post(uid, kind, attrs, aets)

    # -- state -----------------------------------------------------------------------------------
    def change_state(
        self, uid: str, requested: str | None, transaction_uid: str | None, requester_ae: str | None = None
    ) -> Status:
        target = parse_state(requested)
        with self._holding(uid):
            step = self._step(uid)
            transition = change_state(State(step.state), target, transaction_uid, step.transaction_uid)
            new = transition.new_state
            if new is None:
                return transition.status
            before = step.dataset
            dataset = dict(before)
            if new is State.IN_PROGRESS:
                self._claim(step, str(transaction_uid), requester_ae)
            elif new is State.COMPLETED:
                check_completable(dataset)  # before the RIS hears of it
                performed = performed_of(dataset, step.performer_ae or "", self.now_dt())
                self._call(
                    self._reporter(step).complete(uid, step.mpps_uid or "", performed),
                    "MPPS N-SET COMPLETED",
                    self.mpps_upstream,
                )
            else:
                reason, text = discontinuation_of(dataset)
                self._call(
                    self._reporter(step).discontinue(uid, step.mpps_uid or "", reason, text),
                    "MPPS N-SET DISCONTINUED",
                    self.mpps_upstream,
                )
            dataset = entered(dataset, new, self.now_dt())
            step.dataset, step.state = dataset, new.value
            self._remember(step, before)
            self.subscribers.report_state(uid, dataset, before)
        return Status.SUCCESS

    def _claim(self, step: Step, transaction_uid: str, requester_ae: str | None) -> None:
        # the MPPS UID follows from the claim: a claim retried after a lost answer sends the same
        # N-CREATE again, which the MPPS SCP answers as a duplicate the client takes for success
        mpps_uid = generate_uid(entropy_srcs=["dimse-gateway-mpps", step.uid, transaction_uid])
        # the requester when it named itself, else the station the step was scheduled for
        scheduled = Workitem(step.dataset).station_names
        station = requester_ae or (scheduled[0].value if scheduled else "") or self.profile.ae_title
        record = {"mwl": step.mwl, "unscheduled": step.unscheduled}
        self._call(
            self._backend(station).claim(step.uid, mpps_uid, record), "MPPS N-CREATE IN PROGRESS", self.mpps_upstream
        )
        step.transaction_uid, step.mpps_uid, step.performer_ae = transaction_uid, mpps_uid, requester_ae

    def step_named(self, scheduled_id: str) -> tuple[str, JsonDataset] | None:
        """The workitem UID and MWL item of the step that the gateway's own MWL answers (shaped from
        its workitems) call `scheduled_id`: they name each step by an ID made from its workitem UID."""
        with self._seen_lock:
            candidates = {uid: mwl for uid, (mwl, _) in self._seen.items()}
        candidates.update({step.uid: step.mwl for step in self.state.steps()})
        return next(((uid, mwl) for uid, mwl in candidates.items() if sps_id(uid) == scheduled_id), None)

    def performed_elsewhere(self, uid: str, state: str, mpps_uid: str, performer_ae: str | None) -> None:
        """A step that an MPPS client (not a UPS-RS claim) started or finished through the gateway:
        UPS-RS clients see it so, read-only, since no Transaction UID of theirs holds it."""
        with self._holding(uid):
            try:
                step = self._step(uid)
            except UPSError:
                return  # not a step of the worklist the gateway reads: nobody follows it here
            if State(step.state).is_final:
                return
            before = step.dataset
            dataset = dict(before)
            if state == State.CANCELED.value:
                dataset = complete_cancellation(dataset, self.now_dt())
            dataset[t.PROCEDURE_STEP_STATE] = {"vr": "CS", "Value": [state]}
            step.dataset, step.state, step.mpps_uid = dataset, state, mpps_uid
            step.performer_ae = performer_ae or step.performer_ae
            self._remember(step, before)
            self.subscribers.report_state(uid, dataset, before)

    def request_cancellation(self, uid: str, requester_ae: str | None, request: JsonDataset) -> Status:
        step = self._step(uid)
        outcome = request_cancellation(State(step.state))
        if outcome.status is not Status.SUCCESS:
            return outcome.status
        if outcome.cancel_now:
            raise UPSError(
                Status.PERFORMER_REFUSES_CANCEL,
                f"{self.upstream} cancels its own orders: ask the RIS to cancel this step.",
                short="The RIS cancels its own orders: ask the RIS to cancel it.",
            )
        aets = self.subscribers.recipients(uid, step.dataset)
        self.subscribers.post(
            uid, ev.EventType.CANCEL_REQUESTED, ev.cancel_requested(requester_ae or "UNKNOWN", request), aets
        )
        return Status.SUCCESS

    # -- search --------------------------------------------------------------------------------
    def _matching(self, request: SearchRequest) -> list[JsonDataset]:
        answers = self._find(worklist_query(request.query))
        held = {step.uid: step for step in self.state.steps()}
        rest = left_to_match(request.query)
        found = [held[uid].dataset if uid in held else view for uid, _, view in answers]
        listed = {uid for uid, _, _ in answers}
        matched = [item for item in found if rest.matches(item, self.local)]
        # steps the RIS no longer lists (many drop a step once its MPPS is IN PROGRESS) stay visible
        unlisted = [step.dataset for uid, step in held.items() if uid not in listed]
        return matched + [item for item in unlisted if request.query.matches(item, self.local)]

    def search(self, request: SearchRequest) -> SearchResult:
        limit = self.max_results if request.limit is None else min(request.limit, self.max_results)
        matched = self._matching(request)
        page = matched[request.offset : request.offset + limit]
        remaining = max(0, len(matched) - request.offset - len(page))
        return SearchResult([_text(item) for item in page], remaining, request.warnings)

    def search_all(self, request: SearchRequest) -> list[str]:
        return [_text(item) for item in self._matching(request)]

    # -- subscriptions and events ------------------------------------------------------------------
    def subscribe(
        self, aet: str, target: str, deletion_lock: bool = False, criteria: SubscriptionFilter | None = None
    ) -> Status:
        status = self.subscribers.subscribe(
            aet, target, deletion_lock, criteria, self._known, lambda uid: self._step(uid).dataset
        )
        if not self.state.polled():
            self._wake()
        return status

    def unsubscribe(self, aet: str, target: str) -> None:
        def workitem(uid: str) -> JsonDataset | None:
            try:
                return self._step(uid).dataset
            except UPSError:
                return None

        self.subscribers.unsubscribe(aet, target, workitem)

    def suspend(self, aet: str, target: str) -> None:
        self.subscribers.suspend(aet, target, self._known)

    def connect(self, aet: str) -> Channel:
        if self.shared is not None:
            return self.shared.connect(aet)
        return self.hub.connect(aet)

    def divert(self, aets: Collection[str], deliver: Deliver) -> None:
        self.hub.divert(aets, deliver)

    def announce(self, status: str) -> int:
        aets = set(self.subscribers.aets())
        if self.shared is not None and status == "RESTARTED" and aets:
            # to every subscriber, through the log: on whichever node it is connected, or later
            report = (aets, t.GLOBAL_SUBSCRIPTION_UID, ev.EventType.SCP_STATUS_CHANGE, ev.scp_status(status))
            with self.state.writing() as db:
                self.shared.record(db, [report])
            return len(aets)
        return self.hub.announce(aets, status)


def _text(item: JsonDataset) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def _failure(exc: BackendError, upstream: str) -> UpstreamError:
    """A failure of the RIS as the HTTP front answers it: 504 when it did not answer in time, 503
    when it cannot be reached, 502 when it answered with a refusal or broke off."""
    sentence = exc.sentence.rstrip(".")
    message = f"Upstream {upstream}: {sentence}."
    short = peer_comment(exc, upstream)
    if isinstance(exc, TimedOut):
        return UpstreamError(Status.PROCESSING_FAILURE, message, 504, short=short)
    if isinstance(exc, Unreachable) and type(exc) is Unreachable:
        return UpstreamError(Status.PROCESSING_FAILURE, message, 503, short=short)
    if isinstance(exc, Refused) and exc.status == Status.DUPLICATE_INSTANCE:
        return UpstreamError(Status.DUPLICATE_INSTANCE, message, 409, short=short)
    return UpstreamError(Status.PROCESSING_FAILURE, message, 502, short=short)


def make(
    spec: str, db_path: str | Store, trace: bool, access: UpstreamAccess | None = None
) -> tuple[DimseUpstream, DimseMpps]:
    """The gateway's services for `serve --upstream dimse:…`; `access`'s user and password go to the
    RIS as a User Identity on every association (the console's DIMSE client sends them so), its CA
    file and client certificate into DICOM TLS with TLS=1."""
    service = DimseUpstream((access or UpstreamAccess()).apply_dimse(parse_spec(spec)), db_path, trace=trace)
    return service, DimseMpps(service)
