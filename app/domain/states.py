"""The UPS state machine of PS3.4 Table CC.1.1-2 and its Transaction UID rules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .status import Status, UPSError


class State(StrEnum):
    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        return self in (State.COMPLETED, State.CANCELED)


class Priority(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class InputReadiness(StrEnum):
    READY = "READY"
    INCOMPLETE = "INCOMPLETE"
    UNAVAILABLE = "UNAVAILABLE"


def parse_state(text: str | None) -> State:
    """The State named by `text`; an unknown or missing name is an invalid attribute value."""
    try:
        return State((text or "").strip())
    except ValueError:
        raise UPSError(
            Status.INVALID_ATTRIBUTE_VALUE,
            f"Procedure Step State must be one of {', '.join(s.value for s in State)}; got {text!r}.",
        ) from None


@dataclass(frozen=True)
class Transition:
    """What an accepted Change State does.

    `new_state` is None when the item is already in the requested final state: the
    request then succeeds with the warning `status` (B304/B306) and changes nothing.
    `needs_final_state_check` tells the caller to verify Table CC.2.5-1 before applying.
    """

    new_state: State | None
    status: Status = Status.SUCCESS
    needs_final_state_check: bool = False


def change_state(
    current: State | None,
    requested: State,
    transaction_uid: str | None,
    stored_transaction_uid: str | None,
) -> Transition:
    """Apply Table CC.1.1-2: the outcome of asking a UPS in `current` to go to `requested`.

    Raises UPSError with the table's status for every refused cell.
    """
    if current is None:
        raise UPSError(Status.NO_SUCH_UPS)
    if requested is State.SCHEDULED:
        raise UPSError(Status.SCHEDULED_ONLY_BY_CREATE)
    if not transaction_uid:
        raise UPSError(Status.WRONG_TRANSACTION_UID, "The Transaction UID is missing.")

    if requested is State.IN_PROGRESS:
        if current is State.SCHEDULED:
            return Transition(State.IN_PROGRESS)
        if current is State.IN_PROGRESS:
            raise UPSError(Status.ALREADY_IN_PROGRESS)
        raise UPSError(Status.MAY_NO_LONGER_BE_UPDATED, f"The Workitem is already {current.value}.")

    # requested is COMPLETED or CANCELED
    if current is State.SCHEDULED:
        raise UPSError(Status.NOT_IN_PROGRESS)
    if transaction_uid != stored_transaction_uid:
        raise UPSError(Status.WRONG_TRANSACTION_UID)
    if current is State.IN_PROGRESS:
        return Transition(requested, needs_final_state_check=True)
    if current is requested:
        warning = Status.ALREADY_COMPLETED if current is State.COMPLETED else Status.ALREADY_CANCELED
        return Transition(None, warning)
    raise UPSError(Status.MAY_NO_LONGER_BE_UPDATED, f"The Workitem is already {current.value}.")


def check_update_allowed(
    current: State | None, transaction_uid: str | None, stored_transaction_uid: str | None
) -> None:
    """The Transaction UID rules of an N-SET (CC.2.6.2-3): raise UPSError when refused."""
    if current is None:
        raise UPSError(Status.NO_SUCH_UPS)
    if current.is_final:
        raise UPSError(
            Status.MAY_NO_LONGER_BE_UPDATED,
            f"The submitted request is inconsistent with the current state of the Workitem: it is {current.value}.",
        )
    if current is State.SCHEDULED:
        if transaction_uid:
            raise UPSError(
                Status.NOT_IN_PROGRESS,
                "The submitted request is inconsistent with the current state of the Workitem: "
                "a SCHEDULED Workitem is updated without a Transaction UID.",
            )
        return
    if not transaction_uid:
        raise UPSError(
            Status.WRONG_TRANSACTION_UID,
            "The target URI did not reference a claimed Workitem: the Transaction UID is missing.",
        )
    if transaction_uid != stored_transaction_uid:
        raise UPSError(
            Status.WRONG_TRANSACTION_UID,
            "The target URI did not reference a claimed Workitem: the Transaction UID is incorrect.",
        )


@dataclass(frozen=True)
class CancelOutcome:
    """What a Request Cancellation does (CC.2.2.3)."""

    cancel_now: bool  # SCHEDULED: the SCP cancels it itself
    notify_performer: bool  # IN PROGRESS: event 2 only
    status: Status = Status.SUCCESS


def request_cancellation(current: State | None) -> CancelOutcome:
    if current is None:
        raise UPSError(Status.NO_SUCH_UPS)
    if current is State.SCHEDULED:
        return CancelOutcome(cancel_now=True, notify_performer=False)
    if current is State.IN_PROGRESS:
        return CancelOutcome(cancel_now=False, notify_performer=True)
    if current is State.CANCELED:
        return CancelOutcome(False, False, Status.ALREADY_CANCELED)
    raise UPSError(Status.ALREADY_COMPLETED_NO_CANCEL)
