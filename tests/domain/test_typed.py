"""What a technologist types: birth dates in the forms people use, names as "Family, Given",
DICOM dates shown as people read them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.typed import (
    TypedDateError,
    format_da,
    format_date,
    parse_typed_date,
    spoken_date,
    typed_person_name,
)

TODAY = date(2026, 5, 14)
LOCALE_FORMATS = [
    "dd/MM/yyyy",
    "M/d/yy",
    "dd.MM.yy",
    "d.M.yyyy",
    "yyyy-MM-dd",
    "yyyy/MM/dd",
    "d. M. yyyy",
    "dd-MM-yyyy",
    "yyyy. MM. dd.",
    "d/M/yy",
    "MM/dd/yyyy",
    "d MM yyyy",
    "yyyy/M/d",
    "yy. M. d.",
    "d\u200f/M\u200f/yyyy",
]


@pytest.mark.parametrize("text", ["19650412", "1965-04-12", "12.04.1965", " 1965-04-12 ", "12.4.1965"])
def test_the_forms_every_station_understands(text):
    assert parse_typed_date(text, TODAY) == date(1965, 4, 12)


@pytest.mark.parametrize(
    "fmt,text",
    [
        ("dd/MM/yyyy", "12/04/1965"),
        ("M/d/yy", "4/12/65"),
        ("M/d/yy", "4/12/1965"),
        ("d. M. yyyy", "12.4.1965"),
        ("d. M. yyyy", "12. 4. 1965"),
        ("yyyy. MM. dd.", "1965. 04. 12."),
        ("yy. M. d.", "65. 4. 12."),
        ("d\u200f/M\u200f/yyyy", "12/4/1965"),
        ("d MM yyyy", "12 04 1965"),
    ],
)
def test_the_locale_short_format_is_understood(fmt, text):
    assert parse_typed_date(text, TODAY, fmt) == date(1965, 4, 12)


def test_the_locale_order_decides_what_a_slashed_date_means():
    assert parse_typed_date("12/04/1965", TODAY, "dd/MM/yyyy") == date(1965, 4, 12)
    assert parse_typed_date("12/04/1965", TODAY, "MM/dd/yyyy") == date(1965, 12, 4)


def test_nothing_typed_means_the_birth_date_is_unknown():
    assert parse_typed_date("", TODAY) is None
    assert parse_typed_date("   ", TODAY, "dd/MM/yyyy") is None


def test_a_two_digit_year_is_the_most_recent_such_year_in_the_past():
    assert parse_typed_date("12.04.65", TODAY) == date(1965, 4, 12)
    assert parse_typed_date("14.05.26", TODAY) == date(2026, 5, 14)  # born today
    assert parse_typed_date("15.05.26", TODAY) == date(1926, 5, 15)  # tomorrow's date, a century ago
    assert parse_typed_date("4/12/20", TODAY, "M/d/yy") == date(2020, 4, 12)


@pytest.mark.parametrize("text", ["31.02.1965", "19650231", "1965-13-01", "29.02.1965"])
def test_a_day_the_calendar_does_not_have_is_refused_in_a_sentence(text):
    with pytest.raises(TypedDateError) as caught:
        parse_typed_date(text, TODAY)
    assert str(caught.value) == f"{text} is not a date."


def test_text_that_is_no_date_form_says_which_forms_to_type():
    with pytest.raises(TypedDateError) as caught:
        parse_typed_date("April 12", TODAY, "dd/MM/yyyy")
    assert str(caught.value) == "April 12 is not a date: type it as 19650412, 1965-04-12 or 12/04/1965."


def test_a_birth_date_in_the_future_is_refused():
    with pytest.raises(TypedDateError, match="A birth date cannot be in the future."):
        parse_typed_date((TODAY + timedelta(days=1)).isoformat(), TODAY)


def test_a_birth_date_before_1900_is_refused():
    with pytest.raises(TypedDateError, match="1865 is before 1900: check the year."):
        parse_typed_date("12.04.1865", TODAY)


def test_the_error_is_a_value_error():
    assert issubclass(TypedDateError, ValueError)


def test_a_format_with_month_names_is_ignored_and_the_fixed_forms_still_work():
    assert parse_typed_date("1965-04-12", TODAY, "d MMM yyyy") == date(1965, 4, 12)
    with pytest.raises(TypedDateError, match="or 12.04.1965"):
        parse_typed_date("12 Apr 1965", TODAY, "d MMM yyyy")


@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    fmt=st.sampled_from([f for f in LOCALE_FORMATS if "yyyy" in f]),
)
def test_a_date_written_in_a_locale_format_reads_back_as_itself(day, fmt):
    assert parse_typed_date(format_date(day, fmt), TODAY, fmt) == day


@given(
    day=st.dates(min_value=date(TODAY.year - 100, TODAY.month, TODAY.day + 1), max_value=TODAY),
    fmt=st.sampled_from([f for f in LOCALE_FORMATS if "yyyy" not in f]),
)
def test_a_date_of_the_last_hundred_years_reads_back_from_two_year_digits(day, fmt):
    assert parse_typed_date(format_date(day, fmt), TODAY, fmt) == day


@given(day=st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
def test_a_date_written_in_a_fixed_form_reads_back_as_itself(day):
    for text in (
        f"{day.year:04d}{day.month:02d}{day.day:02d}",
        day.isoformat(),
        f"{day.day:02d}.{day.month:02d}.{day.year:04d}",
    ):
        assert parse_typed_date(text, TODAY) == day
    assert format_da(f"{day.year:04d}{day.month:02d}{day.day:02d}") == day.isoformat()


def test_a_date_is_said_with_its_month_name():
    assert spoken_date(date(1965, 4, 12)) == "12 April 1965"


@pytest.mark.parametrize(
    "typed,pn",
    [
        ("Becker, Anna", "Becker^Anna"),
        ("Becker^Anna", "Becker^Anna"),
        ("  Becker ,  Anna ", "Becker^Anna"),
        ("Anna", "Anna"),
        (" Anna ", "Anna"),
        ("Becker ^ Anna", "Becker^Anna"),
        ("Becker,", "Becker"),
        ("", ""),
        ("van der Berg, Jan Willem", "van der Berg^Jan Willem"),
    ],
)
def test_a_person_name_is_typed_as_family_comma_given(typed, pn):
    assert typed_person_name(typed) == pn


@pytest.mark.parametrize(
    "da,shown",
    [("19650412", "1965-04-12"), ("", ""), ("1965", "1965"), ("19651399", "19651399"), ("1965-04-12", "1965-04-12")],
)
def test_a_dicom_date_is_shown_as_people_read_it(da, shown):
    assert format_da(da) == shown
