"""The MPPS rules of PS3.4 F.7.2 that every MPPS service applies before it changes anything: what
a creation must say, what an update may do, what a completion must carry. The local service and
the gateway ask the same questions here and answer with the same statuses and comments.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dicomjson import JsonDataset, first_value
from .mapping import MPPS_STATUS, mpps_missing_for_completion
from .status import ERROR_ID_TEXT, ErrorID, Status
from .values import InvalidValue, check_values

IN_PROGRESS = "IN PROGRESS"
FINAL_STATES = ("COMPLETED", "DISCONTINUED")


@dataclass(frozen=True)
class Refusal:
    """Why an MPPS request is refused: its DIMSE status, Error Comment and Error ID."""

    status: Status
    comment: str
    error_id: ErrorID | None = None


DUPLICATE = Refusal(Status.DUPLICATE_INSTANCE, "An MPPS with this SOP Instance UID already exists.")
UNKNOWN = Refusal(Status.NO_SUCH_SOP_INSTANCE, "There is no MPPS with this SOP Instance UID.")
NO_LONGER_UPDATABLE = Refusal(
    Status.PROCESSING_FAILURE,
    ERROR_ID_TEXT[ErrorID.MPPS_NO_LONGER_UPDATABLE],
    ErrorID.MPPS_NO_LONGER_UPDATABLE,
)


def creation_refusal(attributes: JsonDataset) -> Refusal | None:
    """Why an N-CREATE (or a Sup 246 Create) may not be done, or None."""
    if first_value(attributes, MPPS_STATUS) != IN_PROGRESS:
        return Refusal(
            Status.INVALID_ATTRIBUTE_VALUE, "Performed Procedure Step Status must be IN PROGRESS at creation."
        )
    return _value_refusal(attributes)


def status_after(stored: JsonDataset, changes: JsonDataset) -> tuple[JsonDataset, str]:
    """The MPPS an update makes (sequences replaced whole, as in DIMSE) and its status."""
    merged = {**stored, **changes}
    return merged, str(first_value(merged, MPPS_STATUS) or IN_PROGRESS)


def update_refusal(stored_status: str, changes: JsonDataset, merged: JsonDataset) -> Refusal | None:
    """Why an N-SET (or a Sup 246 Update) of an MPPS now `stored_status` may not be done, or None."""
    refused = _value_refusal(changes)
    if refused is not None:
        return refused
    if stored_status != IN_PROGRESS:
        return NO_LONGER_UPDATABLE
    status = str(first_value(merged, MPPS_STATUS) or IN_PROGRESS)
    if status not in (IN_PROGRESS, *FINAL_STATES):
        return Refusal(Status.INVALID_ATTRIBUTE_VALUE, f"{status!r} is not a Performed Procedure Step Status.")
    if status == "COMPLETED" and (missing := mpps_missing_for_completion(merged)):
        return Refusal(Status.PROCESSING_FAILURE, f"COMPLETED needs {', '.join(missing)}.")
    return None


def _value_refusal(dataset: JsonDataset) -> Refusal | None:
    try:
        check_values(dataset)
    except InvalidValue as exc:
        return Refusal(Status.INVALID_ATTRIBUTE_VALUE, exc.message)
    return None
