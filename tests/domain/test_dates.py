"""DA, TM and DT values read as intervals and compared by meaning (PS3.5 6.2, PS3.4 C.2.2.2.5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.dates import (
    NEXT_12_HOURS,
    TODAY,
    TODAY_AND_TOMORROW,
    TOMORROW,
    YESTERDAY_TO_TOMORROW,
    DateValueError,
    combine,
    overlaps,
    parse_da,
    parse_dt,
    parse_range,
    parse_tm,
    parse_value,
    relative_span,
    sortable,
    span_changes_at,
)

MIN, MAX = datetime.min, datetime.max
TICK = timedelta(microseconds=1)
CET = timezone(timedelta(hours=1))


def dt(*args) -> datetime:
    return datetime(*args)


# --- DA -------------------------------------------------------------------------------------


def test_date_covers_the_whole_day():
    assert parse_da("20261123") == (dt(2026, 11, 23), dt(2026, 11, 24) - TICK)


def test_legacy_dotted_date_means_the_same_day():
    assert parse_da("2026.11.23") == parse_da("20261123")


@pytest.mark.parametrize("text", ["2026112", "202611", "20261323", "20260230", "2026-11-23", "", "abcdefgh"])
def test_malformed_or_impossible_date_is_refused(text):
    with pytest.raises(DateValueError):
        parse_da(text)


def test_last_day_of_a_leap_february_is_a_date():
    assert parse_da("20280229")[0] == dt(2028, 2, 29)


# --- TM -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("08", dt(2000, 1, 1, 8), dt(2000, 1, 1, 9) - TICK),
        ("0830", dt(2000, 1, 1, 8, 30), dt(2000, 1, 1, 8, 31) - TICK),
        ("083015", dt(2000, 1, 1, 8, 30, 15), dt(2000, 1, 1, 8, 30, 16) - TICK),
        ("083015.5", dt(2000, 1, 1, 8, 30, 15, 500000), dt(2000, 1, 1, 8, 30, 15, 600000) - TICK),
        ("083015.123456", dt(2000, 1, 1, 8, 30, 15, 123456), dt(2000, 1, 1, 8, 30, 15, 123456)),
        ("08:30:15", dt(2000, 1, 1, 8, 30, 15), dt(2000, 1, 1, 8, 30, 16) - TICK),
    ],
)
def test_partial_time_covers_the_span_it_names(text, start, end):
    assert parse_tm(text) == (start, end)


def test_time_can_be_placed_on_a_given_day():
    assert parse_tm("2330", day=date(2026, 11, 23))[0] == dt(2026, 11, 23, 23, 30)


@pytest.mark.parametrize("text", ["24", "0860", "8", "083015.1234567", "ab", ""])
def test_malformed_or_impossible_time_is_refused(text):
    with pytest.raises(DateValueError):
        parse_tm(text)


# --- DT -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("2026", dt(2026, 1, 1), dt(2027, 1, 1) - TICK),
        ("202612", dt(2026, 12, 1), dt(2027, 1, 1) - TICK),
        ("202602", dt(2026, 2, 1), dt(2026, 3, 1) - TICK),
        ("20261123", dt(2026, 11, 23), dt(2026, 11, 24) - TICK),
        ("2026112308", dt(2026, 11, 23, 8), dt(2026, 11, 23, 9) - TICK),
        ("202611230830", dt(2026, 11, 23, 8, 30), dt(2026, 11, 23, 8, 31) - TICK),
        ("20261123083015", dt(2026, 11, 23, 8, 30, 15), dt(2026, 11, 23, 8, 30, 16) - TICK),
        ("20261123083015.25", dt(2026, 11, 23, 8, 30, 15, 250000), dt(2026, 11, 23, 8, 30, 15, 260000) - TICK),
    ],
)
def test_partial_date_time_covers_the_span_it_names(text, start, end):
    assert parse_dt(text) == (start, end)


def test_date_time_with_utc_offset_is_converted_to_the_reference_zone():
    assert parse_dt("20261123080000+0100", local=UTC)[0] == dt(2026, 11, 23, 7)
    assert parse_dt("20261123080000-0500", local=UTC)[0] == dt(2026, 11, 23, 13)
    assert parse_dt("20261123080000+0100", local=CET)[0] == dt(2026, 11, 23, 8)


def test_same_moment_written_in_two_zones_compares_equal():
    assert parse_dt("20261123080000+0100") == parse_dt("20261123070000+0000")


def test_date_time_without_offset_is_taken_as_local_time():
    assert parse_dt("20261123080000", local=CET)[0] == dt(2026, 11, 23, 8)


@pytest.mark.parametrize("text", ["20261323", "2026112325", "20261123+01", "2026-11-23T08:00", "26", ""])
def test_malformed_date_time_is_refused(text):
    with pytest.raises(DateValueError):
        parse_dt(text)


def test_parse_value_refuses_a_vr_that_is_not_a_date_or_time():
    with pytest.raises(DateValueError):
        parse_value("LO", "20261123")


# --- ranges ---------------------------------------------------------------------------------


def test_date_range_includes_both_whole_end_days():
    assert parse_range("DA", "20261101-20261130") == (dt(2026, 11, 1), dt(2026, 12, 1) - TICK)


def test_date_range_open_at_the_start_reaches_back_to_the_beginning_of_time():
    assert parse_range("DA", "-20261130") == (MIN, dt(2026, 12, 1) - TICK)


def test_date_range_open_at_the_end_reaches_forward_to_the_end_of_time():
    assert parse_range("DA", "20261101-") == (dt(2026, 11, 1), MAX)


def test_single_date_is_a_range_of_one_day():
    assert parse_range("DA", "20261123") == parse_da("20261123")


@pytest.mark.parametrize("vr", ["DA", "TM", "DT"])
def test_a_lone_dash_is_not_a_range(vr):
    with pytest.raises(DateValueError):
        parse_range(vr, "-")


def test_time_range_within_a_day_is_accepted():
    # "1000" names the minute 10:00, so the range ends at its last microsecond
    assert parse_range("TM", "0800-1000") == (dt(2000, 1, 1, 8), dt(2000, 1, 1, 10, 1) - TICK)
    assert parse_range("TM", "08-10") == (dt(2000, 1, 1, 8), dt(2000, 1, 1, 11) - TICK)


def test_time_range_open_at_either_end():
    assert parse_range("TM", "-0800") == (MIN, dt(2000, 1, 1, 8, 1) - TICK)
    assert parse_range("TM", "2200-") == (dt(2000, 1, 1, 22), MAX)


def test_time_range_crossing_midnight_is_refused():
    with pytest.raises(DateValueError, match="midnight"):
        parse_range("TM", "2200-0200")


def test_date_time_range_with_offset_on_the_lower_end_and_open_upper_end():
    lo, hi = parse_range("DT", "20261123080000+0100-", local=UTC)
    assert (lo, hi) == (dt(2026, 11, 23, 7), MAX)


def test_date_time_range_open_lower_end_with_negative_offset_on_the_upper_end():
    lo, hi = parse_range("DT", "-20261123080000-0500", local=UTC)
    assert lo == MIN
    assert hi == dt(2026, 11, 23, 13, 0, 1) - TICK


def test_date_time_range_with_negative_offsets_on_both_ends():
    lo, hi = parse_range("DT", "20261123080000-0500-20261123100000-0500", local=UTC)
    assert lo == dt(2026, 11, 23, 13)
    assert hi == dt(2026, 11, 23, 15, 0, 1) - TICK


def test_single_date_time_with_negative_offset_is_one_value_not_a_range():
    assert parse_range("DT", "20261123080000-0500", local=UTC) == parse_dt("20261123080000-0500")


def test_date_time_range_mixing_partial_values_covers_whole_ends():
    assert parse_range("DT", "20261123-2026112412") == (dt(2026, 11, 23), dt(2026, 11, 24, 13) - TICK)


def test_date_time_range_of_whole_years_covers_both_years():
    assert parse_range("DT", "2026-2027", local=UTC) == (dt(2026, 1, 1), dt(2028, 1, 1) - TICK)


@pytest.mark.parametrize(
    "vr,text",
    [
        ("DT", "20261123+2500"),  # timezone() refuses |offset| >= 24 h -> ValueError
        ("DT", "00010101+0100"),  # astimezone before year 1 -> OverflowError
    ],
)
def test_values_at_the_edge_of_the_calendar_are_refused_as_bad_dates_not_crashes(vr, text):
    with pytest.raises(DateValueError):
        parse_range(vr, text)


@pytest.mark.parametrize("vr,text", [("DT", "9999"), ("DA", "99991231")])
def test_the_last_span_of_the_calendar_ends_at_the_end_of_time_instead_of_crashing(vr, text):
    lo, hi = parse_range(vr, text)
    assert lo.year == 9999 and hi == datetime.max


def test_date_range_up_to_the_last_day_of_the_calendar_is_accepted():
    lo, hi = parse_range("DA", "19000101-99991231")
    assert lo == dt(1900, 1, 1)
    assert hi >= dt(9999, 12, 31, 23, 59, 59)


# --- combined date-time (C.2.2.2.5.1) ---------------------------------------------------------


def test_combined_date_and_time_ranges_form_one_continuous_range():
    lo, hi = combine(parse_range("DA", "20260705-20260707"), parse_range("TM", "1000-1800"))
    assert lo == dt(2026, 7, 5, 10)
    assert hi == dt(2026, 7, 7, 18, 1) - TICK


def test_combined_range_with_late_start_time_and_early_end_time_spans_the_night():
    lo, hi = combine(parse_range("DA", "20260101-20260102"), parse_range("TM", "2200-2300"))
    assert lo == dt(2026, 1, 1, 22)
    assert hi == dt(2026, 1, 2, 23, 1) - TICK


def test_combined_range_with_open_date_end_stays_open():
    lo, hi = combine(parse_range("DA", "20260101-"), parse_range("TM", "1000-1800"))
    assert lo == dt(2026, 1, 1, 10) and hi == MAX
    lo, hi = combine(parse_range("DA", "-20260101"), parse_range("TM", "1000-1800"))
    assert lo == MIN and hi == dt(2026, 1, 1, 18, 1) - TICK


def test_combined_range_with_open_time_end_covers_the_whole_last_day():
    lo, hi = combine(parse_range("DA", "20260101"), parse_range("TM", "1000-"))
    assert lo == dt(2026, 1, 1, 10)
    assert hi == dt(2026, 1, 2) - TICK


# --- sortable text ---------------------------------------------------------------------------


def test_sortable_text_of_the_open_ends_sorts_below_and_above_everything():
    assert sortable(MIN) < sortable(dt(1900, 1, 1)) < sortable(dt(2026, 11, 23)) < sortable(MAX)


@settings(max_examples=200, deadline=None, database=None)
@given(st.datetimes(min_value=dt(1000, 1, 1)), st.datetimes(min_value=dt(1000, 1, 1)))
def test_sortable_text_sorts_like_the_moments_it_names(a, b):
    assert (sortable(a) < sortable(b)) == (a < b)
    assert len(sortable(a)) == len(sortable(MIN))


def test_sortable_text_of_years_before_1000_still_sorts_in_time_order():
    assert sortable(dt(999, 1, 1)) < sortable(dt(2026, 1, 1))


def test_overlapping_and_disjoint_intervals():
    day = parse_da("20261123")
    assert overlaps(day, parse_dt("2026112323"))
    assert overlaps(day, parse_range("DA", "20261123-"))
    assert not overlaps(day, parse_da("20261124"))


# --- the query bar's relative date choices --------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def day_span(first: date, last: date) -> tuple[datetime, datetime]:
    return datetime.combine(first, datetime.min.time()), datetime.combine(last, datetime.max.time())


NEW_YEARS_EVE, NEW_YEAR = date(2027, 12, 31), date(2028, 1, 1)


@pytest.mark.parametrize(
    "choice,before,after",
    [
        (TODAY, (NEW_YEARS_EVE, NEW_YEARS_EVE), (NEW_YEAR, NEW_YEAR)),
        (TOMORROW, (NEW_YEAR, NEW_YEAR), (NEW_YEAR + timedelta(1), NEW_YEAR + timedelta(1))),
        (TODAY_AND_TOMORROW, (NEW_YEARS_EVE, NEW_YEAR), (NEW_YEAR, NEW_YEAR + timedelta(1))),
        (YESTERDAY_TO_TOMORROW, (NEW_YEARS_EVE - timedelta(1), NEW_YEAR), (NEW_YEARS_EVE, NEW_YEAR + timedelta(1))),
    ],
)
def test_a_day_choice_moves_on_at_midnight_and_not_a_second_before(choice, before, after):
    last_second = datetime(2027, 12, 31, 23, 59, 59, 999999, tzinfo=BERLIN)
    midnight = datetime(2028, 1, 1, 0, 0, 0, tzinfo=BERLIN)
    assert relative_span(choice, last_second) == day_span(*before)
    assert relative_span(choice, midnight) == day_span(*after)
    assert span_changes_at(choice, last_second) == midnight.replace(tzinfo=None)


def test_the_night_window_crosses_midnight_and_keeps_the_evening_until_noon():
    assert relative_span(NEXT_12_HOURS, datetime(2027, 12, 31, 23, 59, 59, tzinfo=BERLIN)) == (
        dt(2027, 12, 31),
        dt(2028, 1, 1, 12) - TICK,
    )
    # past midnight the night shift still sees the orders of the evening it began with
    assert relative_span(NEXT_12_HOURS, datetime(2028, 1, 1, 0, 0, 0, tzinfo=BERLIN)) == (
        dt(2027, 12, 31),
        dt(2028, 1, 1, 13) - TICK,
    )
    assert relative_span(NEXT_12_HOURS, datetime(2028, 1, 1, 11, 59, 59, tzinfo=BERLIN))[0] == dt(2027, 12, 31)
    assert relative_span(NEXT_12_HOURS, datetime(2028, 1, 1, 12, 0, 0, tzinfo=BERLIN))[0] == dt(2028, 1, 1)
    # a day shift: today, and the evening ahead
    assert relative_span(NEXT_12_HOURS, datetime(2028, 1, 1, 14, 30, tzinfo=BERLIN)) == (
        dt(2028, 1, 1),
        dt(2028, 1, 2, 3) - TICK,
    )


def test_the_night_window_moves_on_every_full_hour():
    assert span_changes_at(NEXT_12_HOURS, datetime(2027, 12, 31, 23, 59, 40, tzinfo=BERLIN)) == dt(2028, 1, 1)
    assert span_changes_at(NEXT_12_HOURS, datetime(2028, 1, 1, 0, 0, 0)) == dt(2028, 1, 1, 1)


def test_on_the_spring_dst_day_twelve_hours_are_twelve_hours_of_real_time():
    # Europe/Berlin 2027-03-28: 02:00 CET becomes 03:00 CEST, the day has 23 hours
    before = datetime(2027, 3, 27, 23, 30, tzinfo=BERLIN)  # 12 real hours on: 12:30 CEST
    assert relative_span(NEXT_12_HOURS, before) == (dt(2027, 3, 27), dt(2027, 3, 28, 13) - TICK)
    just_before = datetime(2027, 3, 28, 1, 59, 59, tzinfo=BERLIN)  # on: 14:59:59 CEST
    assert relative_span(NEXT_12_HOURS, just_before) == (dt(2027, 3, 27), dt(2027, 3, 28, 15) - TICK)
    after = datetime(2027, 3, 28, 3, 0, 0, tzinfo=BERLIN)  # one second later in real time
    assert (after.astimezone(UTC) - just_before.astimezone(UTC)) == timedelta(seconds=1)
    assert relative_span(NEXT_12_HOURS, after) == (dt(2027, 3, 27), dt(2027, 3, 28, 16) - TICK)
    # "Today" is the calendar day, 23 hours long
    assert relative_span(TODAY, after) == day_span(date(2027, 3, 28), date(2027, 3, 28))
    assert relative_span(TODAY, datetime(2027, 3, 28, 23, 59, 59, tzinfo=BERLIN)) == day_span(
        date(2027, 3, 28), date(2027, 3, 28)
    )
    assert span_changes_at(TODAY, after) == dt(2027, 3, 29)


def test_a_naive_moment_is_the_computers_local_time():
    now = datetime(2027, 6, 1, 22, 0)
    first, last = relative_span(NEXT_12_HOURS, now)
    assert first == dt(2027, 6, 1)
    assert last == datetime.fromtimestamp(now.timestamp() + 12 * 3600).replace(minute=59, second=59, microsecond=999999)


def test_an_unknown_choice_is_refused():
    with pytest.raises(ValueError):
        relative_span("Next week", datetime(2027, 1, 1))
