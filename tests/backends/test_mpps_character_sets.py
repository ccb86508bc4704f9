"""Every MPPS message the console's DIMSE backend sends declares the character set of its own
text (PS3.3 C.12.1.1.2: an N-SET does not inherit the N-CREATE's), read back by an independent
MPPS SCP from the bytes it received; and a claim of an ISO 2022 IR 87 worklist item from DCMTK's
wlmscpfs reports the patient with all three name groups, in the item's own character set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from dimse_peers import YAMADA, RecordingMppsScp, Wlmscpfs, japanese_worklist
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid

from app.backends.dimse import DimseBackend
from app.backends.profiles import Profile
from app.domain.codes import UNSPECIFIED_REASON
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.workitem import Code
from app.domain.worklist_query import WorklistQuery

pytestmark = pytest.mark.interop

PROGRESS = "Scan – 頭部CT"  # the en dash is not in JIS X 0208: this one needs UTF-8
OPERATOR = "Suzuki^Hanako=鈴木^花子=すずき^はなこ"


@pytest.fixture()
def ris(tmp_path) -> Iterator[tuple[Wlmscpfs, RecordingMppsScp]]:
    worklist = Wlmscpfs(japanese_worklist(tmp_path / "wlistdb", f"{PINNED_DAY:%Y%m%d}"), "-csk").start()
    mpps = RecordingMppsScp().start()
    yield worklist, mpps
    mpps.stop()
    worklist.stop()


def performed() -> PerformedProcedure:
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


def backend(worklist: Wlmscpfs, mpps: RecordingMppsScp) -> DimseBackend:
    return DimseBackend(
        Profile(
            backend="dimse",
            ae_title="CT1",
            mwl_host="127.0.0.1",
            mwl_port=worklist.port,
            mwl_aet="JAPAN",
            mpps_host="127.0.0.1",
            mpps_port=mpps.port,
            mpps_aet="MPPSSCP",
            timeout=10,
        )
    )


async def test_a_claim_reports_every_name_group_and_every_n_set_declares_its_character_set(ris):
    worklist, mpps = ris
    console = backend(worklist, mpps)
    [item] = await console.search(WorklistQuery(states=()))
    assert item.patient_name.ideographic == "山田^太郎"
    transaction = generate_uid()
    await console.claim(item.uid, transaction, console.claim_record(item))

    [created] = mpps.datasets("N-CREATE")
    assert str(created.PatientName) == YAMADA
    assert list(created.SpecificCharacterSet) == ["", "ISO 2022 IR 87"]  # the item's own, which carries it
    assert created.ScheduledStepAttributesSequence[0].ScheduledProcedureStepDescription == "頭部CT 単純"

    done = performed()
    await console.report_progress(item.uid, transaction, 40, PROGRESS)
    await console.set_performed(item.uid, transaction, done)
    await console.complete(item.uid, transaction, done)

    progress, performed_set, completed = mpps.datasets("N-SET")
    assert progress.SpecificCharacterSet == "ISO_IR 192"
    assert progress.CommentsOnThePerformedProcedureStep == f"40 % {PROGRESS}"
    for final in (performed_set, completed):
        assert list(final.SpecificCharacterSet) == ["", "ISO 2022 IR 87"]
        series = final.PerformedSeriesSequence[0]
        assert (series.SeriesDescription, str(series.OperatorsName)) == ("頭部CT 単純", OPERATOR)
        assert final.ProcedureCodeSequence[0].CodeMeaning == "頭部CT 単純"
    assert completed.PerformedProcedureStepStatus == "COMPLETED"


async def test_a_discontinuation_declares_its_character_set(ris):
    worklist, mpps = ris
    console = backend(worklist, mpps)
    [item] = await console.search(WorklistQuery(states=()))
    transaction = generate_uid()
    await console.claim(item.uid, transaction, console.claim_record(item))
    await console.discontinue(item.uid, transaction, UNSPECIFIED_REASON, "患者 – 中止")

    [stopped] = mpps.datasets("N-SET")
    assert stopped.SpecificCharacterSet == "ISO_IR 192"
    assert stopped.CommentsOnThePerformedProcedureStep == "患者 – 中止"
    assert stopped.PerformedProcedureStepStatus == "DISCONTINUED"


async def test_an_iso_2022_item_served_without_its_character_set_is_read_by_its_escapes(tmp_path):
    # DCMTK's wlmscpfs leaves (0008,0005) out of its answers unless run with -csk
    worklist = Wlmscpfs(japanese_worklist(tmp_path / "wlistdb", f"{PINNED_DAY:%Y%m%d}")).start()
    mpps = RecordingMppsScp().start()
    try:
        [item] = await backend(worklist, mpps).search(WorklistQuery(states=()))
    finally:
        mpps.stop()
        worklist.stop()
    assert item.patient_name.ideographic == "山田^太郎"
    assert item.patient_name.phonetic == "やまだ^たろう"
    assert item.requested_procedure_description == "頭部CT"
