"""Matching keys with the semantics of PS3.4 C.2.2.2, applied to DICOM JSON datasets."""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import tags as t
from app.domain.query import (
    CombinedMatch,
    KeyMatch,
    MatchKind,
    Query,
    SequenceMatch,
    build_query,
    key_match,
    wildcard_match,
)
from app.domain.status import InvalidRequest, Status

STUDY_DATE, STUDY_TIME = "00080020", "00080030"
PATIENT_WEIGHT = "00101030"  # DS
NUMBER_OF_SERIES = "00201206"  # IS
CET = timezone(timedelta(hours=1))


def el(vr: str, *values) -> dict:
    return {"vr": vr, "Value": list(values)} if values else {"vr": vr}


def pn(alphabetic: str = "", ideographic: str = "", phonetic: str = "") -> dict:
    groups = {"Alphabetic": alphabetic, "Ideographic": ideographic, "Phonetic": phonetic}
    return {k: v for k, v in groups.items() if v}


def matches(tag: str, raw: str, element: dict | None, **kw) -> bool:
    dataset = {} if element is None else {tag: element}
    return key_match(tag, raw, **kw).matches(dataset, **kw)


def code(value: str, scheme: str, meaning: str = "") -> dict:
    return {
        t.CODE_VALUE: el("SH", value),
        t.CODING_SCHEME: el("SH", scheme),
        t.CODE_MEANING: el("LO", meaning or value),
    }


def query(*pairs: tuple[str, str], local=UTC) -> Query:
    return build_query([(tuple(path.split(".")), raw) for path, raw in pairs], local)


# --- which kind of matching a key asks for ------------------------------------------------------


@pytest.mark.parametrize(
    "tag,raw,kind",
    [
        (t.PATIENT_ID, "", MatchKind.UNIVERSAL),
        (t.PATIENT_ID, "*", MatchKind.UNIVERSAL),
        (t.PATIENT_NAME, "*", MatchKind.UNIVERSAL),
        (t.PATIENT_ID, "P1", MatchKind.SINGLE),
        (t.PATIENT_ID, "P*", MatchKind.WILDCARD),
        (t.PATIENT_ID, "P?", MatchKind.WILDCARD),
        (t.STUDY_INSTANCE_UID, "1.2.3", MatchKind.SINGLE),
        (t.STUDY_INSTANCE_UID, "1.2.3,1.2.4", MatchKind.UID_LIST),
        (t.STUDY_INSTANCE_UID, "1.2.3\\1.2.4", MatchKind.UID_LIST),
        (t.BIRTH_DATE, "19800101", MatchKind.RANGE),
        (t.SPS_START_DATETIME, "20261123-", MatchKind.RANGE),
        (STUDY_TIME, "0800-1000", MatchKind.RANGE),
    ],
)
def test_key_value_decides_the_matching_type(tag, raw, kind):
    assert key_match(tag, raw).kind is kind


def test_star_on_a_uid_is_not_a_wildcard():
    # UI is not among the wildcard VRs: "*" is an ordinary (non-matching) value there
    key = key_match(t.STUDY_INSTANCE_UID, "*")
    assert key.kind is MatchKind.SINGLE
    assert not key.matches({t.STUDY_INSTANCE_UID: el("UI", "1.2.3")})


# --- single value -------------------------------------------------------------------------------------


def test_single_value_matches_the_same_value():
    assert matches(t.PROCEDURE_STEP_LABEL, "CT chest", el("LO", "CT chest"))


def test_single_value_is_case_sensitive_for_text():
    assert not matches(t.PROCEDURE_STEP_LABEL, "ct chest", el("LO", "CT chest"))


def test_single_value_is_not_a_prefix_or_substring_match():
    assert not matches(t.PATIENT_ID, "P1", el("LO", "P12"))
    assert not matches(t.PATIENT_ID, "12", el("LO", "P12"))


def test_trailing_spaces_are_padding_on_both_sides():
    assert matches(t.PATIENT_ID, "P1 ", el("LO", "P1"))
    assert matches(t.PATIENT_ID, "P1", el("LO", "P1  "))


def test_leading_spaces_are_significant_in_stored_values():
    assert not matches(t.PATIENT_ID, "P1", el("LO", " P1"))


def test_key_matches_any_value_of_a_multi_valued_attribute():
    assert matches(t.PATIENT_ID, "P2", el("LO", "P1", "P2"))


def test_number_keys_compare_by_value_not_by_text():
    assert matches(PATIENT_WEIGHT, "70", el("DS", "70.0"))
    assert matches(PATIENT_WEIGHT, "70.0", el("DS", 70))
    assert not matches(PATIENT_WEIGHT, "70.5", el("DS", 70))
    assert matches(NUMBER_OF_SERIES, "3", el("IS", 3))


def test_number_key_that_is_not_a_number_is_refused():
    with pytest.raises(InvalidRequest):
        key_match(PATIENT_WEIGHT, "heavy")


def test_stored_number_that_is_not_a_number_matches_nothing():
    assert not matches(PATIENT_WEIGHT, "70", el("DS", "heavy"))


# --- person names ----------------------------------------------------------------------------------


def test_person_name_matches_regardless_of_case():
    assert matches(t.PATIENT_NAME, "doe^jane", el("PN", pn("Doe^Jane")))
    assert matches(t.PATIENT_NAME, "DOE^JANE", el("PN", pn("Doe^Jane")))


def test_person_name_wildcard_matches_regardless_of_case_also_for_umlauts():
    stored = el("PN", pn("Müller^Jürgen"))
    assert matches(t.PATIENT_NAME, "müller*", stored)
    assert matches(t.PATIENT_NAME, "MÜLLER^J*", stored)
    assert matches(t.PATIENT_NAME, "m?ller^jürgen", stored)
    assert not matches(t.PATIENT_NAME, "muller*", stored)


def test_person_name_ignores_empty_trailing_components():
    assert matches(t.PATIENT_NAME, "Doe^Jane", el("PN", pn("Doe^Jane^^^")))
    assert matches(t.PATIENT_NAME, "Doe^Jane^^", el("PN", pn("Doe^Jane")))


def test_person_name_is_not_matched_on_the_family_name_alone():
    assert not matches(t.PATIENT_NAME, "Doe", el("PN", pn("Doe^Jane")))


def test_person_name_matches_the_ideographic_or_phonetic_group():
    stored = el("PN", pn("Yamada^Tarou", "山田^太郎", "やまだ^たろう"))
    assert matches(t.PATIENT_NAME, "山田*", stored)
    assert matches(t.PATIENT_NAME, "山田^太郎", stored)
    assert matches(t.PATIENT_NAME, "やまだ*", stored)
    assert not matches(t.PATIENT_NAME, "田中*", stored)


def test_person_name_stored_as_bare_string_is_matched_as_alphabetic():
    assert matches(t.PATIENT_NAME, "DOE^*", el("PN", "Doe^Jane"))


# --- UID list -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1.2.3,1.2.4", "1.2.4\\1.2.3", "1.2.9, 1.2.4"])
def test_uid_list_matches_any_listed_uid(raw):
    assert matches(t.STUDY_INSTANCE_UID, raw, el("UI", "1.2.4"))


def test_uid_list_does_not_match_an_unlisted_uid():
    assert not matches(t.STUDY_INSTANCE_UID, "1.2.3,1.2.4", el("UI", "1.2.34"))


def test_single_uid_matches_only_itself():
    assert matches(t.STUDY_INSTANCE_UID, "1.2.3", el("UI", "1.2.3"))
    assert not matches(t.STUDY_INSTANCE_UID, "1.2.3", el("UI", "1.2.3.4"))


# --- universal ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("element", [None, el("LO"), el("LO", ""), el("LO", "P1")])
@pytest.mark.parametrize("raw", ["", "*"])
def test_universal_key_matches_whatever_is_stored_even_nothing(raw, element):
    assert matches(t.PATIENT_ID, raw, element)


def test_universal_keys_do_not_count_as_matching_keys():
    q = query((t.PATIENT_ID, ""), (t.PATIENT_NAME, "*"), (t.PROCEDURE_STEP_LABEL, "CT*"))
    assert [k.tag for k in q.matching_keys] == [t.PROCEDURE_STEP_LABEL]
    assert q.tags() == {t.PATIENT_ID, t.PATIENT_NAME, t.PROCEDURE_STEP_LABEL}


def test_query_without_keys_matches_everything():
    assert Query().matches({}) and Query().matches({t.PATIENT_ID: el("LO", "P1")})


# --- wildcard --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,stored,expected",
    [
        ("CT*", "CT chest", True),
        ("CT*", "CT", True),  # * may stand for nothing
        ("*chest", "CT chest", True),
        ("*CT*", "MR", False),
        ("C?", "CT", True),
        ("C?", "C", False),  # ? is exactly one character
        ("C?", "CTA", False),
        ("C??T", "CHST", True),
        ("ct*", "CT chest", False),  # case-sensitive outside PN
        ("CT.*", "CTX", False),  # regex characters are literal
        ("CT.*", "CT.abdomen", True),
        ("A[1]*", "A[1]x", True),
        ("A+*", "AAA", False),
    ],
)
def test_wildcards_star_and_question_mark(raw, stored, expected):
    assert matches(t.PROCEDURE_STEP_LABEL, raw, el("LO", stored)) is expected


def test_wildcard_matches_across_a_line_break_in_text():
    assert matches(t.COMMENTS_ON_SPS, "first*second", el("LT", "first line\nsecond"))


def test_wildcard_on_code_string_attribute():
    assert matches(t.PROCEDURE_STEP_STATE, "IN*", el("CS", "IN PROGRESS"))


# --- stored empty value ------------------------------------------------------------------------------------


@pytest.mark.parametrize("element", [None, el("LO"), el("LO", ""), el("LO", None)])
@pytest.mark.parametrize("raw", ["P1", "P*", "?*", "*1"])
def test_stored_empty_value_never_matches_a_non_universal_text_key(raw, element):
    assert not matches(t.PATIENT_ID, raw, element)


@pytest.mark.parametrize("element", [None, el("PN"), el("PN", pn()), el("PN", "")])
def test_stored_empty_name_never_matches_a_name_key(element):
    assert not matches(t.PATIENT_NAME, "?*", element)


@pytest.mark.parametrize(
    "tag,vr,raw",
    [
        (t.BIRTH_DATE, "DA", "-20261231"),
        (t.SPS_START_DATETIME, "DT", "19000101-"),
        (t.STUDY_INSTANCE_UID, "UI", "1.2.3,1.2.4"),
        (PATIENT_WEIGHT, "DS", "0"),
    ],
)
@pytest.mark.parametrize("empty", [None, "", "absent"])
def test_stored_empty_value_never_matches_ranges_uid_lists_or_numbers(tag, vr, raw, empty):
    element = None if empty == "absent" else el(vr) if empty is None else el(vr, "")
    assert not matches(tag, raw, element)


# --- ranges --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,stored,expected",
    [
        ("19800101-19801231", "19800101", True),
        ("19800101-19801231", "19801231", True),  # both ends inclusive
        ("19800101-19801231", "19810101", False),
        ("19800101-19801231", "19791231", False),
        ("-19801231", "19000101", True),
        ("-19801231", "19810101", False),
        ("19800101-", "20991231", True),
        ("19800101-", "19791231", False),
        ("19800615", "19800615", True),
        ("19800615", "1980.06.15", True),  # the legacy form means the same day
    ],
)
def test_date_range_with_inclusive_and_open_ends(raw, stored, expected):
    assert matches(t.BIRTH_DATE, raw, el("DA", stored)) is expected


def test_stored_date_that_cannot_be_read_matches_no_range():
    assert not matches(t.BIRTH_DATE, "19000101-", el("DA", "unknown"))


@pytest.mark.parametrize(
    "raw,stored,expected",
    [
        ("0800-1000", "0800", True),
        ("0800-1000", "100059", True),  # "1000" names the whole minute
        ("0800-1000", "1001", False),
        ("-0800", "000000", True),
        ("2200-", "235959.999999", True),
        ("2200-", "2159", False),
    ],
)
def test_time_range_with_inclusive_and_open_ends(raw, stored, expected):
    assert matches(STUDY_TIME, raw, el("TM", stored)) is expected


def test_time_range_crossing_midnight_is_refused():
    with pytest.raises(InvalidRequest, match="midnight"):
        key_match(STUDY_TIME, "2200-0200")


@pytest.mark.parametrize(
    "tag,raw",
    [
        (t.BIRTH_DATE, "1980-01-01"),
        (t.BIRTH_DATE, "yesterday"),
        (t.SPS_START_DATETIME, "2026112325"),
        (STUDY_TIME, "25"),
    ],
)
def test_malformed_date_or_time_key_is_refused_as_invalid_request(tag, raw):
    with pytest.raises(InvalidRequest) as info:
        key_match(tag, raw)
    assert info.value.status is Status.INVALID_ATTRIBUTE_VALUE


@pytest.mark.parametrize(
    "raw,stored,expected",
    [
        ("20261123080000-20261123100000", "20261123080000", True),
        ("20261123080000-20261123100000", "20261123100000", True),
        ("20261123080000-20261123100000", "20261123100001", False),
        ("20261123-", "2026112308", True),
        ("-20261122", "2026112308", False),
        ("2026112308", "20261123085959", True),  # a single partial value is the span it names
        ("2026112308", "20261123090000", False),
    ],
)
def test_date_time_range_with_inclusive_and_open_ends(raw, stored, expected):
    assert matches(t.SPS_START_DATETIME, raw, el("DT", stored)) is expected


def test_date_time_range_with_utc_offset_and_open_end_compares_moments():
    key = key_match(t.SPS_START_DATETIME, "20261123080000+0100-", local=UTC)
    # 07:00 UTC is 08:00 +01:00, the lower end itself
    assert key.matches({t.SPS_START_DATETIME: el("DT", "20261123070000")})
    assert key.matches({t.SPS_START_DATETIME: el("DT", "20261123020000-0500")})  # 07:00 UTC
    assert not key.matches({t.SPS_START_DATETIME: el("DT", "20261123065959")})
    assert not key.matches({t.SPS_START_DATETIME: el("DT", "20261123075959+0100")})


def test_date_time_range_open_start_with_negative_offset():
    key = key_match(t.SPS_START_DATETIME, "-20261123080000-0500", local=UTC)
    assert key.matches({t.SPS_START_DATETIME: el("DT", "20261123130000")})
    assert not key.matches({t.SPS_START_DATETIME: el("DT", "20261123130001")})


def test_stored_date_time_without_offset_is_read_in_the_servers_zone():
    key = key_match(t.SPS_START_DATETIME, "20261123080000+0000-20261123083000+0000", local=CET)
    stored = {t.SPS_START_DATETIME: el("DT", "20261123091500")}  # 09:15 in CET = 08:15 UTC
    assert key.matches(stored, local=CET)
    assert not key_match(t.SPS_START_DATETIME, "20261123080000+0000-20261123083000+0000", local=UTC).matches(
        stored, local=UTC
    )


# --- combined date and time (C.2.2.2.5.1) ----------------------------------------------------------------------


def study(date: str | None, time: str | None = None) -> dict:
    ds = {}
    if date is not None:
        ds[STUDY_DATE] = el("DA", date)
    if time is not None:
        ds[STUDY_TIME] = el("TM", time)
    return ds


def test_date_and_time_keys_together_become_one_date_time_range():
    q = query((STUDY_DATE, "20260101-20260102"), (STUDY_TIME, "2200-2300"))
    combined = [k for k in q.matching_keys if isinstance(k, CombinedMatch)]
    assert len(combined) == 1 and len(q.matching_keys) == 1


@pytest.mark.parametrize(
    "date,time,expected",
    [
        ("20260101", "2200", True),
        ("20260101", "2159", False),  # before the start moment
        ("20260102", "0100", True),  # outside 22-23h, but inside the combined range
        ("20260102", "1200", True),
        ("20260102", "230059", True),
        ("20260102", "2301", False),
        ("20260103", "2200", False),
    ],
)
def test_combined_range_runs_from_first_date_and_time_to_last_date_and_time(date, time, expected):
    q = query((STUDY_DATE, "20260101-20260102"), (STUDY_TIME, "2200-2300"))
    assert q.matches(study(date, time)) is expected


def test_separate_keys_would_have_excluded_times_outside_the_daily_window():
    # the same values as separate keys (only the time given) match per attribute
    assert not query((STUDY_TIME, "2200-2300")).matches(study("20260102", "0100"))


def test_combined_range_with_open_date_end():
    q = query((STUDY_DATE, "20260101-"), (STUDY_TIME, "1000-1800"))
    assert q.matches(study("20300101", "0300"))
    assert not q.matches(study("20260101", "0900"))


def test_combined_range_compares_a_stored_date_without_time_by_date_only():
    q = query((STUDY_DATE, "20260101-20260102"), (STUDY_TIME, "2200-2300"))
    assert q.matches(study("20260102"))
    assert not q.matches(study("20260103"))


def test_combined_range_never_matches_an_item_without_a_date():
    q = query((STUDY_DATE, "20260101-20260102"), (STUDY_TIME, "2200-2300"))
    assert not q.matches(study(None, "2200"))
    assert not q.matches(study("", "2200"))


def test_combined_range_with_crossing_time_range_is_refused_as_the_time_key_is_checked_alone():
    with pytest.raises(InvalidRequest, match="midnight"):
        query((STUDY_DATE, "20260101-20260102"), (STUDY_TIME, "2200-0200"))


def test_date_key_alone_matches_by_date_only():
    q = query((STUDY_DATE, "20260101"))
    assert not any(isinstance(k, CombinedMatch) for k in q.keys)
    assert q.matches(study("20260101", "2359"))


def test_universal_time_key_does_not_turn_a_date_key_into_a_combined_one():
    q = query((STUDY_DATE, "20260101"), (STUDY_TIME, ""))
    assert not any(isinstance(k, CombinedMatch) for k in q.keys)
    assert q.matches(study("20260101"))


# --- sequence matching ---------------------------------------------------------------------------------------


def stations(*items: tuple[str, str]) -> dict:
    return {t.STATION_NAME_CODE_SEQ: {"vr": "SQ", "Value": [code(v, s) for v, s in items]}}


SEQ = t.STATION_NAME_CODE_SEQ
CODE_VALUE = f"{SEQ}.{t.CODE_VALUE}"
SCHEME = f"{SEQ}.{t.CODING_SCHEME}"
MEANING = f"{SEQ}.{t.CODE_MEANING}"
TWO_STATIONS = stations(("CT1", "99A"), ("CT2", "99B"))


def test_sequence_key_matches_the_first_item():
    assert query((CODE_VALUE, "CT1")).matches(TWO_STATIONS)


def test_sequence_key_matches_any_item_not_only_the_first():
    assert query((CODE_VALUE, "CT2")).matches(TWO_STATIONS)


def test_sequence_keys_must_all_match_within_one_and_the_same_item():
    assert not query((CODE_VALUE, "CT1"), (SCHEME, "99B")).matches(TWO_STATIONS)
    assert not query((CODE_VALUE, "CT2"), (SCHEME, "99A")).matches(TWO_STATIONS)


def test_sequence_keys_that_all_match_the_second_item_match():
    assert query((CODE_VALUE, "CT2"), (SCHEME, "99B")).matches(TWO_STATIONS)


def test_sequence_keys_are_grouped_in_one_item_whatever_their_order():
    q = query((CODE_VALUE, "CT2"), (t.PATIENT_ID, "P1"), (SCHEME, "99B"))
    sequences = [k for k in q.keys if isinstance(k, SequenceMatch)]
    assert len(sequences) == 1 and len(sequences[0].keys) == 2


def test_sequence_wildcard_matches_within_an_item():
    assert query((CODE_VALUE, "CT*"), (SCHEME, "99B")).matches(TWO_STATIONS)
    assert not query((CODE_VALUE, "MR*")).matches(TWO_STATIONS)


def test_sequence_key_does_not_match_when_the_sequence_is_absent_or_empty():
    assert not query((CODE_VALUE, "CT1")).matches({})
    assert not query((CODE_VALUE, "CT1")).matches({SEQ: {"vr": "SQ"}})


def test_universal_sequence_key_matches_when_the_sequence_is_absent():
    assert query((SEQ, "")).matches({})
    assert query((CODE_VALUE, "")).matches({})
    assert query((SEQ, "")).matching_keys == ()


def test_code_meaning_is_never_matched():
    assert query((MEANING, "something else"), (CODE_VALUE, "CT1")).matches(TWO_STATIONS)


def test_sequence_item_without_the_attribute_does_not_match():
    ds = {SEQ: {"vr": "SQ", "Value": [{t.CODING_SCHEME: el("SH", "99A")}]}}
    assert not query((CODE_VALUE, "CT1")).matches(ds)


def test_nested_sequence_keys_must_match_inside_one_nested_item():
    performer = t.HUMAN_PERFORMERS_SEQ
    nested = f"{performer}.{t.HUMAN_PERFORMER_CODE_SEQ}"
    ds = {
        performer: {
            "vr": "SQ",
            "Value": [
                {t.HUMAN_PERFORMER_CODE_SEQ: {"vr": "SQ", "Value": [code("D1", "99P"), code("D2", "99Q")]}},
            ],
        }
    }
    assert query((f"{nested}.{t.CODE_VALUE}", "D2"), (f"{nested}.{t.CODING_SCHEME}", "99Q")).matches(ds)
    assert not query((f"{nested}.{t.CODE_VALUE}", "D1"), (f"{nested}.{t.CODING_SCHEME}", "99Q")).matches(ds)


def test_sequence_person_name_matches_any_group_case_insensitively():
    performer = t.HUMAN_PERFORMERS_SEQ
    ds = {performer: {"vr": "SQ", "Value": [{t.HUMAN_PERFORMER_NAME: el("PN", pn("Sato^Ichiro", "佐藤^一郎"))}]}}
    assert query((f"{performer}.{t.HUMAN_PERFORMER_NAME}", "sato*")).matches(ds)
    assert query((f"{performer}.{t.HUMAN_PERFORMER_NAME}", "佐藤*")).matches(ds)


# --- malformed queries -----------------------------------------------------------------------------------------


def test_same_attribute_twice_is_refused():
    with pytest.raises(InvalidRequest, match="more than once"):
        query((t.PATIENT_ID, "P1"), (t.PATIENT_ID, "P2"))


def test_same_attribute_twice_inside_a_sequence_is_refused():
    with pytest.raises(InvalidRequest, match="more than once"):
        query((CODE_VALUE, "CT1"), (CODE_VALUE, "CT2"))


def test_nested_attribute_under_a_non_sequence_is_refused():
    with pytest.raises(InvalidRequest, match="not a sequence"):
        query((f"{t.PATIENT_ID}.{t.CODE_VALUE}", "CT1"))


def test_value_for_a_whole_sequence_is_refused():
    with pytest.raises(InvalidRequest, match="sequence"):
        query((SEQ, "CT1"))
    with pytest.raises(InvalidRequest, match="sequence"):
        key_match(SEQ, "CT1")


def test_unknown_attribute_is_refused_as_identifier_does_not_match():
    with pytest.raises(InvalidRequest) as info:
        key_match("00091001", "x")
    assert info.value.status is Status.IDENTIFIER_DOES_NOT_MATCH


def test_person_name_key_ignores_padding_case_and_empty_trailing_components():
    key = key_match(t.PATIENT_NAME, " doe^jane^^ ")
    assert isinstance(key, KeyMatch) and key.value == "DOE^JANE"


def _by_regex(pattern: str, text: str) -> bool:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(body, text, re.DOTALL) is not None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab*?", max_size=8), st.text(alphabet="ab", max_size=10))
def test_wildcard_matching_agrees_with_the_regular_expression_it_replaced(pattern, text):
    assert wildcard_match(pattern, text) == _by_regex(pattern, text)


def test_a_pattern_of_many_stars_matches_like_one_star_and_a_too_long_value_is_refused():
    key = key_match(t.PATIENT_NAME, "*" * 3000 + "Z")
    assert key.raw == "*Z" and key.matches({t.PATIENT_NAME: {"vr": "PN", "Value": [{"Alphabetic": "ABZ"}]}})
    # alternating stars and letters: linear work, however the text fails to match
    assert not wildcard_match("*A" * 500 + "*Z", "A" * 64)
    with pytest.raises(InvalidRequest):
        key_match(t.PATIENT_ID, "A?" * 600)


def test_a_query_without_the_keys_another_party_matched_keeps_the_rest():
    query = build_query(
        [
            ((t.STATION_NAME_CODE_SEQ, t.CODE_VALUE), "CT1"),
            ((t.STATION_NAME_CODE_SEQ, t.CODING_SCHEME), "99WLSTATION"),
            ((t.STATION_CLASS_CODE_SEQ, t.CODE_VALUE), "CT"),
            ((t.PATIENT_ID,), "P1"),
            ((t.PROCEDURE_STEP_STATE,), "SCHEDULED"),
        ]
    )
    rest = query.without(
        [(t.STATION_NAME_CODE_SEQ, t.CODE_VALUE), (t.STATION_CLASS_CODE_SEQ, t.CODE_VALUE), (t.PATIENT_ID,)]
    )
    assert rest.key_at((t.STATION_NAME_CODE_SEQ, t.CODE_VALUE)) is None
    assert rest.key_at((t.STATION_NAME_CODE_SEQ, t.CODING_SCHEME)) is not None  # not matched elsewhere
    assert rest.key_at((t.STATION_CLASS_CODE_SEQ, t.CODE_VALUE)) is None and rest.key_at((t.PATIENT_ID,)) is None
    assert {k.tag for k in rest.keys} == {t.STATION_NAME_CODE_SEQ, t.PROCEDURE_STEP_STATE}  # an emptied sequence goes
