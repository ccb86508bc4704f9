"""Orders from the HL7 door applied to the UPS service (IHE RAD-4 Procedure Scheduled, RAD-13
Procedure Update): each action goes through the service's own transactions, so the access rule,
the audit file and the subscribers' events are those of any other change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import hl7

from app.domain import tags as t
from app.domain.hl7_orders import ACCESSION_FIELDS, OrderAction, OrderControl, read_order
from app.domain.hl7_outcome import ErrorLocation, Outcome
from app.domain.states import State
from app.domain.status import Status, UPSError

from .service import UPSService


def handle_orders(
    message: hl7.Message,
    character_set: str,
    service: UPSService,
    *,
    requester: str,
    stations: Mapping[str, str] | None = None,
    accession_fields: Sequence[str] = ACCESSION_FIELDS,
) -> Outcome:
    """The answer to an ORM^O01 or OMI^O23 whose actions were applied, the first refusal stopping
    the rest. `requester`: the sending application, named as the one who asked to cancel."""
    found = read_order(message, character_set, service.now_dt(), stations, accession_fields)
    if isinstance(found, Outcome):
        return found
    touched: list[str] = []
    notes: list[str] = []
    for action in found:
        try:
            outcome = _apply(action, service, requester)
        except UPSError as exc:
            outcome = Outcome.refused(f"Workitem {action.uid}: {exc.message or exc.status.name}", _orc(), 207)
        if outcome.code is not outcome.code.ACCEPTED:
            return outcome
        touched.extend(outcome.workitems)
        if outcome.text:
            notes.append(outcome.text)
    return Outcome.done(*touched, text=" ".join(notes))


def _orc() -> ErrorLocation:
    return ErrorLocation("ORC", 1)


def _apply(action: OrderAction, service: UPSService, requester: str) -> Outcome:
    if action.control is OrderControl.CREATE:
        return _create(action, service)
    try:
        row = service.get(action.uid)
    except UPSError:
        return Outcome.refused(
            f"There is no workitem for this order ({action.order_control} names an order this server never scheduled).",
            ErrorLocation("ORC", 2),
            204,
        )
    state = State(row.state)
    if action.control is OrderControl.CANCEL:
        return _cancel(action, service, requester, state)
    if state is not State.SCHEDULED:
        return Outcome.refused(
            f"The procedure is {state.value.lower()} at {row.performer_ae or 'the modality'}: "
            "the change was not applied; tell the technologist, or cancel and order again.",
            _orc(),
            206,
        )
    service.update(action.uid, None, action.dataset)
    return Outcome.done(action.uid)


def _create(action: OrderAction, service: UPSService) -> Outcome:
    try:
        service.create(action.dataset, action.uid)
    except UPSError as exc:
        if exc.status is not Status.DUPLICATE_INSTANCE:
            raise
        # the same order again under a new control ID (a resend after a lost ACK): it is there
        return Outcome.done(action.uid, text="The order was already scheduled.")
    return Outcome.done(action.uid)


def _cancel(action: OrderAction, service: UPSService, requester: str, state: State) -> Outcome:
    if state is State.CANCELED:
        return Outcome.done(action.uid, text="The order was already canceled.")
    if state is State.COMPLETED:
        return Outcome.refused("The procedure is already completed: it cannot be canceled.", _orc(), 207)
    # the coded reason of ORC-16 says why; without one, at least who canceled and how
    reason = f"The RIS canceled the order (ORC-1 {action.order_control})."
    request = dict(action.dataset)
    if t.DISCONTINUATION_REASON_CODE_SEQ not in request:
        request[t.REASON_FOR_CANCELLATION] = {"vr": "LT", "Value": [reason]}
    service.request_cancellation(action.uid, requester[:16] or None, request)
    if state is State.IN_PROGRESS:
        return Outcome.done(action.uid, text="The procedure is in progress: the modality was asked to cancel it.")
    return Outcome.done(action.uid)
