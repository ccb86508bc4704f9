"""The ACK of an HL7 v2 message (HL7 v2.5 chapter 2: original-mode acknowledgement): the MSH with
sender and receiver swapped, MSA with the code and the control ID, and an ERR naming the field
and why when the answer is AE or AR."""

from __future__ import annotations

import hl7

from .hl7_outcome import AckCode, Outcome

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
