"""UPS-RS transactions against a real server on loopback: the forms every user agent sends."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from pydicom.uid import generate_uid
from upsrs_client import (
    DICOM_JSON,
    change_state,
    claim,
    create,
    item,
    performed,
    post,
    progress,
    uid_of,
    update,
    value,
)


def retrieve(http, uid: str) -> dict:
    r = http.get(f"/workitems/{uid}")
    assert r.status_code == 200, r.headers.get("Warning")
    return r.json()[0]


@pytest.mark.parametrize("form", ["bare", "workitem", "AffectedSOPInstanceUID", "dataset-only"])
def test_create_accepts_every_uid_form(http, form):
    ds = item()
    uid = uid_of(ds)
    query = {
        "bare": f"?{uid}",
        "workitem": f"?workitem={uid}",
        "AffectedSOPInstanceUID": f"?AffectedSOPInstanceUID={uid}",
        "dataset-only": "",
    }[form]
    if form != "dataset-only":
        del ds["00080018"]
    r = post(http, "/workitems" + query, [ds])
    assert r.status_code == 201, r.headers.get("Warning")
    assert r.headers["Location"].endswith(f"/workitems/{uid}")
    assert value(retrieve(http, uid), "00741000") == "SCHEDULED"


def test_create_without_any_uid_gets_one_assigned(http):
    ds = item()
    del ds["00080018"]
    r = post(http, "/workitems", [ds])
    assert r.status_code == 201
    uid = r.headers["Location"].rsplit("/", 1)[1]
    assert value(retrieve(http, uid), "00080018") == uid


def test_create_with_conflicting_uids_is_refused_with_a_reason(http):
    ds = item()
    r = post(http, f"/workitems?{generate_uid()}", [ds])
    assert r.status_code == 400
    assert "SOP Instance UID" in r.headers["Warning"]


def test_create_without_label_names_the_missing_attribute(http):
    ds = item()
    del ds["00741204"]
    r = post(http, "/workitems", [ds])
    assert r.status_code == 400
    assert "(0074,1204)" in r.headers["Warning"]


def test_create_missing_type2_attributes_is_created_with_modifications(http):
    ds = item()
    del ds["00404027"], ds["00400400"]
    r = post(http, "/workitems", [ds])
    assert r.status_code == 201
    assert "created with modifications" in r.headers["Warning"]
    stored = retrieve(http, uid_of(ds))
    assert "00404027" in stored and "00400400" in stored


def test_create_with_a_transaction_uid_value_is_refused(http):
    ds = item()
    ds["00081195"] = {"vr": "UI", "Value": [generate_uid()]}
    assert post(http, "/workitems", [ds]).status_code == 400


def test_retrieve_never_shows_the_transaction_uid_and_unknown_is_404(http):
    uid = create(http, item())
    claim(http, uid)
    assert "00081195" not in retrieve(http, uid)
    missing = http.get(f"/workitems/{generate_uid()}")
    assert missing.status_code == 404 and "Warning" in missing.headers


@pytest.mark.parametrize("form", ["query", "bare", "payload"])
def test_update_takes_the_transaction_uid_in_every_form(http, form):
    uid = create(http, item())
    tx = claim(http, uid)
    r = update(http, uid, tx, progress(30, "positioning"), form=form)
    assert r.status_code == 200, r.headers.get("Warning")
    prog = retrieve(http, uid)["00741002"]["Value"][0]
    assert value(prog, "00741006") == "positioning"


def test_update_with_the_wrong_transaction_uid_says_so(http):
    uid = create(http, item())
    claim(http, uid)
    r = update(http, uid, generate_uid(), progress(10, "x"))
    assert r.status_code == 400
    assert "Transaction UID is incorrect" in r.headers["Warning"]


def test_update_of_claimed_item_without_transaction_uid_is_refused(http):
    uid = create(http, item())
    claim(http, uid)
    r = update(http, uid, None, progress(10, "x"))
    assert r.status_code == 400
    assert "missing" in r.headers["Warning"]


def test_ris_can_reschedule_a_scheduled_item_without_transaction_uid(http):
    uid = create(http, item())
    r = update(http, uid, None, {"00404005": {"vr": "DT", "Value": ["20261224100000"]}})
    assert r.status_code == 200
    assert value(retrieve(http, uid), "00404005") == "20261224100000"


def test_update_may_not_change_the_patient(http):
    uid = create(http, item())
    tx = claim(http, uid)
    r = update(http, uid, tx, {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Other^Person"}]}})
    assert r.status_code == 400
    assert "Patient's Name" in r.headers["Warning"]


def test_claim_with_requester_in_path_as_dcm4chee_clients_send_it(http):
    uid = create(http, item())
    r = change_state(http, uid, "IN PROGRESS", generate_uid(), suffix="/CT1")
    assert r.status_code == 200
    assert value(retrieve(http, uid), "00741000") == "IN PROGRESS"


def test_scheduled_cannot_jump_to_completed(http):
    uid = create(http, item())
    r = change_state(http, uid, "COMPLETED", generate_uid())
    assert r.status_code == 409
    assert "not yet IN PROGRESS" in r.headers["Warning"]


def test_change_state_without_transaction_uid_says_it_is_missing(http):
    uid = create(http, item())
    r = change_state(http, uid, "IN PROGRESS", None)
    assert r.status_code == 400
    assert "Transaction UID is missing" in r.headers["Warning"]


def test_change_state_to_scheduled_is_refused(http):
    uid = create(http, item())
    tx = claim(http, uid)
    assert change_state(http, uid, "SCHEDULED", tx).status_code == 400


def test_complete_names_what_is_missing(http):
    uid = create(http, item())
    tx = claim(http, uid)
    r = change_state(http, uid, "COMPLETED", tx)
    assert r.status_code == 409
    assert "Performed Procedure Sequence" in r.headers["Warning"]
    assert update(http, uid, tx, performed()).status_code == 200
    assert change_state(http, uid, "COMPLETED", tx).status_code == 200
    assert value(retrieve(http, uid), "00741000") == "COMPLETED"


def test_performer_can_cancel_without_a_reason_and_the_time_is_stamped(http):
    uid = create(http, item())
    tx = claim(http, uid)
    assert change_state(http, uid, "CANCELED", tx).status_code == 200
    again = change_state(http, uid, "CANCELED", tx)
    assert again.status_code == 200 and "already in the requested state of CANCELED" in again.headers["Warning"]
    stored = retrieve(http, uid)
    assert value(stored["00741002"]["Value"][0], "00404052")


def test_cancel_request_on_scheduled_cancels_it(http):
    uid = create(http, item())
    reason = {"00741238": {"vr": "LT", "Value": ["Order withdrawn"]}}
    r = post(http, f"/workitems/{uid}/cancelrequest", [reason])
    assert r.status_code == 202
    stored = retrieve(http, uid)
    assert value(stored, "00741000") == "CANCELED"
    assert value(stored["00741002"]["Value"][0], "00741238") == "Order withdrawn"
    again = post(http, f"/workitems/{uid}/cancelrequest/RIS", [])
    assert again.status_code == 202 and "CANCELED" in again.headers["Warning"]


def test_cancel_request_on_in_progress_leaves_it_to_the_performer(http):
    uid = create(http, item())
    claim(http, uid)
    r = http.post(f"/workitems/{uid}/cancelrequest/RIS")
    assert r.status_code == 202
    assert value(retrieve(http, uid), "00741000") == "IN PROGRESS"


def test_cancel_request_on_completed_is_a_conflict(http):
    uid = create(http, item())
    tx = claim(http, uid)
    update(http, uid, tx, performed())
    change_state(http, uid, "COMPLETED", tx)
    r = http.post(f"/workitems/{uid}/cancelrequest")
    assert r.status_code == 409 and "COMPLETED" in r.headers["Warning"]


def search(http, **params) -> list[dict]:
    r = http.get("/workitems", params=params)
    assert r.status_code in (200, 204), r.headers.get("Warning")
    return [] if r.status_code == 204 else r.json()


def test_search_by_station_and_date_range_finds_only_that_station_that_day(http):
    day = datetime(2031, 5, 6, 9, 0)
    mine = [create(http, item("CT1", start=day + timedelta(hours=h))) for h in range(3)]
    create(http, item("CT2", start=day))
    create(http, item("CT1", start=day + timedelta(days=1)))
    found = search(
        http,
        **{
            "ScheduledStationNameCodeSequence.CodeValue": "CT1",
            "ScheduledProcedureStepStartDateTime": "20310506-20310506",
        },
    )
    assert [uid_of(d) for d in found] == mine  # in scheduled order


def test_search_matches_a_station_in_any_item_of_the_sequence(http):
    ds = item("CT1", start=datetime(2031, 7, 1, 8))
    second = dict(ds["00404025"]["Value"][0])
    second["00080100"] = {"vr": "SH", "Value": ["CTSHARED"]}
    ds["00404025"]["Value"].append(second)
    uid = create(http, ds)
    assert [uid_of(d) for d in search(http, **{"00404025.00080100": "CTSHARED"})] == [uid]


def test_search_by_accession_inside_the_referenced_request(http):
    uid = create(http, item(accession="ACCX12345"))
    assert [uid_of(d) for d in search(http, **{"ReferencedRequestSequence.AccessionNumber": "ACCX12345"})] == [uid]


def test_search_by_non_ascii_name_with_wildcard(http):
    uid = create(http, item(patient="Müller^Jürgen", label="unique-label-1"))
    found = search(http, PatientName="müller*", ProcedureStepLabel="unique-label-1")
    assert [uid_of(d) for d in found] == [uid]


def test_search_pages_with_the_additional_results_warning(http):
    day = datetime(2032, 1, 2, 8)
    uids = [create(http, item("PAGE1", start=day + timedelta(minutes=m))) for m in range(5)]
    params = {"ScheduledStationNameCodeSequence.CodeValue": "PAGE1", "limit": "2"}
    first = http.get("/workitems", params=params)
    assert first.status_code == 200
    assert "There are 3 additional results" in first.headers["Warning"]
    rest = http.get("/workitems", params={**params, "offset": "2", "limit": "10"})
    assert "Warning" not in rest.headers
    assert [uid_of(d) for d in first.json() + rest.json()] == uids


def test_search_results_leave_out_performed_data_and_transaction_uid(http):
    uid = create(http, item("HIDE1"))
    tx = claim(http, uid)
    update(http, uid, tx, performed())
    found = search(http, **{"00404025.00080100": "HIDE1"}, includefield="all")
    assert found and "00741216" not in found[0] and "00081195" not in found[0]


def test_search_accepts_fuzzymatching_and_says_it_matched_literally(http):
    create(http, item(patient="Fuzzy^Anna"))
    r = http.get("/workitems", params={"PatientName": "Fuzzy^Anna", "fuzzymatching": "true"})
    assert r.status_code == 200 and "fuzzymatching" in r.headers["Warning"]


@pytest.mark.parametrize(
    "params",
    [
        {"NoSuchKeyword": "x"},
        {"00081195": "1.2.3"},
        {"limit": "-1"},
        {"ScheduledProcedureStepStartDateTime": "yesterday"},
        {"includefield": "all,PatientID"},
        {"PatientName.FamilyName": "x"},
    ],
)
def test_search_with_a_bad_parameter_is_a_400_that_says_why(http, params):
    r = http.get("/workitems", params=params)
    assert r.status_code == 400
    assert r.headers["Warning"].startswith("299 ")


def test_search_that_finds_nothing_is_204(http):
    assert http.get("/workitems", params={"PatientID": "NOBODY-AT-ALL"}).status_code == 204


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"{not json", DICOM_JSON),
        (b"\xff\xfe\x00garbage", DICOM_JSON),
        (json.dumps([{"00100010": {"vr": "SQ", "Value": ["x"]}}]).encode(), DICOM_JSON),
        (json.dumps([{"0010001": {"vr": "PN"}}]).encode(), DICOM_JSON),
        (json.dumps([{"00100020": {"vr": "LO", "Value": [{"nested": True}]}}]).encode(), DICOM_JSON),
        (json.dumps([{"00080018": {"vr": "UI", "Value": ["not a uid"]}}]).encode(), DICOM_JSON),
        (b"[" * 100000 + b"]" * 100000, DICOM_JSON),
        (json.dumps([[1, 2, 3]]).encode(), DICOM_JSON),
        (json.dumps([]).encode(), DICOM_JSON),
        (b"", DICOM_JSON),
        (b"<NativeDicomModel/>", "application/dicom+xml"),
    ],
)
def test_bad_payloads_are_refused_with_a_reason_never_a_crash(http, body, content_type):
    r = http.post("/workitems", content=body, headers={"Content-Type": content_type})
    assert 400 <= r.status_code < 500
    assert r.headers["Warning"].startswith("299 ")


def test_deeply_nested_sequences_are_refused(http):
    ds: dict = {"00100020": {"vr": "LO", "Value": ["X"]}}
    for _ in range(40):
        ds = {"0040A370": {"vr": "SQ", "Value": [ds]}}
    r = post(http, "/workitems", [ds])
    assert r.status_code == 400 and "nested" in r.headers["Warning"]


def test_a_huge_payload_is_413(http):
    big = [{"00400400": {"vr": "LT", "Value": ["x" * (5 * 1024 * 1024)]}}]
    r = post(http, "/workitems", big)
    assert r.status_code == 413 and "MiB" in r.headers["Warning"]


def test_server_still_answers_after_hostile_input(http):
    post(http, "/workitems", [{"00741000": {"vr": "CS", "Value": [None, 3]}}])
    http.put(f"/workitems/{generate_uid()}/state", content=b"[1]", headers={"Content-Type": DICOM_JSON})
    http.post("/workitems/not-a-uid/subscribers/%5C%5C")
    assert http.get("/workitems", params={"limit": "1"}).status_code in (200, 204)


def test_a_client_that_accepts_none_of_the_dicom_media_types_is_told_which_there_are(http):
    uid = create(http, item())
    r = http.get(f"/workitems/{uid}", headers={"Accept": "image/png"})
    assert r.status_code == 406 and "application/dicom+xml" in r.headers["Warning"]
    assert http.get(f"/workitems/{uid}", headers={"Accept": "*/*"}).status_code == 200
