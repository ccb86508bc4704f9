"""A step scheduled for two stations, on a DIMSE profile: the console of the second station lists
it, and its Station column names both ((0040,0001) is VM 1-n, PS3.4 Table K.6-1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from console_helpers import cell, rows
from pydicom.uid import generate_uid

from app.domain import tags as t
from app.domain.build import STATION_SCHEME, NewWorkitem, code_item
from app.domain.workitem import Code, PatientName
from app.server import ServerConfig, UPSServer


@pytest.fixture()
def shared_step(tmp_path) -> Iterator[UPSServer]:
    """A server with its DIMSE front holding one step of today (the moved clock's, under one)
    scheduled for US1 and US9."""
    server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"))).start()
    dataset = NewWorkitem(
        uid=generate_uid(),
        label="Abdomen ultrasound",
        start=f"{datetime.now():%Y%m%d}000000",
        patient=PatientName("Quispe^Rosa"),
        patient_id="P-SHARED",
        station="US1",
        modality="US",
        accession="SHARED1",
    ).to_json()
    dataset[t.STATION_NAME_CODE_SEQ]["Value"].append(code_item(Code("US9", STATION_SCHEME, "US9")))
    server.service.create(dataset)
    try:
        yield server
    finally:
        server.stop()


def test_the_second_stations_console_lists_the_step_naming_both_stations(qtbot, open_console, shared_step):
    assert shared_step.dimse is not None
    front = f"127.0.0.1:{shared_step.dimse.port}:WORKLIST"
    window = open_console("--backend", "dimse", "--mwl", front, "--ae-title", "US9")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10000)
    [shown] = rows(window)  # under a UID of the MWL side's own making
    assert shown.accession_number == "SHARED1"
    assert cell(window, shown.uid, "Station") == "US1, US9"
