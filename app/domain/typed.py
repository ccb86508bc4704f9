"""What a technologist types, read as DICOM values: a birth date in the forms people use, a
person's name as "Family, Given", and DICOM dates shown the way people read them.

Locale date formats arrive as Qt format strings (`dd/MM/yyyy`, `M/d/yy`); only their numeric
forms are understood here, since month and weekday names belong to the locale, not the domain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

EARLIEST_YEAR = 1900
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
EXAMPLE = date(1965, 4, 12)


class TypedDateError(ValueError):
    """A typed date that cannot be used; the message is a sentence for the person who typed it."""


@dataclass(frozen=True)
class _Field:
    kind: str  # "d", "M", "y", or "" for literal text
    text: str  # the token as written in the format (or the literal)


_TOKEN = re.compile(r"'(?:[^']|'')*'|d+|M+|y+|[^dMy']+")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YEAR_FIRST = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})\s*\.\s*(\d{1,2})\s*\.\s*(\d{4}|\d{2})")
_TWO_OR_FOUR = r"(\d{4}|\d{2})"
# direction marks some locales put around separators (Arabic: d\u200f/M\u200f/yyyy): nobody types them
_INVISIBLE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _fields(qt_format: str) -> list[_Field] | None:
    """The format as fields and literals; None when it names months or weekdays, or has letters
    a numeric date cannot hold."""
    out: list[_Field] = []
    pos = 0
    for m in _TOKEN.finditer(qt_format):
        if m.start() != pos:
            return None
        pos = m.end()
        token = m.group()
        if token.startswith("'"):
            out.append(_Field("", token[1:-1].replace("''", "'") if len(token) > 2 else "'"))
        elif token[0] in "dM":
            if len(token) > 2:
                return None
            out.append(_Field(token[0], token))
        elif token[0] == "y":
            if len(token) not in (2, 4):
                return None
            out.append(_Field("y", token))
        elif any(ch.isalpha() for ch in token):
            return None
        else:
            out.append(_Field("", token))
    kinds = [f.kind for f in out if f.kind]
    if pos != len(qt_format) or sorted(kinds) != ["M", "d", "y"]:
        return None
    return out


def _pattern(fields: list[_Field]) -> re.Pattern[str]:
    parts: list[str] = []
    for n, field in enumerate(fields):
        if field.kind in ("d", "M"):
            parts.append(r"(\d{1,2})")
        elif field.kind == "y":
            parts.append(_TWO_OR_FOUR)  # either way: a year typed in full is never wrong
        else:
            literal = _INVISIBLE.sub("", field.text).strip()
            sep = r"\s+" if not literal else r"\s*" + re.escape(literal) + r"\s*"
            edge = n == 0 or n == len(fields) - 1
            parts.append(f"(?:{sep})?" if edge else sep)
    return re.compile("".join(parts))


def format_date(day: date, qt_format: str) -> str:
    """`day` written in a numeric Qt date format; ISO 8601 when the format is not numeric."""
    fields = _fields(qt_format)
    if fields is None:
        return day.isoformat()
    text = {
        "d": str(day.day),
        "dd": f"{day.day:02d}",
        "M": str(day.month),
        "MM": f"{day.month:02d}",
        "yy": f"{day.year % 100:02d}",
        "yyyy": f"{day.year:04d}",
    }
    return "".join(text[f.text] if f.kind else f.text for f in fields)


def spoken_date(day: date) -> str:
    """The date as people say it, with no order to misread: "12 April 1965"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _birth_year(digits: str, month: int, day: int, today: date) -> int:
    if len(digits) == 4:
        return int(digits)
    # two digits: the most recent such year, since a birth date is in the past
    year = today.year // 100 * 100 + int(digits)
    return year - 100 if (year, month, day) > (today.year, today.month, today.day) else year


def parse_typed_date(text: str, today: date, locale_format: str | None = None) -> date | None:
    """A birth date as typed: `19650412`, `1965-04-12`, `12.04.1965`, or the locale's short
    format (a Qt format such as `dd/MM/yyyy`). None when nothing is typed (unknown).

    Raises TypedDateError, with a sentence to show, for text that is not a date, a date in the
    future or one before 1900.
    """
    typed = _INVISIBLE.sub("", text).strip()
    if not typed:
        return None
    fields = _fields(locale_format) if locale_format else None
    found: tuple[str, str, str] | None = None
    if (m := _COMPACT.fullmatch(typed)) or (m := _YEAR_FIRST.fullmatch(typed)):
        found = m.group(1), m.group(2), m.group(3)
    elif fields and (m := _pattern(fields).fullmatch(typed)):
        values = dict(zip((f.kind for f in fields if f.kind), m.groups()))
        found = values["y"], values["M"], values["d"]
    elif m := _DOTTED.fullmatch(typed):
        found = m.group(3), m.group(2), m.group(1)
    if found is None:
        example = format_date(EXAMPLE, locale_format) if fields and locale_format else "12.04.1965"
        raise TypedDateError(f"{typed} is not a date: type it as {EXAMPLE:%Y%m%d}, {EXAMPLE.isoformat()} or {example}.")
    month, day = int(found[1]), int(found[2])
    try:
        result = date(_birth_year(found[0], month, day, today), month, day)
    except ValueError:
        raise TypedDateError(f"{typed} is not a date.") from None
    if result > today:
        raise TypedDateError("A birth date cannot be in the future.")
    if result.year < EARLIEST_YEAR:
        raise TypedDateError(f"{result.year} is before {EARLIEST_YEAR}: check the year.")
    return result


def typed_person_name(text: str) -> str:
    """A person's name as DICOM PN: "Becker, Anna" → "Becker^Anna"; "Becker^Anna" is kept."""
    if "^" in text:
        parts = [part.strip() for part in text.split("^")]
    else:
        family, comma, given = text.partition(",")
        parts = [family.strip(), given.strip()] if comma else [text.strip()]
    return "^".join(parts).rstrip("^")


def format_da(text: str) -> str:
    """A DICOM DA value as people read it: "19650412" → "1965-04-12"; anything else unchanged."""
    if not _COMPACT.fullmatch(text):
        return text
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    except ValueError:
        return text
