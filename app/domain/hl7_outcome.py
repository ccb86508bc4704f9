"""What the HL7 v2 door answers a message (HL7 v2.5 chapter 2, MSA and ERR): every handler of a
message type returns one of these, and the door turns it into the ACK, its audit line and its log.

The handlers of the door live apart (orders, patients); this is the one shape they share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AckCode(StrEnum):
    ACCEPTED = "AA"  # done
    ERROR = "AE"  # understood and refused: the sender should not resend it unchanged
    REJECTED = "AR"  # not processed: unsupported type or version, not allowed, unreadable


@dataclass(frozen=True)
class ErrorLocation:
    """Where the fault is (ERR-2 of v2.5: segment ID ^ sequence ^ field position ^ component)."""

    segment: str
    field: int = 0
    component: int = 0
    sequence: int = 1


@dataclass(frozen=True)
class Outcome:
    """The answer to one message: its MSA code, a sentence for MSA-3 / ERR-8, where the fault is
    (ERR-2), the HL7 error code (ERR-3, table 0357: 100 segment sequence, 101 required field
    missing, 102 data type error, 103 table value not found, 200 unsupported message type, 201
    unsupported event code, 203 unsupported version, 204 unknown key, 205 duplicate key, 206
    application record locked, 207 application internal error), and the workitems it touched."""

    code: AckCode
    text: str = ""
    location: ErrorLocation | None = None
    error_code: int = 0
    workitems: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def done(cls, *workitems: str, text: str = "") -> Outcome:
        return cls(AckCode.ACCEPTED, text, workitems=tuple(workitems))

    @classmethod
    def refused(cls, text: str, location: ErrorLocation | None = None, error_code: int = 207) -> Outcome:
        return cls(AckCode.ERROR, text, location, error_code)

    @classmethod
    def rejected(cls, text: str, location: ErrorLocation | None = None, error_code: int = 200) -> Outcome:
        return cls(AckCode.REJECTED, text, location, error_code)
