"""The Modality Worklist as a view of the UPS store: what the MWL C-FIND front and the Sup 246
Search (MWL over REST) both answer.

An MWL query (PS3.4 K.6-1 keys) is narrowed to a UPS search the store can answer from its
indexes (station, modality, patient, day), each candidate is shaped as an MWL item, and the
MWL query itself decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from app.domain import compact_json
from app.domain import tags as t
from app.domain.dates import sortable
from app.domain.dicomjson import JsonDataset
from app.domain.mapping import MODALITY, SPS_SEQ, SPS_START_DATE, SPS_STATION_AE, ups_to_mwl
from app.domain.query import MatchKind, Query
from app.domain.search import SearchRequest, parse_search

from .service_api import JsonText, WorkitemService


def _narrowed(query: Query) -> list[tuple[tuple[str, ...], str, str]]:
    """The MWL keys a UPS search can carry whole: (their MWL path, the UPS key, its value)."""
    keys: list[tuple[tuple[str, ...], str, str]] = []
    station = query.key_at((SPS_SEQ, SPS_STATION_AE))
    if station and station.kind is MatchKind.SINGLE:
        keys.append(((SPS_SEQ, SPS_STATION_AE), "ScheduledStationNameCodeSequence.CodeValue", station.raw))
    modality = query.key_at((SPS_SEQ, MODALITY))
    if modality and modality.kind is MatchKind.SINGLE:
        keys.append(((SPS_SEQ, MODALITY), "ScheduledStationClassCodeSequence.CodeValue", modality.raw))
    patient = query.key_at((t.PATIENT_ID,))
    if patient and patient.kind is MatchKind.SINGLE:
        keys.append(((t.PATIENT_ID,), "PatientID", patient.raw))
    day = query.key_at((SPS_SEQ, SPS_START_DATE))
    if day and day.kind is MatchKind.RANGE and day.interval is not None:
        low, high = day.interval
        first = sortable(low)[:8] if low != datetime.min else ""
        last = sortable(high)[:8] if high != datetime.max else ""
        days = f"{first}-{last}"
        keys.append(((SPS_SEQ, SPS_START_DATE), "ScheduledProcedureStepStartDateTime", days))
    return keys


def narrowing(query: Query) -> SearchRequest:
    """UPS Search keys that select a superset of what the MWL query matches."""
    return parse_search([(name, value) for _, name, value in _narrowed(query)])


def deciding(service: WorkitemService, query: Query) -> Query:
    """What decides on the `candidates`: the MWL query less the keys the UPS search `narrowing`
    already matched on the workitems themselves (a workitem scheduled for several stations by any
    of them) or that a gateway's upstream matched by its own rules — matching them again on the MWL
    item shaped from the answer could only lose what was found. Items an upstream gives as they are
    (`mwl_items`) meet the whole query."""
    if getattr(service, "mwl_items", None) is not None:
        return query
    return query.without([path for path, _, _ in _narrowed(query)])


def candidates(service: WorkitemService, query: Query) -> Iterator[tuple[JsonDataset, JsonDataset | None]]:
    """Each MWL item that may match, with the workitem it was shaped from, before the MWL query
    decides. Lazy: a gateway gives them page by page as its upstream answers (`search_stream`),
    and one whose upstream holds MWL items itself gives those as they are (`mwl_items`: their
    Scheduled Procedure Step IDs stay the upstream's own, which its MPPS needs), without a workitem."""
    mwl_items: Callable[[Query], Iterable[JsonDataset]] | None = getattr(service, "mwl_items", None)
    if mwl_items is not None:
        for item in mwl_items(query):
            yield item, None
        return
    stream: Callable[[SearchRequest], Iterable[JsonText]] = getattr(service, "search_stream", service.search_all)
    for text in stream(narrowing(query)):
        workitem = compact_json.loads(text)
        yield ups_to_mwl(workitem), workitem


def scheduled_steps(service: WorkitemService, query: Query) -> Iterator[JsonDataset]:
    """Every MWL item the query matches, in the store's order, as full K.6-1 items."""
    rest = deciding(service, query)
    for item, _ in candidates(service, query):
        if rest.matches(item, service.local):
            yield item
