"""The gateway's own Supplement 246 Search door reads keys by the same rule as the embedded
server's: an un-nested Scheduled Procedure Step key narrows to its station or modality, a key that
cannot be matched is refused, and each answer holds every type 2 return key of Table K.6-1."""

from __future__ import annotations

import httpx
import pytest
from dimse_peers import WLMSCPFS
from test_dimse_upstream import gateway, mpps, spec, worklist
from test_ups_upstream import DAY, value

MWL = "/modality-scheduled-procedure-steps"
SPS = "00400100"
__all__ = ["mpps", "worklist"]  # fixtures of the DIMSE gateway's tests, used here


@pytest.mark.parametrize("kind", ["upsrs", "sup246"])
def test_the_gateways_search_door_matches_unnested_keys_and_returns_type_2_keys(upstream, gateway_of, kind):
    gateway = gateway_of(upstream.base_url, kind=kind)
    with httpx.Client(base_url=gateway.base_url, timeout=20) as http:
        day = http.get(MWL, params={f"{SPS}.00400002": DAY})
        assert day.status_code == 200, day.headers.get("Warning")
        station = http.get(MWL, params={"ScheduledStationAETitle": "MR1", "ScheduledProcedureStepStartDate": DAY})
        assert station.status_code == 200 and "Warning" not in station.headers, station.headers.get("Warning")
        assert 0 < len(station.json()) < len(day.json())
        assert {value(value(i, SPS), "00400001") for i in station.json()} == {"MR1"}
        for item in station.json():
            assert item["00081110"] == {"vr": "SQ"} and "00321032" in item and "00102000" in item
        refused = http.get(MWL, params={"PreMedication": "none"})
        assert refused.status_code == 400 and "PreMedication" in refused.headers["Warning"]


@pytest.mark.interop
@pytest.mark.skipif(not WLMSCPFS.exists(), reason="DCMTK wlmscpfs is not installed")
def test_through_a_dimse_ris_the_type_2_values_it_holds_arrive(worklist, mpps, tmp_path):
    """The gateway asks the RIS for every type 2 key (the same list), so what wlmscpfs holds of the
    OFFIS sample wklist1 reaches a Sup 246 client; what it does not hold comes back empty."""
    with gateway(spec(worklist.port, mpps.port), tmp_path / "gw.db") as (server, _):
        params = {"PatientID": "AV35674", "AccessionNumber": "00000", "ScheduledProcedureStepStatus": "*"}
        answer = httpx.get(server.base_url + MWL, params=params, timeout=20)
        assert answer.status_code == 200, answer.headers.get("Warning")
        [item] = answer.json()
        assert value(item, "00102000") == "METASTASIS" and value(item, "00102110") == "TANTAL"
        assert value(item, "00321032") == {"Alphabetic": "SMITH"} and value(item, "00401003") == "LOW"
        assert value(value(item, SPS), "00400006") == {"Alphabetic": "JOHNSON"}
        assert item["00081110"] == {"vr": "SQ"} and item["00101030"] == {"vr": "DS"}
