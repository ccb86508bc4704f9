"""The pure domain of Worklist Console: workitems, states, requirements, queries, events.

Nothing here does I/O or knows Qt; pydicom is the only library it leans on.
Its names load on first use (PEP 562): a command that needs only a few of its modules, such as
`--version` or the users file's roles, does not pay for pydicom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy_names import lazy_attributes

if TYPE_CHECKING:
    from .dates import DateValueError, parse_da, parse_dt, parse_range, parse_tm, sortable
    from .dicomjson import DicomJsonError, JsonDataset, from_dataset, parse_datasets, to_dataset
    from .events import EventType
    from .query import CombinedMatch, KeyMatch, MatchKind, Query, SequenceMatch, build_query, key_match
    from .search import SearchRequest, parse_filter, parse_search
    from .states import CancelOutcome, InputReadiness, Priority, State, Transition, change_state, request_cancellation
    from .status import InvalidRequest, Status, UPSError
    from .workitem import Code, PatientName, Performed, Workitem

_MODULE_OF = {
    "DateValueError": ".dates",
    "parse_da": ".dates",
    "parse_dt": ".dates",
    "parse_range": ".dates",
    "parse_tm": ".dates",
    "sortable": ".dates",
    "DicomJsonError": ".dicomjson",
    "JsonDataset": ".dicomjson",
    "from_dataset": ".dicomjson",
    "parse_datasets": ".dicomjson",
    "to_dataset": ".dicomjson",
    "EventType": ".events",
    "CombinedMatch": ".query",
    "KeyMatch": ".query",
    "MatchKind": ".query",
    "Query": ".query",
    "SequenceMatch": ".query",
    "build_query": ".query",
    "key_match": ".query",
    "SearchRequest": ".search",
    "parse_filter": ".search",
    "parse_search": ".search",
    "CancelOutcome": ".states",
    "InputReadiness": ".states",
    "Priority": ".states",
    "State": ".states",
    "Transition": ".states",
    "change_state": ".states",
    "request_cancellation": ".states",
    "InvalidRequest": ".status",
    "Status": ".status",
    "UPSError": ".status",
    "Code": ".workitem",
    "PatientName": ".workitem",
    "Performed": ".workitem",
    "Workitem": ".workitem",
}


__getattr__ = lazy_attributes(__name__, globals(), _MODULE_OF)


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
