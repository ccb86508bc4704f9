"""HL7 v2 orders as UPS actions: ORM^O01 (v2.3–2.4) and OMI^O23 (v2.5–2.5.1), read with
python-hl7, mapped as IHE Radiology's Scheduled Workflow does (RAD-4 Procedure Scheduled,
RAD-13 Procedure Update) onto the workitem the project builds everywhere (`build.NewWorkitem`).

Pure: the server applies the actions (app/server/hl7_orders.py). The workitem UID is derived
from the sender and the order, so that a resent NW makes the same workitem and a later CA or
XO finds it without a table of our own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import hl7
from hl7.containers import Component, Repetition
from hl7.util import unescape

from . import tags as t
from .build import NewWorkitem, code_item
from .dicomjson import JsonDataset
from .hl7_outcome import ErrorLocation, Outcome
from .hl7_text import hex_escapes_as_bytes
from .hl7_text import parse as parse_text
from .identifiers import derived_uid
from .procedure import reason_attributes
from .workitem import Code, PatientName

REFERRING_PHYSICIAN = "00080090"
REQUESTING_PHYSICIAN = "00321032"
REASON_FOR_REQUESTED_PROCEDURE = "00401002"
PLACER_ORDER_NUMBER = "00402016"
FILLER_ORDER_NUMBER = "00402017"
MEDICAL_ALERTS = "00102000"
ALLERGIES = "00102110"
MAX_ALLERGIES = 50  # AL1 segments read; more is not a patient's record but a hostile message
# Where the Accession Number comes from, first non-empty wins (IHE: IPC-1 in OMI, OBR-18 in ORM);
# a site whose RIS sends it elsewhere names its own fields (serve --hl7-accession).
ACCESSION_FIELDS = ("IPC-1", "OBR-18")
ACCESSION_SEGMENTS = ("ORC", "OBR", "IPC")

# MSH-18 (HL7 table 0211) -> (Python codec, DICOM Specific Character Set; "" the default repertoire)
CHARACTER_SETS: dict[str, tuple[str, str]] = {
    "ASCII": ("ascii", ""),
    "8859/1": ("latin-1", "ISO_IR 100"),
    "8859/2": ("iso8859-2", "ISO_IR 101"),
    "8859/5": ("iso8859-5", "ISO_IR 144"),
    "8859/7": ("iso8859-7", "ISO_IR 126"),
    "8859/9": ("iso8859-9", "ISO_IR 148"),
    "UNICODE UTF-8": ("utf-8", "ISO_IR 192"),
}
PRIORITIES = {"S": "HIGH", "A": "MEDIUM", "R": "LOW"}  # HL7 0485 stat / asap / routine
_TS = re.compile(r"^(\d{8})(\d{2,6})?(\.\d{1,6})?([+-]\d{4})?$")


class OrderControl(StrEnum):
    CREATE = "create"
    CANCEL = "cancel"
    CHANGE = "change"


ORDER_CONTROLS = {
    "NW": OrderControl.CREATE,
    "CA": OrderControl.CANCEL,
    "DC": OrderControl.CANCEL,
    "OC": OrderControl.CANCEL,
    "XO": OrderControl.CHANGE,
    "SC": OrderControl.CHANGE,
}


@dataclass(frozen=True)
class OrderAction:
    """One scheduled procedure step of an order and what to do with it: create it (`dataset` the
    whole workitem), cancel it, or change it (`dataset` the attributes a SCHEDULED one may change)."""

    control: OrderControl
    uid: str
    order_control: str  # ORC-1 as sent
    dataset: JsonDataset = field(default_factory=dict)
    label: str = ""


class OrderError(Exception):
    """A fault in the message, as the ACK reports it."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.text)
        self.outcome = outcome


def _refuse(text: str, segment: str, field_no: int, code: int, component: int = 0, sequence: int = 1) -> OrderError:
    return OrderError(Outcome.refused(text, ErrorLocation(segment, field_no, component, sequence), code))


# -- bytes to message ----------------------------------------------------------------------------------
def decode(raw: bytes) -> tuple[hl7.Message, str]:
    """The message in the character set MSH-18 names, and its DICOM Specific Character Set.
    Without MSH-18 (HL7's default is ASCII) UTF-8 is tried, then ISO 8859-1, which every
    byte decodes: a RIS that sends Latin-1 without saying so is common."""
    raw = hex_escapes_as_bytes(raw)
    header_line = raw.replace(b"\n", b"\r").split(b"\r", 1)[0]
    if header_line.isascii():  # then MSH reads the same in every character set offered
        once = _decoded_once(raw)
        if once is not None:
            return once
    # MSH-18 from the header alone: python-hl7 parses the whole message again once its text is known
    first = hl7.parse(header_line.decode("latin-1"))
    declared = _get(first, "MSH", 18).upper()
    if declared and declared not in CHARACTER_SETS:
        raise _refuse(f"The character set {declared!r} (MSH-18) is not one this server reads.", "MSH", 18, 103)
    if declared and declared != "ASCII":
        codec, term = CHARACTER_SETS[declared]
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            raise _refuse(f"The message is not valid {declared} as MSH-18 says.", "MSH", 18, 102) from None
        return parse_text(text), term
    try:
        text, term = raw.decode("ascii"), ""
    except UnicodeDecodeError:
        try:
            text, term = raw.decode("utf-8"), "ISO_IR 192"
        except UnicodeDecodeError:
            text, term = raw.decode("latin-1"), "ISO_IR 100"
    return parse_text(text), term


def _decoded_once(raw: bytes) -> tuple[hl7.Message, str] | None:
    """`decode`'s answer from one parse, when the text guessed first (ASCII, else UTF-8, else
    ISO 8859-1) is the one MSH-18 leads to; None otherwise. Parsing is most of reading an order:
    the header's own parse cost about 0.1 ms."""
    if raw.isascii():
        text, guess = raw.decode("ascii"), "ASCII"
    else:
        try:
            text, guess = raw.decode("utf-8"), "UNICODE UTF-8"
        except UnicodeDecodeError:
            text, guess = raw.decode("latin-1"), "8859/1"
    message = parse_text(text)
    declared = _get(message, "MSH", 18).upper()
    if guess == "ASCII" and declared in CHARACTER_SETS:  # every set offered is ASCII's superset
        return message, CHARACTER_SETS[declared][1]
    if declared in ("", "ASCII", guess):  # as decode's guesses without (or despite) MSH-18
        return message, CHARACTER_SETS[guess][1]
    return None


# -- reading fields ------------------------------------------------------------------------------------------
def _get(
    message: hl7.Message, segment: str, field_no: int, component: int = 1, repetition: int = 1, index: int = 1
) -> str:
    """A field's component as text, escapes decoded; "" when absent."""
    try:
        seg = message.segments(segment)[index - 1]
    except (KeyError, IndexError):
        return ""
    return _of(message, seg, field_no, component, repetition)


def _of(message: hl7.Message, seg: hl7.Segment | None, field_no: int, component: int = 1, repetition: int = 1) -> str:
    """A field's component (its first subcomponent), escapes decoded by python-hl7, "" when absent;
    what `Segment.extract_field` answers, read straight from python-hl7's containers: an order asks
    for some fifty fields, and extract_field's own bookkeeping was most of reading one (0.3 ms)."""
    if seg is None or field_no <= 0 or field_no >= len(seg) or repetition < 1 or component < 1:
        return ""
    reps = seg[field_no]  # python-hl7 counts MSH-1 (the field separator) as MSH's first field
    if repetition > len(reps):
        return ""
    rep = reps[repetition - 1]
    if not isinstance(rep, Repetition):
        if component > 1:
            return ""
        verbatim = field_no <= 2 and seg[0][0] == "MSH"  # the separators themselves
        return str(rep) if verbatim else str(unescape(seg, rep))
    if component > len(rep):
        return ""
    part = rep[component - 1]
    if isinstance(part, Component):
        part = part[0] if len(part) else ""
    return str(unescape(seg, part))


def segment_id(seg: hl7.Segment) -> str:
    return str(seg[0]) if len(seg) else ""


def _ts(value: str, segment: str, field_no: int, component: int = 0) -> str:
    """An HL7 TS/DTM as a DICOM DT (seconds, the offset kept); OrderError for an unreadable one."""
    if not value:
        return ""
    match = _TS.match(value.strip())
    if not match or not _plausible(match.group(1), (match.group(2) or "").ljust(6, "0")):
        raise _refuse(
            f"{segment}-{field_no} {value!r} is not a date and time (YYYYMMDDHHMM[SS]).",
            segment,
            field_no,
            102,
            component,
        )
    return match.group(1) + (match.group(2) or "").ljust(6, "0") + (match.group(4) or "")


def _plausible(day: str, time: str) -> bool:
    month, date_ = int(day[4:6]), int(day[6:8])
    return 1 <= month <= 12 and 1 <= date_ <= 31 and int(time[:2]) < 24 and int(time[2:4]) < 60 and int(time[4:6]) < 60


def _person(message: hl7.Message, seg: hl7.Segment | None, field_no: int, first: int) -> str:
    """An XPN/XCN as a DICOM PN (family^given^middle^prefix^suffix); `first` is the family name's
    component (1 in XPN, 2 in XCN, whose first is the ID)."""
    if seg is None:
        return ""
    family, given, middle, suffix, prefix = (_of(message, seg, field_no, first + i) for i in range(5))
    return "^".join((family, given, middle, prefix, suffix)).rstrip("^")


def _code(message: hl7.Message, seg: hl7.Segment | None, field_no: int, default_scheme: str = "L") -> Code | None:
    if seg is None:
        return None
    value, meaning, scheme = (_of(message, seg, field_no, i) for i in (1, 2, 3))
    if not value:
        return None
    _whole(value, 16, "The code value", segment_id(seg), field_no)
    return Code(value, scheme or default_scheme, meaning[:64] or value)


def _whole(value: str, limit: int, what: str, segment: str, field_no: int) -> str:
    """`value` if DICOM can keep it whole; refused (AE 102) when longer than `limit`. An
    identifier cut short names another patient, order or station, or two orders alike."""
    if len(value) > limit:
        raise _refuse(
            f"{what} {value[:20]!r}… ({segment}-{field_no}) has {len(value)} characters; the worklist keeps "
            f"at most {limit} here and cuts no identifier short.",
            segment,
            field_no,
            102,
        )
    return value


# -- the order ------------------------------------------------------------------------------------------------
@dataclass
class _Group:
    """One ORC with what follows it up to the next ORC: its OBR, TQ1, IPCs and ZDS."""

    orc: hl7.Segment
    number: int  # the ORC's sequence in the message (ERR-2.2)
    segments: dict[str, list[hl7.Segment]] = field(default_factory=dict)

    def first(self, name: str) -> hl7.Segment | None:
        found = self.segments.get(name)
        return found[0] if found else None


def _groups(message: hl7.Message) -> list[_Group]:
    groups: list[_Group] = []
    for seg in message:
        name = segment_id(seg)
        if name == "ORC":
            groups.append(_Group(seg, len(groups) + 1))
        elif groups:
            groups[-1].segments.setdefault(name, []).append(seg)
    return groups


def order_actions(
    message: hl7.Message,
    character_set: str,
    now: str,
    stations: Mapping[str, str] | None = None,
    accession_fields: Sequence[str] = ACCESSION_FIELDS,
) -> list[OrderAction]:
    """The actions of an ORM^O01 or OMI^O23, one per scheduled procedure step of each ORC
    (one per IPC in OMI, else one per OBR); OrderError for the first fault. `stations`: the
    site's modality → station AE for orders naming none; `accession_fields`: where its RIS puts
    the Accession Number (fields like "OBR-18", first non-empty wins)."""
    site = _Site(stations or {}, tuple(accession_fields))
    groups = _groups(message)
    if not groups:
        raise _refuse("The order has no ORC segment.", "ORC", 0, 100)
    sender = (_get(message, "MSH", 3), _get(message, "MSH", 4))
    actions = []
    for group in groups:
        control_text = _of(message, group.orc, 1).upper()
        control = ORDER_CONTROLS.get(control_text)
        if control is None:
            raise _refuse(
                f"The order control {control_text!r} (ORC-1) is not one this server acts on: NW, CA, DC, OC, XO or SC.",
                "ORC",
                1,
                103,
                sequence=group.number,
            )
        obr = group.first("OBR")
        placer = _of(message, group.orc, 2) or (_of(message, obr, 2) if obr else "")
        filler = _of(message, group.orc, 3) or (_of(message, obr, 3) if obr else "")
        _whole(placer, 64, "The placer order number", "ORC", 2)
        _whole(filler, 64, "The filler order number", "ORC", 3)
        if not (placer or filler):
            raise _refuse(
                "The order has neither a placer (ORC-2) nor a filler order number (ORC-3).",
                "ORC",
                2,
                101,
                sequence=group.number,
            )
        steps = group.segments.get("IPC") or [None]
        for ipc in steps:
            step_id = _of(message, ipc, 4) if ipc is not None else (_of(message, obr, 20) if obr else "")
            uid = workitem_uid(*sender, placer or filler, step_id)
            if control is OrderControl.CANCEL:
                actions.append(OrderAction(control, uid, control_text, _cancel_reason(message, group.orc)))
                continue
            dataset, label = _step(message, group, ipc, uid, sender, (placer, filler), character_set, now, site)
            if control is OrderControl.CHANGE:
                dataset = {tag: dataset[tag] for tag in CHANGEABLE if tag in dataset}
            actions.append(OrderAction(control, uid, control_text, dataset, label))
    return actions


def _cancel_reason(message: hl7.Message, orc: hl7.Segment) -> JsonDataset:
    """Why the RIS cancels, for the technologist asked to stop: ORC-16 (Order Control Code Reason,
    a CID 9300 code for a worklist) and ORC-10 (Entered By: whom to call); {} when neither is sent."""
    contact = " ".join(part for part in (_of(message, orc, 10, 3), _of(message, orc, 10, 2)) if part)
    return reason_attributes(_code(message, orc, 16), "", contact[:64])


def workitem_uid(application: str, facility: str, order: str, step_id: str) -> str:
    """The workitem of one scheduled procedure step of an order: the same for a resend, a
    cancellation or a change of it."""
    return derived_uid("hl7-order", application, facility, order, step_id)


# what an XO/SC may change on a SCHEDULED workitem (RAD-13: time, place, priority, what is done)
CHANGEABLE = (
    t.SPS_START_DATETIME,
    t.PRIORITY,
    t.PROCEDURE_STEP_LABEL,
    t.STATION_NAME_CODE_SEQ,
    t.STATION_CLASS_CODE_SEQ,
    t.SCHEDULED_WORKITEM_CODE_SEQ,
    t.COMMENTS_ON_SPS,
)


def _step(
    message: hl7.Message,
    group: _Group,
    ipc: hl7.Segment | None,
    uid: str,
    sender: tuple[str, str],
    order: tuple[str, str],
    character_set: str,
    now: str,
    site: _Site,
) -> tuple[JsonDataset, str]:
    placer, filler = order
    pid = _first(message, "PID")
    if pid is None or not _of(message, pid, 3):
        raise _refuse("The patient has no identifier (PID-3).", "PID", 3, 101)
    pv1 = _first(message, "PV1")
    obr, tq1 = group.first("OBR"), group.first("TQ1")
    zds = _first(message, "ZDS")
    orc = group.orc

    start = ""
    if tq1 is not None:
        start = _ts(_of(message, tq1, 7), "TQ1", 7)
    if not start and obr is not None:
        start = _ts(_of(message, obr, 27, 4), "OBR", 27, 4)
    if not start:
        start = _ts(_of(message, orc, 7, 4), "ORC", 7, 4)
    if not start:
        start = _ts(_get(message, "MSH", 7), "MSH", 7) or now
    priority_code = (_of(message, tq1, 9) if tq1 is not None else "") or _of(message, orc, 7, 6)
    priority_code = priority_code or (_of(message, obr, 27, 6) if obr else "")
    modality = (_of(message, ipc, 5) if ipc is not None else "") or (_of(message, obr, 24) if obr else "")
    station = _whole(_of(message, ipc, 9), 16, "The station AE title", "IPC", 9) if ipc is not None else ""
    station = station or (_whole(_of(message, obr, 21), 16, "The station AE title", "OBR", 21) if obr else "")
    station = station or site.stations.get(modality.upper(), "")
    procedure = _code(message, obr, 4)
    # the protocol: IPC-6 in OMI; in ORM, OBR-44 (the IHE table's "Scheduled Protocol Code")
    protocol = _code(message, ipc, 6) if ipc is not None else _code(message, obr, 44)
    accession = _accession(message, {"ORC": orc, "OBR": obr, "IPC": ipc}, site.accession_fields)
    requested_id = _whole(_of(message, ipc, 2), 16, "The Requested Procedure ID", "IPC", 2) if ipc is not None else ""
    requested_id = requested_id or (
        _whole(_of(message, obr, 19), 16, "The Requested Procedure ID", "OBR", 19) if obr else ""
    )
    study = (_of(message, ipc, 3) if ipc is not None else "") or (_of(message, zds, 1) if zds else "")
    study = study or derived_uid("hl7-study", *sender, placer or filler, accession)
    birth = _of(message, pid, 7)[:8]
    if birth and not (birth.isdigit() and len(birth) == 8 and _plausible(birth, "000000")):
        raise _refuse(f"PID-7 {birth!r} is not a date (YYYYMMDD).", "PID", 7, 102)
    sex = _of(message, pid, 8).upper()
    label = (procedure.meaning if procedure else "") or (protocol.meaning if protocol else "") or "HL7 order"
    item = NewWorkitem(
        uid=uid,
        label=label[:64],
        start=start,
        patient=PatientName(_whole(_person(message, pid, 5, 1), 64, "The patient's name", "PID", 5)),
        patient_id=_whole(_of(message, pid, 3), 64, "The Patient ID", "PID", 3),
        station=station or None,
        modality=modality.upper() or None,
        priority=PRIORITIES.get(priority_code.upper()[:1], "MEDIUM"),
        birth_date=birth,
        sex=sex if sex in ("M", "F", "O") else "",
        accession=accession,
        requested_procedure_id=(requested_id or placer or filler)[:16],
        requested_procedure=procedure,
        study_uid=study,
        character_set=character_set,
    )
    dataset = item.to_json()
    if not character_set:
        dataset[t.SPECIFIC_CHARACTER_SET] = {"vr": "CS"}
    issuer = _of(message, pid, 3, 4)
    dataset[t.ISSUER_OF_PATIENT_ID] = {"vr": "LO", "Value": [issuer]} if issuer else {"vr": "LO"}
    admission = _of(message, pv1, 19) if pv1 is not None else ""
    _whole(admission, 64, "The Admission ID", "PV1", 19)
    dataset[t.ADMISSION_ID] = {"vr": "LO", "Value": [admission]} if admission else {"vr": "LO"}
    if protocol is not None:
        dataset[t.SCHEDULED_WORKITEM_CODE_SEQ] = {"vr": "SQ", "Value": [code_item(protocol)]}
    alerts = _of(message, obr, 12, 2) or _of(message, obr, 12) if obr else ""
    if alerts:
        dataset[MEDICAL_ALERTS] = {"vr": "LO", "Value": [alerts[:64]]}
    allergies = _allergies(message)
    if allergies:
        dataset[ALLERGIES] = {"vr": "LO", "Value": allergies}
    request = dataset[t.REFERENCED_REQUEST_SEQ]["Value"][0]
    for tag, vr, value in (
        (REFERRING_PHYSICIAN, "PN", _person(message, pv1, 8, 2)),
        (REQUESTING_PHYSICIAN, "PN", _person(message, obr, 16, 2)),
        (REASON_FOR_REQUESTED_PROCEDURE, "LO", (_of(message, obr, 31, 2) or _of(message, obr, 31))[:64] if obr else ""),
        (PLACER_ORDER_NUMBER, "LO", placer),
        (FILLER_ORDER_NUMBER, "LO", filler),
    ):
        if value:
            request[tag] = {"vr": vr, "Value": [{"Alphabetic": value} if vr == "PN" else value]}
    return dataset, label


@dataclass(frozen=True)
class _Site:
    """What a site's RIS does its own way: the station of an order that names none, and where
    the Accession Number is."""

    stations: Mapping[str, str]
    accession_fields: tuple[str, ...]


def _accession(message: hl7.Message, segments: Mapping[str, hl7.Segment | None], fields: Sequence[str]) -> str:
    """The first non-empty of the site's accession fields. Longer than DICOM's 16 characters is
    refused, not cut: two orders whose numbers differ only at the end would share one."""
    for ref in fields:
        name, _, number = ref.partition("-")
        value = _of(message, segments.get(name), int(number))
        if not value:
            continue
        if len(value) > 16:
            raise _refuse(
                f"The Accession Number {value!r} ({ref}) is over 16 characters, DICOM's limit: it cannot be "
                "kept whole. Have the RIS send a shorter one, or name another field with serve --hl7-accession.",
                name,
                int(number),
                102,
            )
        return value
    return ""


def accession_field(text: str) -> str:
    """A field an Accession Number may come from ("OBR-18"); ValueError with the sentence."""
    name, _, number = text.strip().upper().partition("-")
    if name not in ACCESSION_SEGMENTS or not number.isdigit() or not 0 < int(number) <= 50:
        raise ValueError(f"{text!r}: name a field of ORC, OBR or IPC with its number, for example OBR-18 or ORC-3")
    return f"{name}-{int(number)}"


def _allergies(message: hl7.Message) -> list[str]:
    """Each AL1's allergen (AL1-3: code^text), the text where there is one."""
    found = []
    for seg in (seg for seg in message if segment_id(seg) == "AL1"):
        allergen = _of(message, seg, 3, 2) or _of(message, seg, 3)
        if allergen and allergen[:64] not in found:
            found.append(allergen[:64])
        if len(found) >= MAX_ALLERGIES:
            break
    return found


def _first(message: hl7.Message, name: str) -> hl7.Segment | None:
    return next((seg for seg in message if segment_id(seg) == name), None)


def message_type(message: hl7.Message) -> tuple[str, str]:
    """MSH-9 as (message code, trigger event), upper-cased."""
    return _get(message, "MSH", 9, 1).upper(), _get(message, "MSH", 9, 2).upper()


def header(message: hl7.Message, field_no: int, component: int = 1) -> str:
    """An MSH field's component, escapes decoded."""
    return _get(message, "MSH", field_no, component)


def read_order(
    raw_message: hl7.Message,
    character_set: str,
    now: str,
    stations: Mapping[str, str] | None = None,
    accession_fields: Sequence[str] = ACCESSION_FIELDS,
) -> list[OrderAction] | Outcome:
    """`order_actions`, or the outcome that refuses the message."""
    try:
        return order_actions(raw_message, character_set, now, stations, accession_fields)
    except OrderError as exc:
        return exc.outcome
