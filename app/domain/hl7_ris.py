"""The HL7 v2 messages a RIS sends a worklist broker: a new order (ORM^O01 NW, IHE RAD-4), its
cancellation (ORC-1 CA, RAD-13), a patient merge (ADT^A40) and new demographics (ADT^A08) —
built for the demo's simulated RIS, in the fields the server's door reads (hl7_orders,
hl7_patients), so the trainer's RIS goes through the door a site's RIS uses.

Every message declares UTF-8 (MSH-18 UNICODE UTF-8): the demo's patients need more than ASCII.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .hl7_ack import AckSummary, escaped, named
from .workitem import Code

UTF8 = "UNICODE UTF-8"
VERSION = "2.5"


@dataclass(frozen=True)
class Sender:
    """MSH-3/MSH-4 of the sender and MSH-5/MSH-6 of the receiver."""

    application: str
    facility: str
    receiver: str = "WORKLIST"


@dataclass(frozen=True)
class Patient:
    id: str
    name: str = ""  # a DICOM PN's alphabetic group: family^given^middle^prefix^suffix
    birth_date: str = ""
    sex: str = ""


@dataclass(frozen=True)
class Order:
    """One scheduled procedure step of a new order (one OBR)."""

    placer: str  # ORC-2: the order number the cancellation names again
    patient: Patient
    procedure: Code
    modality: str
    station: str
    start: str  # DT, YYYYMMDDHHMMSS
    priority: str = "R"  # HL7 table 0485: S stat, A asap, R routine
    accession: str = ""
    requested_procedure_id: str = ""
    reason: str = ""


def _join(*fields: str) -> str:
    return "|".join(fields).rstrip("|")


def _msh(sender: Sender, kind: str, control_id: str, now: str) -> str:
    return "|".join(
        (
            "MSH",
            "^~\\&",
            escaped(sender.application),
            escaped(sender.facility),
            escaped(sender.receiver),
            escaped(sender.facility),
            now,
            "",
            kind,
            escaped(control_id),
            "P",
            VERSION,
            *("",) * 5,
            UTF8,
        )
    )


def _xpn(name: str) -> str:
    """A DICOM PN's alphabetic group (family^given^middle^prefix^suffix) as an HL7 XPN
    (family^given^middle^suffix^prefix), each part escaped."""
    parts = (name.split("=")[0].split("^") + [""] * 5)[:5]
    family, given, middle, prefix, suffix = (escaped(part) for part in parts)
    return "^".join((family, given, middle, suffix, prefix)).rstrip("^")


def _pid(patient: Patient) -> str:
    return _join("PID", "1", "", escaped(patient.id), "", _xpn(patient.name), "", patient.birth_date, patient.sex)


def _ce(code: Code) -> str:
    return "^".join(escaped(part) for part in (code.value, code.meaning or code.value, code.scheme))


def _segments(*segments: str) -> str:
    return "\r".join(segments) + "\r"


def new_order(order: Order, sender: Sender, control_id: str, now: str) -> str:
    """ORM^O01 with ORC-1 NW: the order, its patient and its one scheduled procedure step."""
    timing = f"^^^{order.start}^^{order.priority}"
    obr = [""] * 32
    obr[0], obr[1], obr[2] = "OBR", "1", escaped(order.placer)
    obr[4] = _ce(order.procedure)
    obr[18], obr[19] = escaped(order.accession), escaped(order.requested_procedure_id)
    obr[21], obr[24] = escaped(order.station), escaped(order.modality)
    obr[27] = timing
    obr[31] = f"^{escaped(order.reason)}" if order.reason else ""
    return _segments(
        _msh(sender, "ORM^O01", control_id, now),
        _pid(order.patient),
        _join("PV1", "1", "E"),
        _join("ORC", "NW", escaped(order.placer), "", "", "SC", "", timing),
        _join(*obr),
    )


def cancel_order(
    placer: str, patient: Patient, sender: Sender, control_id: str, now: str, reason: Code | None, entered_by: str = ""
) -> str:
    """ORM^O01 with ORC-1 CA: the order named by its placer number; ORC-16 the reason (CID 9300
    for a worklist), ORC-10 who entered the cancellation, whom the technologist may call."""
    orc = ["ORC", "CA", escaped(placer)] + [""] * 14
    orc[10] = f"^{escaped(entered_by)}" if entered_by else ""
    orc[16] = _ce(reason) if reason else ""
    return _segments(
        _msh(sender, "ORM^O01", control_id, now),
        _pid(patient),
        _join(*orc),
        _join("OBR", "1", escaped(placer)),
    )


def merge_patient(survivor: Patient, prior_id: str, sender: Sender, control_id: str, now: str) -> str:
    """ADT^A40: the patient known as `prior_id` is `survivor` from now on (MRG-1 the prior ID)."""
    return _segments(
        _msh(sender, "ADT^A40^ADT_A39", control_id, now),
        _join("EVN", "A40", now),
        _pid(survivor),
        _join("MRG", escaped(prior_id)),
    )


def update_patient(patient: Patient, sender: Sender, control_id: str, now: str) -> str:
    """ADT^A08: new demographics of the patient of PID-3."""
    return _segments(
        _msh(sender, "ADT^A08^ADT_A01", control_id, now),
        _join("EVN", "A08", now),
        _pid(patient),
        _join("PV1", "1", "O"),
    )


@dataclass(frozen=True)
class SentMessage:
    """One message a sender sent, and what came back: the ACK's text and summary, or why none came."""

    when: datetime
    message: str
    answer: str = ""
    ack: AckSummary | None = None
    failure: str = ""

    @property
    def name(self) -> str:
        """Its control ID and type (MSH-10, MSH-9)."""
        return named(self.message.encode("utf-8"))

    @property
    def kind(self) -> str:
        """Its message code and trigger event (MSH-9.1^MSH-9.2: ORM^O01, ADT^A40)."""
        fields = self.message.split("\r", 1)[0].split("|")
        return "^".join(fields[8].split("^")[:2]) if len(fields) > 8 else ""

    @property
    def control_id(self) -> str:
        fields = self.message.split("\r", 1)[0].split("|")
        return fields[9] if len(fields) > 9 else ""

    @property
    def code(self) -> str:
        """The ACK's MSA-1 (AA, AE, AR), or "—" when none came."""
        return self.ack.code if self.ack is not None else "—"
