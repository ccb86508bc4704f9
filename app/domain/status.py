"""DIMSE status codes of the UPS service, their meanings, and the one exception family.

The codes come from PS3.4 Tables CC.2.1-2 … CC.2.8-2 and PS3.7 (general statuses); the
texts are those PS3.18 §11 prescribes for the Warning header where it gives one. The HTTP
front maps a status to an HTTP code once (app.server.http); the UI maps it to a sentence.
"""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    SUCCESS = 0x0000
    OPTIONAL_ATTRIBUTES_UNSUPPORTED = 0x0001
    NO_SUCH_ATTRIBUTE = 0x0105
    INVALID_ATTRIBUTE_VALUE = 0x0106
    PROCESSING_FAILURE = 0x0110
    DUPLICATE_INSTANCE = 0x0111
    MISSING_ATTRIBUTE = 0x0120
    MISSING_ATTRIBUTE_VALUE = 0x0121
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

    @property
    def is_warning(self) -> bool:
        return self in _WARNINGS

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
}


class UPSError(Exception):
    """A refusal of the UPS service: a DIMSE status and a sentence that says what was wrong.

    `gone` marks a workitem that existed and was deleted (HTTP 410 rather than 404).
    """

    def __init__(self, status: Status, message: str | None = None, *, gone: bool = False) -> None:
        self.status = status
        self.message = message or status.text
        self.gone = gone
        super().__init__(f"{self.message} (status {status:04X})")


class InvalidRequest(UPSError):
    """The request itself is malformed: bad JSON, bad values, an unknown query key."""

    def __init__(self, message: str, status: Status = Status.INVALID_ATTRIBUTE_VALUE) -> None:
        super().__init__(status, message)
