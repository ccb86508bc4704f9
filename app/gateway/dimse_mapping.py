"""What the Origin-Server / SCU gateway translates between a UPS-RS client and an MWL + MPPS RIS:
a UPS search as the MWL keys that narrow it upstream, and a workitem's performed data, progress
and discontinuation as what the console's MPPS client sends (PS3.4 F.7.2-1 N-SET)."""

from __future__ import annotations

from datetime import datetime

from app.domain import tags as t
from app.domain.codes import UNSPECIFIED_REASON
from app.domain.dicomjson import JsonDataset, first_value, items, person_name_text
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.query import MatchKind, Query
from app.domain.workitem import Code
from app.domain.worklist_query import WorklistQuery

_PASSED = (MatchKind.SINGLE, MatchKind.WILDCARD)
# The UPS keys the MWL C-FIND carries whole, and what each becomes there. The scheduled day is
# not among them: it goes by whole days, so its hours are still matched here.
UPSTREAM_KEYS: tuple[tuple[str, ...], ...] = (
    (t.STATION_NAME_CODE_SEQ, t.CODE_VALUE),
    (t.STATION_CLASS_CODE_SEQ, t.CODE_VALUE),
    (t.PATIENT_NAME,),
    (t.PATIENT_ID,),
    (t.REFERENCED_REQUEST_SEQ, t.ACCESSION_NUMBER),
)


def _raw(query: Query, *path: str) -> str:
    key = query.key_at(path)
    return key.raw if key is not None and key.kind in _PASSED else ""


def left_to_match(query: Query) -> Query:
    """What of a UPS query the gateway still matches on an item the RIS answered: the keys the
    C-FIND carried the RIS has matched, by its own rules (a multi-valued Scheduled Station AE Title
    matches when any value does), and matching them again could only lose what it found."""
    return query.without([path for path in UPSTREAM_KEYS if _raw(query, *path)])


def worklist_query(query: Query) -> WorklistQuery:
    """MWL C-FIND keys that select at least what the UPS query matches (the rest is matched here):
    station, modality, scheduled day(s), patient and accession; every state, since an MWL SCP
    knows nothing of the claims made through the gateway."""
    low = high = None
    moment = query.key_at((t.SPS_START_DATETIME,))
    if moment is not None and moment.kind is MatchKind.RANGE and moment.interval is not None:
        start, end = moment.interval
        low = start.date() if start != datetime.min else None
        high = end.date() if end != datetime.max else None
    station, modality, patient_name, patient_id, accession = (_raw(query, *path) for path in UPSTREAM_KEYS)
    return WorklistQuery(
        station=station,
        modality=modality,
        date_from=low,
        date_to=high,
        patient_name=patient_name,
        patient_id=patient_id,
        accession=accession,
        states=(),
    )


def _text(data: JsonDataset, tag: str) -> str:
    """The first value as text; a person name whole (an operator named in Kanji stays so)."""
    return person_name_text(first_value(data, tag))


def _code(item: JsonDataset) -> Code:
    return Code(_text(item, t.CODE_VALUE), _text(item, t.CODING_SCHEME), _text(item, t.CODE_MEANING))


def performed_of(dataset: JsonDataset, station: str, now: str) -> PerformedProcedure:
    """The UPS Performed Procedure Sequence of a workitem as the MPPS client's performed data: codes,
    series (with their instances and retrieve AE), technologist, start and end."""
    found = items(dataset, t.PERFORMED_PROCEDURE_SEQ)
    item = found[0] if found else {}
    stations = [_code(c) for c in items(item, t.PERFORMED_STATION_NAME_CODE_SEQ)]
    technologists = [
        _text(p, t.HUMAN_PERFORMER_NAME)
        for p in items(item, t.ACTUAL_HUMAN_PERFORMERS_SEQ)
        if _text(p, t.HUMAN_PERFORMER_NAME)
    ]
    series = []
    for output in items(item, t.OUTPUT_INFORMATION_SEQ):
        uid = _text(output, "0020000E")
        if not uid:
            continue
        instances = tuple(
            (_text(ref, "00081150"), _text(ref, "00081155"))
            for ref in items(output, "00081199")
            if _text(ref, "00081155")
        )
        retrieve = [_text(r, "00080054") for r in items(output, "0040E021")]
        series.append(
            OutputSeries(
                uid,
                _text(output, "0008103E"),
                _text(output, t.STUDY_INSTANCE_UID),
                instances,
                retrieve[0] if retrieve else "",
            )
        )
    return PerformedProcedure(
        stations[0] if stations else Code(station, "99WLSTATION", station),
        _text(item, t.PERFORMED_START_DATETIME) or now,
        end=_text(item, t.PERFORMED_END_DATETIME),
        procedures=tuple(_code(c) for c in items(item, t.PERFORMED_WORKITEM_CODE_SEQ)),
        technologist=technologists[0] if technologists else "",
        series=tuple(series),
        description=_text(item, "00400254"),
    )


def tells_mpps(performed: PerformedProcedure) -> bool:
    """Does the performed data hold anything an MPPS N-SET carries (start and station are N-CREATE's)?"""
    return bool(performed.procedures or performed.series or performed.end)


def _progress_item(dataset: JsonDataset) -> JsonDataset:
    found = items(dataset, t.PROGRESS_INFORMATION_SEQ)
    return found[0] if found else {}


def progress_of(dataset: JsonDataset) -> tuple[float | None, str]:
    item = _progress_item(dataset)
    percent = first_value(item, t.PROGRESS)
    try:
        number = float(percent) if percent not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    return number, _text(item, t.PROGRESS_DESCRIPTION)


def discontinuation_of(dataset: JsonDataset) -> tuple[Code, str]:
    """The CID 9300 reason and the text a performer gave before CANCELED (unspecified when none)."""
    item = _progress_item(dataset)
    reasons = [_code(c) for c in items(item, t.DISCONTINUATION_REASON_CODE_SEQ)]
    return (reasons[0] if reasons else UNSPECIFIED_REASON), _text(item, t.REASON_FOR_CANCELLATION)
