"""Supplement 246 on the embedded server: MWL over REST answers what MWL C-FIND answers, and MPPS
over REST performs the same workitems, interchangeably with DIMSE MPPS."""

from __future__ import annotations

import json

import httpx
import pytest
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid
from pynetdicom.sop_class import ModalityPerformedProcedureStep
from test_mpps_front import associate, completed, in_progress, worklist
from upsrs_client import DICOM_JSON, GLOBAL, listen, new_aet, value

from app.domain.dicomjson import from_dataset, to_dataset

DAY = PINNED_DAY.strftime("%Y%m%d")
MWL = "/modality-scheduled-procedure-steps"
MPPS = "/modality-performed-procedure-steps"


@pytest.fixture()
def http(front):
    with httpx.Client(base_url=front.base_url, timeout=10) as client:
        yield client


def steps(http, **params) -> httpx.Response:
    return http.get(MWL, params=params)


def post(http, url: str, dataset: dict) -> httpx.Response:
    return http.post(url, content=json.dumps([dataset]), headers={"Content-Type": DICOM_JSON})


def sps(item: dict) -> dict:
    return item["00400100"]["Value"][0]


def test_search_answers_the_same_items_as_mwl_c_find(front, http):
    rest = steps(http, **{"00400100.00400001": "MR1", "00400100.00400002": DAY})
    assert rest.status_code == 200
    assoc = associate(front.dimse.port)
    try:
        dimse = worklist(assoc, "MR1")
    finally:
        assoc.release()
    assert sorted(value(i, "00080050") for i in rest.json()) == sorted(d.AccessionNumber for d in dimse)
    item = rest.json()[0]
    for tag in ("00100010", "00100020", "0020000D", "00401001", "00321060"):
        assert tag in item  # K.6-1 return keys of type 1 and 2
    assert value(sps(item), "00400020") == "SCHEDULED" and value(sps(item), "00080060") == "MR"


def test_search_by_keyword_wildcard_and_date_range_and_pages_with_a_warning(http):
    everything = steps(http, **{"ScheduledProcedureStepSequence.ScheduledProcedureStepStartDate": f"{DAY}-{DAY}"})
    assert everything.status_code == 200 and len(everything.json()) > 3
    first = everything.json()[0]
    family = value(first, "00100010")["Alphabetic"].split("^")[0]
    named = steps(http, PatientName=family[:2] + "*", **{"00400100.00400002": DAY})
    assert any(value(i, "00100020") == value(first, "00100020") for i in named.json())
    page = steps(http, **{"00400100.00400002": DAY, "limit": "2", "offset": "1"})
    assert [value(i, "00080050") for i in page.json()] == [value(i, "00080050") for i in everything.json()[1:3]]
    assert "additional results" in page.headers["Warning"]
    fuzzy = steps(http, **{"00400100.00400002": DAY, "fuzzymatching": "true"})
    assert fuzzy.status_code == 200 and "fuzzymatching" in fuzzy.headers["Warning"]


def test_search_refusals_and_empty_answers(http, monkeypatch):
    from app.server import sup246

    assert steps(http, PatientID="NOBODY-AT-ALL").status_code == 204
    assert steps(http, NotAKeyword="1").status_code == 400
    assert steps(http, limit="-1").status_code == 400
    assert steps(http, **{"00400100.00400002": "2026-13-45"}).status_code == 400
    monkeypatch.setattr(sup246, "MAX_ANSWERS", 2)
    too_many = steps(http, **{"00400100.00400002": DAY})
    assert too_many.status_code == 413 and "limit" in too_many.headers["Warning"]
    assert steps(http, **{"00400100.00400002": DAY, "limit": "2"}).status_code == 200


def test_mpps_over_rest_performs_the_workitem_and_subscribers_see_it(front, http):
    events = listen(http, GLOBAL, new_aet())
    assoc = associate(front.dimse.port)
    try:
        item = worklist(assoc, "US1")[0]
    finally:
        assoc.release()
    ups = http.get("/workitems", params={"ReferencedRequestSequence.AccessionNumber": item.AccessionNumber}).json()[0]
    uid = value(ups, "00080018")
    mpps = generate_uid()
    try:
        created = post(http, f"{MPPS}/{mpps}", from_dataset(in_progress(item, "US1", "US")))
        assert created.status_code == 201, created.headers.get("Warning")
        events.wait_for(uid, 1, **{"00741000": "IN PROGRESS"})
        assert post(http, f"{MPPS}/{mpps}", from_dataset(in_progress(item, "US1", "US"))).status_code == 409
        done = post(http, f"{MPPS}/{mpps}?update", from_dataset(completed()))
        assert done.status_code == 200, done.headers.get("Warning")
        events.wait_for(uid, 1, **{"00741000": "COMPLETED"})
    finally:
        events.close()
    late = post(http, f"{MPPS}/{mpps}/update", from_dataset(completed()))
    assert late.status_code == 409 and "no longer be updated" in late.headers["Warning"]
    got = http.get(f"{MPPS}/{mpps}")
    assert got.status_code == 200 and value(got.json()[0], "00400252") == "COMPLETED"
    only = http.get(f"{MPPS}/{mpps}", params={"includefield": "PerformedProcedureStepStatus"}).json()[0]
    assert set(only) == {"00400252", "00080018"}
    assert http.get(f"{MPPS}/{generate_uid()}").status_code == 404
    assert post(http, f"{MPPS}/{generate_uid()}?update", from_dataset(completed())).status_code == 404


def test_an_mpps_created_over_dimse_is_completed_over_rest_and_the_other_way_round(front, http):
    assoc = associate(front.dimse.port, "CT1")
    try:
        first, second = worklist(assoc, "CT1")[:2]
        over_dimse = generate_uid()
        assert (
            assoc.send_n_create(in_progress(first, "CT1", "CT"), ModalityPerformedProcedureStep, over_dimse)[0].Status
            == 0
        )
        assert post(http, f"{MPPS}/{over_dimse}?update", from_dataset(completed())).status_code == 200
        over_rest = generate_uid()
        assert post(http, f"{MPPS}/{over_rest}", from_dataset(in_progress(second, "CT1", "CT"))).status_code == 201
        assert assoc.send_n_set(completed(), ModalityPerformedProcedureStep, over_rest)[0].Status == 0
    finally:
        assoc.release()
    for item in (first, second):
        ups = http.get("/workitems", params={"ReferencedRequestSequence.AccessionNumber": item.AccessionNumber})
        assert value(ups.json()[0], "00741000") == "COMPLETED"
    started = steps(http, AccessionNumber=first.AccessionNumber, **{"00400100.00400020": "*"}).json()
    assert value(sps(started[0]), "00400020") == "COMPLETED"  # asked for every status
    assert steps(http, AccessionNumber=first.AccessionNumber).status_code == 204  # the worklist: still to do


def test_mpps_over_rest_refuses_bad_values_and_a_deleted_workitem_is_gone(front, http):
    assoc = associate(front.dimse.port, "MG1")
    try:
        item = worklist(assoc, "MG1")[0]
    finally:
        assoc.release()
    bad = from_dataset(in_progress(item, "MG1", "MG"))
    bad["00400244"] = {"vr": "DA", "Value": ["not-a-date"]}
    refused = post(http, f"{MPPS}/{generate_uid()}", bad)
    assert refused.status_code == 400 and "0040,0244" in refused.headers["Warning"]
    mpps = generate_uid()
    assert post(http, f"{MPPS}/{mpps}", from_dataset(in_progress(item, "MG1", "MG"))).status_code == 201
    ups = http.get("/workitems", params={"ReferencedRequestSequence.AccessionNumber": item.AccessionNumber}).json()[0]
    with front.store.write() as db:  # housekeeping deleted the workitem behind the MPPS
        front.store.delete(db, front.store.get(db, value(ups, "00080018")), 0.0)
    assert post(http, f"{MPPS}/{mpps}?update", from_dataset(completed())).status_code == 410


def test_a_pydicom_dataset_round_trips_through_the_mpps_resource(front, http):
    assoc = associate(front.dimse.port, "CR1")
    try:
        item = worklist(assoc, "CR1")[0]
    finally:
        assoc.release()
    mpps = generate_uid()
    assert post(http, f"{MPPS}/{mpps}", from_dataset(in_progress(item, "CR1", "CR"))).status_code == 201
    back = to_dataset(http.get(f"{MPPS}/{mpps}").json()[0])
    assert back.PerformedProcedureStepStatus == "IN PROGRESS" and back.PatientID == item.PatientID
