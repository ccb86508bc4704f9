"""The ACK of an HL7 v2 message (HL7 v2.5 chapter 2: original-mode acknowledgement): the MSH with
sender and receiver swapped, MSA with the code and the control ID, and an ERR naming the field
and why when the answer is AE or AR."""

from __future__ import annotations

from dataclasses import dataclass

import hl7

from .hl7_orders import CHARACTER_SETS
from .hl7_outcome import AckCode, Outcome
from .hl7_text import parse as parse_text

# HL7 table 0357, the words of ERR-3.2
ERROR_WORDS = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    205: "Duplicate key identifier",
    206: "Application record locked",
    207: "Application internal error",
}
_SEPARATORS = str.maketrans(
    {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\", "\r": " ", "\n": " "}
)


def escaped(text: str) -> str:
    """Text for a field of a message with the usual separators (`|^~\\&`): the ACK uses them."""
    return text.translate(_SEPARATORS)


def build_ack(message: hl7.Message | None, outcome: Outcome, control_id: str, now: str, application: str) -> str:
    """The ACK segments joined by CR, without MLLP framing. `message` None: one that could not be
    read, answered from this server's own name."""
    theirs = _header(message)
    msh = [
        "MSH",
        "^~\\&",
        escaped(application),
        escaped(theirs.get(6, "")),
        escaped(theirs.get(3, "")),
        escaped(theirs.get(4, "")),
        now,
        "",
        f"ACK^{escaped(theirs.get(9, ''))}^ACK" if theirs.get(9) else "ACK",
        escaped(control_id),
        escaped(theirs.get(11, "") or "P"),
        escaped(theirs.get(12, "") or "2.5"),
    ]
    if theirs.get(18):
        msh += ["", "", "", "", "", escaped(theirs[18])]
    segments = [
        "|".join(msh),
        "|".join(["MSA", outcome.code.value, escaped(theirs.get(10, "")), escaped(outcome.text[:80])]),
    ]
    if outcome.code is not AckCode.ACCEPTED:
        segments.append(_err(outcome))
    return "\r".join(segments) + "\r"


def _err(outcome: Outcome) -> str:
    code = outcome.error_code or 207
    words = ERROR_WORDS.get(code, "")
    where = outcome.location
    location = (
        f"{where.segment}^{where.sequence}^{where.field}" + (f"^{where.component}" if where.component else "")
        if where
        else ""
    )
    legacy = (
        f"{where.segment}^{where.sequence}^{where.field}^{code}&{words}&HL70357"
        if where
        else f"^^^{code}&{words}&HL70357"
    )
    return "|".join(["ERR", legacy, location, f"{code}^{words}^HL70357", "E", "", "", "", escaped(outcome.text)])


def _header(message: hl7.Message | None) -> dict[int, str]:
    """MSH-3 to MSH-18 of the message as sent ({} for none); MSH-9 as code^trigger's trigger."""
    if message is None:
        return {}
    try:
        msh = message.segments("MSH")[0]
    except (KeyError, IndexError):
        return {}
    found: dict[int, str] = {}
    for number in (3, 4, 5, 6, 10, 11, 12, 18):
        try:
            found[number] = str(msh.extract_field(1, number, 1, 1, 1))
        except (IndexError, KeyError, ValueError):
            found[number] = ""
    try:
        found[9] = str(msh.extract_field(1, 9, 1, 2, 1))
    except (IndexError, KeyError, ValueError):
        found[9] = ""
    return found


def split_messages(data: bytes) -> list[bytes]:
    """The messages of a file: each begins with an MSH segment; segments end with CR, LF or CRLF
    (an editor's file), and blank lines between messages are left out. Segments end with CR in
    what is returned."""
    lines = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")
    messages: list[list[bytes]] = []
    for line in lines:
        if not line.strip():
            continue
        if line.startswith(b"MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return [b"\r".join(segments) + b"\r" for segments in messages]


@dataclass(frozen=True)
class AckSummary:
    """What a person needs of an ACK: its code, the control ID it answers, the text, the ERR."""

    code: str
    control_id: str
    text: str
    error: str = ""

    def line(self, sent: str) -> str:
        detail = "; ".join(part for part in (self.text, self.error) if part)
        return f"{sent}: {self.code}{f' - {detail}' if detail else ''}"


def read_ack(text: str) -> AckSummary:
    """An ACK as sent back by a receiver; ValueError when it is not one."""
    message = parse_text(text)
    try:
        msa = message.segments("MSA")[0]
    except (KeyError, IndexError):
        raise ValueError("The answer has no MSA segment.") from None
    code, control_id, said = (str(msa.extract_field(1, n, 1, 1, 1)) for n in (1, 2, 3))
    error = ""
    for err in message.segments("ERR") if any(str(s[0]) == "ERR" for s in message) else []:
        where = "^".join(part for part in (str(err.extract_field(1, 2, 1, c, 1)) for c in (1, 2, 3, 4)) if part) or str(
            err.extract_field(1, 1, 1, 1, 1)
        )
        code_text = " ".join(part for part in (str(err.extract_field(1, 3, 1, c, 1)) for c in (1, 2)) if part)
        message_text = str(err.extract_field(1, 8, 1, 1, 1))
        error = ", ".join(
            part
            for part in (f"at {where}" if where else "", code_text, message_text if message_text != said else "")
            if part
        )
    return AckSummary(code, control_id, said, error)


def message_codec(message: bytes) -> str:
    """The Python codec of the character set a message's MSH-18 names (UTF-8 when it names none):
    what its ACK, which repeats MSH-18, is read with."""
    try:
        declared = str(hl7.parse(message.decode("latin-1")).segments("MSH")[0].extract_field(1, 18, 1, 1, 1))
    except Exception:  # noqa: BLE001 -- a message the receiver cannot read either: its answer says so
        declared = ""
    return CHARACTER_SETS.get(declared.upper(), ("utf-8", ""))[0]


def summarize(answer: bytes, codec: str) -> AckSummary:
    """What a receiver answered, whatever it sent back: never raises."""
    try:
        return read_ack(answer.decode(codec, errors="replace"))
    except Exception:  # noqa: BLE001 -- whatever the peer sent back, it is reported, not raised
        return AckSummary("??", "", f"The answer is not an HL7 ACK: {answer[:80]!r}")


def named(message: bytes) -> str:
    """A message as its sender knows it: its control ID and type (MSH-10, MSH-9)."""
    fields = message.split(b"\r", 1)[0].decode("latin-1").split(message[3:4].decode("latin-1") or "|")
    control = fields[9] if len(fields) > 9 else ""
    kind = fields[8] if len(fields) > 8 else ""
    return f"{control or '(no control ID)'} {kind}".strip()
