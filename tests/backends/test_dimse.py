"""The DIMSE backend (MWL + MPPS) against the embedded server's DIMSE front."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pydicom.uid import generate_uid
from pynetdicom.sop_class import Verification

from app.backends.dimse import DimseBackend
from app.backends.errors import Refused, Unreachable
from app.backends.profiles import Profile
from app.domain.build import NewWorkitem
from app.domain.codes import DISCONTINUATION_REASONS
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.states import State
from app.domain.workitem import Code, PatientName
from app.domain.worklist_query import WorklistQuery


def backend(front, ae: str = "CT1") -> DimseBackend:
    return DimseBackend(
        Profile(
            name="dimse",
            backend="dimse",
            ae_title=ae,
            mwl_host="127.0.0.1",
            mwl_port=front.dimse.port,
            mwl_aet="WORKLIST",
            timeout=5,
        )
    )


def performed(station: str) -> PerformedProcedure:
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return PerformedProcedure(
        Code(station, "99WLSTATION", station),
        start=now,
        end=now,
        procedures=(Code("CTCHEST", "99WLPROC", "CT chest"),),
        technologist="Becker^Anna",
        series=(OutputSeries(generate_uid(), "Axial", instances=(("1.2.840.10008.5.1.4.1.1.2", generate_uid()),)),),
    )


async def test_the_worklist_comes_back_as_the_same_domain_workitems(front):
    b = backend(front)
    items = await b.search(WorklistQuery.today("CT1"))
    assert len(items) == 5
    assert {w.station_names[0].value for w in items} == {"CT1"}
    assert {w.scheduled_start().date() for w in items} == {date.today()}
    assert all(w.accession_number and w.patient_id and w.label for w in items)


async def test_claim_and_complete_by_mpps_reach_the_ups_store(front):
    b = backend(front, "CT2")
    item = (await b.search(WorklistQuery.today("CT2")))[0]
    mpps_uid = generate_uid()
    await b.claim(item.uid, mpps_uid)
    await b.claim(item.uid, mpps_uid)  # a retry after a lost answer is harmless
    store_uid = front.service.search_all(_by_accession(item.accession_number))
    assert '"IN PROGRESS"' in store_uid[0].decode()
    await b.report_progress(item.uid, mpps_uid, 50, "Halfway")
    await b.complete(item.uid, mpps_uid, performed("CT2"))
    await b.complete(item.uid, mpps_uid, performed("CT2"))  # retry: already finished counts as done
    assert '"COMPLETED"' in front.service.search_all(_by_accession(item.accession_number))[0].decode()
    again = await b.search(WorklistQuery.today("CT2").with_(states=(State.COMPLETED,)))
    assert item.accession_number in {w.accession_number for w in again}


async def test_discontinue_cancels_with_the_reason(front):
    b = backend(front, "MR1")
    item = (await b.search(WorklistQuery.today("MR1")))[0]
    mpps_uid = generate_uid()
    await b.claim(item.uid, mpps_uid)
    await b.discontinue(item.uid, mpps_uid, DISCONTINUATION_REASONS[4], "")
    stored = front.service.search_all(_by_accession(item.accession_number))[0].decode()
    assert '"CANCELED"' in stored and "110504" in stored


async def test_an_unscheduled_procedure_is_reported_in_the_unscheduled_form(front):
    b = backend(front, "CR1")
    new = NewWorkitem(
        uid=generate_uid(),
        label="Trauma XR",
        start=datetime.now().strftime("%Y%m%d%H%M%S"),
        patient=PatientName("Unbekannt^Männlich"),
        patient_id="TRAUMA-9",
        station="CR1",
        modality="CR",
        study_uid=generate_uid(),
    )
    created = await b.create(new)
    await b.claim(created.uid, generate_uid())
    from app.domain.search import parse_search

    stored = front.service.search_all(parse_search([("PatientID", "TRAUMA-9")]))
    assert len(stored) == 1 and '"IN PROGRESS"' in stored[0].decode()


async def test_connectivity_is_said_in_plain_words(front):
    checks = await backend(front).check_peers()
    assert [c.ok for c in checks] == [True]
    assert checks[0].sentence == (
        f"The worklist server WORKLIST at 127.0.0.1:{front.dimse.port} answers C-ECHO and "
        "accepts worklist queries (MWL C-FIND) and procedure step reports (MPPS)."
    )
    far = DimseBackend(Profile(backend="dimse", mwl_host="127.0.0.1", mwl_port=9, timeout=2))
    with pytest.raises(Unreachable) as failed:
        await far.search(WorklistQuery.today("CT1"))
    assert failed.value.sentence.startswith("Cannot reach the worklist server at 127.0.0.1:9")
    with pytest.raises(Refused):
        await backend(front).request_cancellation(generate_uid(), None, "")


async def test_each_peer_is_checked_on_its_own_and_an_echo_is_not_taken_for_a_worklist(front):
    from pynetdicom import AE as ServerAE

    echo_only = ServerAE("ECHOONLY")
    echo_only.add_supported_context(Verification)
    server = echo_only.start_server(("127.0.0.1", 0), block=False)
    try:
        profile = Profile(
            name="split",
            backend="dimse",
            ae_title="CT1",
            mwl_host="127.0.0.1",
            mwl_port=server.server_address[1],
            mwl_aet="ECHOONLY",
            mpps_host="127.0.0.1",
            mpps_port=front.dimse.port,
            mpps_aet="WORKLIST",
            timeout=5,
        )
        mwl, mpps = await DimseBackend(profile).check_peers()
    finally:
        server.shutdown()
    assert not mwl.ok and mwl.line() == (
        f"✗ The worklist server ECHOONLY at 127.0.0.1:{server.server_address[1]} "
        "answers C-ECHO and does not accept worklist queries (MWL C-FIND)."
    )
    assert mpps.ok and "accepts procedure step reports (MPPS)" in mpps.sentence
    far = Profile(
        name="far",
        backend="dimse",
        ae_title="CT1",
        mwl_host="127.0.0.1",
        mwl_port=9,
        mwl_aet="RIS",
        mpps_host="127.0.0.1",
        mpps_port=front.dimse.port,
        mpps_aet="WORKLIST",
        timeout=2,
    )
    down, up = await DimseBackend(far).check_peers()
    assert not down.ok and down.sentence.startswith("Cannot reach the worklist server at 127.0.0.1:9") and up.ok


def _by_accession(accession: str):
    from app.domain.search import parse_search

    return parse_search([("ReferencedRequestSequence.AccessionNumber", accession)])


async def test_a_claim_kept_across_a_restart_is_sent_before_any_search(front, tmp_path):
    from app.backends.outbox import Outbox

    mpps_away = DimseBackend(
        Profile(
            name="dimse",
            backend="dimse",
            ae_title="MG1",
            mwl_host="127.0.0.1",
            mwl_port=front.dimse.port,
            mwl_aet="WORKLIST",
            mpps_host="127.0.0.1",
            mpps_port=9,
            timeout=2,
        )
    )
    found = (await mpps_away.search(WorklistQuery.today("MG1")))[0]
    box = Outbox(mpps_away, "MG1 console", tmp_path / "console.db")
    assert not (await box.claim(found)).sent  # the MPPS peer was away: kept
    box.close()
    restarted = Outbox(backend(front, "MG1"), "MG1 console", tmp_path / "console.db")  # nothing searched yet
    try:
        assert await restarted.flush() == 1
        assert '"IN PROGRESS"' in front.service.search_all(_by_accession(found.accession_number))[0].decode()
    finally:
        restarted.close()
