"""The query model: matching keys with the semantics of PS3.4 C.2.2.2, matched against
DICOM JSON datasets.

A `Query` is a tuple of keys. Each key is a `KeyMatch` on one attribute, a
`CombinedMatch` of a DA and a TM attribute read as one date-time (C.2.2.2.5.1), or a
`SequenceMatch` whose keys must all match within one and the same item of the stored
sequence — any item, not just the first.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import Enum
from functools import cached_property
from typing import Any

from .dates import DateValueError, Interval, combine, parse_range, parse_value
from .dicomjson import JsonDataset, items, values
from .status import InvalidRequest, Status
from .tags import CODE_MEANING

WILDCARD_VRS = frozenset(["AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"])
DATE_VRS = frozenset({"DA", "TM", "DT"})
NUMBER_VRS = frozenset(["DS", "FD", "FL", "IS", "SL", "SS", "SV", "UL", "US", "UV"])

# DA and TM attributes that together name one moment (combined date-time matching).
DATE_TIME_PAIRS: dict[str, str] = {
    "00080020": "00080030",  # Study Date / Time
    "00080021": "00080031",  # Series
    "00080023": "00080033",  # Content
    "00100030": "00100032",  # Patient's Birth
    "00400002": "00400003",  # Scheduled Procedure Step Start
    "00400004": "00400005",  # Scheduled Procedure Step End
    "00400244": "00400245",  # Performed Procedure Step Start
    "00400250": "00400251",  # Performed Procedure Step End
}


class MatchKind(Enum):
    UNIVERSAL = "universal"
    SINGLE = "single value"
    UID_LIST = "UID list"
    WILDCARD = "wildcard"
    RANGE = "range"


def vr_of(tag: str) -> str:
    """The dictionary VR of a public attribute; the first one where it has several."""
    from pydicom.datadict import dictionary_VR  # read at the first query, not with the module

    try:
        return dictionary_VR(int(tag, 16)).split(" or ")[0]
    except KeyError:
        raise InvalidRequest(
            f"({tag[:4]},{tag[4:]}) is not an attribute this server knows.", Status.IDENTIFIER_DOES_NOT_MATCH
        ) from None


def normalize_text(vr: str, text: str) -> str:
    """The form in which a stored value and a key value are compared.

    Trailing spaces are padding (PS3.5 6.2); a person name ignores empty trailing
    components and, in this implementation, case.
    """
    text = text.rstrip(" ")
    if vr == "PN":
        text = "=".join(group.rstrip("^") for group in text.split("=")).rstrip("=").upper()
    return text


def glob_pattern(text: str) -> str:
    """A DICOM wildcard value as an SQLite GLOB pattern (`*` and `?` keep their meaning)."""
    return text.replace("[", "[[]")


# Longer key values are refused: no attribute a worklist is searched on holds more than 64
# characters per value (LO, PN group), and a bound keeps every match cheap.
MAX_KEY_LENGTH = 1024


def collapse_stars(pattern: str) -> str:
    """`a***b` as `a*b`: a run of `*` means what one does."""
    return re.sub(r"\*{2,}", "*", pattern)


def wildcard_match(pattern: str, text: str) -> bool:
    """Does `text` match a DICOM wildcard `pattern` (`*` any run, `?` one character)?

    Greedy, with a return to the last `*` only: at most len(pattern) × len(text) steps, never
    the exponential backtracking a regular expression can fall into on `*a*a*…`."""
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif star >= 0:
            p, resume = star + 1, resume + 1
            t = resume
        else:
            return False
    return all(c == "*" for c in pattern[p:])


@dataclass(frozen=True)
class KeyMatch:
    tag: str
    vr: str
    raw: str
    kind: MatchKind
    interval: Interval | None = None  # RANGE: inclusive bounds in naive local time

    @cached_property
    def value(self) -> str:
        return normalize_text(self.vr, self.raw)

    @cached_property
    def uids(self) -> frozenset[str]:
        return frozenset(u.strip() for u in re.split(r"[,\\]", self.raw) if u.strip())

    def matches_value(self, stored: Any, local: tzinfo = UTC) -> bool:
        """Does one stored value (a DICOM JSON value) satisfy this key?"""
        if self.kind is MatchKind.UNIVERSAL:
            return True
        if stored is None or stored == "":
            return False  # a zero-length stored value matches no key but the universal one
        if self.vr == "PN":
            groups = stored if isinstance(stored, dict) else {"Alphabetic": str(stored)}
            return any(self._matches_text(normalize_text("PN", g)) for g in groups.values() if g)
        if self.kind is MatchKind.RANGE and self.interval is not None:
            try:
                moment = parse_value(self.vr, str(stored), local)[0]
            except DateValueError:
                return False
            return self.interval[0] <= moment <= self.interval[1]
        if self.kind is MatchKind.UID_LIST:
            return str(stored).strip() in self.uids
        if self.vr in NUMBER_VRS:
            try:
                return float(stored) == float(self.raw)
            except (TypeError, ValueError):
                return False
        return self._matches_text(normalize_text(self.vr, str(stored)))

    def _matches_text(self, stored: str) -> bool:
        if self.kind is MatchKind.WILDCARD:
            return wildcard_match(self.value, stored)
        return stored == self.value

    def matches(self, dataset: JsonDataset, local: tzinfo = UTC) -> bool:
        if self.kind is MatchKind.UNIVERSAL:
            return True
        return any(self.matches_value(v, local) for v in values(dataset, self.tag))


@dataclass(frozen=True)
class CombinedMatch:
    """A DA key and its TM key matched together as one date-time range."""

    date_tag: str
    time_tag: str
    interval: Interval

    def matches(self, dataset: JsonDataset, local: tzinfo = UTC) -> bool:
        dates, times = values(dataset, self.date_tag), values(dataset, self.time_tag)
        if not dates or not dates[0]:
            return False
        try:
            day = parse_value("DA", str(dates[0]))[0]
            if times and times[0]:
                moment = datetime.combine(day.date(), parse_value("TM", str(times[0]))[0].time())
            else:
                return self.interval[0].date() <= day.date() <= self.interval[1].date()
        except DateValueError:
            return False
        return self.interval[0] <= moment <= self.interval[1]


@dataclass(frozen=True)
class SequenceMatch:
    tag: str
    keys: tuple[Key, ...]

    @property
    def is_universal(self) -> bool:
        return all(_is_universal(k) for k in self.keys)

    def matches(self, dataset: JsonDataset, local: tzinfo = UTC) -> bool:
        if self.is_universal:
            return True
        return any(all(k.matches(item, local) for k in self.keys) for item in items(dataset, self.tag))


Key = KeyMatch | CombinedMatch | SequenceMatch


def _is_universal(key: Key) -> bool:
    if isinstance(key, KeyMatch):
        return key.kind is MatchKind.UNIVERSAL
    if isinstance(key, SequenceMatch):
        return key.is_universal
    return False


@dataclass(frozen=True)
class Query:
    keys: tuple[Key, ...] = ()

    def matches(self, dataset: JsonDataset, local: tzinfo = UTC) -> bool:
        return all(key.matches(dataset, local) for key in self.keys)

    @property
    def matching_keys(self) -> tuple[Key, ...]:
        """The keys that constrain anything (universal keys only ask for a value back)."""
        return tuple(k for k in self.keys if not _is_universal(k))

    def key_at(self, path: tuple[str, ...]) -> KeyMatch | None:
        """The plain key at a tag path (sequence tags, then the attribute), if the query has one."""
        keys = self.keys
        for tag in path[:-1]:
            seq = next((k for k in keys if isinstance(k, SequenceMatch) and k.tag == tag), None)
            if seq is None:
                return None
            keys = seq.keys
        return next((k for k in keys if isinstance(k, KeyMatch) and k.tag == path[-1]), None)

    def without(self, paths: Collection[tuple[str, ...]]) -> Query:
        """The query less the plain keys at `paths` (a sequence left with no key is dropped): what
        remains to be matched once another party has matched those keys."""
        return Query(_without(self.keys, [tuple(p) for p in paths]))

    def tags(self) -> set[str]:
        """Top-level tags named by the query (what a search result must include)."""
        out: set[str] = set()
        for key in self.keys:
            if isinstance(key, CombinedMatch):
                out |= {key.date_tag, key.time_tag}
            else:
                out.add(key.tag)
        return out


def _without(keys: tuple[Key, ...], paths: list[tuple[str, ...]]) -> tuple[Key, ...]:
    kept: list[Key] = []
    for key in keys:
        if isinstance(key, KeyMatch) and (key.tag,) in paths:
            continue
        if isinstance(key, SequenceMatch):
            inner = [p[1:] for p in paths if len(p) > 1 and p[0] == key.tag]
            if inner:
                rest = _without(key.keys, inner)
                if rest:
                    kept.append(SequenceMatch(key.tag, rest))
                continue
        kept.append(key)
    return tuple(kept)


def key_match(tag: str, raw: str, local: tzinfo = UTC, vr: str | None = None) -> KeyMatch:
    """One matching key from its value text, with the matching type the VR and value imply."""
    vr = vr or vr_of(tag)
    raw = raw.strip(" ") if vr != "PN" else raw.strip()
    if vr in WILDCARD_VRS:
        raw = collapse_stars(raw)
    if len(raw) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"({tag[:4]},{tag[4:]}): a matching value may hold at most {MAX_KEY_LENGTH} characters.")
    if raw == "" or (raw == "*" and vr in WILDCARD_VRS):
        return KeyMatch(tag, vr, raw, MatchKind.UNIVERSAL)
    if vr == "SQ":
        raise InvalidRequest(f"({tag[:4]},{tag[4:]}) is a sequence: match on its items' attributes.")
    if vr in DATE_VRS:
        try:
            return KeyMatch(tag, vr, raw, MatchKind.RANGE, parse_range(vr, raw, local))
        except DateValueError as exc:
            raise InvalidRequest(f"({tag[:4]},{tag[4:]}): {exc}.") from None
    if vr == "UI":
        many = len(re.split(r"[,\\]", raw)) > 1
        return KeyMatch(tag, vr, raw, MatchKind.UID_LIST if many else MatchKind.SINGLE)
    if vr in WILDCARD_VRS and ("*" in raw or "?" in raw):
        return KeyMatch(tag, vr, raw, MatchKind.WILDCARD)
    if vr in NUMBER_VRS:
        try:
            float(raw)
        except ValueError:
            raise InvalidRequest(f"({tag[:4]},{tag[4:]}) needs a number, not {raw!r}.") from None
    return KeyMatch(tag, vr, raw, MatchKind.SINGLE)


def build_query(paths: list[tuple[tuple[str, ...], str]], local: tzinfo = UTC) -> Query:
    """A Query from (tag path, value) pairs; keys under one sequence share one item.

    Code Meaning is never matched (PS3.4 C.2.2.2.4 note; CC.2.5-3), only returned.
    """
    return Query(_build_level(paths, local))


def _build_level(paths: list[tuple[tuple[str, ...], str]], local: tzinfo) -> tuple[Key, ...]:
    flat: dict[str, KeyMatch] = {}
    nested: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for path, raw in paths:
        head, rest = path[0], path[1:]
        if rest:
            if vr_of(head) != "SQ":
                raise InvalidRequest(f"({head[:4]},{head[4:]}) is not a sequence, so it has no nested attributes.")
            nested.setdefault(head, []).append((rest, raw))
            continue
        if head in flat or head in nested:
            raise InvalidRequest(f"({head[:4]},{head[4:]}) appears more than once in the query.")
        if vr_of(head) == "SQ":
            if raw.strip():
                raise InvalidRequest(f"({head[:4]},{head[4:]}) is a sequence: match on its items' attributes.")
            nested[head] = []
            continue
        key = key_match(head, "" if head == CODE_MEANING else raw, local)
        flat[head] = key
    keys: list[Key] = []
    for date_tag, time_tag in DATE_TIME_PAIRS.items():
        d, tm = flat.get(date_tag), flat.get(time_tag)
        if d and tm and d.kind is MatchKind.RANGE and tm.kind is MatchKind.RANGE:
            keys.append(CombinedMatch(date_tag, time_tag, combine(d.interval, tm.interval)))
            flat[date_tag] = KeyMatch(date_tag, "DA", "", MatchKind.UNIVERSAL)
            flat[time_tag] = KeyMatch(time_tag, "TM", "", MatchKind.UNIVERSAL)
    keys.extend(flat.values())
    keys.extend(SequenceMatch(tag, _build_level(sub, local)) for tag, sub in nested.items())
    return tuple(keys)
