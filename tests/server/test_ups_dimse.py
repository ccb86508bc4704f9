"""The UPS SOP classes on the DIMSE front, over real pynetdicom associations: Push, Pull,
Watch and Query as an SCU would use them, and N-EVENT-REPORTs to a UPS Event listener —
each checked against what UPS-RS clients of the same server see."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from embedded_server import PINNED_DAY
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    UnifiedProcedureStepEvent,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
    UnifiedProcedureStepQuery,
    UnifiedProcedureStepWatch,
)
from upsrs_client import (
    FILTERED,
    GLOBAL,
    change_state,
    claim,
    create,
    item,
    listen,
    new_aet,
    performed,
    progress,
    update,
    value,
)
from waiting import until

from app.domain.dicomjson import to_dataset
from app.server import ServerConfig, UPSServer
from app.server.demo import seed_demo_day

PUSH = UnifiedProcedureStepPush
TODAY = PINNED_DAY.strftime("%Y%m%d")  # the demo day the server holds
CHANGE_STATE, REQUEST_CANCELLATION, SUBSCRIBE, UNSUBSCRIBE, SUSPEND = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Report:
    called: str
    event_type: int
    sop_class: str
    uid: str
    info: Dataset


class Listener:
    """A UPS Event SCU: accepts the server's associations and keeps every N-EVENT-REPORT."""

    def __init__(self, port: int = 0) -> None:
        self.reports: list[Report] = []
        self.arrived = threading.Condition()
        ae = AE("WATCHER")
        # the role a conformant subscriber takes when the server proposes to be the UPS Event SCP
        ae.add_supported_context(UnifiedProcedureStepEvent, scu_role=False, scp_role=True)
        self.server = ae.start_server(
            ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, self._on_report)]
        )
        self.port: int = self.server.server_address[1]

    def _on_report(self, event: evt.Event) -> tuple[int, None]:
        request = event.request
        report = Report(
            event.assoc.requestor.primitive.called_ae_title,
            event.event_type,
            str(request.AffectedSOPClassUID),
            str(request.AffectedSOPInstanceUID),
            event.event_information,
        )
        with self.arrived:
            self.reports.append(report)
            self.arrived.notify_all()
        return 0x0000, None

    def of(self, uid: str, called: str | None = None) -> list[Report]:
        with self.arrived:
            return [r for r in self.reports if r.uid == uid and called in (None, r.called)]

    def wait_for(self, uid: str, event_type: int, timeout: float = 5.0, called: str = "WATCHER", **attrs) -> Report:
        def match() -> Report | None:
            return next(
                (
                    r
                    for r in self.reports
                    if r.uid == uid
                    and r.event_type == event_type
                    and r.called == called
                    and all(r.info.get(k) == v for k, v in attrs.items())
                ),
                None,
            )

        with self.arrived:
            if self.arrived.wait_for(match, timeout):
                return match()  # type: ignore[return-value]
        seen = [(r.called, r.event_type, str(r.info.get("ProcedureStepState", ""))) for r in self.of(uid)]
        raise AssertionError(f"no N-EVENT-REPORT {event_type} for {uid} to {called} {attrs}; saw {seen}")

    def after(self, seconds: float, uid: str, called: str | None = None) -> list[Report]:
        """Every report for `uid` (to `called`) once `seconds` have passed: for what must not come."""
        time.sleep(seconds)
        return self.of(uid, called)

    def stop(self) -> None:
        self.server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Setup:
    server: UPSServer
    listener: Listener
    late_port: int

    @property
    def port(self) -> int:
        return self.server.dimse.port  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def ups(tmp_path_factory) -> Iterator[Setup]:
    """The demo server with its DIMSE front, and subscriber AEs it knows addresses for: WATCHER and
    FILTERED on a listener that runs, LATE on a port where nothing listens yet."""
    listener = Listener()
    late_port = free_port()
    peers = {
        "WATCHER": ("127.0.0.1", listener.port),
        "FILTERED": ("127.0.0.1", listener.port),
        "LATE": ("127.0.0.1", late_port),
    }
    server = UPSServer(
        ServerConfig(
            http_port=0, dimse_port=0, event_peers=peers, db_path=str(tmp_path_factory.mktemp("ups-dimse") / "w.db")
        )
    )
    seed_demo_day(server.service, today=PINNED_DAY)
    server.start()
    try:
        yield Setup(server, listener, late_port)
    finally:
        server.stop()
        listener.stop()


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
    query = ds(
        SOPInstanceUID="",
        PatientName="",
        ProcedureStepState="",
        ScheduledProcedureStepStartDateTime=f"{TODAY}-",
        **keys,
    )
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


def test_n_create_and_n_set_refuse_a_malformed_value_with_0106_naming_the_attribute(ups, scu, http):
    attrs, uid = new_workitem()
    attrs.ScheduledProcedureStepStartDateTime = "not-a-date"
    refused, _ = scu.send_n_create(attrs, PUSH, uid)
    assert refused.Status == 0x0106 and "(0040,4005)" in refused.ErrorComment
    assert http.get(f"/workitems/{uid}").status_code == 404
    uid = create(http, item())
    tx = claim(http, uid)
    changes = ds(TransactionUID=tx)
    changes.ProcedureStepProgressInformationSequence = [ds(ProcedureStepProgress="NaN")]
    status, _ = scu.send_n_set(changes, PUSH, uid)
    assert status.Status == 0x0106
    assert list(status.AttributeIdentifierList) == [0x00741002, 0x00741004]


# -- Pull, Watch, Query: C-FIND ---------------------------------------------------------------------------
@pytest.mark.parametrize("model", [UnifiedProcedureStepPull, UnifiedProcedureStepWatch, UnifiedProcedureStepQuery])
def test_c_find_finds_what_upsrs_search_finds(ups, http, model):
    assoc = associate(ups.port, contexts=(model,))
    try:
        found, final = find(assoc, station_query("CT1"), model)
    finally:
        assoc.release()
    searched = http.get(
        "/workitems",
        params={
            "ScheduledStationNameCodeSequence.CodeValue": "CT1",
            "ScheduledProcedureStepStartDateTime": f"{TODAY}-",
        },
    ).json()
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
    assert {e.keyword for e in answer} == {
        "SpecificCharacterSet",
        "SOPInstanceUID",
        "PatientName",
        "ProcedureStepState",
    }
    assert answer.SpecificCharacterSet == "ISO_IR 192" and str(answer.PatientName) == "山田^太郎"
    assert answer.ProcedureStepState == "IN PROGRESS"


def test_c_find_refuses_matching_on_the_transaction_uid(scu):
    found, final = find(scu, ds(SOPInstanceUID="", TransactionUID=generate_uid()))
    assert found == [] and final.Status == 0xA900 and "Transaction UID" in final.ErrorComment


def test_c_find_ignores_a_query_retrieve_level_and_keys_outside_the_ups_model(ups, http):
    """dicom-ups sends (0008,0052) with every query; it must not make the query match nothing."""
    assoc = associate(ups.port, contexts=(UnifiedProcedureStepQuery,))
    try:
        plain, _ = find(assoc, station_query("CT1"), UnifiedProcedureStepQuery)
        statuses = []
        found = []
        query = station_query("CT1", QueryRetrieveLevel="WORKLIST", BodyPartExamined="HEAD")
        for status, identifier in assoc.send_c_find(query, UnifiedProcedureStepQuery):
            statuses.append(status.Status)
            if identifier is not None:
                found.append(identifier)
    finally:
        assoc.release()
    assert len(plain) >= 5 and statuses[-1] == 0x0000
    assert sorted(f.SOPInstanceUID for f in found) == sorted(f.SOPInstanceUID for f in plain)
    assert set(statuses[:-1]) == {0xFF01}  # an optional key was not supported
    assert all("QueryRetrieveLevel" not in f and f.BodyPartExamined == "" for f in found)


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
            assert (
                action(other, uid, CHANGE_STATE, ProcedureStepState="IN PROGRESS", TransactionUID=generate_uid()).Status
                == 0xC302
            )
            assert (
                action(other, uid, CHANGE_STATE, ProcedureStepState="CANCELED", TransactionUID=generate_uid()).Status
                == 0xC301
            )
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
    assert (
        set_(
            scu,
            uid,
            ProcedureStepLabel="Abdomen US",
            TransactionUID=tx,
            ProcedureStepProgressInformationSequence=[progress_item],
        )
        == 0x0000
    )
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
        assert (
            assoc.send_n_set(
                ds(PerformedProcedureStepStatus="COMPLETED"), ModalityPerformedProcedureStep, generate_uid()
            )[0].Status
            == 0x0112
        )
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
def test_a_dimse_subscriber_gets_n_event_reports_for_dimse_and_upsrs_changes_until_it_unsubscribes(ups, scu, http):
    uid = create(http, item("CT1"))
    assert action(scu, uid, SUBSCRIBE, ReceivingAE="WATCHER", DeletionLock="FALSE").Status == 0x0000
    first = ups.listener.wait_for(uid, 1, ProcedureStepState="SCHEDULED", InputReadinessState="READY")
    assert first.sop_class == PUSH  # Affected SOP Class of every UPS event (CC.3.1.1)
    tx = claim(http, uid)  # a change over UPS-RS
    ups.listener.wait_for(uid, 1, ProcedureStepState="IN PROGRESS")
    update(http, uid, tx, progress(30, "scout done"))
    report = ups.listener.wait_for(uid, 3)
    assert report.info.ProcedureStepProgressInformationSequence[0].ProcedureStepProgressDescription == "scout done"
    assert action(scu, uid, REQUEST_CANCELLATION, ReasonForCancellation="wrong side").Status == 0x0000  # over DIMSE
    asked = ups.listener.wait_for(uid, 2)
    assert asked.info.RequestingAE == "CT1" and asked.info.ReasonForCancellation == "wrong side"
    assert action(scu, uid, UNSUBSCRIBE, ReceivingAE="WATCHER").Status == 0x0000
    assert action(scu, uid, UNSUBSCRIBE, ReceivingAE="WATCHER").Status == 0xC308  # nothing left to end
    reported = len(ups.listener.of(uid))
    assert change_state(http, uid, "CANCELED", tx).status_code == 200
    assert len(ups.listener.after(1.0, uid)) == reported


def test_global_and_filtered_subscriptions_over_a_watch_association(ups, http):
    watch = associate(ups.port, "WATCHER", contexts=(UnifiedProcedureStepWatch,))
    try:
        # no Receiving AE: the caller subscribes itself
        assert action(watch, GLOBAL, SUBSCRIBE, DeletionLock="FALSE").Status == 0x0000
        station = ds(CodeValue="CT2")
        assert (
            action(
                watch, FILTERED, SUBSCRIBE, ReceivingAE="FILTERED", ScheduledStationNameCodeSequence=[station]
            ).Status
            == 0x0000
        )
        ct2, mr1 = create(http, item("CT2")), create(http, item("MR1"))
        ups.listener.wait_for(ct2, 1, ProcedureStepState="SCHEDULED")
        ups.listener.wait_for(mr1, 1, ProcedureStepState="SCHEDULED")
        ups.listener.wait_for(ct2, 1, called="FILTERED", ProcedureStepState="SCHEDULED")
        assert ups.listener.after(0.5, mr1, "FILTERED") == []
        assert action(watch, GLOBAL, SUSPEND, ReceivingAE="WATCHER").Status == 0x0000
        assert action(watch, ct2, SUSPEND, ReceivingAE="WATCHER").Status == 0x0106  # only global ones suspend
        assert action(watch, GLOBAL, UNSUBSCRIBE, ReceivingAE="WATCHER").Status == 0x0000
        assert action(watch, FILTERED, UNSUBSCRIBE, ReceivingAE="FILTERED").Status == 0x0000
        assert action(watch, FILTERED, SUBSCRIBE, ReceivingAE="FILTERED").Status == 0x0106  # a filter is needed
    finally:
        watch.release()
    late = create(http, item("CT2"))
    assert ups.listener.after(0.5, late) == []


def test_subscribing_an_ae_without_an_address_is_refused_with_c308(scu, http):
    uid = create(http, item())
    refused = action(scu, uid, SUBSCRIBE, ReceivingAE="NOWHERE")
    assert refused.Status == 0xC308 and "NOWHERE" in refused.ErrorComment
    assert action(scu, generate_uid(), SUBSCRIBE, ReceivingAE="WATCHER").Status == 0xC307
    assert action(scu, uid, 9).Status == 0x0123


def test_unsubscribing_from_a_workitem_that_does_not_exist_is_refused_with_c307(scu, http):
    missing = action(scu, generate_uid(), UNSUBSCRIBE, ReceivingAE="WATCHER")
    assert missing.Status == 0xC307
    uid = create(http, item())
    assert action(scu, uid, UNSUBSCRIBE, ReceivingAE="WATCHER").Status == 0xC308  # it exists; WATCHER never subscribed


def test_reports_wait_for_a_subscriber_that_is_not_listening_yet(ups, scu, http, caplog):
    uid = create(http, item("MG1"))
    assert action(scu, uid, SUBSCRIBE, ReceivingAE="LATE").Status == 0x0000
    claim(http, uid)
    # the first try failed (nothing listens on LATE's port), and the reports wait for the next
    until(lambda: any("wait for LATE" in r.getMessage() for r in caplog.records), 10, "a failed try to LATE")
    late = Listener(ups.late_port)
    try:
        late.wait_for(uid, 1, called="LATE", timeout=10, ProcedureStepState="SCHEDULED")
        late.wait_for(uid, 1, called="LATE", ProcedureStepState="IN PROGRESS")
    finally:
        late.stop()
        action(scu, uid, UNSUBSCRIBE, ReceivingAE="LATE")


def test_a_dimse_subscriber_hears_the_server_go_down_and_come_back(tmp_path):
    listener = Listener()
    config = ServerConfig(
        http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"), event_peers={"WATCHER": ("127.0.0.1", listener.port)}
    )
    try:
        server = UPSServer(config).start()
        try:
            assoc = associate(server.dimse.port, "WATCHER", contexts=(UnifiedProcedureStepWatch,))
            assert action(assoc, GLOBAL, SUBSCRIBE).Status == 0x0000
            assoc.release()
        finally:
            server.stop()
        down = listener.wait_for(GLOBAL, 4, SCPStatus="GOING DOWN")  # sent before the server stopped
        assert down.info.SubscriptionListStatus == "WARM START"
        server = UPSServer(config).start()
        server.stop()
        listener.wait_for(GLOBAL, 4, SCPStatus="RESTARTED")
    finally:
        listener.stop()
