"""`serve --upstream dimse:` before a RIS that keeps its worklist in ISO 2022 IR 87 (DCMTK's
wlmscpfs, answering in the file's character set) and an independent MPPS SCP that reads each
message's bytes by the character set that message declares: a UPS-RS claim reports the patient
with all three name groups, and every N-SET — made by the gateway from a UPS-RS update, or passed
on from a Supplement 246 client whose DICOM JSON names no character set — arrives whole."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

import pytest
from dimse_peers import YAMADA, RecordingMppsScp, Wlmscpfs, japanese_worklist
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid

from app.backends.mpps_rs import MppsRsBackend
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.workitem import Code
from app.domain.worklist_query import WorklistQuery
from app.gateway.dimse_upstream import make
from app.server import ServerConfig, UPSServer

pytestmark = pytest.mark.interop

PROGRESS = "Scan – 頭部CT"  # the en dash is not in JIS X 0208: this one needs UTF-8
OPERATOR = "Suzuki^Hanako=鈴木^花子=すずき^はなこ"
ISO_2022_IR_87 = ["", "ISO 2022 IR 87"]


@pytest.fixture(scope="module")
def worklist(tmp_path_factory) -> Iterator[Wlmscpfs]:
    folder = japanese_worklist(tmp_path_factory.mktemp("wlistdb"), f"{PINNED_DAY:%Y%m%d}")
    scp = Wlmscpfs(folder, "-csk").start()
    yield scp
    scp.stop()


@pytest.fixture()
def mpps() -> Iterator[RecordingMppsScp]:
    scp = RecordingMppsScp().start()
    yield scp
    scp.stop()


@contextlib.contextmanager
def gateway(worklist: Wlmscpfs, mpps: RecordingMppsScp, db_path) -> Iterator[UPSServer]:
    """The services `serve --upstream dimse:…` runs, behind our HTTP front."""
    upstream = f"dimse:MWL=127.0.0.1:{worklist.port}:JAPAN,MPPS=127.0.0.1:{mpps.port}:MPPSSCP,POLL=600,TIMEOUT=10"
    service, performed = make(upstream, str(db_path), trace=False)
    server = UPSServer(ServerConfig(http_port=0, db_path=str(db_path), audit=False), upstream=(service, performed))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        service.close()


def done() -> PerformedProcedure:
    stamp = datetime(PINNED_DAY.year, PINNED_DAY.month, PINNED_DAY.day, 9, 30).strftime("%Y%m%d%H%M%S")
    series = OutputSeries(generate_uid(), "頭部CT 単純", instances=(("1.2.840.10008.5.1.4.1.1.2", generate_uid()),))
    return PerformedProcedure(
        Code("CT1", "99WLSTATION", "CT1"),
        start=stamp,
        end=stamp,
        procedures=(Code("JCT01", "99LOCAL", "頭部CT 単純"),),
        technologist=OPERATOR,
        series=(series,),
    )


def assert_performed_whole(n_set) -> None:
    series = n_set.PerformedSeriesSequence[0]
    assert (series.SeriesDescription, str(series.OperatorsName)) == ("頭部CT 単純", OPERATOR)
    assert n_set.ProcedureCodeSequence[0].CodeMeaning == "頭部CT 単純"


async def test_a_ups_rs_claim_reports_every_name_group_and_every_n_set_declares_its_character_set(
    worklist, mpps, tmp_path
):
    with gateway(worklist, mpps, tmp_path / "gw.db") as server:
        ct1 = UpsRsBackend(Profile(name="CT1", url=server.base_url, ae_title="CT1", timeout=15))
        try:
            [item] = await ct1.search(WorklistQuery(states=()))
            assert item.patient_name.ideographic == "山田^太郎"
            transaction = generate_uid()
            await ct1.claim(item.uid, transaction)
            [created] = mpps.datasets("N-CREATE")
            assert str(created.PatientName) == YAMADA
            assert list(created.SpecificCharacterSet) == ISO_2022_IR_87

            performed = done()
            await ct1.report_progress(item.uid, transaction, 40, PROGRESS)
            await ct1.set_performed(item.uid, transaction, performed)
            await ct1.complete(item.uid, transaction, performed)
        finally:
            await ct1.close()

    n_sets = mpps.datasets("N-SET")
    assert n_sets and all("SpecificCharacterSet" in n_set for n_set in n_sets)
    progress, *reports = n_sets
    assert progress.SpecificCharacterSet == "ISO_IR 192"
    assert progress.CommentsOnThePerformedProcedureStep == f"40 % {PROGRESS}"
    for report in reports:
        assert list(report.SpecificCharacterSet) == ISO_2022_IR_87  # the item's own, which carries it
        assert_performed_whole(report)
    assert reports[-1].PerformedProcedureStepStatus == "COMPLETED"
    [created] = mpps.datasets("N-CREATE")
    assert str(created.PatientName) == YAMADA


async def test_a_supplement_246_clients_mpps_reaches_the_ris_whole(worklist, mpps, tmp_path):
    with gateway(worklist, mpps, tmp_path / "gw.db") as server:
        mr1 = MppsRsBackend(Profile(name="CT1", backend="mpps-rs", url=server.base_url, ae_title="CT1", timeout=15))
        try:
            [item] = await mr1.search(WorklistQuery(states=()))
            mpps_uid = generate_uid()
            await mr1.claim(item.uid, mpps_uid, mr1.claim_record(item))
            performed = done()
            await mr1.report_progress(item.uid, mpps_uid, 40, PROGRESS)
            await mr1.set_performed(item.uid, mpps_uid, performed)
            await mr1.complete(item.uid, mpps_uid, performed)
        finally:
            await mr1.close()

    progress, *reports = mpps.datasets("N-SET")
    assert progress.SpecificCharacterSet == "ISO_IR 192"
    assert progress.CommentsOnThePerformedProcedureStep == f"40 % {PROGRESS}"
    assert len(reports) == 2
    for report in reports:
        assert "SpecificCharacterSet" in report
        assert_performed_whole(report)
    assert reports[-1].PerformedProcedureStepStatus == "COMPLETED"
    [created] = mpps.datasets("N-CREATE")
    assert str(created.PatientName) == YAMADA
