"""DIMSE status codes of the UPS service, their meanings, and the one exception family.

The codes come from PS3.4 Tables CC.2.1-2 … CC.2.8-2, K.4-1, F.7.2-2 and PS3.7 (general
statuses); the texts are those PS3.18 §11 prescribes for the Warning header where it gives
one. The HTTP front maps a status to an HTTP code once (app.server.http); the DIMSE fronts
build their response status with `dimse_status`; the UI maps a status to a sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by dimse_status, the one function that makes a Dataset
    from pydicom import Dataset


class Status(IntEnum):
    SUCCESS = 0x0000
    OPTIONAL_ATTRIBUTES_UNSUPPORTED = 0x0001
    NO_SUCH_ATTRIBUTE = 0x0105
    INVALID_ATTRIBUTE_VALUE = 0x0106
    PROCESSING_FAILURE = 0x0110
    DUPLICATE_INSTANCE = 0x0111
    MISSING_ATTRIBUTE = 0x0120
    MISSING_ATTRIBUTE_VALUE = 0x0121
    NO_SUCH_SOP_INSTANCE = 0x0112
    NO_SUCH_ACTION_TYPE = 0x0123
    NOT_AUTHORIZED = 0x0124  # PS3.7 C.5: the requester may not do it
    UNRECOGNIZED_OPERATION = 0x0211
    OUT_OF_RESOURCES = 0xA700
    IDENTIFIER_DOES_NOT_MATCH = 0xA900
    UNABLE_TO_PROCESS = 0xC000
    CREATED_WITH_MODIFICATIONS = 0xB300
    DELETION_LOCK_NOT_GRANTED = 0xB301
    ALREADY_CANCELED = 0xB304
    COERCED_INVALID_VALUES = 0xB305
    ALREADY_COMPLETED = 0xB306
    MAY_NO_LONGER_BE_UPDATED = 0xC300
    WRONG_TRANSACTION_UID = 0xC301
    ALREADY_IN_PROGRESS = 0xC302
    SCHEDULED_ONLY_BY_CREATE = 0xC303
    FINAL_STATE_NOT_MET = 0xC304
    NO_SUCH_UPS = 0xC307
    UNKNOWN_RECEIVING_AE = 0xC308
    CREATE_NOT_SCHEDULED = 0xC309
    NOT_IN_PROGRESS = 0xC310
    ALREADY_COMPLETED_NO_CANCEL = 0xC311
    PERFORMER_UNREACHABLE = 0xC312
    PERFORMER_REFUSES_CANCEL = 0xC313
    ACTION_NOT_APPROPRIATE = 0xC314
    NO_EVENT_REPORTS = 0xC315
    # C-FIND only (PS3.4 C.4.1.1.4, K.4-1): one pending answer per match, FF01 when optional keys
    # were not supported; FE00 when the SCU cancelled.
    PENDING = 0xFF00
    PENDING_OPTIONAL_KEYS_UNSUPPORTED = 0xFF01
    CANCELED = 0xFE00

    @property
    def is_warning(self) -> bool:
        return self in _WARNINGS

    @property
    def is_pending(self) -> bool:
        return self in (Status.PENDING, Status.PENDING_OPTIONAL_KEYS_UNSUPPORTED)

    @property
    def text(self) -> str:
        return STATUS_TEXT[self]


_WARNINGS = frozenset(
    {
        Status.OPTIONAL_ATTRIBUTES_UNSUPPORTED,
        Status.CREATED_WITH_MODIFICATIONS,
        Status.DELETION_LOCK_NOT_GRANTED,
        Status.ALREADY_CANCELED,
        Status.COERCED_INVALID_VALUES,
        Status.ALREADY_COMPLETED,
    }
)

STATUS_TEXT: dict[Status, str] = {
    Status.SUCCESS: "Success.",
    Status.OPTIONAL_ATTRIBUTES_UNSUPPORTED: "Requested optional Attributes are not supported.",
    Status.NO_SUCH_ATTRIBUTE: "No such attribute.",
    Status.INVALID_ATTRIBUTE_VALUE: "Invalid attribute value.",
    Status.PROCESSING_FAILURE: "Processing failure.",
    Status.DUPLICATE_INSTANCE: "A Workitem with this UID already exists.",
    Status.MISSING_ATTRIBUTE: "Missing attribute.",
    Status.MISSING_ATTRIBUTE_VALUE: "Missing attribute value.",
    Status.NO_SUCH_SOP_INSTANCE: "No such SOP Instance.",
    Status.NO_SUCH_ACTION_TYPE: "No such action type.",
    Status.NOT_AUTHORIZED: "Refused: not authorized.",
    Status.UNRECOGNIZED_OPERATION: "The operation is not supported for this SOP Class.",
    Status.OUT_OF_RESOURCES: "Out of resources.",
    Status.IDENTIFIER_DOES_NOT_MATCH: "The query does not match the information model.",
    Status.UNABLE_TO_PROCESS: "Unable to process.",
    Status.CREATED_WITH_MODIFICATIONS: "The Workitem was created with modifications.",
    Status.DELETION_LOCK_NOT_GRANTED: "Deletion Lock not granted.",
    Status.ALREADY_CANCELED: "The UPS is already in the requested state of CANCELED.",
    Status.COERCED_INVALID_VALUES: "The Workitem was updated with modifications.",
    Status.ALREADY_COMPLETED: "The UPS is already in the requested state of COMPLETED.",
    Status.MAY_NO_LONGER_BE_UPDATED: "The submitted request is inconsistent with the current state of the Workitem.",
    Status.WRONG_TRANSACTION_UID: "The Transaction UID is incorrect.",
    Status.ALREADY_IN_PROGRESS: "The submitted request is inconsistent with the state of the UPS Instance: it is already IN PROGRESS.",
    Status.SCHEDULED_ONLY_BY_CREATE: "The submitted request is inconsistent with the state of the UPS Instance: a UPS may become SCHEDULED only when it is created.",
    Status.FINAL_STATE_NOT_MET: "The submitted request is inconsistent with the state of the UPS Instance: the final state requirements are not met.",
    Status.NO_SUCH_UPS: "The Workitem does not exist.",
    Status.UNKNOWN_RECEIVING_AE: "The receiving AE title is unknown.",
    Status.CREATE_NOT_SCHEDULED: "A Workitem must be created in the SCHEDULED state.",
    Status.NOT_IN_PROGRESS: "The submitted request is inconsistent with the state of the UPS Instance: it is not yet IN PROGRESS.",
    Status.ALREADY_COMPLETED_NO_CANCEL: "The UPS is already COMPLETED.",
    Status.PERFORMER_UNREACHABLE: "The performer cannot be contacted.",
    Status.PERFORMER_REFUSES_CANCEL: "The performer chooses not to cancel.",
    Status.ACTION_NOT_APPROPRIATE: "The specified action is not appropriate.",
    Status.NO_EVENT_REPORTS: "The SCP does not support event reports.",
    Status.PENDING: "Pending.",
    Status.PENDING_OPTIONAL_KEYS_UNSUPPORTED: "Pending; optional keys were not supported.",
    Status.CANCELED: "Canceled.",
}


class ErrorID(IntEnum):
    """Error ID (0000,0903) values a status may carry beside its code."""

    # PS3.4 Table F.7.2-2: an N-SET of an MPPS that is no longer IN PROGRESS (status 0110).
    MPPS_NO_LONGER_UPDATABLE = 0xA710


ERROR_ID_TEXT: dict[ErrorID, str] = {
    ErrorID.MPPS_NO_LONGER_UPDATABLE: "Performed Procedure Step Object may no longer be updated",
}

ERROR_COMMENT_LENGTH = 64  # Error Comment (0000,0902) is LO
_CUT = "..."


def fitting(*sentences: str) -> str:
    """The first of `sentences` (longest and clearest first) that fits an Error Comment; the last
    one when none does (`error_comment` cuts it then)."""
    for sentence in sentences:
        if len(sentence) <= ERROR_COMMENT_LENGTH:
            return sentence
    return sentences[-1] if sentences else ""


def error_comment(text: str) -> str:
    """`text` as an Error Comment: ASCII without backslash or control characters, 64 at most.
    A longer text is cut at the last word that fits, and says so with "..."; refusals that are
    meant for a modality bring a short sentence of their own (`UPSError.comment`) instead."""
    text = text.encode("ascii", "replace").decode().replace("\\", "/")
    text = "".join(c if 32 <= ord(c) < 127 else " " for c in text)
    if len(text) <= ERROR_COMMENT_LENGTH:
        return text
    kept = text[: ERROR_COMMENT_LENGTH - len(_CUT) + 1]
    head, space, _ = kept.rpartition(" ")
    return (head if space and head.strip() else kept[:-1]).rstrip(" ,;:.") + _CUT


def dimse_status(
    status: int,
    comment: str = "",
    *,
    offending: Iterable[str] = (),
    attributes: Iterable[str] = (),
    error_id: int | None = None,
) -> Dataset:
    """The status of a DIMSE response (PS3.7 Annex C): the code, and for a refusal why (Error Comment,
    64 ASCII characters without backslash), which attributes — as 8-hex-digit tags, in Offending
    Element (0000,0901) for a DIMSE-C response, in Attribute Identifier List (0000,1005) for a
    DIMSE-N one — and the Error ID where the standard names one."""
    from pydicom import Dataset

    out = Dataset()
    out.Status = int(status)
    if comment:
        out.ErrorComment = error_comment(comment)
    tags = [int(tag, 16) for tag in offending]
    if tags:
        out.OffendingElement = tags
    identifiers = [int(tag, 16) for tag in attributes]
    if identifiers:
        out.AttributeIdentifierList = identifiers
    if error_id is not None:
        out.ErrorID = int(error_id)
    return out


class UPSError(Exception):
    """A refusal of the UPS service: a DIMSE status and a sentence that says what was wrong.

    `gone` marks a workitem that existed and was deleted (HTTP 410 rather than 404); `offending`
    names the attributes at fault (8-hex-digit tags), for a DIMSE response's Offending Element;
    `short` is the sentence for a DIMSE Error Comment (64 characters) when `message` is longer —
    the DIMSE fronts log the whole one.
    """

    def __init__(
        self,
        status: Status,
        message: str | None = None,
        *,
        gone: bool = False,
        offending: Iterable[str] = (),
        short: str = "",
    ) -> None:
        self.status = status
        self.message = message or status.text
        self.comment = short or self.message
        self.gone = gone
        self.offending = tuple(offending)
        super().__init__(f"{self.message} (status {status:04X})")


class InvalidRequest(UPSError):
    """The request itself is malformed: bad JSON, bad values, an unknown query key."""

    def __init__(
        self,
        message: str,
        status: Status = Status.INVALID_ATTRIBUTE_VALUE,
        *,
        offending: Iterable[str] = (),
        short: str = "",
    ) -> None:
        super().__init__(status, message, offending=offending, short=short)
