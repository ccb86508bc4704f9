"""application/dicom+xml (PS3.19 Native DICOM Model) on every UPS-RS and Sup 246 transaction:
chosen by Content-Type and Accept, with the multipart/related forms for searches."""

from __future__ import annotations

import email.parser
import json

import httpx
import pytest
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid
from test_mpps_front import associate, completed, in_progress, worklist
from upsrs_client import item, uid_of, value

from app.domain.dicomjson import from_dataset
from app.domain.dicomxml import dataset_from_xml, dataset_to_xml

XML = "application/dicom+xml"
DAY = PINNED_DAY.strftime("%Y%m%d")


@pytest.fixture()
def http(front):
    with httpx.Client(base_url=front.base_url, timeout=10) as client:
        yield client


def same(dataset):
    """A dataset with empty sequences written one way ({"vr": "SQ"}), as both forms mean."""
    if isinstance(dataset, list):
        return [same(d) for d in dataset]
    out = {}
    for tag, element in dataset.items():
        element = dict(element)
        if element.get("Value") == []:
            del element["Value"]
        elif element.get("vr") == "SQ" and "Value" in element:
            element["Value"] = [same(i) for i in element["Value"]]
        out[tag] = element
    return out


def parts(answer: httpx.Response) -> list[bytes]:
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + answer.headers["content-type"].encode() + b"\r\n\r\n" + answer.content
    )
    return [part.get_payload(decode=True) for part in message.get_payload()]


def test_a_workitem_created_in_xml_is_retrieved_in_xml_and_in_json_alike(http):
    dataset = item(patient="Ōtani^Shōhei^^Dr.")
    created = http.post("/workitems", content=dataset_to_xml(dataset), headers={"Content-Type": XML})
    assert created.status_code == 201, created.headers.get("Warning")
    uid = uid_of(dataset)
    as_xml = http.get(f"/workitems/{uid}", headers={"Accept": XML})
    assert as_xml.status_code == 200 and as_xml.headers["content-type"].startswith(XML)
    as_json = http.get(f"/workitems/{uid}").json()[0]
    assert same(dataset_from_xml(as_xml.content)) == same(as_json)
    assert value(as_json, "00100010") == {"Alphabetic": "Ōtani^Shōhei^^Dr."}


def test_a_search_answers_multipart_xml_or_multipart_json_as_asked(http):
    station = {"ScheduledStationNameCodeSequence.CodeValue": "MR1", "ScheduledProcedureStepStartDateTime": DAY}
    plain = http.get("/workitems", params=station).json()
    for accept in (XML, f'multipart/related; type="{XML}"'):
        answer = http.get("/workitems", params=station, headers={"Accept": accept})
        assert answer.headers["content-type"].startswith("multipart/related")
        assert same([dataset_from_xml(p) for p in parts(answer)]) == same(plain)
    as_parts = http.get(
        "/workitems", params=station, headers={"Accept": 'multipart/related; type="application/dicom+json"'}
    )
    assert same([json.loads(p)[0] for p in parts(as_parts)]) == same(plain)


def test_the_accept_q_values_decide(http):
    station = {"ScheduledStationNameCodeSequence.CodeValue": "CT1", "ScheduledProcedureStepStartDateTime": DAY}
    json_first = http.get("/workitems", params=station, headers={"Accept": f"{XML};q=0.5, application/dicom+json"})
    assert json_first.headers["content-type"].startswith("application/dicom+json")
    xml_first = http.get("/workitems", params=station, headers={"Accept": f"application/dicom+json;q=0.2, {XML}"})
    assert xml_first.headers["content-type"].startswith("multipart/related")


def test_updates_change_state_and_mpps_accept_xml(front, http):
    dataset = item()
    uid = uid_of(dataset)
    assert http.post("/workitems", content=dataset_to_xml(dataset), headers={"Content-Type": XML}).status_code == 201
    transaction = generate_uid()
    claim = {"00741000": {"vr": "CS", "Value": ["IN PROGRESS"]}, "00081195": {"vr": "UI", "Value": [transaction]}}
    assert (
        http.put(f"/workitems/{uid}/state", content=dataset_to_xml(claim), headers={"Content-Type": XML}).status_code
        == 200
    )
    progress = {"00741002": {"vr": "SQ", "Value": [{"00741004": {"vr": "DS", "Value": [40]}}]}}
    updated = http.post(
        f"/workitems/{uid}?{transaction}", content=dataset_to_xml(progress), headers={"Content-Type": XML}
    )
    assert updated.status_code == 200, updated.headers.get("Warning")
    assoc = associate(front.dimse.port, "CT2")
    try:
        step = worklist(assoc, "CT2")[0]
    finally:
        assoc.release()
    mpps = generate_uid()
    url = f"/modality-performed-procedure-steps/{mpps}"
    assert (
        http.post(
            url, content=dataset_to_xml(from_dataset(in_progress(step, "CT2", "CT"))), headers={"Content-Type": XML}
        ).status_code
        == 201
    )
    assert (
        http.post(
            url + "?update", content=dataset_to_xml(from_dataset(completed())), headers={"Content-Type": XML}
        ).status_code
        == 200
    )
    back = http.get(url, headers={"Accept": XML})
    assert back.status_code == 200 and value(dataset_from_xml(back.content), "00400252") == "COMPLETED"
    mwl = http.get("/modality-scheduled-procedure-steps", params={"00400100.00400002": DAY}, headers={"Accept": XML})
    assert mwl.status_code == 200 and all(dataset_from_xml(p) for p in parts(mwl))


def test_bad_xml_and_unknown_media_types_are_refused_with_a_reason(http):
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><NativeDicomModel>&e;</NativeDicomModel>'
    refused = http.post("/workitems", content=evil, headers={"Content-Type": XML})
    assert refused.status_code == 400 and refused.headers["Warning"].startswith("299 ")
    odd = http.post(
        "/workitems", content=b"x", headers={"Content-Type": 'multipart/related; type="text/plain"; boundary=x'}
    )
    assert odd.status_code == 415
