"""PS3.4 Table K.6-1 as a Search answers it: which attributes an MWL entry returns, of what VR and
return key type, and where a key named in a Search belongs.

One rule for every door that answers a worklist Search (the embedded server's Supplement 246 door,
over its own store or a gateway's upstream):

- Return keys of type 1 and 2 are always in an answer, empty when unknown (K.2.2.1.2; Sup 246 Search
  "each result holds every attribute of return key type 1 or 2"). The 1C, 2C and 3 keys are in it
  when known, and present though empty when `includefield` asks for them (by name or `all`) or the
  query names them: the condition of a 1C or 2C key (a contrast agent, a pre-medication to give)
  cannot be known of a step that holds none.
- An MWL entry has exactly one Scheduled Procedure Step item, so a key of that item named without
  its sequence (`ScheduledStationAETitle`, `Modality`, `00400001`) means the key inside it
  (`00400100.00400001`): matched there rather than ignored, which would widen the answer to every
  station's day.
- A key with a value that this server cannot match is refused, naming the key; one without a value
  only asks for the attribute to be returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import mapping as m
from . import tags as t
from .dicomjson import JsonDataset
from .information_model import MWL_MODEL, Model
from .search import parse_path
from .status import InvalidRequest, Status

# (VR, return key type) of each attribute of Table K.6-1, outside the Scheduled Procedure Step item.
ENTRY_KEYS: dict[str, tuple[str, str]] = {
    m.SPS_SEQ: ("SQ", "1"),
    t.REQUESTED_PROCEDURE_ID: ("SH", "1"),
    t.REQUESTED_PROCEDURE_DESCRIPTION: ("LO", "1C"),
    t.REQUESTED_PROCEDURE_CODE_SEQ: ("SQ", "1C"),
    t.STUDY_INSTANCE_UID: ("UI", "1"),
    "00081110": ("SQ", "2"),  # Referenced Study Sequence
    m.REQUESTED_PROCEDURE_PRIORITY: ("SH", "2"),
    "00401004": ("LO", "2"),  # Patient Transport Arrangements
    "00401002": ("LO", "3"),  # Reason for the Requested Procedure
    t.ACCESSION_NUMBER: ("SH", "2"),
    "00080051": ("SQ", "3"),  # Issuer of Accession Number Sequence
    m.REQUESTING_PHYSICIAN: ("PN", "2"),
    m.REFERRING_PHYSICIAN: ("PN", "2"),
    t.REQUESTING_SERVICE: ("LO", "3"),
    t.ADMISSION_ID: ("LO", "2"),
    "00380014": ("SQ", "3"),  # Issuer of Admission ID Sequence
    "00380300": ("LO", "2"),  # Current Patient Location
    "00081120": ("SQ", "2"),  # Referenced Patient Sequence
    t.PATIENT_NAME: ("PN", "1"),
    t.PATIENT_ID: ("LO", "1"),
    t.ISSUER_OF_PATIENT_ID: ("LO", "3"),
    "00101002": ("SQ", "3"),  # Other Patient IDs Sequence
    t.BIRTH_DATE: ("DA", "2"),
    t.SEX: ("CS", "2"),
    "00101030": ("DS", "2"),  # Patient's Weight
    "00403001": ("LO", "2"),  # Confidentiality Constraint on Patient Data Description
    "00380500": ("LO", "2"),  # Patient State
    "001021C0": ("US", "2"),  # Pregnancy Status
    "00102000": ("LO", "2"),  # Medical Alerts
    "00102110": ("LO", "2"),  # Allergies
    "00380050": ("LO", "2"),  # Special Needs
}
# The same for the attributes inside the Scheduled Procedure Step item.
STEP_KEYS: dict[str, tuple[str, str]] = {
    m.SPS_STATION_AE: ("AE", "1"),
    m.SPS_START_DATE: ("DA", "1"),
    m.SPS_START_TIME: ("TM", "1"),
    "00400004": ("DA", "3"),  # Scheduled Procedure Step End Date
    "00400005": ("TM", "3"),  # Scheduled Procedure Step End Time
    m.MODALITY: ("CS", "1"),
    m.SPS_PERFORMING_PHYSICIAN: ("PN", "2"),
    "0040000B": ("SQ", "3"),  # Scheduled Performing Physician Identification Sequence
    m.SPS_DESCRIPTION: ("LO", "1C"),
    m.SPS_STATION_NAME: ("SH", "2"),
    m.SPS_LOCATION: ("SH", "2"),
    m.SPS_PROTOCOL_CODE_SEQ: ("SQ", "1C"),
    "00400012": ("LO", "2C"),  # Pre-Medication
    m.SPS_ID: ("SH", "1"),
    "00321070": ("LO", "2C"),  # Requested Contrast Agent
    m.SPS_STATUS: ("CS", "3"),
    "00400400": ("LT", "3"),  # Comments on the Scheduled Procedure Step
}
ALWAYS = frozenset({"1", "2"})


def always(table: dict[str, tuple[str, str]]) -> tuple[str, ...]:
    """The tags of a table that every answer holds (return key type 1 or 2): what a C-FIND SCU
    asks for, so that what the SCP knows of them arrives."""
    return tuple(tag for tag, (_, kind) in table.items() if kind in ALWAYS)


Path = tuple[str, ...]


def key_path(path: Path) -> Path:
    """Where a Search key belongs in an MWL entry: a key of the one Scheduled Procedure Step item,
    named without its sequence, is the key inside it."""
    if path[0] not in ENTRY_KEYS and path[0] in STEP_KEYS:
        return (m.SPS_SEQ, *path)
    return path


def attribute(path: Path) -> Path | None:
    """The attribute of Table K.6-1 a key (perhaps one inside its items) falls in; None outside it."""
    if path[0] == m.SPS_SEQ and len(path) > 1:
        return path[:2] if path[1] in STEP_KEYS else None
    return path[:1] if path[0] in ENTRY_KEYS else None


def matchable(path: Path, model: Model = MWL_MODEL) -> bool:
    """Can this server match on this key (Table K.6-1 as `mapping.ups_to_mwl` fills it)?"""
    inside: Model | None = model
    for tag in path:
        if inside is None or tag not in inside:
            return False
        inside = inside[tag]
    return True


def spelled(path: Path) -> str:
    """A key as a person reads it: keywords, dotted into the sequence, then the tags."""
    return f"{'.'.join(t.keyword_of(tag) for tag in path)}, {'.'.join(path)}"


@dataclass(frozen=True)
class SearchKeys:
    """A Search's keys as the worklist answers them: `matches` (nested paths, dotted, with their
    values) for the query; `returned` the further K.6-1 attributes each answer holds, even empty."""

    matches: tuple[tuple[str, str], ...]
    returned: frozenset[Path]
    include_all: bool
    ignored: tuple[str, ...]


def search_keys(pairs: list[tuple[str, str]]) -> SearchKeys:
    """Sort a Search's attribute parameters (control parameters removed, `includefield` kept):
    resolve each to its place in the entry, refuse one with a value that cannot be matched (400),
    and note which attributes each answer must hold. `ignored` names what neither matches nor is
    returned (an unknown includefield, an empty key outside the table): it narrows nothing."""
    matches: list[tuple[str, str]] = []
    returned: set[Path] = set()
    ignored: list[str] = []
    include_all = False
    for name, value in pairs:
        if name == "includefield":
            for item in filter(None, (v.strip() for v in value.split(","))):
                if item == "all":
                    include_all = True
                    continue
                included = attribute(key_path(parse_path(item)))
                if included:
                    returned.add(included)
                else:
                    ignored.append(item)
            continue
        path = key_path(parse_path(name))
        named = attribute(path)
        if named:
            returned.add(named)
        if matchable(path):
            matches.append((".".join(path), value))
        elif value:
            raise InvalidRequest(
                f"The key {name!r} ({spelled(path)}) cannot be matched by this worklist server: leave it out, "
                "or give it with no value or in includefield to have it returned.",
                Status.IDENTIFIER_DOES_NOT_MATCH,
                offending=[".".join(path)],
            )
        elif not named:
            ignored.append(name)
    return SearchKeys(tuple(matches), frozenset(returned), include_all, tuple(ignored))


def _filled(
    dataset: JsonDataset, table: dict[str, tuple[str, str]], wanted: frozenset[str], every: bool
) -> JsonDataset:
    out = dict(dataset)
    for tag, (vr, kind) in table.items():
        if tag not in out and (kind in ALWAYS or every or tag in wanted):
            out[tag] = {"vr": vr}
    return dict(sorted(out.items()))


def answer(item: JsonDataset, keys: SearchKeys) -> JsonDataset:
    """An MWL entry as a Search returns it: what it holds, and every attribute `keys` asks for and
    every return key of type 1 and 2, empty when unknown (in DICOM JSON `{"vr": …}` with no Value)."""
    top = frozenset(path[0] for path in keys.returned if len(path) == 1)
    inner = frozenset(path[1] for path in keys.returned if len(path) == 2)
    out = _filled(item, ENTRY_KEYS, top, keys.include_all)
    steps = out[m.SPS_SEQ].get("Value") or [{}]
    out[m.SPS_SEQ] = {
        "vr": "SQ",
        "Value": [
            _filled(step, STEP_KEYS, inner, keys.include_all) if isinstance(step, dict) else step for step in steps
        ],
    }
    return out
