"""The SCP / User-Agent gateway over a Supplement 246 origin server (`serve --upstream sup246:URL`):
DCMTK findscu and a pynetdicom MPPS SCU in front, a second instance of our server behind, which
answers MWL and MPPS over REST."""

from __future__ import annotations

import time

import httpx
import pytest
from pydicom.uid import generate_uid
from test_ups_upstream import (
    DAY,
    FINDSCU,
    PERFORMED,
    STATE,
    by_accession,
    completed,
    findscu,
    in_progress,
    n_create,
    n_set,
    value,
    worklist,
)

from app.domain.dicomjson import from_dataset

MWL = "/modality-scheduled-procedure-steps"
MPPS = "/modality-performed-procedure-steps"
SPS, SPS_ID, STATION, START, STATUS = "00400100", "00400009", "00400001", "00400002", "00400020"


def sup246_steps(base_url: str, station: str) -> list[dict]:
    """What the origin itself answers a Sup 246 client for the station's day, every status."""
    params = {f"{SPS}.{STATION}": station, f"{SPS}.{START}": DAY, f"{SPS}.{STATUS}": "*"}
    response = httpx.get(base_url + MWL, params=params, timeout=10)
    assert response.status_code == 200, response.headers.get("Warning")
    return response.json()


@pytest.mark.interop
def test_dcmtk_findscu_lists_the_origins_steps_with_their_own_step_ids(upstream, gateway_of, tmp_path):
    if not FINDSCU.exists():
        pytest.skip("DCMTK findscu is not installed")
    gateway = gateway_of(upstream.base_url, kind="sup246")
    answers = findscu(gateway.dimse_port, tmp_path, "MR1")
    origin = sup246_steps(upstream.base_url, "MR1")
    assert origin, "the pinned demo day schedules MR1"
    assert sorted(str(a.AccessionNumber) for a in answers) == sorted(value(item, "00080050") for item in origin)
    # the modality names the step in its MPPS by this ID: it must be the origin's, not one of ours
    ours = {str(a.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID) for a in answers}
    theirs = {value(value(item, SPS), SPS_ID) for item in origin}
    assert ours == theirs


def test_mpps_from_a_modality_passes_to_the_origin_and_performs_its_step(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url, kind="sup246")
    item = worklist(gateway.dimse_port, "MR1")[0]
    mpps = generate_uid()

    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    got = httpx.get(f"{upstream.base_url}{MPPS}/{mpps}", timeout=10)
    assert got.status_code == 200 and value(got.json()[0], "00400252") == "IN PROGRESS"  # the same UID upstream
    assert value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "IN PROGRESS"

    assert n_set(gateway.dimse_port, completed(), mpps).Status == 0x0000
    done = by_accession(upstream.base_url, item.AccessionNumber)
    assert value(done, STATE) == "COMPLETED"
    assert value(value(value(done, PERFORMED), "00404033"), "0008103E") == "T2 axial"

    # Retrieve through the gateway's own Sup 246 door answers what the origin has
    through = httpx.get(f"{gateway.base_url}{MPPS}/{mpps}", timeout=10)
    assert through.status_code == 200 and value(through.json()[0], "00400252") == "COMPLETED"
    assert httpx.get(f"{gateway.base_url}{MPPS}/{generate_uid()}", timeout=10).status_code == 404


def test_the_origins_refusal_reaches_the_modality_with_its_reason(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url, kind="sup246")
    item = worklist(gateway.dimse_port, "MR1")[0]
    mpps = generate_uid()
    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    again = n_create(gateway.dimse_port, in_progress(item), mpps)
    assert again.Status != 0x0000 and again.ErrorComment
    with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
        unknown = http.post(f"{MPPS}/{generate_uid()}?update", json=[from_dataset(completed())])
    assert unknown.status_code == 404, unknown.headers.get("Warning")


def test_origin_away_is_a_clear_failure_on_both_doors(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url, kind="sup246")
    item = worklist(gateway.dimse_port, "MR1")[0]
    port = upstream.port
    upstream.stop()

    began = time.monotonic()
    status = n_create(gateway.dimse_port, in_progress(item), generate_uid())
    assert time.monotonic() - began < 15
    assert status.Status == 0x0110 and f"127.0.0.1:{port}" in status.ErrorComment
    with httpx.Client(base_url=gateway.base_url, timeout=20) as http:
        created = http.post(
            f"{MPPS}/{generate_uid()}",
            content=httpx.Request("POST", "/", json=[from_dataset(in_progress(item))]).content,
            headers={"Content-Type": "application/dicom+json"},
        )
        assert created.status_code == 502
        assert f"127.0.0.1:{port}" in created.headers["Warning"]
        search = http.get(MWL, params={f"{SPS}.{STATION}": "MR1"})
        assert search.status_code == 502 and f"127.0.0.1:{port}" in search.headers["Warning"]


def test_upsrs_transactions_are_refused_with_a_sentence(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url, kind="sup246")
    answer = httpx.get(f"{gateway.base_url}/workitems", timeout=10)
    assert answer.status_code == 501
    assert (
        "Supplement 246" in answer.headers["Warning"]
        and "modality-scheduled-procedure-steps" in (answer.headers["Warning"])
    )


@pytest.mark.interop
async def test_a_console_is_told_the_gateway_has_no_upsrs_and_its_capabilities_do_not_claim_it(upstream, gateway_of):
    """A UPS-RS profile against a gateway to a Sup 246 origin: a refusal that says so, not a server
    fault retried for ever; OPTIONS and echo name the Sup 246 services only."""
    from app.backends.dicomweb import DicomWebClient, offered_services
    from app.backends.errors import Refused
    from app.backends.profiles import Profile
    from app.backends.upsrs import UpsRsBackend
    from app.domain.worklist_query import WorklistQuery

    gateway = gateway_of(upstream.base_url, kind="sup246")
    console = UpsRsBackend(Profile(url=gateway.base_url, ae_title="CT1", timeout=5))
    try:
        with pytest.raises(Refused, match="does not offer this \\(HTTP 501\\)") as refused:
            await console.search(WorklistQuery.today("CT1"))
        assert not refused.value.retryable
    finally:
        await console.close()
    client = DicomWebClient(Profile(url=gateway.base_url, timeout=5))
    try:
        offered = await offered_services(client)
    finally:
        await client.close()
    assert offered == {"UPS-RS": False, "Supplement 246 worklist search": True, "MPPS over DICOMweb": True}


def test_a_modality_gets_every_page_of_an_origin_that_pages_like_dicom_rst(gateway_of):
    from dicom_rst_stub import dicom_rst_stub, scheduled_steps

    with dicom_rst_stub(scheduled_steps(450)) as stub:
        gateway = gateway_of(stub.base_url, kind="sup246")
        answers = worklist(gateway.dimse_port, "CT1")
        nothing = worklist(gateway.dimse_port, "CT9")  # `200 []`: a C-FIND with no match, not a failure
    assert len({str(a.AccessionNumber) for a in answers}) == 450
    assert nothing == []
    assert [offset for offset, _ in stub.asked[:3]] == [0, 200, 400]


def test_an_origin_that_never_ends_its_pages_fails_the_search_in_a_sentence(tmp_path):
    from dicom_rst_stub import dicom_rst_stub, scheduled_steps

    from app.domain.query import build_query
    from app.gateway.sup246_upstream import Sup246Upstream
    from app.server.service_api import UpstreamError

    with dicom_rst_stub(scheduled_steps(200), endless=True) as stub:
        upstream = Sup246Upstream(stub.base_url, bound=600)
        try:
            got: list[dict] = []
            with pytest.raises(UpstreamError) as failed:
                for item in upstream.mwl_items(build_query([], upstream.local)):
                    got.append(item)
        finally:
            upstream.close()
    assert len(got) == 400 and failed.value.http_status == 502  # the page that reaches the bound is not passed on
    assert f"The worklist server at 127.0.0.1:{stub.port} had 600 procedure steps" in str(failed.value)
