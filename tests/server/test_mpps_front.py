"""MPPS on the DIMSE front, mapped onto UPS: a DIMSE modality claims and completes, and a
UPS-RS console sees IN PROGRESS then COMPLETED, live."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import httpx
from embedded_server import PINNED_DAY
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind
from upsrs_client import GLOBAL, listen, new_aet, value

from app.server import UPSServer

TODAY = PINNED_DAY.strftime("%Y%m%d")  # the front holds that demo day


def associate(port: int, calling: str = "MR1"):
    ae = AE(calling)
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST")
    assert assoc.is_established
    return assoc


def worklist(assoc, station: str) -> list[Dataset]:
    query = Dataset()
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "AccessionNumber",
        "RequestedProcedureID",
        "StudyInstanceUID",
        "RequestedProcedureDescription",
    ):
        setattr(query, keyword, "")
    sps = Dataset()
    sps.ScheduledStationAETitle = station
    sps.ScheduledProcedureStepStartDate = TODAY
    sps.ScheduledProcedureStepID = ""
    sps.ScheduledProcedureStepDescription = ""
    sps.Modality = ""
    query.ScheduledProcedureStepSequence = [sps]
    return [i for s, i in assoc.send_c_find(query, ModalityWorklistInformationFind) if s and s.Status == 0xFF00]


def in_progress(item: Dataset | None, station: str, modality: str = "MR") -> Dataset:
    """The N-CREATE attribute list of Table F.7.2-1, copied from the worklist item."""
    now = datetime.now()
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    step = Dataset()
    if item is not None:
        sps = item.ScheduledProcedureStepSequence[0]
        step.StudyInstanceUID = item.StudyInstanceUID
        step.AccessionNumber = item.AccessionNumber
        step.RequestedProcedureID = item.RequestedProcedureID
        step.ScheduledProcedureStepID = sps.ScheduledProcedureStepID
        step.ScheduledProcedureStepDescription = sps.ScheduledProcedureStepDescription
        ds.PatientName, ds.PatientID = item.PatientName, item.PatientID
    else:
        step.StudyInstanceUID = generate_uid()
        step.AccessionNumber = ""
        ds.PatientName, ds.PatientID = "Unbekannt^Notfall", "EMERG-7"
    ds.ScheduledStepAttributesSequence = [step]
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = station
    ds.PerformedProcedureStepStartDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepStartTime = now.strftime("%H%M%S")
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.Modality = modality
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.PerformedSeriesSequence = []
    return ds


def completed(status: str = "COMPLETED") -> Dataset:
    now = datetime.now()
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepEndTime = now.strftime("%H%M%S")
    series = Dataset()
    series.SeriesInstanceUID = generate_uid()
    series.SeriesDescription = "T2 axial"
    series.ProtocolName = "T2 AX"
    series.OperatorsName = "Tanaka^Yui"
    series.PerformingPhysicianName = ""
    series.RetrieveAETitle = ""
    image = Dataset()
    image.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    image.ReferencedSOPInstanceUID = generate_uid()
    series.ReferencedImageSequence = [image]
    series.ReferencedNonImageCompositeSOPInstanceSequence = []
    ds.PerformedSeriesSequence = [series]
    return ds


def ups_of(server: UPSServer, item: Dataset) -> dict:
    with httpx.Client(base_url=server.base_url) as http:
        return http.get(
            "/workitems", params={"ReferencedRequestSequence.AccessionNumber": item.AccessionNumber}
        ).json()[0]


def test_dimse_claim_and_completion_show_up_live_for_a_upsrs_console(front):
    with httpx.Client(base_url=front.base_url) as http:
        events = listen(http, GLOBAL, new_aet())
    assoc = associate(front.dimse.port)
    try:
        item = worklist(assoc, "MR1")[0]
        uid = value(ups_of(front, item), "00080018")
        mpps_uid = generate_uid()
        status, _ = assoc.send_n_create(in_progress(item, "MR1"), ModalityPerformedProcedureStep, mpps_uid)
        assert status.Status == 0x0000
        events.wait_for(uid, 1, **{"00741000": "IN PROGRESS"})
        status, _ = assoc.send_n_set(completed(), ModalityPerformedProcedureStep, mpps_uid)
        assert status.Status == 0x0000
        events.wait_for(uid, 1, **{"00741000": "COMPLETED"})
        done = ups_of(front, item)
    finally:
        assoc.release()
        events.close()
    with httpx.Client(base_url=front.base_url) as http:
        performed = http.get(f"/workitems/{uid}").json()[0]["00741216"]["Value"][0]
    assert performed["00404028"]["Value"][0]["00080100"]["Value"] == ["MR1"]
    output = performed["00404033"]["Value"][0]
    assert output["0008103E"]["Value"] == ["T2 axial"] and len(output["00081199"]["Value"]) == 1
    assert performed["00404035"]["Value"][0]["00404037"]["Value"] == [{"Alphabetic": "Tanaka^Yui"}]
    assert value(done, "00741000") == "COMPLETED"


def test_mpps_rules_of_f7(front):
    assoc = associate(front.dimse.port)
    try:
        item = worklist(assoc, "US1")[0]
        bad = in_progress(item, "US1", "US")
        bad.PerformedProcedureStepStatus = "COMPLETED"
        status, _ = assoc.send_n_create(bad, ModalityPerformedProcedureStep, generate_uid())
        assert status.Status == 0x0106
        mpps_uid = generate_uid()
        assert (
            assoc.send_n_create(in_progress(item, "US1", "US"), ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0
        )
        assert (
            assoc.send_n_create(in_progress(item, "US1", "US"), ModalityPerformedProcedureStep, mpps_uid)[0].Status
            == 0x0111
        )
        assert assoc.send_n_set(completed("DISCONTINUED"), ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0
        assert value(ups_of(front, item), "00741000") == "CANCELED"
        late, _ = assoc.send_n_set(completed(), ModalityPerformedProcedureStep, mpps_uid)
        assert late.Status == 0x0110 and late.ErrorID == 0xA710
        assert assoc.send_n_set(completed(), ModalityPerformedProcedureStep, generate_uid())[0].Status == 0x0112
    finally:
        assoc.release()


def test_an_unscheduled_mpps_creates_and_claims_a_workitem(front):
    assoc = associate(front.dimse.port, "CR1")
    try:
        status, _ = assoc.send_n_create(in_progress(None, "CR1", "CR"), ModalityPerformedProcedureStep, generate_uid())
        assert status.Status == 0x0000
    finally:
        assoc.release()
    with httpx.Client(base_url=front.base_url) as http:
        found = http.get("/workitems", params={"PatientID": "EMERG-7"}).json()
    assert value(found[0], "00741000") == "IN PROGRESS"
    assert found[0]["00404025"]["Value"][0]["00080100"]["Value"] == ["CR1"]


def test_an_mpps_sent_without_its_uid_gets_one_from_the_server(front):
    """PS3.7 10.1.5.1.4: an SCU may leave the SOP Instance UID to the SCP, which then says it
    in the response; the modality uses it for its N-SETs."""
    from pynetdicom import evt

    assoc = associate(front.dimse.port, "MG1")
    commands = []  # pynetdicom's SCU keeps the response's command set to itself
    assoc.bind(evt.EVT_DIMSE_RECV, lambda event: commands.append(event.message.command_set))
    try:
        item = worklist(assoc, "MG1")[0]
        status, _ = assoc.send_n_create(in_progress(item, "MG1", "MG"), ModalityPerformedProcedureStep)
        given = commands[-1].AffectedSOPInstanceUID
        assert status.Status == 0x0000 and given
        assert assoc.send_n_set(completed(), ModalityPerformedProcedureStep, given)[0].Status == 0x0000
    finally:
        assoc.release()
    assert value(ups_of(front, item), "00741000") == "COMPLETED"


def documented_example_n_create() -> Dataset:
    """The N-CREATE of pynetdicom's documented MPPS SCU example: a step the worklist never
    scheduled, every Type 2 code sequence empty."""
    ds = Dataset()
    step = Dataset()
    step.StudyInstanceUID = generate_uid()
    step.ReferencedStudySequence = []
    step.AccessionNumber = "1"
    step.RequestedProcedureID = "1"
    step.RequestedProcedureDescription = "Some procedure"
    step.ScheduledProcedureStepID = "1"
    step.ScheduledProcedureStepDescription = "Some procedure step"
    step.ScheduledProtocolCodeSequence = []
    ds.ScheduledStepAttributesSequence = [step]
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Test^Test", "DOC-123456", "20000101", "O"
    ds.ReferencedPatientSequence = []
    ds.PerformedProcedureStepID = "1"
    ds.PerformedStationAETitle = "SOMEAE"
    ds.PerformedStationName = "Some station"
    ds.PerformedLocation = "Some location"
    ds.PerformedProcedureStepStartDate = "20000101"
    ds.PerformedProcedureStepStartTime = "1200"
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepDescription = "Some description"
    ds.PerformedProcedureTypeDescription = "Some type"
    ds.PerformedProcedureStepEndDate = None
    ds.PerformedProcedureStepEndTime = None
    ds.Modality = "CT"
    ds.StudyID = "1"
    ds.PerformedProtocolCodeSequence = []
    ds.PerformedSeriesSequence = []
    return ds


def workitem_of_patient(server: UPSServer, patient_id: str) -> dict:
    with httpx.Client(base_url=server.base_url) as http:
        found = http.get("/workitems", params={"PatientID": patient_id}).json()
        return http.get(f"/workitems/{value(found[0], '00080018')}").json()[0]


def test_the_documented_unscheduled_mpps_example_completes(front):
    """Its Procedure Code Sequence is Type 2 and empty: the UPS still needs a Performed Workitem
    Code to complete, and gets one derived from the step's description."""
    assoc = associate(front.dimse.port, "SOMEAE")
    mpps_uid = generate_uid()
    try:
        created, _ = assoc.send_n_create(documented_example_n_create(), ModalityPerformedProcedureStep, mpps_uid)
        assert created.Status == 0x0000
        final = completed()
        final.PerformedProcedureStepEndDate, final.PerformedProcedureStepEndTime = "20000101", "1300"
        status, _ = assoc.send_n_set(final, ModalityPerformedProcedureStep, mpps_uid)
        assert status.Status == 0x0000, getattr(status, "ErrorComment", "")
    finally:
        assoc.release()
    done = workitem_of_patient(front, "DOC-123456")
    assert value(done, "00741000") == "COMPLETED"
    code = done["00741216"]["Value"][0]["00404019"]["Value"][0]
    assert code["00080104"]["Value"] == ["Some description"] and code["00080100"]["Value"]


def test_a_completion_without_its_end_time_is_refused_with_a_comment_that_names_it(front):
    assoc = associate(front.dimse.port, "SOMEAE")
    mpps_uid = generate_uid()
    example = documented_example_n_create()
    example.PatientID = "DOC-NOEND"
    try:
        assert assoc.send_n_create(example, ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0x0000
        final = completed()
        final.PerformedProcedureStepEndTime = ""
        status, _ = assoc.send_n_set(final, ModalityPerformedProcedureStep, mpps_uid)
        assert status.Status == 0x0110 and "End Time" in status.ErrorComment
        assert value(workitem_of_patient(front, "DOC-NOEND"), "00741000") == "IN PROGRESS"
        assert assoc.send_n_set(completed(), ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0x0000
    finally:
        assoc.release()
    assert value(workitem_of_patient(front, "DOC-NOEND"), "00741000") == "COMPLETED"


def test_an_mpps_that_fails_half_way_leaves_nothing_behind_and_its_retry_succeeds(front, monkeypatch):
    """Claim, performed data and the MPPS record commit together: a failure while recording the
    MPPS (a full disk, say) leaves the workitem SCHEDULED, so the modality's retry is accepted."""
    from app.server.store import Store

    recorded = Store.put_mpps
    failures = iter([sqlite3.OperationalError("database or disk is full")])

    def fail_once(self, *args, **kwargs):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return recorded(self, *args, **kwargs)

    monkeypatch.setattr(Store, "put_mpps", fail_once)
    assoc = associate(front.dimse.port, "CT2")
    mpps_uid = generate_uid()
    try:
        item = worklist(assoc, "CT2")[0]
        first, _ = assoc.send_n_create(in_progress(item, "CT2", "CT"), ModalityPerformedProcedureStep, mpps_uid)
        assert first.Status == 0x0110
        assert value(ups_of(front, item), "00741000") == "SCHEDULED"
        again, _ = assoc.send_n_create(in_progress(item, "CT2", "CT"), ModalityPerformedProcedureStep, mpps_uid)
        assert again.Status == 0x0000
        assert value(ups_of(front, item), "00741000") == "IN PROGRESS"
        assert assoc.send_n_set(completed(), ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0x0000
    finally:
        assoc.release()
    assert value(ups_of(front, item), "00741000") == "COMPLETED"


def test_a_step_another_modality_already_started_is_refused_with_a_reason(front):
    first = associate(front.dimse.port, "MR1")
    try:
        item = worklist(first, "MR1")[-1]
        assert (
            first.send_n_create(in_progress(item, "MR1"), ModalityPerformedProcedureStep, generate_uid())[0].Status == 0
        )
        second, _ = first.send_n_create(in_progress(item, "MR1"), ModalityPerformedProcedureStep, generate_uid())
        assert second.Status == 0x0110 and "already in progress" in second.ErrorComment
    finally:
        first.release()


def test_an_mpps_with_a_value_its_vr_does_not_allow_is_refused_with_0106_and_changes_nothing(front):
    assoc = associate(front.dimse.port, "SOMEAE")
    example = documented_example_n_create()
    example.PatientID = "DOC-BADDATE"
    example.PerformedProcedureStepStartDate = "20001399"  # no month 13
    try:
        status, _ = assoc.send_n_create(example, ModalityPerformedProcedureStep, generate_uid())
        assert status.Status == 0x0106 and "0040,0244" in status.ErrorComment
    finally:
        assoc.release()
    with httpx.Client(base_url=front.base_url) as http:
        assert http.get("/workitems", params={"PatientID": "DOC-BADDATE"}).status_code == 204


def test_an_mpps_naming_its_step_by_accession_alone_claims_that_workitem(front):
    # a modality that kept only the accession: the same rule as through the gateway finds the step
    assoc = associate(front.dimse.port)
    try:
        item = next(i for i in worklist(assoc, "MR1") if value(ups_of(front, i), "00741000") == "SCHEDULED")
        mpps = in_progress(item, "MR1")
        step = mpps.ScheduledStepAttributesSequence[0]
        del step.StudyInstanceUID
        del step.ScheduledProcedureStepID
        status, _ = assoc.send_n_create(mpps, ModalityPerformedProcedureStep, generate_uid())
        assert status.Status == 0x0000
    finally:
        assoc.release()
    assert value(ups_of(front, item), "00741000") == "IN PROGRESS"
