"""A value the checks would refuse today can still be in the store (an older version wrote it, or
a path skipped the checks): it costs that attribute of that workitem in an answer, never the
answer. Written here straight into the SQLite file, as an older version would have left it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, time

import httpx
import pytest
from embedded_server import PINNED_DAY
from pydicom import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind, UnifiedProcedureStepPull
from upsrs_client import DICOM_JSON, create, item, new_aet

from app.server import ServerConfig, UPSServer

DAY = PINNED_DAY.strftime("%Y%m%d")
PREGNANCY_STATUS, PATIENT_SIZE, INSTANCE_NUMBER, PRIVATE_OB = "001021C0", "00101020", "00200013", "00091010"


@pytest.fixture(scope="module")
def ups(tmp_path_factory) -> Iterator[UPSServer]:
    path = tmp_path_factory.mktemp("bad") / "worklist.db"
    server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(path))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def http(ups) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ups.base_url, timeout=10.0, headers={"Accept": DICOM_JSON}) as client:
        yield client


def three_items(http, station: str, patients=("Alpha^Ann", "Bravo^Ben", "Charlie^Cy")) -> list[str]:
    start = datetime.combine(PINNED_DAY, time(9))
    return [
        create(http, item(station, patient=name, start=start.replace(hour=9 + n))) for n, name in enumerate(patients)
    ]


def corrupt(ups: UPSServer, uid: str, **elements: dict) -> None:
    """Write elements into a stored workitem behind the server's back, as json.dumps writes them."""
    with sqlite3.connect(ups.config.db_path) as db:
        (summary,) = db.execute("SELECT summary FROM workitem WHERE uid = ?", (uid,)).fetchone()
        dataset = json.loads(summary)
        dataset.update({tag: element for tag, element in elements.items()})
        db.execute("UPDATE workitem SET summary = ? WHERE uid = ?", (json.dumps(dataset), uid))


def strict(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def mwl_find(port: int, station: str, syntax: str | None = None) -> tuple[list[Dataset], int]:
    query = Dataset()
    query.PatientName = ""
    query.PregnancyStatus = None
    sps = Dataset()
    sps.ScheduledStationAETitle = station
    sps.ScheduledProcedureStepStartDate = DAY
    query.ScheduledProcedureStepSequence = [sps]
    ae = AE("CT1")
    ae.add_requested_context(ModalityWorklistInformationFind, *([syntax] if syntax else []))
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST")
    assert assoc.is_established
    found, final = [], -1
    try:
        for status, identifier in assoc.send_c_find(query, ModalityWorklistInformationFind):
            if status and status.Status in (0xFF00, 0xFF01):
                found.append(identifier)
            elif status:
                final = status.Status
    finally:
        if assoc.is_established:
            assoc.release()
    return found, final


@pytest.mark.parametrize("syntax", [None, "1.2.840.10008.1.2.2"], ids=["little-endian", "big-endian"])
def test_a_pregnancy_status_out_of_range_costs_only_that_attribute_in_mwl_c_find(ups, http, syntax):
    station = new_aet()
    first, second, third = three_items(http, station)
    corrupt(ups, first, **{PREGNANCY_STATUS: {"vr": "US", "Value": [4]}})
    corrupt(ups, second, **{PREGNANCY_STATUS: {"vr": "US", "Value": [70000]}})
    corrupt(ups, third, **{PREGNANCY_STATUS: {"vr": "US", "Value": [-1]}})
    found, final = mwl_find(ups.dimse.port, station, syntax)
    assert final == 0x0000
    by_name = {str(ds.PatientName): ds.get("PregnancyStatus") for ds in found}
    assert by_name == {"Alpha^Ann": 4, "Bravo^Ben": None, "Charlie^Cy": None}


def test_a_nan_decimal_is_sent_empty_and_every_page_is_strict_json(ups, http):
    station = new_aet()
    first, second, third = three_items(http, station)
    corrupt(ups, second, **{PATIENT_SIZE: {"vr": "DS", "Value": [float("nan")]}})
    corrupt(ups, third, **{PATIENT_SIZE: {"vr": "DS", "Value": [float("inf")]}})
    page = http.get("/workitems", params={"ScheduledStationNameCodeSequence.CodeValue": station})
    assert page.status_code == 200
    items = strict(page.text)
    assert [i["00100010"]["Value"][0]["Alphabetic"] for i in items] == ["Alpha^Ann", "Bravo^Ben", "Charlie^Cy"]
    assert items[1][PATIENT_SIZE] == {"vr": "DS"} and items[2][PATIENT_SIZE] == {"vr": "DS"}
    one = http.get(f"/workitems/{second}")
    assert one.status_code == 200
    (retrieved,) = strict(one.text)
    assert retrieved[PATIENT_SIZE] == {"vr": "DS"} and retrieved["00080018"]["Value"] == [second]


def test_a_text_nan_is_left_as_it_is(ups, http):
    station = new_aet()
    (uid,) = three_items(http, station, patients=("NaN^Infinity",))
    one = http.get(f"/workitems/{uid}")
    assert strict(one.text)[0]["00100010"]["Value"][0]["Alphabetic"] == "NaN^Infinity"


def test_an_unencodable_is_or_binary_value_costs_only_that_attribute_over_ups_dimse(ups, http):
    station = new_aet()
    first, second, third = three_items(http, station)
    corrupt(ups, second, **{INSTANCE_NUMBER: {"vr": "IS", "Value": ["1e999"]}})
    corrupt(ups, third, **{PRIVATE_OB: {"vr": "OB", "InlineBinary": "not base64!"}})
    ae = AE("CT1")
    ae.add_requested_context(UnifiedProcedureStepPull)
    assoc = ae.associate("127.0.0.1", ups.dimse.port, ae_title="WORKLIST")
    assert assoc.is_established
    try:
        status, got = assoc.send_n_get([0x00100010, 0x00200013], UnifiedProcedureStepPull, second)
        assert status.Status == 0x0000
        assert str(got.PatientName) == "Bravo^Ben" and got.InstanceNumber is None
        status, everything = assoc.send_n_get([], UnifiedProcedureStepPull, third)
        assert status.Status == 0x0000
        assert str(everything.PatientName) == "Charlie^Cy" and everything[0x00091010].value in (None, b"")
        query = Dataset()
        query.PatientName = ""
        query.InstanceNumber = None
        query.ScheduledStationNameCodeSequence = [Dataset()]
        query.ScheduledStationNameCodeSequence[0].CodeValue = station
        answers = [
            (status.Status, identifier)
            for status, identifier in assoc.send_c_find(query, UnifiedProcedureStepPull)
            if status
        ]
        assert answers[-1][0] == 0x0000
        assert sorted(str(ds.PatientName) for _, ds in answers[:-1]) == ["Alpha^Ann", "Bravo^Ben", "Charlie^Cy"]
    finally:
        assoc.release()
