"""The pure domain of Worklist Console: workitems, states, requirements, queries, events.

Nothing here does I/O or knows Qt; pydicom is the only library it leans on.
"""

from .dates import DateValueError, parse_da, parse_dt, parse_range, parse_tm, sortable
from .dicomjson import DicomJsonError, JsonDataset, from_dataset, parse_datasets, to_dataset
from .events import EventType
from .query import CombinedMatch, KeyMatch, MatchKind, Query, SequenceMatch, build_query, key_match
from .search import SearchRequest, parse_filter, parse_search
from .states import CancelOutcome, InputReadiness, Priority, State, Transition, change_state, request_cancellation
from .status import InvalidRequest, Status, UPSError
from .workitem import Code, PatientName, Performed, Workitem

__all__ = [
    "CancelOutcome",
    "Code",
    "CombinedMatch",
    "DateValueError",
    "DicomJsonError",
    "EventType",
    "InputReadiness",
    "InvalidRequest",
    "JsonDataset",
    "KeyMatch",
    "MatchKind",
    "PatientName",
    "Performed",
    "Priority",
    "Query",
    "SearchRequest",
    "SequenceMatch",
    "State",
    "Status",
    "Transition",
    "UPSError",
    "Workitem",
    "build_query",
    "change_state",
    "from_dataset",
    "key_match",
    "parse_da",
    "parse_datasets",
    "parse_dt",
    "parse_filter",
    "parse_range",
    "parse_search",
    "parse_tm",
    "request_cancellation",
    "sortable",
    "to_dataset",
]
