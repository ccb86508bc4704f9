"""The MWL ⇄ UPS mapping (IHE EBIW Table 4.130.4.1.2-2; standard.md §8), in DICOM JSON.

One module for both sides: the embedded server's DIMSE front answers MWL queries from UPS
workitems (`ups_to_mwl`), and the console's DIMSE backend reads MWL results as workitems
(`mwl_to_ups`).
"""

from __future__ import annotations

import hashlib
import re

from . import tags as t
from .build import MODALITIES, STATION_SCHEME
from .charsets import declare_json
from .dicomjson import JsonDataset
from .dicomjson import element as _element
from .dicomjson import first_value as _first
from .dicomjson import items as _items
from .dicomjson import values as _values
from .identifiers import derived_uid

SPS_SEQ = "00400100"
SPS_STATION_AE = "00400001"
SPS_START_DATE = "00400002"
SPS_START_TIME = "00400003"
MODALITY = "00080060"
SPS_PERFORMING_PHYSICIAN = "00400006"
SPS_DESCRIPTION = "00400007"
SPS_PROTOCOL_CODE_SEQ = "00400008"
SPS_ID = "00400009"
SPS_STATION_NAME = "00400010"
SPS_LOCATION = "00400011"
SPS_STATUS = "00400020"
REQUESTED_PROCEDURE_PRIORITY = "00401003"
REFERRING_PHYSICIAN = "00080090"
REQUESTING_PHYSICIAN = "00321032"

# Attributes with the same tag in both worlds (patient, visit, study).
SHARED = (
    t.SPECIFIC_CHARACTER_SET,
    t.PATIENT_NAME,
    t.PATIENT_ID,
    t.ISSUER_OF_PATIENT_ID,
    t.BIRTH_DATE,
    t.SEX,
    t.ADMISSION_ID,
    "00380014",
    "00101002",
    t.STUDY_INSTANCE_UID,
    "00102000",
    "00102110",
    "001021C0",
    "00380500",
    "00101030",
    "00380300",
)
# MWL attributes that live in the UPS inside the Referenced Request Sequence.
IN_REQUEST = (
    t.ACCESSION_NUMBER,
    "00080051",
    t.REQUESTED_PROCEDURE_ID,
    t.REQUESTED_PROCEDURE_DESCRIPTION,
    t.REQUESTED_PROCEDURE_CODE_SEQ,
    t.REQUESTING_SERVICE,
    REFERRING_PHYSICIAN,
    REQUESTING_PHYSICIAN,
    "00401002",
)
UPS_TO_SPS_STATUS = {
    "SCHEDULED": "SCHEDULED",
    "IN PROGRESS": "STARTED",
    "COMPLETED": "COMPLETED",
    "CANCELED": "DISCONTINUED",
}
# PS3.3 C.4.10 defines SCHEDULED, ARRIVED, READY, STARTED and DEPARTED; RIS products also send
# the MPPS and UPS words, spelled with a space, an underscore or nothing (pylantir: IN_PROGRESS).
# Keys are compared without spaces, underscores or hyphens.
SPS_TO_UPS_STATE = {
    "SCHEDULED": "SCHEDULED",
    "ARRIVED": "SCHEDULED",
    "READY": "SCHEDULED",
    "STARTED": "IN PROGRESS",
    "DEPARTED": "IN PROGRESS",
    "INPROGRESS": "IN PROGRESS",
    "COMPLETED": "COMPLETED",
    "COMPLETE": "COMPLETED",
    "DISCONTINUED": "CANCELED",
    "CANCELED": "CANCELED",
    "CANCELLED": "CANCELED",
}
# An unknown status is shown as IN PROGRESS held by no station: the console then offers no Start
# (it may be a claim by another system), and this sentence, in the step's comments and progress
# description, says why. The words up to the status are what `unknown_sps_status` looks for.
UNKNOWN_STATUS_SENTENCE = (
    "The worklist server gives this step the status {status!r}, which this console does not know: "
    "it is shown as in progress and not offered for starting. Ask the RIS whether it may be started."
)
_UNKNOWN_STATUS = re.compile(r"^The worklist server gives this step the status (['\"])(.*?)\1, which")


def sps_state(status: str) -> str | None:
    """The UPS state of a Scheduled Procedure Step Status; SCHEDULED when it is empty (Type 2),
    None when the status is not one this console knows."""
    key = re.sub(r"[\s_\-]+", "", status).upper()
    if not key:
        return "SCHEDULED"
    return SPS_TO_UPS_STATE.get(key)


def unknown_sps_status(ups: JsonDataset) -> str:
    """The MWL status `mwl_to_ups` did not know, as the peer sent it; "" for a known one."""
    match = _UNKNOWN_STATUS.match(str(_first(ups, t.COMMENTS_ON_SPS) or ""))
    return match.group(2) if match else ""


def _first_code(ds: JsonDataset, tag: str, field: str = t.CODE_VALUE) -> str:
    items = _items(ds, tag)
    return str(_first(items[0], field) or "") if items else ""


def _code_values(ds: JsonDataset, tag: str) -> list[str]:
    """The code value of every item of a code sequence, in order, the empty ones left out."""
    return [value for item in _items(ds, tag) if (value := str(_first(item, t.CODE_VALUE) or ""))]


def _texts(ds: JsonDataset, tag: str) -> list[str]:
    """Every value of an attribute, the empty ones left out."""
    return [text for value in _values(ds, tag) if value is not None and (text := str(value).strip())]


def sps_id(ups_uid: str) -> str:
    """A stable Scheduled Procedure Step ID (SH, 16 characters) for a UPS."""
    return hashlib.sha1(ups_uid.encode()).hexdigest()[:16].upper()


def ups_to_mwl(ups: JsonDataset) -> JsonDataset:
    """The Modality Worklist item of a UPS, with every key of Table K.6-1 present."""
    mwl: JsonDataset = {tag: ups[tag] for tag in SHARED if tag in ups}
    request = (_items(ups, t.REFERENCED_REQUEST_SEQ) or [{}])[0]
    for tag in IN_REQUEST:
        if tag in request:
            mwl[tag] = request[tag]
    mwl.setdefault(t.ACCESSION_NUMBER, {"vr": "SH"})
    mwl.setdefault(t.REQUESTED_PROCEDURE_ID, {"vr": "SH"})
    if t.STUDY_INSTANCE_UID not in mwl and t.STUDY_INSTANCE_UID in request:
        mwl[t.STUDY_INSTANCE_UID] = request[t.STUDY_INSTANCE_UID]
    start = str(_first(ups, t.SPS_START_DATETIME) or "")
    performers = _items(ups, t.HUMAN_PERFORMERS_SEQ)
    performer = _first(performers[0], t.HUMAN_PERFORMER_NAME) if performers else None
    state = str(_first(ups, t.PROCEDURE_STEP_STATE) or "")
    sps: JsonDataset = {
        # (0040,0001) is VM 1-n (Table K.6-1): a step scheduled for several stations names them all
        SPS_STATION_AE: _many("AE", [value[:16] for value in _code_values(ups, t.STATION_NAME_CODE_SEQ)]),
        SPS_START_DATE: _element("DA", start[:8]),
        SPS_START_TIME: _element("TM", start[8:14]),
        MODALITY: _element("CS", _first_code(ups, t.STATION_CLASS_CODE_SEQ)),
        SPS_PERFORMING_PHYSICIAN: {"vr": "PN", "Value": [performer]} if performer else {"vr": "PN"},
        SPS_DESCRIPTION: _element("LO", _first(ups, t.PROCEDURE_STEP_LABEL)),
        SPS_PROTOCOL_CODE_SEQ: ups.get(t.SCHEDULED_WORKITEM_CODE_SEQ) or {"vr": "SQ"},
        SPS_ID: _element("SH", sps_id(str(_first(ups, t.SOP_INSTANCE_UID) or ""))),
        SPS_STATION_NAME: _element("SH", _first_code(ups, t.STATION_NAME_CODE_SEQ, t.CODE_MEANING)[:16]),
        SPS_LOCATION: _element("SH", _first_code(ups, t.STATION_LOCATION_CODE_SEQ, t.CODE_MEANING)[:16]),
        SPS_STATUS: _element("CS", UPS_TO_SPS_STATUS.get(state, "")),
    }
    mwl[SPS_SEQ] = {"vr": "SQ", "Value": [sps]}
    mwl[REQUESTED_PROCEDURE_PRIORITY] = _element("SH", _first(ups, t.PRIORITY))
    return mwl


def mwl_to_ups(mwl: JsonDataset, station_scheme: str = STATION_SCHEME) -> JsonDataset:
    """A UPS view of an MWL item (what the console shows); its UID is stable for the same step."""
    sps = (_items(mwl, SPS_SEQ) or [{}])[0]
    study = str(_first(mwl, t.STUDY_INSTANCE_UID) or "")
    step = str(_first(sps, SPS_ID) or "")
    uid = derived_uid("mwl", study, step, str(_first(mwl, t.ACCESSION_NUMBER) or ""))
    ups: JsonDataset = {tag: mwl[tag] for tag in SHARED if tag in mwl}
    date, time = str(_first(sps, SPS_START_DATE) or ""), str(_first(sps, SPS_START_TIME) or "")
    time = time.replace(":", "").split(".")[0].ljust(6, "0")[:6] if time else "000000"
    # some RIS send only the Scheduled Station Name: it then names the station too
    station_name = str(_first(sps, SPS_STATION_NAME) or "")
    stations = list(dict.fromkeys(_texts(sps, SPS_STATION_AE))) or ([station_name] if station_name else [])
    modality = str(_first(sps, MODALITY) or "")
    label = str(_first(sps, SPS_DESCRIPTION) or _first(mwl, t.REQUESTED_PROCEDURE_DESCRIPTION) or "")
    request = {tag: mwl[tag] for tag in IN_REQUEST if tag in mwl}
    if study:
        request[t.STUDY_INSTANCE_UID] = {"vr": "UI", "Value": [study]}
    performer = _first(sps, SPS_PERFORMING_PHYSICIAN)
    priority = str(_first(mwl, REQUESTED_PROCEDURE_PRIORITY) or "").upper()
    status = str(_first(sps, SPS_STATUS) or "")
    state = sps_state(status)
    comments = [str(_first(sps, t.COMMENTS_ON_SPS) or "")]
    if state is None:
        unknown = UNKNOWN_STATUS_SENTENCE.format(status=status)
        comments.insert(0, unknown)
        ups[t.PROGRESS_INFORMATION_SEQ] = {
            "vr": "SQ",
            "Value": [{t.PROGRESS_DESCRIPTION: {"vr": "ST", "Value": [unknown]}}],
        }
    comment = " ".join(c for c in comments if c)
    if comment:
        ups[t.COMMENTS_ON_SPS] = {"vr": "LT", "Value": [comment]}
    ups.update(
        {
            t.SOP_CLASS_UID: {"vr": "UI", "Value": [t.UPS_PUSH_SOP_CLASS]},
            t.SOP_INSTANCE_UID: {"vr": "UI", "Value": [uid]},
            t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": [state or "IN PROGRESS"]},
            t.PRIORITY: {
                "vr": "CS",
                "Value": ["HIGH" if priority in ("STAT", "HIGH") else "LOW" if priority == "LOW" else "MEDIUM"],
            },
            t.PROCEDURE_STEP_LABEL: _element("LO", label),
            t.SPS_START_DATETIME: _element("DT", f"{date}{time}" if date else ""),
            t.INPUT_READINESS_STATE: {"vr": "CS", "Value": ["READY"]},
            **_station_codes(stations, modality, station_scheme, station_name),
            t.SCHEDULED_WORKITEM_CODE_SEQ: sps.get(SPS_PROTOCOL_CODE_SEQ) or {"vr": "SQ"},
            t.HUMAN_PERFORMERS_SEQ: {
                "vr": "SQ",
                "Value": [{t.HUMAN_PERFORMER_NAME: {"vr": "PN", "Value": [performer]}}],
            }
            if performer
            else {"vr": "SQ"},
            t.REFERENCED_REQUEST_SEQ: {"vr": "SQ", "Value": [request]},
        }
    )
    location = _first(sps, SPS_LOCATION)
    if location:
        ups[t.STATION_LOCATION_CODE_SEQ] = {"vr": "SQ", "Value": [_code(str(location), "99WLLOCATION", str(location))]}
    return ups


def _station_codes(stations: list[str], modality: str, scheme: str = STATION_SCHEME, name: str = "") -> JsonDataset:
    """The scheduled stations' name codes (one item per AE title, under a local scheme) and class
    code (the modality, CID 29), each empty when unknown. The Scheduled Station Name is the one name
    the RIS gives the step's stations, so it is each item's meaning."""
    return {
        t.STATION_NAME_CODE_SEQ: {
            "vr": "SQ",
            "Value": [_code(station, scheme, name or station) for station in stations],
        }
        if stations
        else {"vr": "SQ"},
        t.STATION_CLASS_CODE_SEQ: {"vr": "SQ", "Value": [_code(modality, "DCM", MODALITIES.get(modality, modality))]}
        if modality
        else {"vr": "SQ"},
    }


def _many(vr: str, values: list[str]) -> JsonDataset:
    return {"vr": vr, "Value": values} if values else {"vr": vr}


def _code(value: str, scheme: str, meaning: str) -> JsonDataset:
    return {
        t.CODE_VALUE: {"vr": "SH", "Value": [value[:16]]},
        t.CODING_SCHEME: {"vr": "SH", "Value": [scheme]},
        t.CODE_MEANING: {"vr": "LO", "Value": [meaning]},
    }


def answer_keys(item: JsonDataset, identifier: JsonDataset) -> JsonDataset:
    """The requested keys of a C-FIND answer (K.2.2.1.2): every key asked for, nothing more, but
    the Specific Character Set its text needs (the stored one where it carries it, `charsets`).
    An empty requested sequence returns the whole stored sequence."""
    out = _answer_keys(item, identifier)
    if t.SPECIFIC_CHARACTER_SET in item:
        out[t.SPECIFIC_CHARACTER_SET] = item[t.SPECIFIC_CHARACTER_SET]
    return declare_json(out)


def _answer_keys(item: JsonDataset, identifier: JsonDataset) -> JsonDataset:
    out: JsonDataset = {}
    for tag, element in identifier.items():
        if tag == t.SPECIFIC_CHARACTER_SET:
            continue
        vr = element.get("vr", "")
        stored = item.get(tag) or {"vr": vr}
        if vr == "SQ":
            wanted = _items(identifier, tag)
            if wanted and wanted[0]:
                stored_items = _items(item, tag)
                out[tag] = (
                    {"vr": "SQ", "Value": [_answer_keys(i, wanted[0]) for i in stored_items]}
                    if stored_items
                    else {"vr": "SQ"}
                )
                continue
        out[tag] = stored
    return out


def identifier_keys(identifier: JsonDataset, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """A C-FIND identifier as (tag path, value text) pairs for `query.build_query`.

    Empty keys are return keys (universal); a sequence with an item contributes its item's keys.
    """
    pairs: list[tuple[tuple[str, ...], str]] = []
    for tag, element in identifier.items():
        if tag in (t.SPECIFIC_CHARACTER_SET, t.TIMEZONE_OFFSET) or not isinstance(element, dict):
            continue
        vr = element.get("vr", "")
        values = element.get("Value") or []
        if vr == "SQ":
            items = [v for v in values if isinstance(v, dict)]
            if items and items[0]:
                pairs.extend(identifier_keys(items[0], prefix + (tag,)))
            continue
        if vr in ("OB", "OW", "UN", "OF", "OD", "OL", "OV"):
            continue
        texts = []
        for value in values:
            if isinstance(value, dict):
                value = value.get("Alphabetic") or value.get("Ideographic") or ""
            texts.append("" if value is None else str(value))
        pairs.append((prefix + (tag,), "\\".join(texts)))
    return pairs


# -- MPPS -> UPS (standard.md §8, derived) -----------------------------------------------------
MPPS_STATUS = "00400252"
PERFORMED_STATION_AE = "00400241"
PPS_START_DATE, PPS_START_TIME = "00400244", "00400245"
PPS_END_DATE, PPS_END_TIME = "00400250", "00400251"
PPS_DESCRIPTION = "00400254"
PPS_COMMENTS = "00400280"
PPS_DISCONTINUATION_REASON = "00400281"
PROCEDURE_CODE_SEQ = "00081032"
PERFORMED_PROTOCOL_CODE_SEQ = "00400260"
PERFORMED_SERIES_SEQ = "00400340"
SCHEDULED_STEP_ATTRIBUTES_SEQ = "00400270"
OPERATORS_NAME = "00081070"
PERFORMING_PHYSICIAN = "00081050"


def _datetime(ds: JsonDataset, date_tag: str, time_tag: str) -> str:
    date = str(_first(ds, date_tag) or "")
    time = str(_first(ds, time_tag) or "").replace(":", "").split(".")[0]
    return f"{date}{time.ljust(6, '0')[:6]}" if date else ""


# The code a performed procedure gets when the MPPS names none (its Procedure Code Sequence and
# Performed Protocol Code Sequence are Type 2, so empty is valid) and the scheduled step had none:
# the UPS final state needs a Performed Workitem Code, and an empty MPPS must still complete.
UNCODED_PROCEDURE = ("UNCODED", "99WLCONSOLE", "Procedure performed without a code")


def performed_codes(mpps: JsonDataset, scheduled_codes: list[JsonDataset] | None = None) -> list[JsonDataset]:
    """The Performed Workitem Codes of an MPPS: its Performed Protocol Codes, else its Procedure
    Codes, else the scheduled step's codes, else one made from the step's description (or the
    defined placeholder), so that a valid MPPS always satisfies the UPS final state."""
    codes = _items(mpps, PERFORMED_PROTOCOL_CODE_SEQ) or _items(mpps, PROCEDURE_CODE_SEQ) or scheduled_codes
    if codes:
        return codes
    value, scheme, meaning = UNCODED_PROCEDURE
    description = str(_first(mpps, PPS_DESCRIPTION) or "").strip()
    return [_code(value, scheme, description[:64] or meaning)]


# PS3.4 Table F.7.2-1, final state: a COMPLETED MPPS carries its end date and time. The same
# table wants at least one performed series, but a modality that documents a procedure after
# the fact has none to name, and refusing it would lose the record: the series are not checked.
MPPS_FINAL_REQUIRED = {
    PPS_END_DATE: "Performed Procedure Step End Date",
    PPS_END_TIME: "Performed Procedure Step End Time",
}


def mpps_missing_for_completion(mpps: JsonDataset) -> list[str]:
    """What an MPPS still lacks to become COMPLETED; empty when it may."""
    return [name for tag, name in MPPS_FINAL_REQUIRED.items() if not _values(mpps, tag)]


def mpps_performed(mpps: JsonDataset, scheduled_codes: list[JsonDataset] | None = None) -> JsonDataset:
    """The UPS Performed Procedure Sequence that an MPPS (its N-CREATE plus N-SETs) describes."""
    station = str(_first(mpps, PERFORMED_STATION_AE) or "")
    codes = performed_codes(mpps, scheduled_codes)
    outputs = []
    people: list = []
    for series in _items(mpps, PERFORMED_SERIES_SEQ):
        refs = [
            {"00081150": r.get("00081150") or {"vr": "UI"}, "00081155": r.get("00081155") or {"vr": "UI"}}
            for r in _items(series, "00081140") + _items(series, "0040A375")
        ]
        output = {
            "0040E020": {"vr": "CS", "Value": ["DICOM"]},
            t.STUDY_INSTANCE_UID: next(
                (
                    i.get(t.STUDY_INSTANCE_UID)
                    for i in _items(mpps, SCHEDULED_STEP_ATTRIBUTES_SEQ)
                    if i.get(t.STUDY_INSTANCE_UID)
                ),
                {"vr": "UI"},
            ),
            "0020000E": series.get("0020000E") or {"vr": "UI"},
            "0008103E": series.get("0008103E") or {"vr": "LO"},
            "00081199": {"vr": "SQ", "Value": refs},
        }
        retrieve = _first(series, "00080054")
        if retrieve:
            output["0040E021"] = {"vr": "SQ", "Value": [{"00080054": {"vr": "AE", "Value": [retrieve]}}]}
        outputs.append(output)
        people += [v for v in _values(series, OPERATORS_NAME) + _values(series, PERFORMING_PHYSICIAN) if v]
    item: JsonDataset = {
        t.PERFORMED_STATION_NAME_CODE_SEQ: {"vr": "SQ", "Value": [_code(station, STATION_SCHEME, station)]}
        if station
        else {"vr": "SQ"},
        t.PERFORMED_START_DATETIME: _element("DT", _datetime(mpps, PPS_START_DATE, PPS_START_TIME)),
        t.PERFORMED_END_DATETIME: _element("DT", _datetime(mpps, PPS_END_DATE, PPS_END_TIME)),
        t.PERFORMED_WORKITEM_CODE_SEQ: {"vr": "SQ", "Value": codes},
        t.OUTPUT_INFORMATION_SEQ: {"vr": "SQ", "Value": outputs},
    }
    if _first(mpps, PPS_DESCRIPTION):
        item["00400254"] = mpps[PPS_DESCRIPTION]
    if _first(mpps, PPS_COMMENTS):
        item["00400280"] = mpps[PPS_COMMENTS]
    # every component group of a name is kept: an operator known only by an ideographic name is one
    names = {repr(sorted(n.items())): n for n in map(_person_name, people) if n}
    if names:
        item[t.ACTUAL_HUMAN_PERFORMERS_SEQ] = {
            "vr": "SQ",
            "Value": [
                {
                    t.HUMAN_PERFORMER_CODE_SEQ: {
                        "vr": "SQ",
                        "Value": [_code(_shown(n).replace("^", " ")[:16] or "TECH", "99WLSTAFF", _shown(n))],
                    },
                    t.HUMAN_PERFORMER_NAME: {"vr": "PN", "Value": [n]},
                }
                for n in names.values()
            ],
        }
    return {t.PERFORMED_PROCEDURE_SEQ: {"vr": "SQ", "Value": [item]}}


def _person_name(value: object) -> dict[str, str]:
    """A PN value as DICOM JSON's groups, whether it came as an object or as plain text."""
    if isinstance(value, dict):
        return {group: str(text) for group, text in value.items() if group in PN_GROUPS and text}
    return {"Alphabetic": str(value)} if value else {}


def _shown(name: dict[str, str]) -> str:
    return next((name[group] for group in PN_GROUPS if name.get(group)), "")


PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")


def mpps_unscheduled_ups(mpps: JsonDataset, uid: str, now: str) -> JsonDataset:
    """A UPS for an MPPS that names no scheduled step (the unscheduled case of F.7.2)."""
    step = (_items(mpps, SCHEDULED_STEP_ATTRIBUTES_SEQ) or [{}])[0]
    station = str(_first(mpps, PERFORMED_STATION_AE) or "")
    modality = str(_first(mpps, MODALITY) or "")
    ups: JsonDataset = {tag: mpps[tag] for tag in SHARED if tag in mpps}
    study = step.get(t.STUDY_INSTANCE_UID) or {"vr": "UI"}
    ups.update(
        {
            t.SOP_INSTANCE_UID: {"vr": "UI", "Value": [uid]},
            t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": ["SCHEDULED"]},
            t.PRIORITY: {"vr": "CS", "Value": ["MEDIUM"]},
            t.PROCEDURE_STEP_LABEL: _element("LO", str(_first(mpps, PPS_DESCRIPTION) or "Unscheduled procedure")),
            t.SPS_START_DATETIME: _element("DT", _datetime(mpps, PPS_START_DATE, PPS_START_TIME) or now),
            t.INPUT_READINESS_STATE: {"vr": "CS", "Value": ["READY"]},
            **_station_codes([station] if station else [], modality),
            t.STUDY_INSTANCE_UID: study,
            t.REFERENCED_REQUEST_SEQ: {
                "vr": "SQ",
                "Value": [
                    {
                        t.STUDY_INSTANCE_UID: study,
                        t.ACCESSION_NUMBER: step.get(t.ACCESSION_NUMBER) or {"vr": "SH"},
                        t.REQUESTED_PROCEDURE_ID: step.get(t.REQUESTED_PROCEDURE_ID) or {"vr": "SH"},
                    }
                ],
            },
        }
    )
    return ups
