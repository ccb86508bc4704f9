"""The UPS SOP classes on the DIMSE front (PS3.4 Annex CC), thin over the UPS service.

Push (N-CREATE, N-ACTION request cancellation), Pull (C-FIND, N-GET, N-SET, N-ACTION
change state), Watch (C-FIND, N-GET, N-ACTION subscribe, unsubscribe, suspend, request
cancellation) and Query (C-FIND). Each request becomes the one service call the UPS-RS
front makes for the same transaction, and a UPSError already carries the DIMSE status of
PS3.4, so a DIMSE request and its UPS-RS twin have the same outcome (CC.1). The events a
request causes leave through the service's event hub like any other; dimse_events.py
sends them to DIMSE subscribers as N-EVENT-REPORTs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterator
from enum import IntEnum
from typing import Any

from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import evt
from pynetdicom.sop_class import (
    UnifiedProcedureStepEvent,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
    UnifiedProcedureStepQuery,
    UnifiedProcedureStepWatch,
)

from app.domain import charsets
from app.domain import tags as t
from app.domain.dicomjson import (
    DicomJsonError,
    JsonDataset,
    first_value,
    from_dataset,
    normalize,
    text_value,
    to_dataset,
)
from app.domain.identifiers import check_ae_title
from app.domain.information_model import UPS_MODEL, screen
from app.domain.mapping import answer_keys, identifier_keys
from app.domain.query import vr_of
from app.domain.search import SubscriptionFilter, parse_search
from app.domain.status import InvalidRequest, Status, UPSError, dimse_status
from app.domain.values import describe
from app.domain.writable import writable

from .dimse_failures import find_failure, request_failure
from .service_api import WorkitemService

log = logging.getLogger(__name__)

# What this SCP accepts. UPS Event is not among them: we send it, as association requestor.
SCP_SOP_CLASSES = (
    UnifiedProcedureStepPush,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepWatch,
    UnifiedProcedureStepQuery,
)
UPS_SOP_CLASSES = frozenset(str(uid) for uid in (*SCP_SOP_CLASSES, UnifiedProcedureStepEvent))


# C-FIND never matches nor returns these ("-/-" and the access lock, Table CC.2.5-3); N-GET
# never returns the Transaction UID (CC.2.7.3).
NOT_FOUND_BY_FIND = (t.TRANSACTION_UID, t.PERFORMED_PROCEDURE_SEQ)

Answer = tuple[Dataset, Dataset | None]
Handler = Callable[[evt.Event], Any]


class Action(IntEnum):
    """N-ACTION Action Type IDs of the UPS SOP classes (Tables CC.2.1-1, CC.2.2-1, CC.2.3-1)."""

    CHANGE_STATE = 1
    REQUEST_CANCELLATION = 2
    SUBSCRIBE = 3
    UNSUBSCRIBE = 4
    SUSPEND = 5


def sop_class_of(event: evt.Event) -> str:
    """The SOP class a request names: Affected (C-FIND, N-CREATE) or Requested (N-SET, N-GET, N-ACTION)."""
    request = event.request
    uid = getattr(request, "AffectedSOPClassUID", None) or getattr(request, "RequestedSOPClassUID", None)
    return str(uid or "")


def by_sop_class(ups: Handler, other: Handler) -> Handler:
    """One pynetdicom handler for an event several services share: UPS requests to `ups`."""

    def route(event: evt.Event) -> Any:
        return ups(event) if sop_class_of(event) in UPS_SOP_CLASSES else other(event)

    return route


def unsupported(event: evt.Event) -> tuple[int, None]:
    """For DIMSE-N operations no SOP class here but UPS offers (N-ACTION of an MPPS, say)."""
    log.info(
        "%s from %s for SOP class %s refused: not supported here",
        type(event.request).__name__,
        event.assoc.requestor.ae_title,
        sop_class_of(event),
    )
    return Status.UNRECOGNIZED_OPERATION, None


def incoming(read: Callable[[], Dataset]) -> JsonDataset:
    """A request's dataset as checked DICOM JSON (the same checks a UPS-RS payload passes)."""
    try:
        return normalize(from_dataset(read()))
    except DicomJsonError as exc:
        raise InvalidRequest(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 -- pydicom raises many types for a dataset it cannot decode
        raise InvalidRequest(f"The dataset cannot be decoded: {exc}") from None


def wire(dataset: JsonDataset) -> Dataset:
    """A DICOM JSON dataset for the network, declaring the character set its text needs
    (`charsets.declare_json`): the stored one where it still carries the text, else UTF-8."""
    out, faults = writable({tag: element for tag, element in dataset.items() if tag != t.SPECIFIC_CHARACTER_SET})
    if faults:
        # stored by an older version or behind the checks' back: it costs its attribute, not the answer
        log.warning(
            "Workitem %s: stored values that cannot be encoded sent empty: %s",
            first_value(dataset, t.SOP_INSTANCE_UID),
            "; ".join(map(describe, faults)),
        )
    return to_dataset(charsets.declare_json(out, charsets.declared_in(dataset)))


def subscription_filter(keys: JsonDataset) -> SubscriptionFilter:
    """The matching keys of a Filtered Global Subscription (CC.2.3.1) as the service's filter.
    Universal keys constrain nothing."""
    keys = {k: v for k, v in keys.items() if k not in (t.RECEIVING_AE, t.DELETION_LOCK)}
    return SubscriptionFilter(tuple((".".join(path), value) for path, value in identifier_keys(keys) if value != ""))


def requested(dataset: JsonDataset, tags: list[str]) -> tuple[JsonDataset, Status]:
    """What an N-GET returns: the attributes asked for (all of them when none is named), never the
    Transaction UID; one the workitem lacks comes back empty, one unknown to DICOM is left out."""
    if not tags:
        return {tag: el for tag, el in dataset.items() if tag != t.TRANSACTION_UID}, Status.SUCCESS
    out: JsonDataset = {}
    status = Status.SUCCESS
    for tag in tags:
        if tag == t.TRANSACTION_UID:
            continue
        if tag in dataset:
            out[tag] = dataset[tag]
            continue
        try:
            out[tag] = {"vr": vr_of(tag)}
        except InvalidRequest:
            status = Status.OPTIONAL_ATTRIBUTES_UNSUPPORTED
    return out, status


class UpsScp:
    """The handlers, bound to one UPS service. `event_peers`: the AEs N-EVENT-REPORTs can reach."""

    def __init__(self, service: WorkitemService, event_peers: Collection[str] = ()) -> None:
        self.service = service
        self.event_peers = event_peers

    def _answer(self, what: str, run: Callable[[], tuple[Status, Dataset | None]], *, listed: bool = True) -> Answer:
        """Run one request; a refusal becomes its status and a sentence, never a traceback to the peer.

        `listed`: the response has an Attribute Identifier List to name the attributes at fault (an
        N-CREATE response has none, PS3.7 10.3.5; its Error Comment names them)."""
        try:
            status, reply = run()
        except Exception as exc:  # noqa: BLE001 -- request_failure logs it whole
            return request_failure(f"UPS {what}", exc, attributes=listed), None
        log.debug("UPS %s: %04X", what, status)
        return dimse_status(status), reply

    def _stored(self, uid: str) -> Dataset:
        return wire(json.loads(self.service.retrieve(uid)))

    # -- Push: N-CREATE ---------------------------------------------------------------------------
    def on_n_create(self, event: evt.Event) -> Answer:
        given = event.request.AffectedSOPInstanceUID
        uid = str(given) if given else generate_uid()

        def run() -> tuple[Status, Dataset | None]:
            created = self.service.create(incoming(lambda: event.attribute_list), uid)
            reply = self._stored(created.uid)
            if not given and created.status is Status.SUCCESS:
                # PS3.7 10.1.5.1.4: the response names the instance the SCP chose; pynetdicom takes it
                # from here. (With a warning it cannot, but the reply's SOP Instance UID says it.)
                reply.AffectedSOPInstanceUID = created.uid
            return created.status, reply

        return self._answer(f"N-CREATE {uid} from {event.assoc.requestor.ae_title}", run, listed=False)

    # -- Pull: N-SET, N-GET -------------------------------------------------------------------------
    def on_n_set(self, event: evt.Event) -> Answer:
        uid = str(event.request.RequestedSOPInstanceUID)

        def run() -> tuple[Status, Dataset | None]:
            # The Transaction UID travels in the modification list (CC.2.6.1); the service reads it there.
            return self.service.update(uid, None, incoming(lambda: event.modification_list)), None

        return self._answer(f"N-SET {uid} from {event.assoc.requestor.ae_title}", run)

    def on_n_get(self, event: evt.Event) -> Answer:
        uid = str(event.request.RequestedSOPInstanceUID)

        def run() -> tuple[Status, Dataset | None]:
            tags = [f"{int(tag):08X}" for tag in event.attribute_identifiers]
            attributes, status = requested(json.loads(self.service.retrieve(uid)), tags)
            return status, wire(attributes)

        return self._answer(f"N-GET {uid} from {event.assoc.requestor.ae_title}", run)

    # -- N-ACTION -------------------------------------------------------------------------------------
    def on_n_action(self, event: evt.Event) -> Answer:
        uid = str(event.request.RequestedSOPInstanceUID)
        calling = event.assoc.requestor.ae_title
        try:
            action = Action(event.action_type)
        except ValueError:
            log.info("UPS N-ACTION type %s on %s from %s refused: no such action", event.action_type, uid, calling)
            return dimse_status(
                Status.NO_SUCH_ACTION_TYPE, f"Action Type ID {event.action_type} is not a UPS action."
            ), None

        def run() -> tuple[Status, Dataset | None]:
            info = incoming(lambda: event.action_information)
            if action is Action.CHANGE_STATE:
                return self.service.change_state(
                    uid, text_value(info, t.PROCEDURE_STEP_STATE), text_value(info, t.TRANSACTION_UID), calling
                ), None
            if action is Action.REQUEST_CANCELLATION:
                return self.service.request_cancellation(uid, calling, info), None
            receiving = self._receiving_ae(info, calling)
            if action is Action.SUBSCRIBE:
                if receiving not in self.event_peers:
                    raise UPSError(
                        Status.UNKNOWN_RECEIVING_AE,
                        f"No address is configured for {receiving} (serve --event-peer AE=HOST:PORT).",
                    )
                lock = str(first_value(info, t.DELETION_LOCK) or "").upper() == "TRUE"
                keys = subscription_filter(info) if uid == t.FILTERED_SUBSCRIPTION_UID else None
                return self.service.subscribe(receiving, uid, lock, keys), None
            if action is Action.UNSUBSCRIBE:
                self._unsubscribe(receiving, uid)
            else:
                self.service.suspend(receiving, uid)
            return Status.SUCCESS, None

        return self._answer(f"N-ACTION {action.name.lower().replace('_', ' ')} on {uid} from {calling}", run)

    def _unsubscribe(self, receiving: str, uid: str) -> None:
        """Table CC.2.3-3: C308 is for an unknown Receiving AE; a workitem that does not exist is C307."""
        try:
            self.service.unsubscribe(receiving, uid)
        except UPSError as exc:
            if exc.status is Status.UNKNOWN_RECEIVING_AE and uid not in (
                t.GLOBAL_SUBSCRIPTION_UID,
                t.FILTERED_SUBSCRIPTION_UID,
            ):
                self.service.retrieve(uid)  # raises C307 when there is no such workitem
            raise

    @staticmethod
    def _receiving_ae(info: JsonDataset, calling: str) -> str:
        """Receiving AE (0074,1234) is type 1; one the SCU left out is taken to be the caller."""
        return check_ae_title(str(first_value(info, t.RECEIVING_AE) or calling))

    # -- Pull, Watch, Query: C-FIND -------------------------------------------------------------------
    def on_find(self, event: evt.Event) -> Iterator[tuple[int | Dataset, Dataset | None]]:
        """Search for UPS (CC.2.8): the same SearchRequest UPS-RS builds, answered with the keys asked for."""
        what = f"C-FIND from {event.assoc.requestor.ae_title}"
        try:
            screened = screen(incoming(lambda: event.identifier), UPS_MODEL)
            identifier = screened.identifier
            if screened.ignored:
                log.debug("UPS %s: keys outside the information model ignored: %s", what, ", ".join(screened.ignored))
            params = [
                (".".join(path), value)
                for path, value in identifier_keys(identifier)
                if not (path[0] in NOT_FOUND_BY_FIND and value == "")
            ]
            items = self.service.search_all(parse_search(params, self.service.local))
            wanted = {tag: el for tag, el in identifier.items() if tag not in NOT_FOUND_BY_FIND}
        except Exception as exc:  # noqa: BLE001 -- find_failure logs it whole
            yield find_failure(f"UPS {what}", exc), None
            return
        log.debug("UPS %s: %d matches", what, len(items))
        for text in items:
            if event.is_cancelled:
                yield Status.CANCELED, None
                return
            try:
                answer = wire(answer_keys(json.loads(text), wanted))
            except Exception:
                log.exception("UPS %s could not encode a match; the others are sent", what)
                continue
            yield Status.PENDING_OPTIONAL_KEYS_UNSUPPORTED if screened.unsupported else Status.PENDING, answer
