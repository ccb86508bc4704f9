"""The UPS service: every transaction of PS3.4 Annex CC over the store, with events.

Written once, adapted by each front (HTTP here; DIMSE later). Methods are synchronous
and thread-safe: each runs in one store transaction, and the events it causes are
published after the transaction commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from pydicom.uid import generate_uid

from app.domain import events as ev
from app.domain import tags as t
from app.domain.access import Act
from app.domain.dicomjson import JsonDataset, first_value
from app.domain.hl7_patients import Demographics, PatientIdentity, belongs_to, merged, with_demographics
from app.domain.identifiers import check_ae_title, check_uid
from app.domain.replacement import fill_from_replaced, replaced_uid
from app.domain.requirements import check_set, complete_cancellation, prepare_create
from app.domain.search import SearchRequest, SubscriptionFilter
from app.domain.states import State, change_state, check_update_allowed, parse_state, request_cancellation
from app.domain.status import InvalidRequest, Status, UPSError
from app.domain.transitions import created_events, entered, patient_changed_events, updated, updated_events

from .audit import AuditLog, Record, current_actor
from .guard import authorize, state_act
from .notifications import Channel, EventHub

if TYPE_CHECKING:
    from .pg_events import SharedEvents
from .service_api import Created, Deliver, SearchResult
from .store import Connection, Row, Store, Subscription
from .subscription_index import SubscriptionIndex

log = logging.getLogger(__name__)

GLOBAL_TARGETS = (t.GLOBAL_SUBSCRIPTION_UID, t.FILTERED_SUBSCRIPTION_UID)
STATE_ACTIONS = {State.IN_PROGRESS: "claim", State.COMPLETED: "complete", State.CANCELED: "cancel"}
EventList = list[tuple[set[str], str, ev.EventType, JsonDataset]]
# The transaction open in this context: a service call made inside one joins it (see transaction()).
_OPEN: ContextVar[Transaction | None] = ContextVar("ups_transaction", default=None)


@dataclass(frozen=True)
class MppsRecord:
    """An MPPS as the server keeps it: the UPS it stands for, the Transaction UID the server
    holds for that UPS on the modality's behalf, its status and its attributes."""

    uid: str
    ups_uid: str
    transaction_uid: str
    status: str
    dataset: JsonDataset


class Transaction:
    """Steps that commit together: one store transaction, whose events are published only
    once it has committed. The MPPS mapping claims, updates and records in one of these, so
    a failure half-way leaves nothing behind."""

    def __init__(self, service: UPSService, db: Connection) -> None:
        self.service = service
        self.store = service.store
        self.db = db
        self.events: EventList = []
        self.audits: list[Record] = []  # written once the transaction has committed

    def note(
        self,
        action: str,
        uid: str,
        before: str | None,
        after: str | None,
        dataset: JsonDataset | None = None,
        **details: Any,
    ) -> None:
        """An audit record of a change in this transaction, by the actor of the request at hand."""
        audit = self.service.audit
        if audit is not None:
            self.audits.append(
                audit.record(
                    action,
                    uid,
                    when=self.service.clock(),
                    actor=current_actor(),
                    before=before,
                    after=after,
                    dataset=dataset,
                    **details,
                )
            )

    def get(self, uid: str) -> Row:
        row = self.store.get(self.db, uid)
        if row is None:
            if self.store.was_deleted(self.db, uid):
                raise UPSError(Status.NO_SUCH_UPS, f"Workitem {uid} was deleted.", gone=True)
            raise UPSError(Status.NO_SUCH_UPS, f"There is no Workitem {uid}.")
        return row

    def dataset(self, uid: str) -> JsonDataset:
        """The workitem's attributes, never with its Transaction UID (kept apart)."""
        return self.get(uid).dataset

    def search_all(self, request: SearchRequest) -> list[bytes]:
        items, _ = self.store.search(self.db, request.query, 0, 1 << 62)
        return items

    def create(self, dataset: JsonDataset, uid: str | None = None) -> Created:
        in_dataset = first_value(dataset, t.SOP_INSTANCE_UID)
        if uid and in_dataset and uid != in_dataset:
            raise InvalidRequest(f"The URL names Workitem {uid} but the dataset carries SOP Instance UID {in_dataset}.")
        uid = check_uid(str(uid or in_dataset or generate_uid()))
        prepared = prepare_create(self._with_replaced(dataset), uid, self.service.now_dt())
        authorize(Act.CREATE, dataset=prepared.dataset)
        if self.store.get(self.db, uid) is not None or self.store.was_deleted(self.db, uid):
            raise UPSError(Status.DUPLICATE_INSTANCE, f"A Workitem with UID {uid} already exists.")
        wid = self.store.insert(self.db, prepared.dataset)
        if wid is None:  # another node created it after the check above
            raise UPSError(Status.DUPLICATE_INSTANCE, f"A Workitem with UID {uid} already exists.")
        row = Row(wid, uid, State.SCHEDULED.value, None, None, None, prepared.dataset)
        self.note("create", uid, None, State.SCHEDULED.value, prepared.dataset)
        aets = self.service.subscriptions.recipients(self.db, row)
        self.events.extend((aets, uid, kind, attrs) for kind, attrs in created_events(row.dataset))
        return Created(uid, Status.CREATED_WITH_MODIFICATIONS if prepared.modified else Status.SUCCESS)

    def _with_replaced(self, dataset: JsonDataset) -> JsonDataset:
        """A replacement of a CANCELED workitem gets what its creator did not give from the one it
        replaces (the console sees only what Search and Retrieve return)."""
        old_uid = replaced_uid(dataset)
        row = self.store.get(self.db, old_uid) if old_uid else None
        if row is None or row.state != State.CANCELED.value:
            return dataset
        return fill_from_replaced(dataset, row.dataset)

    def update(self, uid: str, transaction_uid: str | None, changes: JsonDataset) -> Status:
        transaction_uid = transaction_uid or first_value(changes, t.TRANSACTION_UID)
        changes = check_set(changes)
        row = self.get(uid)
        authorize(Act.UPDATE, dataset=row.dataset, performer=row.performer_ae)
        check_update_allowed(State(row.state), transaction_uid, row.transaction_uid)
        before = row.dataset
        row.dataset = updated(before, changes, self.service.now_dt())
        # nor may a change hand the work to a station the requester may not act for
        authorize(Act.UPDATE, dataset=row.dataset, performer=row.performer_ae)
        self.store.save(self.db, row)
        aets = self.service.subscriptions.recipients(self.db, row, before)
        self.events.extend((aets, uid, kind, attrs) for kind, attrs in updated_events(before, row.dataset))
        return Status.SUCCESS

    def change_state(
        self, uid: str, requested: str | None, transaction_uid: str | None, requester_ae: str | None = None
    ) -> Status:
        target = parse_state(requested)
        row = self.get(uid)
        authorize(state_act(requested), acting_ae=requester_ae, dataset=row.dataset, performer=row.performer_ae)
        before_state = row.state
        transition = change_state(State(row.state), target, transaction_uid, row.transaction_uid)
        if transition.new_state is None:
            return transition.status
        dataset = entered(row.dataset, transition.new_state, self.service.now_dt())
        row.dataset = dataset
        self.store.save(
            self.db,
            row,
            transaction_uid=transaction_uid if transition.new_state is State.IN_PROGRESS else None,
            performer_ae=requester_ae if transition.new_state is State.IN_PROGRESS else None,
            final_at=self.service.clock() if transition.new_state.is_final else None,
        )
        self.events.append(
            (
                self.service.subscriptions.recipients(self.db, row),
                uid,
                ev.EventType.STATE_REPORT,
                ev.state_report(dataset),
            )
        )
        self.note(
            STATE_ACTIONS[transition.new_state],
            uid,
            before_state,
            transition.new_state.value,
            dataset,
            # Only the holder of the Transaction UID gets here: the performer, whoever it named itself.
            performer=requester_ae if transition.new_state is State.IN_PROGRESS else row.performer_ae,
        )
        return Status.SUCCESS

    # -- patients (the HL7 door's ADT) ---------------------------------------------------------
    def update_patient(self, patient: Demographics, charset: str = "") -> list[str]:
        """New demographics on every workitem of the patient not yet final (a final one records
        what was done under the patient as then known); the UIDs changed."""
        changed = []
        for row in list(self.store.rows_of_patient(self.db, patient.patient.id)):
            if State(row.state).is_final or not belongs_to(row.dataset, patient.patient):
                continue
            before = row.dataset
            row.dataset = with_demographics(before, patient, charset)
            if row.dataset == before:
                continue
            self.store.save(self.db, row)
            aets = self.service.subscriptions.recipients(self.db, row, before)
            self.events.extend(
                (aets, row.uid, kind, attrs) for kind, attrs in patient_changed_events(before, row.dataset)
            )
            self.note("update-patient", row.uid, row.state, row.state, row.dataset, door="HL7")
            changed.append(row.uid)
        return changed

    def merge_patient(self, prior: PatientIdentity, survivor: Demographics, charset: str = "") -> list[str]:
        """Move every workitem of `prior`, whatever its state, to the surviving patient, and keep
        the merge so that what still names the prior ID (an MPPS) finds its workitem. A workitem in
        progress keeps its performer and Transaction UID: only its patient changes."""
        moved = []
        phi = self.service.audit is not None and self.service.audit.phi
        for row in list(self.store.rows_of_patient(self.db, prior.id)):
            if not belongs_to(row.dataset, prior):
                continue
            before = row.dataset
            row.dataset = merged(before, survivor, prior, charset)
            self.store.save(self.db, row)
            aets = self.service.subscriptions.recipients(self.db, row, before)
            self.events.extend(
                (aets, row.uid, kind, attrs) for kind, attrs in patient_changed_events(before, row.dataset)
            )
            self.note(
                "merge",
                row.uid,
                row.state,
                row.state,
                row.dataset,
                door="HL7",
                prior_patient_id=prior.id if phi else None,
            )
            moved.append(row.uid)
        self.store.put_merge(
            self.db, (prior.id, prior.issuer), (survivor.patient.id, survivor.patient.issuer), self.service.clock()
        )
        return moved

    def survivor_of(self, patient_id: str) -> str | None:
        """The Patient ID a merge made of `patient_id`, or None."""
        return self.store.survivor_of(self.db, patient_id)

    def mpps(self, uid: str) -> MppsRecord | None:
        found = self.store.get_mpps(self.db, uid)
        return MppsRecord(*found) if found else None

    def save_mpps(self, record: MppsRecord) -> None:
        self.store.put_mpps(self.db, record.uid, record.ups_uid, record.transaction_uid, record.status, record.dataset)


# An AE may subscribe to this many workitems one by one; past it, a global or filtered
# subscription is the way (and a runaway client cannot grow the table without bound).
MAX_SUBSCRIPTIONS_PER_AE = 10_000


class UPSService:
    serves_ups_rs = True

    def __init__(
        self,
        store: Store,
        hub: EventHub,
        *,
        ae_title: str = "WORKLIST",
        keep_final_seconds: float = 86400.0,
        remember_deleted_seconds: float = 30 * 86400.0,
        max_results: int = 1000,
        clock: Callable[[], float] = time.time,
        audit: AuditLog | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.hub = hub
        self.ae_title = ae_title
        self.keep_final_seconds = keep_final_seconds
        self.remember_deleted_seconds = remember_deleted_seconds
        self.max_results = max_results
        self.clock = clock
        self.subscriptions = SubscriptionIndex(store)
        # the event log several nodes share (pg_events.py); None: events go from this process's hub
        self.shared: SharedEvents | None = None

    @property
    def local(self) -> tzinfo:
        return self.store.local

    def now_dt(self) -> str:
        return datetime.fromtimestamp(self.clock(), self.local).strftime("%Y%m%d%H%M%S")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Steps that commit together, or not at all (an exception rolls every one back).

        Opened inside another transaction of this service (same thread or task), it joins that
        one as a savepoint: its failure undoes only its own steps, and its events and audit lines
        wait for the outer commit. So the HL7 door can keep a message's ACK in the very commit
        of the message's work (hl7_door.py), with the handlers calling the service as usual."""
        outer = _OPEN.get()
        if outer is not None and outer.service is self:
            with self._joined(outer) as work:
                yield work
            return
        with self.store.write() as db:
            work = Transaction(self, db)
            token = _OPEN.set(work)
            try:
                yield work
                work.events = self._record(db, work.events)
            finally:
                _OPEN.reset(token)
        self._publish(work.events)
        self._write_audit(work.audits)

    @contextmanager
    def _joined(self, outer: Transaction) -> Iterator[Transaction]:
        work = Transaction(self, outer.db)
        outer.db.execute("SAVEPOINT joined")
        try:
            yield work
        except BaseException:
            outer.db.execute("ROLLBACK TO joined")
            outer.db.execute("RELEASE joined")
            raise
        outer.db.execute("RELEASE joined")
        outer.events.extend(work.events)
        outer.audits.extend(work.audits)

    # -- create, retrieve, update ----------------------------------------------------------
    def create(self, dataset: JsonDataset, uid: str | None = None) -> Created:
        with self.transaction() as work:
            return work.create(dataset, uid)

    def retrieve(self, uid: str) -> str:
        """The workitem as DICOM JSON text; never with its Transaction UID (kept apart)."""
        with self.store.read() as db:
            text = self.store.dataset_text(db, uid)
            if text is None:
                Transaction(self, db).get(uid)
        return text  # type: ignore[return-value]

    def get(self, uid: str) -> Row:
        outer = _OPEN.get()
        if outer is not None and outer.service is self:
            return outer.get(uid)  # what the open transaction has written so far included
        with self.store.read() as db:
            return Transaction(self, db).get(uid)

    def update(self, uid: str, transaction_uid: str | None, changes: JsonDataset) -> Status:
        with self.transaction() as work:
            return work.update(uid, transaction_uid, changes)

    # -- state ---------------------------------------------------------------------------------
    def change_state(
        self, uid: str, requested: str | None, transaction_uid: str | None, requester_ae: str | None = None
    ) -> Status:
        with self.transaction() as work:
            return work.change_state(uid, requested, transaction_uid, requester_ae)

    def request_cancellation(self, uid: str, requester_ae: str | None, request: JsonDataset) -> Status:
        with self.transaction() as work:
            db, events = work.db, work.events
            row = work.get(uid)
            authorize(Act.CANCEL_REQUEST, acting_ae=requester_ae, dataset=row.dataset)
            before = row.state
            outcome = request_cancellation(State(row.state))
            if outcome.status is not Status.SUCCESS:
                return outcome.status
            aets = self.subscriptions.recipients(db, row)
            requester = requester_ae or "UNKNOWN"
            if outcome.cancel_now:
                # PS3.4 CC.2.2.3: the SCP cancels a SCHEDULED item itself, reporting it as it would
                # a performer's IN PROGRESS then CANCELED.
                dataset = complete_cancellation(row.dataset, self.now_dt(), reason=request)
                dataset[t.PROCEDURE_STEP_STATE] = {"vr": "CS", "Value": [State.CANCELED.value]}
                row.dataset = dataset
                self.store.save(db, row, final_at=self.clock())
                events.append((aets, uid, ev.EventType.STATE_REPORT, ev.state_report(dataset, State.IN_PROGRESS.value)))
                events.append((aets, uid, ev.EventType.STATE_REPORT, ev.state_report(dataset)))
            events.append((aets, uid, ev.EventType.CANCEL_REQUESTED, ev.cancel_requested(requester, request)))
            after = State.CANCELED.value if outcome.cancel_now else before
            work.note("request-cancellation", uid, before, after, row.dataset, requester=requester)
        return Status.SUCCESS

    # -- search ------------------------------------------------------------------------------
    def search(self, request: SearchRequest) -> SearchResult:
        limit = self.max_results if request.limit is None else min(request.limit, self.max_results)
        with self.store.read() as db:
            items, remaining = self.store.search(db, request.query, request.offset, limit)
        return SearchResult(items, remaining, request.warnings)

    def search_all(self, request: SearchRequest) -> list[bytes]:
        """Every match, unpaged (the DIMSE front streams them as C-FIND pending responses)."""
        with self.store.read() as db:
            items, _ = self.store.search(db, request.query, 0, 1 << 62)
        return items

    # -- subscriptions ------------------------------------------------------------------------
    def subscribe(
        self, aet: str, target: str, deletion_lock: bool = False, criteria: SubscriptionFilter | None = None
    ) -> Status:
        aet = check_ae_title(aet)
        authorize(Act.SUBSCRIBE, acting_ae=aet)
        events: EventList = []
        with self.subscriptions.changing() as db:
            if target == t.GLOBAL_SUBSCRIPTION_UID:
                self.store.put_subscription(db, Subscription(aet, target, "global", deletion_lock, None, None))
                if deletion_lock:  # Table CC.2.3-2: a report for every existing item
                    events += [
                        ({aet}, r.uid, ev.EventType.STATE_REPORT, ev.state_report(r.dataset))
                        for r in self.store.all_rows(db)
                    ]
            elif target == t.FILTERED_SUBSCRIPTION_UID:
                if criteria is None or not criteria.terms:
                    raise InvalidRequest("A Filtered Global Subscription needs a filter (filter=attribute=value).")
                query = self.subscriptions.filter(criteria.text())
                self.store.put_subscription(
                    db, Subscription(aet, target, "filtered", deletion_lock, criteria.text(), None)
                )
                if deletion_lock:
                    events += [
                        ({aet}, r.uid, ev.EventType.STATE_REPORT, ev.state_report(r.dataset))
                        for r in self.store.all_rows(db)
                        if query.matches(r.dataset, self.local)
                    ]
            else:
                row = Transaction(self, db).get(target)
                if self.store.count_subscriptions(db, aet) >= MAX_SUBSCRIPTIONS_PER_AE:
                    raise UPSError(
                        Status.OUT_OF_RESOURCES,
                        f"{aet} already holds {MAX_SUBSCRIPTIONS_PER_AE} subscriptions: "
                        "use a global or filtered subscription instead.",
                    )
                self.store.put_subscription(db, Subscription(aet, target, "item", deletion_lock, None, None))
                events.append(({aet}, row.uid, ev.EventType.STATE_REPORT, ev.state_report(row.dataset)))
            events = self._record(db, events)
        self._publish(events)
        if self.audit is not None:
            # Filter values may name a patient: only the keys, unless the site keeps PHI in the file.
            shown = criteria and (criteria.text() if self.audit.phi else ",".join(key for key, _ in criteria.terms))
            self._note_subscription("subscribe", aet, target, deletion_lock=deletion_lock or None, filter=shown or None)
        return Status.SUCCESS

    def _note_subscription(self, action: str, aet: str, target: str, **details: Any) -> None:
        """An audit line for a committed change of `aet`'s subscriptions (they live beside the workitems)."""
        if self.audit is not None:
            line = self.audit.record(
                action, target, when=self.clock(), actor=current_actor(), subscriber=aet, **details
            )
            self._write_audit([line])

    def _write_audit(self, lines: list[Record]) -> None:
        if self.audit is not None and lines:
            self.audit.write(lines)

    def unsubscribe(self, aet: str, target: str) -> None:
        authorize(Act.SUBSCRIBE, acting_ae=aet)
        with self.subscriptions.changing() as db:
            if target == t.GLOBAL_SUBSCRIPTION_UID:
                # CC.2.3.2: a global unsubscribe ends every subscription of the AE
                if not self.store.drop_subscriptions(db, aet):
                    raise UPSError(Status.UNKNOWN_RECEIVING_AE, f"{aet} has no subscriptions.")
                self.hub.forget(aet)
                if self.shared is not None:
                    self.shared.forget(aet)
            elif target == t.FILTERED_SUBSCRIPTION_UID:
                if not self.store.drop_subscriptions(db, aet, target):
                    raise UPSError(Status.UNKNOWN_RECEIVING_AE, f"{aet} has no filtered subscription.")
            else:
                row = self.store.get(db, target)
                dropped = self.store.drop_subscriptions(db, aet, target)
                covered = row is not None and aet in self.subscriptions.recipients(db, row)
                if covered:
                    self.store.put_subscription(db, Subscription(aet, target, "excluded", False, None, None))
                elif not dropped:
                    raise UPSError(Status.UNKNOWN_RECEIVING_AE, f"{aet} is not subscribed to Workitem {target}.")
        self._note_subscription("unsubscribe", aet, target)

    def suspend(self, aet: str, target: str) -> None:
        authorize(Act.SUBSCRIBE, acting_ae=aet)
        if target not in GLOBAL_TARGETS:
            raise InvalidRequest("Only a global or filtered global subscription can be suspended.")
        with self.subscriptions.changing() as db:
            subs = [s for s in self.store.subscriptions(db, aet) if s.target == target]
            if not subs:
                raise UPSError(Status.UNKNOWN_RECEIVING_AE, f"{aet} has no such global subscription.")
            sub = subs[0]
            if sub.suspended_after is None:
                self.store.put_subscription(
                    db, Subscription(aet, target, sub.kind, sub.deletion_lock, sub.filter, self.store.max_id(db))
                )
        self._note_subscription("suspend", aet, target)

    def connect(self, aet: str) -> Channel:
        if self.shared is not None:
            return self.shared.connect(aet)
        return self.hub.connect(aet)

    def divert(self, aets: Collection[str], deliver: Deliver) -> None:
        self.hub.divert(aets, deliver)

    def _record(self, db: Connection, events: EventList) -> EventList:
        """Events into the shared event log, in the transaction that caused them; what is left to
        publish from this process after the commit (all of them, without a shared log)."""
        if self.shared is None or not events:
            return events
        self.shared.record(db, events)
        return []

    def _publish(self, events: EventList) -> None:
        for aets, uid, event_type, attrs in events:
            if aets:
                self.hub.post(aets, ev.message(uid, event_type, self.hub.next_message_id(), attrs))

    # -- SCP status and housekeeping -----------------------------------------------------------
    def announce(self, status: str) -> int:
        """Event 4 to every subscriber (RESTARTED) or to those listening now (GOING DOWN).

        Returns how many AEs it was sent to."""
        with self.store.read() as db:
            aets = {s.aet for s in self.store.subscriptions(db) if s.kind != "excluded"}
        if self.shared is not None and status == "RESTARTED" and aets:
            # to every subscriber, through the log: on whichever node it is connected, or later
            with self.store.write() as db:
                report = (aets, t.GLOBAL_SUBSCRIPTION_UID, ev.EventType.SCP_STATUS_CHANGE, ev.scp_status(status))
                self.shared.record(db, [report])
            return len(aets)
        return self.hub.announce(aets, status)

    def purge(self) -> list[str]:
        """Delete final workitems older than the keep delay that no deletion lock holds."""
        now = self.clock()
        deleted = []
        with self.store.write() as db:
            cutoff = now - self.keep_final_seconds
            for row in list(self.store.all_rows(db, "final_at IS NOT NULL AND final_at <= ?", (cutoff,))):
                if any(s.deletion_lock for s in self.subscriptions.covering(db, row)):
                    continue
                self.store.delete(db, row, now)
                deleted.append(row.uid)
            self.store.forget_deleted(db, now - self.remember_deleted_seconds)
            # a sender resends within minutes; a month of control IDs is plenty
            self.store.forget_hl7_acks(db, now - self.remember_deleted_seconds)
        if self.shared is not None:
            self.shared.purge()
        if self.audit is not None:
            self._write_audit(
                [
                    self.audit.record("delete", uid, when=now, actor=current_actor(), reason="kept long enough")
                    for uid in deleted
                ]
            )
        if deleted:
            log.info("Housekeeping deleted %d final workitems", len(deleted))
        return deleted
