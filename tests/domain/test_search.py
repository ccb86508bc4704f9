"""Search Transaction query parameters (PS3.18 8.3.4, 11.9) turned into a SearchRequest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import tags as t
from app.domain.search import FUZZY_WARNING, SearchRequest, SubscriptionFilter, parse_filter, parse_search
from app.domain.status import InvalidRequest, Status, UPSError

CET = timezone(timedelta(hours=1))


def el(vr: str, *values) -> dict:
    return {"vr": vr, "Value": list(values)} if values else {"vr": vr}


def code(value: str, scheme: str = "99WLSTATION") -> dict:
    return {t.CODE_VALUE: el("SH", value), t.CODING_SCHEME: el("SH", scheme), t.CODE_MEANING: el("LO", value)}


WORKITEM = {
    t.PATIENT_NAME: el("PN", {"Alphabetic": "Müller^Jürgen"}),
    t.PATIENT_ID: el("LO", "P1"),
    t.PROCEDURE_STEP_STATE: el("CS", "SCHEDULED"),
    t.SPS_START_DATETIME: el("DT", "20261123080000"),
    t.STATION_NAME_CODE_SEQ: {"vr": "SQ", "Value": [code("CT1"), code("CT2")]},
    t.REFERENCED_REQUEST_SEQ: {"vr": "SQ", "Value": [{t.ACCESSION_NUMBER: el("SH", "A1")}]},
}


def refused(params, status: Status | None = None) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        parse_search(params)
    if status is not None:
        assert info.value.status is status
    return info.value


# --- matching parameters -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["PatientID", "00100020", "00100020".lower()])
def test_attribute_may_be_named_by_keyword_or_by_tag(name):
    request = parse_search([(name, "P1")])
    assert request.query.matches(WORKITEM)
    assert not parse_search([(name, "P2")]).query.matches(WORKITEM)


@pytest.mark.parametrize(
    "name",
    ["ScheduledStationNameCodeSequence.CodeValue", "00404025.00080100", "ScheduledStationNameCodeSequence.00080100"],
)
def test_attribute_inside_a_sequence_may_be_named_by_a_dotted_path(name):
    assert parse_search([(name, "CT2")]).query.matches(WORKITEM)
    assert not parse_search([(name, "MR1")]).query.matches(WORKITEM)


def test_all_matching_parameters_must_match():
    assert parse_search([("PatientID", "P1"), ("ProcedureStepState", "SCHEDULED")]).query.matches(WORKITEM)
    assert not parse_search([("PatientID", "P1"), ("ProcedureStepState", "COMPLETED")]).query.matches(WORKITEM)


def test_patient_name_wildcard_search_ignores_case():
    assert parse_search([("PatientName", "müller*")]).query.matches(WORKITEM)


def test_accession_number_is_found_inside_the_referenced_request():
    assert parse_search([("ReferencedRequestSequence.AccessionNumber", "A1")]).query.matches(WORKITEM)
    assert not parse_search([("ReferencedRequestSequence.AccessionNumber", "A2")]).query.matches(WORKITEM)


def test_search_without_parameters_matches_everything():
    request = parse_search([])
    assert request == SearchRequest(request.query)
    assert request.query.matches(WORKITEM) and request.query.matches({})


def test_date_time_range_is_read_in_the_servers_time_zone():
    # 08:00 stored without offset; the server's zone is CET, so it is 07:00 UTC
    utc_window = [("ScheduledProcedureStepStartDateTime", "20261123070000+0000-20261123073000+0000")]
    assert parse_search(utc_window, CET).query.matches(WORKITEM, CET)
    assert not parse_search(utc_window, UTC).query.matches(WORKITEM, UTC)


@pytest.mark.parametrize(
    "name",
    [
        "PatientNme",
        "NoSuchKeyword",
        "0010001",
        "0010001X",
        "",
        "PatientID.CodeValue.",
        "ScheduledStationNameCodeSequence.Nonsense",
    ],
)
def test_unknown_keyword_is_refused_as_invalid_request(name):
    error = refused([(name, "x")])
    assert isinstance(error, UPSError)
    assert error.status in (Status.IDENTIFIER_DOES_NOT_MATCH, Status.INVALID_ATTRIBUTE_VALUE)


def test_unknown_keyword_says_which_name_was_not_understood():
    assert "PatientNme" in refused([("PatientNme", "x")], Status.IDENTIFIER_DOES_NOT_MATCH).message


def test_private_tag_is_refused_as_unknown():
    refused([("00091001", "x")], Status.IDENTIFIER_DOES_NOT_MATCH)


@pytest.mark.parametrize("name", ["TransactionUID", "00081195"])
def test_transaction_uid_cannot_be_searched_for(name):
    assert "Transaction UID" in refused([(name, "1.2.3")], Status.IDENTIFIER_DOES_NOT_MATCH).message


def test_performed_procedure_data_cannot_be_searched_for():
    refused(
        [("UnifiedProcedureStepPerformedProcedureSequence.PerformedProcedureStepStartDateTime", "2026")],
        Status.IDENTIFIER_DOES_NOT_MATCH,
    )


@pytest.mark.parametrize("name,value", [("SpecificCharacterSet", "ISO_IR 100"), ("TimezoneOffsetFromUTC", "+0500")])
def test_character_set_and_timezone_parameters_are_not_matched(name, value):
    request = parse_search([(name, value), ("PatientID", "P1")])
    assert request.query.tags() == {t.PATIENT_ID}
    assert request.query.matches(WORKITEM)


def test_same_matching_parameter_twice_is_refused():
    refused([("PatientID", "P1"), ("00100020", "P2")])


def test_bad_date_range_is_refused_as_invalid_request():
    refused([("ScheduledProcedureStepStartDateTime", "tomorrow")], Status.INVALID_ATTRIBUTE_VALUE)


def test_time_range_crossing_midnight_is_refused_as_invalid_request():
    refused([("StudyTime", "2200-0200")])


@pytest.mark.parametrize(
    "value",
    ["9999", "99991231", "20261123+2500", "00010101+0100", "19000101-99991231"],
)
def test_date_time_at_the_edge_of_the_calendar_is_answered_as_a_bad_request_not_a_crash(value):
    try:
        request = parse_search([("ScheduledProcedureStepStartDateTime", value)])
    except InvalidRequest:
        return
    assert isinstance(request, SearchRequest)


# --- control parameters ------------------------------------------------------------------------


def test_offset_and_limit_are_read_as_numbers():
    request = parse_search([("offset", "20"), ("limit", "10")])
    assert (request.offset, request.limit) == (20, 10)


def test_offset_and_limit_default_to_start_and_no_limit():
    request = parse_search([])
    assert (request.offset, request.limit) == (0, None)


@pytest.mark.parametrize("name", ["offset", "limit"])
@pytest.mark.parametrize("value", ["-1", "ten", "", "1.5"])
def test_offset_or_limit_that_is_not_a_whole_number_of_0_or_more_is_refused(name, value):
    assert name in refused([(name, value)]).message


@pytest.mark.parametrize("name", ["offset", "limit", "fuzzymatching"])
def test_control_parameter_given_twice_is_refused(name):
    value = "true" if name == "fuzzymatching" else "1"
    assert "more than once" in refused([(name, value), (name, value)]).message


def test_fuzzy_matching_request_gets_the_not_supported_warning():
    assert parse_search([("fuzzymatching", "true")]).warnings == (FUZZY_WARNING,)
    assert parse_search([("fuzzymatching", "false")]).warnings == ()


def test_fuzzy_warning_uses_the_text_of_ps3_18():
    assert FUZZY_WARNING == "The fuzzymatching parameter is not supported. Only literal matching has been performed."


@pytest.mark.parametrize("name", ["emptyvaluematching", "multiplevaluematching"])
def test_other_unsupported_matching_options_get_a_warning_naming_them(name):
    (warning,) = parse_search([(name, "TRUE")]).warnings
    assert name in warning


@pytest.mark.parametrize("value", ["yes", "1", ""])
def test_matching_option_that_is_not_true_or_false_is_refused(value):
    refused([("fuzzymatching", value)])


def test_includefield_lists_attributes_by_keyword_or_tag_and_may_repeat():
    request = parse_search([("includefield", "PatientBirthDate, 00100040"), ("includefield", "StudyInstanceUID")])
    assert request.include == {t.BIRTH_DATE, t.SEX, t.STUDY_INSTANCE_UID}
    assert request.include_all is False


def test_includefield_of_a_nested_attribute_includes_its_top_level_sequence():
    assert parse_search([("includefield", "ReferencedRequestSequence.AccessionNumber")]).include == {
        t.REFERENCED_REQUEST_SEQ
    }


def test_includefield_all_asks_for_every_attribute():
    assert parse_search([("includefield", "all")]).include_all is True


def test_includefield_all_together_with_named_attributes_is_refused():
    refused([("includefield", "all,PatientSex")])


def test_includefield_with_an_unknown_attribute_is_refused():
    refused([("includefield", "NoSuchThing")], Status.IDENTIFIER_DOES_NOT_MATCH)


def test_includefield_does_not_filter_the_results():
    assert parse_search([("includefield", "PatientID")]).query.matches({})


# --- filtered subscription filter ------------------------------------------------------------------


def test_subscription_filter_is_read_like_search_parameters():
    q = parse_filter("ScheduledStationNameCodeSequence.CodeValue=CT1, PatientID=P1")
    assert q.matches(WORKITEM)
    assert not parse_filter("ScheduledStationNameCodeSequence.CodeValue=MR1").matches(WORKITEM)


def test_empty_subscription_filter_matches_everything():
    assert parse_filter("").matches(WORKITEM)


def test_subscription_filter_term_without_equals_sign_is_refused():
    with pytest.raises(InvalidRequest, match="attribute=value"):
        parse_filter("PatientID")


def test_subscription_filter_with_unknown_attribute_is_refused():
    with pytest.raises(InvalidRequest):
        parse_filter("Nonsense=1")


# --- any text at all -------------------------------------------------------------------------------


KEYWORDS = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "StudyInstanceUID",
    "ScheduledProcedureStepStartDateTime",
    "ScheduledProcedureStepModificationDateTime",
    "ProcedureStepState",
    "ScheduledProcedureStepPriority",
    "InputReadinessState",
    "ProcedureStepLabel",
    "WorklistLabel",
    "ScheduledStationNameCodeSequence",
    "ScheduledStationNameCodeSequence.CodeValue",
    "ReferencedRequestSequence.AccessionNumber",
    "ScheduledHumanPerformersSequence.HumanPerformerName",
    "PatientWeight",
    "NumberOfStudyRelatedSeries",
    "TransactionUID",
    "SpecificCharacterSet",
    "PixelData",
    "00100010",
    "0040A370.00080050",
    "includefield",
    "offset",
    "limit",
    "fuzzymatching",
    "emptyvaluematching",
]
VALUE_TEXT = st.text(max_size=24) | st.sampled_from(
    ["", "*", "?", "-", "20261123-", "-2026", "0800-1000", "1.2.3,4", "all", "true", "Doe^*", "PatientID,StudyDate"]
)
NAMES = st.sampled_from(KEYWORDS) | st.text(max_size=24)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.tuples(NAMES, VALUE_TEXT), max_size=5))
def test_any_query_parameters_give_a_search_request_or_an_invalid_request(params):
    try:
        request = parse_search(params)
    except InvalidRequest as exc:
        assert isinstance(exc, UPSError) and exc.message
        return
    assert isinstance(request, SearchRequest)
    request.query.matches(WORKITEM)  # a parsed query can always be applied
    request.query.matches({})


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=40))
def test_any_subscription_filter_gives_a_query_or_an_invalid_request(text):
    try:
        parse_filter(text)
    except InvalidRequest:
        pass


def test_timestamp_matching_uses_the_values_meaning_not_its_text():
    # same moment written two ways
    request = parse_search([("ScheduledProcedureStepStartDateTime", "20261123090000+0100")])
    assert request.query.matches(WORKITEM)
    assert datetime(2026, 11, 23, 8) == request.query.keys[0].interval[0]


def test_a_subscription_filter_keeps_its_terms_as_tag_paths_and_reads_back_what_it_stored():
    criteria = SubscriptionFilter.from_text("ScheduledStationNameCodeSequence.CodeValue=CT1, PatientID=P1")
    assert criteria.terms == (("00404025.00080100", "CT1"), ("00100020", "P1"))
    assert SubscriptionFilter.from_text(criteria.text()) == criteria
    assert criteria.query().matches(WORKITEM) == parse_filter(criteria.text()).matches(WORKITEM)


@pytest.mark.parametrize("terms", [(("Nonsense", "1"),), (("00100020", "A,B"),)])
def test_a_subscription_filter_refuses_unknown_attributes_and_commas(terms):
    with pytest.raises(InvalidRequest):
        SubscriptionFilter(terms)
