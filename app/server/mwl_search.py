"""The Modality Worklist as a view of the UPS store: what the MWL C-FIND front and the Sup 246
Search (MWL over REST) both answer.

An MWL query (PS3.4 K.6-1 keys) is narrowed to a UPS search the store can answer from its
indexes (station, modality, patient, day), each candidate is shaped as an MWL item, and the
MWL query itself decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from app.domain import tags as t
from app.domain.dates import sortable
from app.domain.dicomjson import JsonDataset
from app.domain.mapping import MODALITY, SPS_SEQ, SPS_START_DATE, SPS_STATION_AE, ups_to_mwl
from app.domain.query import KeyMatch, MatchKind, Query, SequenceMatch
from app.domain.search import SearchRequest, parse_search

from .service_api import WorkitemService


def _single(query: Query, path: tuple[str, ...]) -> KeyMatch | None:
    """The key at `path` if it is a plain single value (what the store can narrow on)."""
    keys = query.keys
    for tag in path[:-1]:
        seq = next((k for k in keys if isinstance(k, SequenceMatch) and k.tag == tag), None)
        if seq is None:
            return None
        keys = seq.keys
    key = next((k for k in keys if isinstance(k, KeyMatch) and k.tag == path[-1]), None)
    return key


def narrowing(query: Query) -> SearchRequest:
    """UPS Search keys that select a superset of what the MWL query matches."""
    params: list[tuple[str, str]] = []
    station = _single(query, (SPS_SEQ, SPS_STATION_AE))
    if station and station.kind is MatchKind.SINGLE:
        params.append(("ScheduledStationNameCodeSequence.CodeValue", station.raw))
    modality = _single(query, (SPS_SEQ, MODALITY))
    if modality and modality.kind is MatchKind.SINGLE:
        params.append(("ScheduledStationClassCodeSequence.CodeValue", modality.raw))
    patient = _single(query, (t.PATIENT_ID,))
    if patient and patient.kind is MatchKind.SINGLE:
        params.append(("PatientID", patient.raw))
    day = _single(query, (SPS_SEQ, SPS_START_DATE))
    if day and day.kind is MatchKind.RANGE and day.interval is not None:
        low, high = day.interval
        params.append(
            (
                "ScheduledProcedureStepStartDateTime",
                f"{sortable(low)[:8] if low != datetime.min else ''}-{sortable(high)[:8] if high != datetime.max else ''}",
            )
        )
    return parse_search(params)


def scheduled_steps(service: WorkitemService, query: Query) -> Iterator[JsonDataset]:
    """Every MWL item the query matches, in the store's order, as full K.6-1 items."""
    for text in service.search_all(narrowing(query)):
        item = ups_to_mwl(json.loads(text))
        if query.matches(item, service.local):
            yield item
