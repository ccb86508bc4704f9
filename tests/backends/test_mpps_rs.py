"""The DICOMweb MWL + MPPS backend (Supplement 246) against the embedded server, and against a
small peer that answers in the forms the supplement left open."""

from __future__ import annotations

import json
from datetime import datetime
from http.server import BaseHTTPRequestHandler

import pytest
from embedded_server import PINNED_DAY, start_server
from pydicom.uid import generate_uid
from stub_http import stub_http_server

from app.backends import make_backend
from app.backends.errors import AlreadyFinished, Conflict, Refused
from app.backends.mpps_rs import MppsRsBackend
from app.backends.outbox import Outbox
from app.backends.profiles import Profile
from app.domain.build import NewWorkitem
from app.domain.codes import DISCONTINUATION_REASONS
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.search import parse_search
from app.domain.states import State
from app.domain.workitem import Code, PatientName
from app.domain.worklist_query import WorklistQuery


def backend(url: str, ae: str) -> MppsRsBackend:
    made = make_backend(Profile(name="mpps-rs", backend="mpps-rs", url=url, ae_title=ae, timeout=5).check())
    assert isinstance(made, MppsRsBackend)
    return made


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


def stored(server, accession: str) -> str:
    return server.service.search_all(parse_search([("ReferencedRequestSequence.AccessionNumber", accession)]))[
        0
    ].decode()


def pinned(station: str) -> WorklistQuery:
    return WorklistQuery.today(station, day=PINNED_DAY)


async def test_the_worklist_is_the_one_mwl_c_find_gives(front):
    from app.backends.dimse import DimseBackend

    b = backend(front.base_url, "MR1")
    dimse = DimseBackend(
        Profile(backend="dimse", ae_title="MR1", mwl_port=front.dimse.port, mwl_aet="WORKLIST", timeout=5)
    )
    try:
        rest = await b.search(pinned("MR1"))
        classic = await dimse.search(pinned("MR1"))
        named = await b.search(pinned("MR1").with_(patient_name="N*"))
    finally:
        await b.close()
    assert len(rest) == 5 and {w.station_names[0].value for w in rest} == {"MR1"}
    facts = lambda items: sorted((w.uid, w.accession_number, w.patient_id, w.label) for w in items)  # noqa: E731
    assert facts(rest) == facts(classic)  # the same stable workitem UID per scheduled step
    assert [w.patient_name.display().split(",")[0] for w in named] == ["Núñez"]


async def test_start_progress_and_complete_reach_the_store_and_the_list_shows_them(front):
    b = backend(front.base_url, "CT2")
    try:
        item = (await b.search(pinned("CT2")))[0]
        mpps = generate_uid()
        await b.claim(item.uid, mpps)
        await b.claim(item.uid, mpps)  # a retry after a lost answer is harmless
        assert '"IN PROGRESS"' in stored(front, item.accession_number)
        listed = {w.uid: w for w in await b.search(pinned("CT2"))}
        assert listed[item.uid].state is State.IN_PROGRESS  # the console's own started step is still listed
        await b.report_progress(item.uid, mpps, 50, "Halfway")
        await b.set_performed(item.uid, mpps, performed("CT2"))
        assert "Halfway" in json.dumps(await b.retrieve_mpps(mpps))
        await b.complete(item.uid, mpps, performed("CT2"))
        await b.complete(item.uid, mpps, performed("CT2"))  # retry: already finished counts as done
        assert '"COMPLETED"' in stored(front, item.accession_number)
        done = await b.search(pinned("CT2").with_(states=(State.COMPLETED,)))
        assert [w.uid for w in done] == [item.uid]
        with pytest.raises(AlreadyFinished):
            await b.report_progress(item.uid, mpps, 90, "Too late")
    finally:
        await b.close()


async def test_discontinue_cancels_with_the_reason(front):
    b = backend(front.base_url, "US1")
    try:
        item = (await b.search(pinned("US1")))[0]
        mpps = generate_uid()
        await b.claim(item.uid, mpps)
        await b.discontinue(item.uid, mpps, DISCONTINUATION_REASONS[4], "Patient left")
        await b.discontinue(item.uid, mpps, DISCONTINUATION_REASONS[4], "Patient left")  # a retry is done
        text = stored(front, item.accession_number)
        assert '"CANCELED"' in text and DISCONTINUATION_REASONS[4].value in text
        assert (await b.retrieve(item.uid)).state is State.CANCELED
    finally:
        await b.close()


async def test_a_second_claim_is_refused_with_409_and_said_as_another_station(front):
    first, second = backend(front.base_url, "CR1"), backend(front.base_url, "CR2")
    try:
        item = (await first.search(pinned("CR1")))[0]
        await first.claim(item.uid, generate_uid())
        await second.search(pinned("CR1"))
        with pytest.raises(Conflict) as refused:
            await second.claim(item.uid, generate_uid())
        assert (
            refused.value.status == 409 and refused.value.sentence == "Another station already started this procedure."
        )
    finally:
        await first.close()
        await second.close()


async def test_an_unscheduled_procedure_is_created_by_its_mpps(front):
    b = backend(front.base_url, "MG1")
    new = NewWorkitem(
        uid=generate_uid(),
        label="Mammography",
        start=datetime.now().strftime("%Y%m%d%H%M%S"),
        patient=PatientName("Unplanned^Ursula"),
        patient_id=f"U{generate_uid()[-8:]}",
        station="MG1",
        modality="MG",
    )
    try:
        created = await b.create(new)
        mpps = generate_uid()
        await b.claim(created.uid, mpps)
        await b.complete(created.uid, mpps, performed("MG1"))
    finally:
        await b.close()
    found = [text.decode() for text in front.service.search_all(parse_search([("PatientID", new.patient_id)]))]
    assert len(found) == 1 and '"COMPLETED"' in found[0] and "Unplanned" in found[0]


async def test_reports_wait_in_the_outbox_while_the_server_is_down_and_go_when_it_is_back(tmp_path):
    from app.server.demo import seed_demo_day

    server = start_server(tmp_path / "ups.db")
    seed_demo_day(server.service, today=PINNED_DAY)
    port, url = server.port, server.base_url
    b = backend(url, "CT1")
    box = Outbox(b, "test", tmp_path / "console.db")
    try:
        item = (await b.search(pinned("CT1")))[0]
        assert (await box.claim(item)).sent
        server.stop()
        waiting = await box.complete(item, performed("CT1"))
        assert not waiting.sent and "will be sent when the server is reachable" in waiting.sentence
        assert box.pending() == 1
        server = start_server(tmp_path / "ups.db", port=port)
        assert await box.flush() == 1 and box.pending() == 0
        assert '"COMPLETED"' in stored(server, item.accession_number)
    finally:
        box.close()
        await b.close()
        server.stop()


async def test_a_base_without_sup_246_says_which_services_the_server_offers(server):
    b = backend(server.base_url.replace("/dicom-web", "/nothing-here"), "CT1")
    try:
        with pytest.raises(Refused) as missing:
            await b.search(WorklistQuery.today("CT1"))
        assert "has no DICOMweb worklist (Supplement 246)" in missing.value.sentence
    finally:
        await b.close()


# -- a peer that takes the supplement's other forms ----------------------------------------------
class Peer(BaseHTTPRequestHandler):
    """Create answers 200 (the examples' form), Retrieve an object, `?update` is unknown (405)
    while `/update` works, and the Search answers one item."""

    seen: list[tuple[str, str]] = []
    mpps: dict[str, dict] = {}
    item: dict = {}

    def log_message(self, *args: object) -> None:
        return None

    def _answer(self, status: int, body: object = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path))
        if self.path.startswith("/rs/modality-scheduled-procedure-steps"):
            return self._answer(200, [self.item])
        uid = self.path.rsplit("/", 1)[1]
        return self._answer(200, self.mpps[uid]) if uid in self.mpps else self._answer(404)

    def do_POST(self) -> None:
        self.seen.append(("POST", self.path))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))[0]
        if self.path.endswith("?update"):
            return self._answer(405)
        if self.path.endswith("/update"):
            uid = self.path.split("/")[-2]
            self.mpps[uid].update(body)
            return self._answer(200)
        self.mpps[self.path.rsplit("/", 1)[1]] = body
        return self._answer(200)


@pytest.fixture()
def peer():
    from app.domain.mapping import ups_to_mwl

    new = NewWorkitem(
        uid=generate_uid(),
        label="CT head",
        start=f"{PINNED_DAY:%Y%m%d}090000",
        patient=PatientName("Peer^Paula"),
        patient_id="PP1",
        station="CT1",
        modality="CT",
        accession="ACC-PEER",
        study_uid=generate_uid(),
    )
    Peer.seen, Peer.mpps, Peer.item = [], {}, ups_to_mwl(new.to_json())
    with stub_http_server(Peer, "/rs") as url:
        yield url


async def test_the_forms_the_supplement_left_open_are_accepted(peer):
    b = backend(peer, "CT1")
    try:
        [item] = await b.search(pinned("CT1"))
        mpps = generate_uid()
        await b.claim(item.uid, mpps)  # 200, not 201
        sent = Peer.mpps[mpps]
        assert sent["00400252"]["Value"] == ["IN PROGRESS"]
        assert sent["00400270"]["Value"][0]["00080050"]["Value"] == ["ACC-PEER"]  # copied from the MWL item
        await b.report_progress(item.uid, mpps, 40, "Scout")  # ?update → 405 → /update
        await b.complete(item.uid, mpps, performed("CT1"))  # straight to /update, remembered
        assert (await b.retrieve_mpps(mpps))["00400252"]["Value"] == ["COMPLETED"]  # an object, not an array
    finally:
        await b.close()
    posts = [path for method, path in Peer.seen if method == "POST"]
    assert posts == [
        f"/rs/modality-performed-procedure-steps/{mpps}",
        f"/rs/modality-performed-procedure-steps/{mpps}?update",
        f"/rs/modality-performed-procedure-steps/{mpps}/update",
        f"/rs/modality-performed-procedure-steps/{mpps}/update",
    ]
    search = next(path for method, path in Peer.seen if "scheduled" in path)
    assert "00400100.00400020=%2A" in search  # every status asked for: the console's own started steps too


async def test_a_claim_over_mpps_rs_is_in_progress_over_upsrs_and_started_over_dimse_mwl(front):
    from pynetdicom import AE
    from pynetdicom.sop_class import ModalityWorklistInformationFind

    from app.backends.dimse_worklist import mwl_identifier
    from app.backends.upsrs import UpsRsBackend

    b = backend(front.base_url, "CT1")
    ups = UpsRsBackend(Profile(url=front.base_url, ae_title="CT1", timeout=5))
    try:
        item = next(w for w in await b.search(pinned("CT1")) if w.state is State.SCHEDULED)
        await b.claim(item.uid, generate_uid())
        [over_upsrs] = [w for w in await ups.search(pinned("CT1")) if w.accession_number == item.accession_number]
        over_upsrs = await ups.retrieve(over_upsrs.uid)
    finally:
        await b.close()
        await ups.close()
    assert over_upsrs.state is State.IN_PROGRESS
    assert over_upsrs.performed is not None and over_upsrs.performed.station.value == "CT1"
    identifier = mwl_identifier(pinned("CT1").with_(accession=item.accession_number))
    ae = AE("CHECK")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", front.dimse.port, ae_title="WORKLIST")
    try:
        assert assoc.is_established
        answers = [a for s, a in assoc.send_c_find(identifier, ModalityWorklistInformationFind) if a is not None]
    finally:
        assoc.release()
    [answer] = answers
    assert answer.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus == "STARTED"
    fresh = backend(front.base_url, "CT1")
    try:
        again = {w.uid: w for w in await fresh.search(pinned("CT1"))}
    finally:
        await fresh.close()
    assert again[item.uid].state is State.IN_PROGRESS  # and over Sup 246 itself, from a fresh console


# -- a server that pages as DICOM-RST does -------------------------------------------------------
async def test_pages_of_200_without_a_warning_are_followed_to_the_last_item():
    from dicom_rst_stub import dicom_rst_stub, scheduled_steps

    with dicom_rst_stub(scheduled_steps(450)) as stub:
        b = backend(stub.base_url, "CT1")
        try:
            items = await b.search(pinned("CT1"))
            nothing = await b.search(pinned("CT9"))  # `200 []`: no match, not a fault
        finally:
            await b.close()
    assert len(items) == 450 and len({w.uid for w in items}) == 450
    assert nothing == []
    assert [offset for offset, _ in stub.asked[:3]] == [0, 200, 400]  # the last page, 50, is short: the end


async def test_a_server_that_never_ends_its_pages_is_refused_in_a_sentence(monkeypatch):
    from dicom_rst_stub import dicom_rst_stub, scheduled_steps

    monkeypatch.setattr("app.backends.mpps_rs.MAX_RESULTS", 1000)
    with dicom_rst_stub(scheduled_steps(200), endless=True) as stub:
        b = backend(stub.base_url, "CT1")
        try:
            with pytest.raises(Refused) as refused:
                await b.search(pinned("CT1"))
        finally:
            await b.close()
    assert f"The worklist server at 127.0.0.1:{stub.port} had 1000 procedure steps" in refused.value.sentence
    assert "narrow the search" in refused.value.sentence
    assert len(stub.asked) == 5


async def test_a_server_that_ignores_offset_gives_its_first_page_once():
    from dicom_rst_stub import dicom_rst_stub, scheduled_steps

    with dicom_rst_stub(scheduled_steps(120), repeats=True) as stub:
        b = backend(stub.base_url, "CT1")
        try:
            items = await b.search(pinned("CT1"))
        finally:
            await b.close()
    assert len(items) == 120 and len(stub.asked) == 2
