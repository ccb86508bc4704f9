"""What stops a completion: impossible times, and a technologist's name that is not a name
(or not on the site's staff list)."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.domain.completion import completion_problems, technologist_problem, time_problems
from app.domain.procedure import PerformedProcedure
from app.domain.workitem import Code

NOW = datetime(2026, 5, 14, 10, 30)


def dt(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%Y%m%d%H%M%S")


def test_times_that_can_be_pass():
    assert time_problems(dt("2026-05-14 10:05"), dt("2026-05-14 10:29"), NOW) == []
    assert time_problems(dt("2026-05-13 23:50"), dt("2026-05-14 00:20"), NOW) == []  # across midnight


@pytest.mark.parametrize(
    "start,end,field,words",
    [
        ("2026-05-14 10:20", "2026-05-14 10:05", "started", "ends before it starts"),
        ("2030-05-14 10:20", "2026-05-14 10:29", "started", "starts in the future (2030-05-14 10:20)"),
        ("2026-05-14 10:05", "2026-05-14 11:30", "ended", "ends in the future"),
        ("2022-05-14 10:05", "2026-05-14 10:29", "started", "would have lasted 1461 days"),
    ],
)
def test_impossible_times_are_said_with_the_field_to_fix(start, end, field, words):
    problems = time_problems(dt(start), dt(end), NOW)
    assert problems and problems[0].field == field and words in " ".join(p.sentence for p in problems)


def test_a_start_that_cannot_be_read_is_a_problem():
    assert time_problems("", dt("2026-05-14 10:29"), NOW)[0].field == "started"


@pytest.mark.parametrize(
    "pn",
    [
        "Becker^Anna",
        "O'Brien^Mary Ann",
        "Müller-Lüdenscheidt^Jörg",
        "Núñez^Lucía",
        "St. John^Mary",
        "Smith^J.",
        "Smith Jr.^John",
        "",
    ],
)
def test_names_that_read_as_family_given_pass(pn):
    assert technologist_problem(pn) is None


@pytest.mark.parametrize("pn", ["4", "Becker", "Becker Anna", "Becker^4nna", "^Anna", "R2^D2", "Becker^.", "..^Anna"])
def test_a_name_without_both_parts_or_with_other_characters_says_what_is_expected(pn):
    problem = technologist_problem(pn)
    assert problem is not None and problem.field == "technologist"
    assert "Family, Given" in problem.sentence and "Becker, Anna" in problem.sentence


def test_with_a_staff_list_only_its_names_pass_whatever_the_spelling_of_case_and_separator():
    staff = ["Becker, Anna", "Tanaka^Yui"]
    assert technologist_problem("becker^anna", staff) is None
    assert technologist_problem("Tanaka^Yui", staff) is None
    problem = technologist_problem("Quispe^Rosa", staff)
    assert problem is not None and "staff list" in problem.sentence and "Becker, Anna; Tanaka, Yui" in problem.sentence


def test_completion_problems_list_the_name_then_the_times():
    performed = PerformedProcedure(
        Code("CT1", "99WLSTATION", "CT1"), start=dt("2030-05-14 10:20"), end=dt("2026-05-14 10:29"), technologist="4"
    )
    assert [p.field for p in completion_problems(performed, NOW)] == ["technologist", "started", "started"]
