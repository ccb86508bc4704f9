"""A Search Transaction's query parameters (PS3.18 8.3.4, 11.9) as a domain request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from . import tags as t
from .query import Query, build_query
from .status import InvalidRequest, Status

CONTROL_PARAMETERS = frozenset(
    {"includefield", "fuzzymatching", "offset", "limit", "emptyvaluematching", "multiplevaluematching"}
)
# Never matchable (CC.2.5-3): the Transaction UID is a secret, the performed data is "-/-".
NOT_MATCHABLE = {
    t.TRANSACTION_UID: "the Transaction UID cannot be queried",
    t.PERFORMED_PROCEDURE_SEQ: "the UPS Performed Procedure Sequence cannot be queried",
}
# Never matched even when given (8.3.4.1, C.2.2.2): they describe the query itself.
IGNORED = frozenset({t.SPECIFIC_CHARACTER_SET, t.TIMEZONE_OFFSET})
FUZZY_WARNING = "The fuzzymatching parameter is not supported. Only literal matching has been performed."


@dataclass(frozen=True)
class SearchRequest:
    query: Query
    include_all: bool = False
    include: frozenset[str] = frozenset()
    offset: int = 0
    limit: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # the parameters it was read from: what a gateway sends on to an upstream server
    params: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def parse_path(name: str) -> tuple[str, ...]:
    """`00404025.00080100` or `ScheduledStationNameCodeSequence.CodeValue` as a tag path."""
    path = []
    for part in name.split("."):
        tag = t.tag_of(part)
        if tag is None:
            raise InvalidRequest(f"{part!r} is not a DICOM attribute keyword or tag.", Status.IDENTIFIER_DOES_NOT_MATCH)
        path.append(tag)
    return tuple(path)


# SQLite's integers stop at 2**63 - 1; an offset or limit past this many items means "all of them".
_BEYOND_ANY_WORKLIST = 2**62


def _non_negative(name: str, text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidRequest(f"The {name} parameter must be a whole number of 0 or more, not {text!r}.")
    return min(number, _BEYOND_ANY_WORKLIST)


def _flag(name: str, text: str) -> bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise InvalidRequest(f"The {name} parameter must be true or false, not {text!r}.")


def parse_search(params: Iterable[tuple[str, str]], local: tzinfo = UTC) -> SearchRequest:
    """Turn query parameters into a SearchRequest; an unknown or repeated key is a 400."""
    matches: list[tuple[tuple[str, ...], str]] = []
    include: set[str] = set()
    include_all = False
    offset, limit = 0, None
    warnings: list[str] = []
    seen: set[str] = set()
    given = list(params)
    for name, value in given:
        if name == "includefield":
            for item in filter(None, (v.strip() for v in value.split(","))):
                if item == "all":
                    include_all = True
                else:
                    include.add(parse_path(item)[0])
            continue
        if name in CONTROL_PARAMETERS:
            if name in seen:
                raise InvalidRequest(f"The {name} parameter appears more than once.")
            seen.add(name)
            if name == "offset":
                offset = _non_negative(name, value)
            elif name == "limit":
                limit = _non_negative(name, value)
            elif name == "fuzzymatching":
                if _flag(name, value):
                    warnings.append(FUZZY_WARNING)
            else:
                if _flag(name, value):
                    warnings.append(f"The {name} parameter is not supported. Only literal matching has been performed.")
            continue
        path = parse_path(name)
        if path[0] in NOT_MATCHABLE:
            raise InvalidRequest(f"{name}: {NOT_MATCHABLE[path[0]]}.", Status.IDENTIFIER_DOES_NOT_MATCH)
        if path[0] in IGNORED:
            continue
        matches.append((path, value))
    if include_all and include:
        raise InvalidRequest("includefield=all cannot be combined with other attributes.")
    return SearchRequest(
        build_query(matches, local), include_all, frozenset(include), offset, limit, tuple(warnings), tuple(given)
    )


@dataclass(frozen=True)
class SubscriptionFilter:
    """The matching keys of a Filtered Global Subscription (PS3.4 CC.2.3.1, PS3.18 11.10.1), as
    attribute paths (tags, dotted into sequences) and values; what every front hands the service."""

    terms: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        for path, value in self.terms:
            parse_path(path)
            if "," in value:
                raise InvalidRequest(f"The filter value {value!r} may not contain a comma.")

    @classmethod
    def from_text(cls, text: str) -> SubscriptionFilter:
        """UPS-RS's `filter` parameter: `attr=value[,attr=value…]`."""
        pairs = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise InvalidRequest(f"The filter term {part!r} is not of the form attribute=value.")
            pairs.append((".".join(parse_path(name.strip())), value))
        return cls(tuple(pairs))

    def text(self) -> str:
        """The form the filter is stored in (and read back with `from_text`)."""
        return ",".join(f"{path}={value}" for path, value in self.terms)

    def query(self, local: tzinfo = UTC) -> Query:
        return parse_search(self.terms, local).query


def parse_filter(text: str, local: tzinfo = UTC) -> Query:
    """The `filter` of a Filtered Global Subscription: `attr=value[,attr=value…]` (11.10.1)."""
    return SubscriptionFilter.from_text(text).query(local)
