"""The MWL ⇄ UPS mapping (IHE EBIW Table 4.130.4.1.2-2; standard.md §8), in DICOM JSON.

One module for both sides: the embedded server's DIMSE front answers MWL queries from UPS
workitems (`ups_to_mwl`), and the console's DIMSE backend reads MWL results as workitems
(`mwl_to_ups`).
"""
from __future__ import annotations

import hashlib

from pydicom.uid import generate_uid

from . import tags as t
from .build import MODALITIES, STATION_SCHEME
from .dicomjson import JsonDataset

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
SHARED = (t.SPECIFIC_CHARACTER_SET, t.PATIENT_NAME, t.PATIENT_ID, t.ISSUER_OF_PATIENT_ID, t.BIRTH_DATE, t.SEX,
          t.ADMISSION_ID, "00380014", "00101002", t.STUDY_INSTANCE_UID, "00102000", "00102110", "001021C0",
          "00380500", "00101030", "00380300")
# MWL attributes that live in the UPS inside the Referenced Request Sequence.
IN_REQUEST = (t.ACCESSION_NUMBER, "00080051", t.REQUESTED_PROCEDURE_ID, t.REQUESTED_PROCEDURE_DESCRIPTION,
              t.REQUESTED_PROCEDURE_CODE_SEQ, t.REQUESTING_SERVICE, REFERRING_PHYSICIAN, REQUESTING_PHYSICIAN,
              "00401002")
UPS_TO_SPS_STATUS = {"SCHEDULED": "SCHEDULED", "IN PROGRESS": "STARTED", "COMPLETED": "COMPLETED",
                     "CANCELED": "DISCONTINUED"}
SPS_TO_UPS_STATE = {"SCHEDULED": "SCHEDULED", "ARRIVED": "SCHEDULED", "READY": "SCHEDULED",
                    "STARTED": "IN PROGRESS", "DEPARTED": "IN PROGRESS", "COMPLETED": "COMPLETED",
                    "DISCONTINUED": "CANCELED"}


def _values(ds: JsonDataset, tag: str) -> list:
    return (ds.get(tag) or {}).get("Value") or []


def _first(ds: JsonDataset, tag: str) -> object:
    values = _values(ds, tag)
    return values[0] if values else None


def _items(ds: JsonDataset, tag: str) -> list[JsonDataset]:
    return [v for v in _values(ds, tag) if isinstance(v, dict)]


def _element(vr: str, value: object) -> dict:
    return {"vr": vr, "Value": [value]} if value not in (None, "") else {"vr": vr}


def _first_code(ds: JsonDataset, tag: str, field: str = t.CODE_VALUE) -> str:
    items = _items(ds, tag)
    return str(_first(items[0], field) or "") if items else ""


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
        SPS_STATION_AE: _element("AE", _first_code(ups, t.STATION_NAME_CODE_SEQ)),
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
    uid = generate_uid(entropy_srcs=["mwl", study, step, str(_first(mwl, t.ACCESSION_NUMBER) or "")])
    ups: JsonDataset = {tag: mwl[tag] for tag in SHARED if tag in mwl}
    date, time = str(_first(sps, SPS_START_DATE) or ""), str(_first(sps, SPS_START_TIME) or "")
    time = time.replace(":", "").split(".")[0].ljust(6, "0")[:6] if time else "000000"
    station = str(_first(sps, SPS_STATION_AE) or "")
    modality = str(_first(sps, MODALITY) or "")
    label = str(_first(sps, SPS_DESCRIPTION) or _first(mwl, t.REQUESTED_PROCEDURE_DESCRIPTION) or "")
    request = {tag: mwl[tag] for tag in IN_REQUEST if tag in mwl}
    if study:
        request[t.STUDY_INSTANCE_UID] = {"vr": "UI", "Value": [study]}
    performer = _first(sps, SPS_PERFORMING_PHYSICIAN)
    priority = str(_first(mwl, REQUESTED_PROCEDURE_PRIORITY) or "").upper()
    ups.update({
        t.SOP_CLASS_UID: {"vr": "UI", "Value": [t.UPS_PUSH_SOP_CLASS]},
        t.SOP_INSTANCE_UID: {"vr": "UI", "Value": [uid]},
        t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": [SPS_TO_UPS_STATE.get(str(_first(sps, SPS_STATUS) or ""),
                                                                            "SCHEDULED")]},
        t.PRIORITY: {"vr": "CS", "Value": ["HIGH" if priority in ("STAT", "HIGH") else
                                           "LOW" if priority == "LOW" else "MEDIUM"]},
        t.PROCEDURE_STEP_LABEL: _element("LO", label),
        t.SPS_START_DATETIME: _element("DT", f"{date}{time}" if date else ""),
        t.INPUT_READINESS_STATE: {"vr": "CS", "Value": ["READY"]},
        t.STATION_NAME_CODE_SEQ: {"vr": "SQ", "Value": [_code(station, station_scheme, station)]} if station
        else {"vr": "SQ"},
        t.STATION_CLASS_CODE_SEQ: {"vr": "SQ", "Value": [_code(modality, "DCM", MODALITIES.get(modality, modality))]}
        if modality else {"vr": "SQ"},
        t.SCHEDULED_WORKITEM_CODE_SEQ: sps.get(SPS_PROTOCOL_CODE_SEQ) or {"vr": "SQ"},
        t.HUMAN_PERFORMERS_SEQ: {"vr": "SQ", "Value": [{t.HUMAN_PERFORMER_NAME: {"vr": "PN", "Value": [performer]}}]}
        if performer else {"vr": "SQ"},
        t.REFERENCED_REQUEST_SEQ: {"vr": "SQ", "Value": [request]},
    })
    location = _first(sps, SPS_LOCATION)
    if location:
        ups[t.STATION_LOCATION_CODE_SEQ] = {"vr": "SQ", "Value": [_code(str(location), "99WLLOCATION", str(location))]}
    return ups


def _code(value: str, scheme: str, meaning: str) -> JsonDataset:
    return {t.CODE_VALUE: {"vr": "SH", "Value": [value[:16]]}, t.CODING_SCHEME: {"vr": "SH", "Value": [scheme]},
            t.CODE_MEANING: {"vr": "LO", "Value": [meaning]}}


def answer_keys(item: JsonDataset, identifier: JsonDataset) -> JsonDataset:
    """The requested keys of a C-FIND answer (K.2.2.1.2): every key asked for, nothing more, but
    Specific Character Set. An empty requested sequence returns the whole stored sequence."""
    out: JsonDataset = {}
    if t.SPECIFIC_CHARACTER_SET in item:
        out[t.SPECIFIC_CHARACTER_SET] = item[t.SPECIFIC_CHARACTER_SET]
    for tag, element in identifier.items():
        if tag == t.SPECIFIC_CHARACTER_SET:
            continue
        vr = element.get("vr", "")
        stored = item.get(tag) or {"vr": vr}
        if vr == "SQ":
            wanted = _items(identifier, tag)
            if wanted and wanted[0]:
                stored_items = _items(item, tag)
                out[tag] = {"vr": "SQ", "Value": [answer_keys(i, wanted[0]) for i in stored_items]} \
                    if stored_items else {"vr": "SQ"}
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
