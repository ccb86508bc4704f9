"""The attributes a C-FIND may match on, per information model, and the screening of an identifier
against them.

A key outside the model (PS3.4 K.2.2.1.1.2, C.2.2.1.2) is "not supported": it acts as a return
key only, so a value in it must not make the query match nothing — it is blanked, and the pending
answers say FF01 instead of FF00. Query/Retrieve Level (0008,0052) belongs to the Q/R models, not
to MWL or UPS; SCUs written for Q/R send it anyway (DCMTK `findscu -W -k QueryRetrieveLevel=…`,
dicom-ups), and it is dropped from the identifier as DCMTK `wlmscpfs` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import mapping as m
from . import tags as t
from .dicomjson import JsonDataset

QUERY_RETRIEVE_LEVEL = "00080052"

# A model: tag → the model inside its items (for a sequence whose item keys are checked), or None.
Model = Mapping[str, "Model | None"]

# Table K.6-1 as this server answers it: what `mapping.ups_to_mwl` fills.
MWL_MODEL: Model = {
    **{tag: None for tag in (*m.SHARED, *m.IN_REQUEST, t.TIMEZONE_OFFSET)},
    m.REQUESTED_PROCEDURE_PRIORITY: None,
    m.SPS_SEQ: {
        tag: None
        for tag in (
            m.SPS_STATION_AE,
            m.SPS_START_DATE,
            m.SPS_START_TIME,
            m.MODALITY,
            m.SPS_PERFORMING_PHYSICIAN,
            m.SPS_DESCRIPTION,
            m.SPS_PROTOCOL_CODE_SEQ,
            m.SPS_ID,
            m.SPS_STATION_NAME,
            m.SPS_LOCATION,
            m.SPS_STATUS,
        )
    },
}

# Table CC.2.5-3 (top level), with the patient and visit attributes a workitem carries over from an order.
UPS_MODEL: Model = {
    tag: None
    for tag in (
        *m.SHARED,
        t.TIMEZONE_OFFSET,
        t.SOP_CLASS_UID,
        t.SOP_INSTANCE_UID,
        t.TRANSACTION_UID,
        "00100024",  # Issuer of Patient ID Qualifiers Sequence
        "00081080",  # Admitting Diagnoses Description
        "00081084",  # Admitting Diagnoses Code Sequence
        t.REFERENCED_REQUEST_SEQ,
        t.REPLACED_PROCEDURE_STEP_SEQ,
        t.PRIORITY,
        t.SPS_MODIFICATION_DATETIME,
        t.PROCEDURE_STEP_LABEL,
        t.WORKLIST_LABEL,
        t.SCHEDULED_PROCESSING_PARAMETERS_SEQ,
        t.STATION_NAME_CODE_SEQ,
        t.STATION_CLASS_CODE_SEQ,
        t.STATION_LOCATION_CODE_SEQ,
        t.HUMAN_PERFORMERS_SEQ,
        t.SPS_START_DATETIME,
        t.EXPECTED_COMPLETION_DATETIME,
        "00404008",  # Scheduled Procedure Step Expiration DateTime
        t.SCHEDULED_WORKITEM_CODE_SEQ,
        t.COMMENTS_ON_SPS,
        t.INPUT_READINESS_STATE,
        t.INPUT_INFORMATION_SEQ,
        t.PROCEDURE_STEP_STATE,
        t.PROGRESS_INFORMATION_SEQ,
        t.PERFORMED_PROCEDURE_SEQ,
    )
}


@dataclass(frozen=True)
class Screened:
    """An identifier fit for matching: `ignored` names (as dotted tag paths) the keys dropped or
    blanked; `unsupported` is true when a valued optional key was not supported (answer FF01)."""

    identifier: JsonDataset
    ignored: tuple[str, ...] = ()
    unsupported: bool = False


def _valued(element: object) -> bool:
    """Does a key constrain anything? A sequence does when one of its items' keys does."""
    if not isinstance(element, dict):
        return False
    for value in element.get("Value") or []:
        if isinstance(value, dict):
            if any(_valued(inner) for inner in value.values()):
                return True
        elif value not in (None, ""):
            return True
    return False


def screen(identifier: JsonDataset, model: Model) -> Screened:
    """The identifier with Query/Retrieve Level dropped and the valued keys outside `model` blanked."""
    ignored: list[str] = []
    unsupported = False

    def level(dataset: JsonDataset, inside: Model, prefix: str) -> JsonDataset:
        nonlocal unsupported
        out: JsonDataset = {}
        for tag, element in dataset.items():
            if tag == QUERY_RETRIEVE_LEVEL and not prefix:
                ignored.append(tag)
                continue
            if tag in (t.SPECIFIC_CHARACTER_SET,) or not isinstance(element, dict):
                out[tag] = element
                continue
            if tag not in inside:
                if _valued(element):
                    ignored.append(prefix + tag)
                    unsupported = True
                    out[tag] = {"vr": element.get("vr", "")}
                else:
                    out[tag] = element
                continue
            sub = inside[tag]
            items = element.get("Value") or []
            if sub is not None and element.get("vr") == "SQ" and items and isinstance(items[0], dict):
                out[tag] = {**element, "Value": [level(items[0], sub, f"{prefix}{tag}.")]}
            else:
                out[tag] = element
        return out

    screened = level(identifier, model, "")
    return Screened(screened, tuple(ignored), unsupported)
