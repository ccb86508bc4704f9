"""Python's dates and times as Qt's, and back, spelled out: PySide6 converts them implicitly
at run time, but its stubs declare neither direction, and the conversion is local wall time."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import QDate, QDateTime, QTime


def qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def to_date(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


def qdatetime(moment: datetime) -> QDateTime:
    """A naive local datetime as a local QDateTime (to the millisecond, as Qt keeps it)."""
    return QDateTime(qdate(moment.date()), QTime(moment.hour, moment.minute, moment.second, moment.microsecond // 1000))


def to_datetime(moment: QDateTime) -> datetime:
    """A QDateTime as the naive local datetime it shows."""
    day, time = moment.date(), moment.time()
    return datetime(day.year(), day.month(), day.day(), time.hour(), time.minute(), time.second(), time.msec() * 1000)
