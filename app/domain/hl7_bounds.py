"""What the HL7 door refuses before python-hl7 reads a message, and the reading itself: pure
checks on the bytes of one message (no I/O), each refusal an Outcome the door answers as AR."""

from __future__ import annotations

from collections import Counter

import hl7

from .hl7_orders import decode
from .hl7_outcome import ErrorLocation, Outcome
from .hl7_text import parse as parse_text

MAX_SEGMENTS = 1000  # see out_of_bounds
MAX_FIELD = 65536  # bytes; HL7 v2.5's longest field (FT and TX, as in NTE-3)
UNREADABLE = (
    "The message cannot be read as HL7 v2: it must begin with an MSH segment whose separators are "
    "a field separator and four encoding characters (MSH|^~\\&|…)."
)


def refused_before_parsing(raw: bytes) -> Outcome | None:
    """Why `raw` is not given to python-hl7 at all; None when it may be."""
    return out_of_bounds(raw) or encoding_fault(raw)


def out_of_bounds(raw: bytes) -> Outcome | None:
    """A refusal of a message too large to parse, before python-hl7 sees it: it takes some 70 µs
    a segment, and reading the order walks the
    segments again, all under the GIL the HTTP and DIMSE fronts share. 10 000 segments held them
    for over a second; an order, even with dozens of procedures, has a few hundred at most."""
    segments = max(raw.count(b"\r"), raw.count(b"\n")) + 1
    if segments > MAX_SEGMENTS:
        return Outcome.rejected(
            f"The message has {segments} segments; this server reads at most {MAX_SEGMENTS} in one message.",
            ErrorLocation("MSH", 0),
            100,
        )
    if len(raw) > MAX_FIELD and raw[:3] == b"MSH":
        return long_field(raw)
    return None


def long_field(raw: bytes) -> Outcome | None:
    """A refusal naming the first field over MAX_FIELD bytes. Refused whatever the field: the
    DICOM side has no attribute that would keep one (LT holds 10 240 characters), and a field the
    door does not read at all is still a sender gone wrong."""
    separator = raw[3:4]
    seen: Counter[bytes] = Counter()
    for segment in raw.replace(b"\n", b"\r").split(b"\r"):
        name = segment[:3]
        seen[name] += 1
        for position, value in enumerate(segment.split(separator)):
            if len(value) > MAX_FIELD:
                where = name.decode("latin-1")
                number = position + 1 if where == "MSH" else position  # MSH-1 is the separator itself
                return Outcome.rejected(
                    f"{where}-{number} is {len(value)} bytes long; HL7 allows at most {MAX_FIELD} in a field.",
                    ErrorLocation(where, number, sequence=seen[name]),
                    102,
                )
    return None


def encoding_fault(raw: bytes) -> Outcome | None:
    """A refusal of an MSH-2 python-hl7 would read anyway, taking the first four characters and
    the rest as data: a sender with its separators wrong gets told so, not "no ORC segment"."""
    if not framed_msh(raw):
        return None  # read refuses it, as unreadable
    separator = raw[3:4]
    field = raw[4:].split(separator, 1)[0].split(b"\r", 1)[0].split(b"\n", 1)[0].decode("latin-1")
    # four encoding characters, a fifth (truncation, #) from v2.7 on
    if len(field) in (4, 5) and len(set(field)) == len(field) and not any(c.isalnum() or c.isspace() for c in field):
        return None
    shown = field if len(field) <= 12 else field[:12] + "..."  # ASCII: the ACK goes out in the message's character set
    return Outcome.rejected(
        f"MSH-2 must hold four (from v2.7 five) distinct encoding characters, none a letter, digit or space; "
        f"this message has '{shown}'.",
        ErrorLocation("MSH", 2),
        102,
    )


def read(raw: bytes) -> tuple[hl7.Message, str]:
    """The message and its DICOM character set; ValueError when it is no HL7 v2 message at all,
    OrderError for a fault the ACK names."""
    if not framed_msh(raw):
        raise ValueError("no MSH")
    return decode(raw)


def framed_msh(raw: bytes) -> bool:
    """MSH, a field separator and four distinct encoding characters, none a letter or digit."""
    if len(raw) < 8 or raw[:3] != b"MSH":
        return False
    separators = raw[3:8].decode("latin-1")
    return len(set(separators)) == 5 and not any(c.isalnum() or c.isspace() for c in separators)


def loose(raw: bytes) -> hl7.Message | None:
    """The message as far as it can be read, for the ACK's header; None when it cannot."""
    try:
        return parse_text(raw.decode("latin-1"))
    except Exception:  # noqa: BLE001 -- the door's ACK then has the server's own header
        return None
