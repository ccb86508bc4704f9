"""A workitem scheduled for several stations on the embedded server: every door finds it by any
of them and names them all — MWL C-FIND with a multi-valued Scheduled Station AE Title
((0040,0001) is VM 1-n, PS3.4 Table K.6-1), Supplement 246 Search, and UPS-RS Search."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid
from test_dimse_front import find, mwl_query

from app.domain import tags as t
from app.domain.build import STATION_SCHEME, NewWorkitem, code_item
from app.domain.workitem import Code, PatientName
from app.server import ServerConfig, UPSServer

DAY = PINNED_DAY.strftime("%Y%m%d")
STATIONS = ["US1", "US9"]


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[tuple[UPSServer, str]]:
    """A server with its DIMSE front holding one workitem scheduled for US1 and US9."""
    config = ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path_factory.mktemp("shared") / "w.db"))
    server = UPSServer(config).start()
    dataset = NewWorkitem(
        uid=generate_uid(),
        label="Abdomen ultrasound",
        start=f"{DAY}101500",
        patient=PatientName("Quispe^Rosa"),
        patient_id="P-SHARED",
        station="US1",
        modality="US",
        accession="SHARED1",
    ).to_json()
    dataset[t.STATION_NAME_CODE_SEQ]["Value"].append(code_item(Code("US9", STATION_SCHEME, "US9")))
    uid = server.service.create(dataset).uid
    try:
        yield server, uid
    finally:
        server.stop()


@pytest.mark.parametrize("station", STATIONS)
def test_mwl_c_find_for_either_station_answers_the_step_with_both(shared, station):
    server, _ = shared
    assert server.dimse is not None
    [item], final = find(server.dimse.port, mwl_query(station))
    assert final == 0x0000 and item.AccessionNumber == "SHARED1"
    element = item.ScheduledProcedureStepSequence[0]["ScheduledStationAETitle"]
    assert element.VM == 2 and list(element.value) == STATIONS


@pytest.mark.parametrize("station", STATIONS)
def test_supplement_246_and_ups_rs_search_for_either_station_answer_it_with_both(shared, station):
    server, uid = shared
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        mwl = http.get(
            "/modality-scheduled-procedure-steps", params={"00400100.00400001": station, "00400100.00400002": DAY}
        )
        assert mwl.status_code == 200, mwl.text
        [item] = mwl.json()
        assert item["00400100"]["Value"][0]["00400001"]["Value"] == STATIONS
        ups = http.get("/workitems", params={"ScheduledStationNameCodeSequence.CodeValue": station})
        assert ups.status_code == 200, ups.text
        [workitem] = ups.json()
        assert workitem[t.SOP_INSTANCE_UID]["Value"] == [uid]
        assert [c[t.CODE_VALUE]["Value"][0] for c in workitem[t.STATION_NAME_CODE_SEQ]["Value"]] == STATIONS
