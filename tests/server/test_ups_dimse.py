"""The UPS SOP classes on the DIMSE front, over real pynetdicom associations: Push, Pull,
Watch and Query as an SCU would use them, each checked against what UPS-RS clients of the
same server see."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep, UnifiedProcedureStepPull, UnifiedProcedureStepPush,
    UnifiedProcedureStepQuery, UnifiedProcedureStepWatch,
)

from app.domain.dicomjson import to_dataset
from app.server import ServerConfig, UPSServer
from app.server.demo import seed_demo_day
from upsrs_client import (
    GLOBAL, change_state, claim, create, item, listen, new_aet, performed, update, value,
)

PUSH = UnifiedProcedureStepPush
TODAY = date.today().strftime("%Y%m%d")
CHANGE_STATE, REQUEST_CANCELLATION, SUBSCRIBE, UNSUBSCRIBE, SUSPEND = 1, 2, 3, 4, 5


@dataclass
class Setup:
    server: UPSServer

    @property
    def port(self) -> int:
        return self.server.dimse.port  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def ups(tmp_path_factory) -> Iterator[Setup]:
    """The demo server with its DIMSE front."""
    server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path_factory.mktemp("ups-dimse") / "w.db")))
    seed_demo_day(server.service)
    server.start()
    try:
        yield Setup(server)
    finally:
        server.stop()


@pytest.fixture()
def http(ups) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ups.server.base_url, timeout=10.0) as client:
        yield client


def associate(port: int, calling: str = "CT1", contexts=(PUSH, UnifiedProcedureStepPull, UnifiedProcedureStepWatch)):
    ae = AE(calling)
    for context in contexts:
        ae.add_requested_context(context)
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST")
    assert assoc.is_established
    return assoc


@pytest.fixture()
def scu(ups):
    assoc = associate(ups.port)
    yield assoc
    assoc.release()


def ds(**attrs) -> Dataset:
    out = Dataset()
    for keyword, v in attrs.items():
        setattr(out, keyword, v)
    return out


def action(assoc, uid: str, action_type: int, **info) -> Dataset:
    status, _ = assoc.send_n_action(ds(**info) if info else None, action_type, PUSH, uid)
    assert status, "no N-ACTION response"
    return status


def set_(assoc, uid: str, **changes) -> int:
    status, _ = assoc.send_n_set(ds(**changes), PUSH, uid)
    return status.Status


def station_query(station: str = "CT1", **keys) -> Dataset:
    query = ds(SOPInstanceUID="", PatientName="", ProcedureStepState="", ScheduledProcedureStepStartDateTime=f"{TODAY}-",
               **keys)
    query.ScheduledStationNameCodeSequence = [ds(CodeValue=station)]
    return query


def find(assoc, query: Dataset, model=UnifiedProcedureStepPull) -> tuple[list[Dataset], Dataset]:
    found, final = [], None
    for status, identifier in assoc.send_c_find(query, model):
        if status and status.Status in (0xFF00, 0xFF01):
            found.append(identifier)
        elif status:
            final = status
    return found, final


def new_workitem(station: str = "CT1", **fields) -> tuple[Dataset, str]:
    """An N-CREATE attribute list (the UID goes in the command, never in the dataset) and its UID."""
    json = item(station, **fields)
    uid = json.pop("00080018")["Value"][0]
    return to_dataset(json), uid


# -- Push -------------------------------------------------------------------------------------------------
def test_push_n_create_makes_a_workitem_upsrs_retrieves(ups, scu, http):
    attrs, uid = new_workitem("CT2", patient="Müller^Jürgen")
    attrs.SpecificCharacterSet = "ISO_IR 100"
    status, reply = scu.send_n_create(attrs, PUSH, uid)
    assert status.Status == 0x0000
    assert reply.SOPInstanceUID == uid and reply.ProcedureStepState == "SCHEDULED" and "TransactionUID" not in reply
    r = http.get(f"/workitems/{uid}")
    assert r.status_code == 200
    stored = r.json()[0]
    assert value(stored, "00100010") == {"Alphabetic": "Müller^Jürgen"}
    assert value(stored, "00080016") == PUSH and value(stored, "00741000") == "SCHEDULED"
    assert scu.send_n_create(attrs, PUSH, uid)[0].Status == 0x0111  # the same UID again


def test_push_n_create_refuses_what_ps3_4_refuses(scu):
    attrs, uid = new_workitem()
    attrs.ProcedureStepState = "IN PROGRESS"
    refused, _ = scu.send_n_create(attrs, PUSH, uid)
    assert refused.Status == 0xC309 and "SCHEDULED" in refused.ErrorComment
    attrs, uid = new_workitem()
    del attrs.ScheduledProcedureStepPriority
    assert scu.send_n_create(attrs, PUSH, uid)[0].Status == 0x0121


# -- Pull, Watch, Query: C-FIND ---------------------------------------------------------------------------
@pytest.mark.parametrize("model", [UnifiedProcedureStepPull, UnifiedProcedureStepWatch, UnifiedProcedureStepQuery])
def test_c_find_finds_what_upsrs_search_finds(ups, http, model):
    assoc = associate(ups.port, contexts=(model,))
    try:
        found, final = find(assoc, station_query("CT1"), model)
    finally:
        assoc.release()
    searched = http.get("/workitems", params={"ScheduledStationNameCodeSequence.CodeValue": "CT1",
                                              "ScheduledProcedureStepStartDateTime": f"{TODAY}-"}).json()
    assert final.Status == 0x0000 and len(found) >= 5
    assert {f.SOPInstanceUID for f in found} == {value(s, "00080018") for s in searched}
    for answer in found:
        assert answer.ScheduledStationNameCodeSequence[0].CodeValue == "CT1"
        assert answer.ScheduledProcedureStepStartDateTime[:8] >= TODAY


def test_c_find_answers_hold_the_requested_keys_never_the_transaction_uid(ups, scu, http):
    uid = create(http, item("MG1", patient="山田^太郎"))
    claim(http, uid)
    found, final = find(scu, ds(SOPInstanceUID=uid, PatientName="", ProcedureStepState="", TransactionUID=""))
    assert final.Status == 0x0000 and len(found) == 1
    answer = found[0]
    assert {e.keyword for e in answer} == {"SpecificCharacterSet", "SOPInstanceUID", "PatientName", "ProcedureStepState"}
    assert answer.SpecificCharacterSet == "ISO_IR 192" and str(answer.PatientName) == "山田^太郎"
    assert answer.ProcedureStepState == "IN PROGRESS"


def test_c_find_refuses_matching_on_the_transaction_uid(scu):
    found, final = find(scu, ds(SOPInstanceUID="", TransactionUID=generate_uid()))
    assert found == [] and final.Status == 0xA900 and "Transaction UID" in final.ErrorComment


# -- Pull: N-ACTION change state, N-SET, N-GET ---------------------------------------------------------------
def test_a_dimse_claim_shows_up_live_on_upsrs_and_locks_out_a_second_performer(ups, scu, http):
    uid = create(http, item("CT2"))
    events = listen(http, uid, new_aet())
    try:
        events.wait_for(uid, 1, **{"00741000": "SCHEDULED"})
        assert action(scu, uid, CHANGE_STATE, ProcedureStepState="IN PROGRESS").Status == 0xC301  # no Transaction UID
        tx = generate_uid()
        assert action(scu, uid, CHANGE_STATE, ProcedureStepState="IN PROGRESS", TransactionUID=tx).Status == 0x0000
        events.wait_for(uid, 1, **{"00741000": "IN PROGRESS"})
        other = associate(ups.port, "CT9")
        try:
            assert action(other, uid, CHANGE_STATE, ProcedureStepState="IN PROGRESS",
                          TransactionUID=generate_uid()).Status == 0xC302
            assert action(other, uid, CHANGE_STATE, ProcedureStepState="CANCELED",
                          TransactionUID=generate_uid()).Status == 0xC301
        finally:
            other.release()
        assert value(http.get(f"/workitems/{uid}").json()[0], "00741000") == "IN PROGRESS"
        # COMPLETED needs the performed data (C304); with it, completion is reported; again is a warning
        assert action(scu, uid, CHANGE_STATE, ProcedureStepState="COMPLETED", TransactionUID=tx).Status == 0xC304
        assert update(http, uid, tx, performed("CT2")).status_code == 200
        assert action(scu, uid, CHANGE_STATE, ProcedureStepState="COMPLETED", TransactionUID=tx).Status == 0x0000
        events.wait_for(uid, 1, **{"00741000": "COMPLETED"})
        assert action(scu, uid, CHANGE_STATE, ProcedureStepState="COMPLETED", TransactionUID=tx).Status == 0xB306
    finally:
        events.close()


def test_n_set_follows_the_transaction_uid_rules(ups, scu, http):
    uid = create(http, item("US1"))
    tx = generate_uid()
    assert set_(scu, uid, ProcedureStepLabel="Abdomen", TransactionUID=tx) == 0xC310  # SCHEDULED: no UID allowed
    assert set_(scu, uid, ProcedureStepLabel="Abdomen") == 0x0000
    assert action(scu, uid, CHANGE_STATE, ProcedureStepState="IN PROGRESS", TransactionUID=tx).Status == 0x0000
    assert set_(scu, uid, ProcedureStepLabel="Abdomen US") == 0xC301
    assert set_(scu, uid, ProcedureStepLabel="Abdomen US", TransactionUID=generate_uid()) == 0xC301
    assert set_(scu, uid, PatientID="OTHER", TransactionUID=tx) == 0x0106  # Not Allowed in an N-SET
    progress_item = ds(ProcedureStepProgress="40", ProcedureStepProgressDescription="kidneys")
    assert set_(scu, uid, ProcedureStepLabel="Abdomen US", TransactionUID=tx,
                ProcedureStepProgressInformationSequence=[progress_item]) == 0x0000
    stored = http.get(f"/workitems/{uid}").json()[0]
    assert value(stored, "00741204") == "Abdomen US"
    assert value(value(stored, "00741002"), "00741006") == "kidneys"
    assert action(scu, uid, CHANGE_STATE, ProcedureStepState="CANCELED", TransactionUID=tx).Status == 0x0000
    assert set_(scu, uid, ProcedureStepLabel="late", TransactionUID=tx) == 0xC300
    assert set_(scu, generate_uid(), ProcedureStepLabel="nowhere") == 0xC307


def test_n_get_returns_what_was_asked_and_never_the_transaction_uid(ups, scu, http):
    attrs, uid = new_workitem("MR1", patient="Ærø^Søren")
    assert scu.send_n_create(attrs, PUSH, uid)[0].Status == 0x0000
    claim(http, uid)
    status, got = scu.send_n_get([0x00100010, 0x00741000, 0x00081195, 0x00380010], PUSH, uid)
    assert status.Status == 0x0000
    assert {e.keyword for e in got} == {"SpecificCharacterSet", "PatientName", "ProcedureStepState", "AdmissionID"}
    assert str(got.PatientName) == "Ærø^Søren" and got.ProcedureStepState == "IN PROGRESS"
    status, everything = scu.send_n_get([], PUSH, uid)
    assert status.Status == 0x0000 and "TransactionUID" not in everything
    assert everything.SOPInstanceUID == uid and everything.ScheduledStationNameCodeSequence[0].CodeValue == "MR1"
    assert scu.send_n_get([0x00100010], PUSH, generate_uid())[0].Status == 0xC307


def test_mpps_requests_still_reach_the_mpps_scp(ups):
    assoc = associate(ups.port, contexts=(ModalityPerformedProcedureStep, PUSH))
    try:
        # an MPPS N-SET of an unknown instance is the MPPS SCP's 0112, not UPS's C307
        assert assoc.send_n_set(ds(PerformedProcedureStepStatus="COMPLETED"), ModalityPerformedProcedureStep,
                                generate_uid())[0].Status == 0x0112
        assert assoc.send_n_get([0x00400252], ModalityPerformedProcedureStep, generate_uid())[0].Status == 0x0211
    finally:
        assoc.release()


# -- Push, Watch: request cancellation -----------------------------------------------------------------------
def test_request_cancellation_cancels_a_scheduled_item_and_asks_the_performer_of_one_in_progress(ups, http):
    scheduled, busy = create(http, item("CR1")), create(http, item("CR1"))
    tx = claim(http, busy)
    ris = associate(ups.port, "RIS", contexts=(PUSH,))
    events = listen(http, GLOBAL, new_aet())
    try:
        assert action(ris, scheduled, REQUEST_CANCELLATION, ReasonForCancellation="Patient left").Status == 0x0000
        events.wait_for(scheduled, 1, **{"00741000": "CANCELED"})
        assert action(ris, busy, REQUEST_CANCELLATION, ContactDisplayName="Dr. Who").Status == 0x0000
        asked = events.wait_for(busy, 2)
        assert value(asked, "00741236") == "RIS" and value(asked, "0074100C") == "Dr. Who"
        assert action(ris, generate_uid(), REQUEST_CANCELLATION).Status == 0xC307
    finally:
        events.close()
        ris.release()
    stored = http.get(f"/workitems/{scheduled}").json()[0]
    assert value(stored, "00741000") == "CANCELED"
    assert value(value(stored, "00741002"), "00741238") == "Patient left"
    assert value(http.get(f"/workitems/{busy}").json()[0], "00741000") == "IN PROGRESS"
    assert change_state(http, busy, "CANCELED", tx).status_code == 200


# -- Watch: subscriptions and N-EVENT-REPORTs ----------------------------------------------------------------
def test_subscribing_an_ae_without_an_address_is_refused_with_c308(scu, http):
    uid = create(http, item())
    refused = action(scu, uid, SUBSCRIBE, ReceivingAE="NOWHERE")
    assert refused.Status == 0xC308 and "NOWHERE" in refused.ErrorComment
    assert action(scu, uid, 9).Status == 0x0123
