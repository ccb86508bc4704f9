"""Supplement 246 Search and PS3.4 Table K.6-1: every return key of type 1 and 2 in each answer
(empty when unknown, as MWL C-FIND answers it), `includefield` for the others, keys of the one
Scheduled Procedure Step item matched inside it even when named un-nested, and a key that cannot be
matched refused rather than ignored."""

from __future__ import annotations

from datetime import datetime, time

import httpx
import pytest
from embedded_server import PINNED_DAY
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom.sop_class import ModalityWorklistInformationFind
from test_mpps_front import associate
from upsrs_client import create, value
from upsrs_client import item as new_item

from app.domain.dicomjson import from_dataset

DAY = PINNED_DAY.strftime("%Y%m%d")
MWL = "/modality-scheduled-procedure-steps"
SPS = "00400100"
# Table K.6-1's return keys of type 2, written out from the standard here (not taken from the code)
TYPE_2 = {
    "00080050": "AccessionNumber",
    "00080090": "ReferringPhysicianName",
    "00081110": "ReferencedStudySequence",
    "00081120": "ReferencedPatientSequence",
    "00100030": "PatientBirthDate",
    "00100040": "PatientSex",
    "00101030": "PatientWeight",
    "00102000": "MedicalAlerts",
    "00102110": "Allergies",
    "001021C0": "PregnancyStatus",
    "00321032": "RequestingPhysician",
    "00380010": "AdmissionID",
    "00380050": "SpecialNeeds",
    "00380300": "CurrentPatientLocation",
    "00380500": "PatientState",
    "00401003": "RequestedProcedurePriority",
    "00401004": "PatientTransportArrangements",
    "00403001": "ConfidentialityConstraintOnPatientDataDescription",
}
SPS_TYPE_2 = {
    "00400006": "ScheduledPerformingPhysicianName",
    "00400010": "ScheduledStationName",
    "00400011": "ScheduledProcedureStepLocation",
}


@pytest.fixture()
def http(front):
    with httpx.Client(base_url=front.base_url, timeout=10) as client:
        yield client


def steps(http: httpx.Client, params: dict[str, str] | list[tuple[str, str]]) -> httpx.Response:
    return http.get(MWL, params=params)


def sps(item: dict) -> dict:
    return item[SPS]["Value"][0]


def c_find(port: int, station: str) -> list[Dataset]:
    """MWL C-FIND for the station's pinned day, every type 2 key asked for with zero length."""
    query = Dataset()
    for keyword in TYPE_2.values():
        setattr(query, keyword, [] if keyword.endswith("Sequence") else None)
    step = Dataset()
    step.ScheduledStationAETitle = station
    step.ScheduledProcedureStepStartDate = DAY
    for keyword in SPS_TYPE_2.values():
        setattr(step, keyword, "")
    query.ScheduledProcedureStepSequence = [step]
    assoc = associate(port)
    try:
        return [i for s, i in assoc.send_c_find(query, ModalityWorklistInformationFind) if s and s.Status == 0xFF00]
    finally:
        assoc.release()


def test_every_type_2_key_is_returned_as_mwl_c_find_returns_it_empty_when_unknown(front, http):
    rest = steps(http, {f"{SPS}.00400001": "MR1", f"{SPS}.00400002": DAY})
    assert rest.status_code == 200
    dimse = {d.AccessionNumber: from_dataset(d) for d in c_find(front.dimse.port, "MR1")}
    assert dimse and len(dimse) == len(rest.json())
    for item in rest.json():
        found = dimse[value(item, "00080050")]
        for tag, keyword in TYPE_2.items():
            assert tag in item, f"{keyword} is missing from the Sup 246 answer"
            assert item[tag].get("Value") == (found[tag].get("Value") or None), keyword
        for tag, keyword in SPS_TYPE_2.items():
            assert tag in sps(item), f"{keyword} is missing from the Scheduled Procedure Step item"
            assert sps(item)[tag].get("Value") == (sps(found)[tag].get("Value") or None), keyword
        # nothing is known of these: present and empty, as DICOM JSON writes an empty attribute
        assert item["00081110"] == {"vr": "SQ"} and item["00401004"] == {"vr": "LO"}


def test_a_known_type_2_value_is_returned_and_the_xml_form_holds_the_empty_ones(http):
    patient = f"K6-{generate_uid()[-10:]}"
    scheduled = new_item("MR1", patient_id=patient, start=datetime.combine(PINNED_DAY, time(10)))
    create(http, {**scheduled, "00101030": {"vr": "DS", "Value": [72.5]}})
    [answer] = steps(http, {"PatientID": patient}).json()
    assert value(answer, "00101030") == 72.5 and answer["00102000"] == {"vr": "LO"}
    xml = http.get(
        MWL, params={"PatientID": patient}, headers={"Accept": 'multipart/related; type="application/dicom+xml"'}
    )
    assert xml.status_code == 200
    assert 'tag="00081110" vr="SQ"' in xml.text and 'tag="00321032" vr="PN"' in xml.text


def test_includefield_all_or_naming_a_key_returns_the_other_keys_empty_when_unknown(http):
    day = {f"{SPS}.00400002": DAY}
    plain = steps(http, day).json()[0]
    assert "00400012" not in sps(plain) and "00321070" not in sps(plain)  # 2C: no condition holds
    every = steps(http, {**day, "includefield": "all"}).json()[0]
    for tag in ("00400012", "00321070", "00400004", "00400005", "00400400"):
        assert tag in sps(every), tag
    for tag in ("00401002", "00080051", "00321033"):
        assert tag in every, tag
    # named un-nested, by keyword or tag, as includefield or as a key with no value
    named = steps(
        http, [*day.items(), ("includefield", "PreMedication,00321070"), ("CommentsOnTheScheduledProcedureStep", "")]
    )
    step = sps(named.json()[0])
    assert step["00400012"] == {"vr": "LO"} and "00321070" in step and "00400400" in step
    assert "Warning" not in named.headers


@pytest.mark.parametrize(
    "key, station_or_modality",
    [
        ("ScheduledStationAETitle", "MR1"),
        ("00400001", "MR1"),
        ("Modality", "CT"),
        ("00080060", "CT"),
    ],
)
def test_an_unnested_scheduled_procedure_step_key_matches_inside_the_item(http, key, station_or_modality):
    nested_key = f"{SPS}.{'00400001' if key in ('ScheduledStationAETitle', '00400001') else '00080060'}"
    nested = steps(http, {nested_key: station_or_modality, f"{SPS}.00400002": DAY})
    given = steps(http, {key: station_or_modality, "ScheduledProcedureStepStartDate": DAY})
    assert given.status_code == 200 and "Warning" not in given.headers, given.headers.get("Warning")
    every = steps(http, {f"{SPS}.00400002": DAY}).json()
    assert len(given.json()) < len(every)  # narrowed, not every station's day
    assert [value(i, "00080050") for i in given.json()] == [value(i, "00080050") for i in nested.json()]
    tag = nested_key.split(".")[1]
    assert {value(sps(i), tag) for i in given.json()} == {station_or_modality}


@pytest.mark.parametrize(
    "key, named",
    [
        ("PreMedication", "PreMedication"),
        ("StudyDescription", "StudyDescription"),
        ("00081110.00081155", "00081110.00081155"),
        ("ScheduledProcedureStepSequence.ScheduledProcedureStepEndDate", "ScheduledProcedureStepEndDate"),
    ],
)
def test_a_valued_key_that_cannot_be_matched_is_refused_naming_it(http, key, named):
    refused = steps(http, {key: "X"})
    assert refused.status_code == 400
    assert named in refused.headers["Warning"] and "cannot be matched" in refused.headers["Warning"]


def test_the_capabilities_say_how_search_keys_are_read(http):
    offered = http.request("OPTIONS", MWL, headers={"Accept": "application/json"}).json()
    [search] = [m for r in offered["resources"] for m in r["methods"] if m["transaction"] == "Search"]
    notes = search["notes"]
    assert "00400100.00400001" in notes and "400" in notes and "includefield" in notes
    wadl = http.request("OPTIONS", MWL).text
    assert "00400100.00400001" in wadl
