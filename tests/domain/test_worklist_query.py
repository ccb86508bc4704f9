"""The technologist's query with a relative date choice: worked out again at every search."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from app.domain.build import NewWorkitem
from app.domain.dates import NEXT_12_HOURS, TODAY
from app.domain.workitem import PatientName, Workitem
from app.domain.worklist_query import WorklistQuery

BEFORE_MIDNIGHT, AFTER_MIDNIGHT = datetime(2027, 12, 31, 23, 59, 59), datetime(2028, 1, 1, 0, 0, 0)


def scheduled_at(start: str) -> Workitem:
    return Workitem(
        NewWorkitem(uid="1.2.3", label="CT", start=start, patient=PatientName("Doe^Jane"), patient_id="P").to_json()
    )


def test_today_means_the_day_of_the_search_not_of_the_query():
    query = WorklistQuery(station="CT1", dates=TODAY)
    assert (query.at(BEFORE_MIDNIGHT).date_from, query.at(BEFORE_MIDNIGHT).date_to) == (date(2027, 12, 31),) * 2
    assert (query.at(AFTER_MIDNIGHT).date_from, query.at(AFTER_MIDNIGHT).date_to) == (date(2028, 1, 1),) * 2
    assert ("ScheduledProcedureStepStartDateTime", "20280101000000-20280101235959") in query.at(
        AFTER_MIDNIGHT
    ).search_params()
    assert query.at(BEFORE_MIDNIGHT) != query.at(AFTER_MIDNIGHT)


def test_fixed_dates_stay_what_they_are():
    query = WorklistQuery(date_from=date(2026, 11, 23), date_to=date(2026, 11, 23))
    assert query.at(AFTER_MIDNIGHT) is query


def test_the_night_window_is_one_date_time_range_across_midnight_for_ups_rs():
    query = WorklistQuery(station="CT1", dates=NEXT_12_HOURS).at(BEFORE_MIDNIGHT)
    assert (query.date_from, query.date_to, query.time_to) == (
        date(2027, 12, 31),
        date(2028, 1, 1),
        time(11, 59, 59, 999999),
    )
    assert ("ScheduledProcedureStepStartDateTime", "20271231000000-20280101115959") in query.search_params()


def test_an_answer_searched_by_whole_days_is_narrowed_to_the_hours():
    query = WorklistQuery(dates=NEXT_12_HOURS).at(BEFORE_MIDNIGHT)
    assert query.holds(scheduled_at("20271231083000"), UTC)
    assert query.holds(scheduled_at("20280101000200"), UTC)
    assert query.holds(scheduled_at("20280101115900"), UTC)
    assert not query.holds(scheduled_at("20280101130000"), UTC)
    whole_days = WorklistQuery(dates=TODAY).at(BEFORE_MIDNIGHT)
    assert whole_days.holds(scheduled_at("20271231235900"), UTC)
