"""DICOM DA, TM and DT values as intervals, compared by meaning (PS3.5 6.2, PS3.4 C.2.2.2.5).

A partial value names the span it covers: DT `2026112308` is the whole 08:00 hour. Every
interval is expressed in naive local time of a reference zone (`local`), so values with
and without a UTC offset compare correctly. `sortable()` gives a fixed-width string of
that time, which the store indexes and compares as text.

It also says what the query bar's relative date choices ("Today", "Today and the next 12
hours" …) mean at a given moment: the console asks again before every search, so a list left
open across midnight moves on to the new day by itself.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

_DA = re.compile(r"^(\d{4})(\d{2})?(\d{2})?\Z")
_DA_LEGACY = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})\Z")
_TM = re.compile(r"^(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?(?:\.(\d{1,6}))?\Z")
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?\Z")

Interval = tuple[datetime, datetime]  # inclusive bounds, naive local time
_TICK = timedelta(microseconds=1)


class DateValueError(ValueError):
    """A DA, TM or DT value that does not follow PS3.5."""


def _end_of(start: datetime, unit: str) -> datetime:
    try:
        return _end_of_unit(start, unit)
    except OverflowError:
        return datetime.max  # the last span of year 9999


def _end_of_unit(start: datetime, unit: str) -> datetime:
    if unit == "year":
        if start.year == 9999:
            return datetime.max
        return start.replace(year=start.year + 1) - _TICK
    if unit == "month":
        if start.year == 9999 and start.month == 12:
            return datetime.max
        nxt = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return nxt - _TICK
    steps = {
        "day": timedelta(days=1),
        "hour": timedelta(hours=1),
        "minute": timedelta(minutes=1),
        "second": timedelta(seconds=1),
    }
    return start + steps[unit] - _TICK


def parse_da(text: str) -> Interval:
    text = text.strip()
    legacy = _DA_LEGACY.match(text)
    m = _DA.match(text) if not legacy else None
    if legacy:
        parts = legacy.groups()
    elif m and m.group(2) and m.group(3):
        parts = m.groups()
    else:
        raise DateValueError(f"{text!r} is not a DICOM date (YYYYMMDD)")
    try:
        start = datetime(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError as exc:
        raise DateValueError(f"{text!r} is not a valid date: {exc}") from None
    return start, _end_of(start, "day")


def parse_tm(text: str, day: date = date(2000, 1, 1)) -> Interval:
    """A TM value as an interval on `day` (TM alone has no date)."""
    text = text.strip()
    m = _TM.match(text)
    if not m:
        raise DateValueError(f"{text!r} is not a DICOM time (HHMMSS.FFFFFF)")
    hh, mm, ss, frac = m.groups()
    try:
        start = datetime.combine(day, time(int(hh), int(mm or 0), int(ss or 0), int((frac or "0").ljust(6, "0"))))
    except ValueError as exc:
        raise DateValueError(f"{text!r} is not a valid time: {exc}") from None
    if frac:
        end = start + timedelta(microseconds=10 ** (6 - len(frac))) - _TICK
    else:
        end = _end_of(start, "second" if ss else "minute" if mm else "hour")
    return start, end


def parse_dt(text: str, local: tzinfo = UTC) -> Interval:
    """A DT value as an interval in naive time of `local`; an offset in the value is honoured."""
    text = text.strip()
    m = _DT.match(text)
    if not m:
        raise DateValueError(f"{text!r} is not a DICOM date-time (YYYYMMDDHHMMSS.FFFFFF&ZZXX)")
    year, month, day, hh, mm, ss, frac, offset = m.groups()
    try:
        start = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise DateValueError(f"{text!r} is not a valid date-time: {exc}") from None
    if frac:
        end = start + timedelta(microseconds=10 ** (6 - len(frac))) - _TICK
    else:
        unit = "second" if ss else "minute" if mm else "hour" if hh else "day" if day else "month" if month else "year"
        end = _end_of(start, unit)
    if offset:
        if not _plausible_offset(offset):
            raise DateValueError(f"{text!r} has a UTC offset {offset} outside -1200…+1400")
        sign = 1 if offset[0] == "+" else -1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        try:
            start = start.replace(tzinfo=zone).astimezone(local).replace(tzinfo=None)
            end = end.replace(tzinfo=zone).astimezone(local).replace(tzinfo=None)
        except OverflowError:
            raise DateValueError(f"{text!r} is out of the range of dates this server handles") from None
    return start, end


def _plausible_offset(offset: str) -> bool:
    minutes = int(offset[1:3]) * 60 + int(offset[3:5])
    return int(offset[3:5]) < 60 and (minutes <= 12 * 60 if offset[0] == "-" else minutes <= 14 * 60)


def parse_value(vr: str, text: str, local: tzinfo = UTC) -> Interval:
    parse = {"DA": parse_da, "TM": parse_tm, "DT": lambda value: parse_dt(value, local)}.get(vr)
    if parse is None:
        raise DateValueError(f"VR {vr} is not a date or time")
    try:
        return parse(text)
    except DateValueError:
        raise
    except (ValueError, OverflowError) as exc:  # the edges of the calendar
        raise DateValueError(f"{text!r} is out of the range of dates this server handles: {exc}") from None


def parse_range(vr: str, text: str, local: tzinfo = UTC) -> Interval:
    """A matching key value of VR DA, TM or DT: a single value or a range `a-b`, `-b`, `a-`.

    A DT value may carry a `-ZZXX` offset, so the range dash is the one that splits the
    text into two parseable halves.
    """
    text = text.strip()
    single = _DT.match(text) if vr == "DT" else None
    if "-" not in text or (single and (not single.group(8) or _plausible_offset(single.group(8)))):
        return parse_value(vr, text, local)
    for i, ch in enumerate(text):
        if ch != "-":
            continue
        low, high = text[:i], text[i + 1 :]
        try:
            lo = parse_value(vr, low, local)[0] if low else datetime.min
            hi = parse_value(vr, high, local)[1] if high else datetime.max
        except DateValueError:
            continue
        if not low and not high:
            break
        if vr == "TM" and lo > hi:
            raise DateValueError(f"the time range {text!r} crosses midnight, which DICOM does not allow")
        return lo, hi
    raise DateValueError(f"{text!r} is not a {vr} value or range")


def combine(date_range: Interval | None, time_range: Interval | None) -> Interval:
    """Combined date-time matching (PS3.4 C.2.2.2.5.1): a DA and a TM key as one DT range."""
    lo_date = date_range[0].date() if date_range and date_range[0] != datetime.min else None
    hi_date = date_range[1].date() if date_range and date_range[1] != datetime.max else None
    lo_time = time_range[0].time() if time_range else time.min
    hi_time = time_range[1].time() if time_range else time.max
    lo = datetime.combine(lo_date, lo_time) if lo_date else datetime.min
    hi = datetime.combine(hi_date, hi_time) if hi_date else datetime.max
    return lo, hi


def sortable(moment: datetime) -> str:
    """Fixed-width text that sorts like the moment it names (what the store indexes)."""
    if moment == datetime.min:
        return "00000000000000.000000"
    if moment == datetime.max:
        return "99999999999999.999999"
    return f"{moment.year:04d}" + moment.strftime("%m%d%H%M%S.%f")


def overlaps(a: Interval, b: Interval) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


# -- the query bar's relative date choices ----------------------------------------------------

TODAY = "Today"
NEXT_12_HOURS = "Today and the next 12 hours"
TOMORROW = "Tomorrow"
TODAY_AND_TOMORROW = "Today and tomorrow"
YESTERDAY_TO_TOMORROW = "Yesterday to tomorrow"
RELATIVE_CHOICES = (TODAY, NEXT_12_HOURS, TOMORROW, TODAY_AND_TOMORROW, YESTERDAY_TO_TOMORROW)
_DAYS = {TODAY: (0, 0), TOMORROW: (1, 1), TODAY_AND_TOMORROW: (0, 1), YESTERDAY_TO_TOMORROW: (-1, 1)}
_HALF_DAY = timedelta(hours=12)


def _later(now: datetime, delta: timedelta) -> datetime:
    """The wall-clock time `delta` of real time after `now` (a DST change day has 23 or 25
    hours). A naive `now` is the computer's local time."""
    if now.tzinfo is None:
        return datetime.fromtimestamp(now.timestamp() + delta.total_seconds())
    return (now.astimezone(UTC) + delta).astimezone(now.tzinfo)


def relative_span(choice: str, now: datetime) -> Interval:
    """The scheduled times a relative date choice covers at `now`, in naive local time (of
    `now`'s zone, or of the computer for a naive `now`); inclusive bounds.

    "Today and the next 12 hours" runs from 00:00 of the day the shift began (the day it was
    12 hours ago: a night shift keeps the evening's orders until noon) to the end of the hour
    12 hours from now, so that it moves on once an hour rather than on every search.
    """
    if choice == NEXT_12_HOURS:
        began = _later(now, -_HALF_DAY).date()
        ahead = _later(now, _HALF_DAY).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        return datetime.combine(began, time.min), ahead + timedelta(hours=1) - _TICK
    if choice not in _DAYS:
        raise ValueError(f"{choice!r} is not a relative date choice")
    first, last = _DAYS[choice]
    today = now.date()
    return datetime.combine(today + timedelta(days=first), time.min), datetime.combine(
        today + timedelta(days=last), time.max
    )


def span_changes_at(choice: str, now: datetime) -> datetime:
    """The next local wall-clock time (naive) at which `relative_span` gives another answer:
    midnight, or the next full hour for the 12-hour window. A caller that sleeps until then
    should still look at the clock now and then: a computer asleep, or a clock set, skips it."""
    local = now.replace(tzinfo=None)
    if choice == NEXT_12_HOURS:
        return local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return datetime.combine(local.date() + timedelta(days=1), time.min)
