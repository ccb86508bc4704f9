"""The MPPS a modality sends (PS3.4 F.7.2-1), built from a worklist item and what was performed.

Both MPPS clients of the console use it: over DIMSE (N-CREATE / N-SET) and over DICOMweb
(Supplement 246 Create / Update, the same datasets as DICOM JSON). The modality copies what the
MWL item gives into the MPPS: the server finds the scheduled step by it (Study Instance UID,
Accession Number, Scheduled Procedure Step ID).
"""

from __future__ import annotations

from datetime import datetime

from pydicom import Dataset
from pydicom.uid import generate_uid

from . import charsets
from . import tags as t
from .dicomjson import JsonDataset, person_name_text
from .mapping import MODALITY, SPS_DESCRIPTION, SPS_ID, SPS_SEQ
from .procedure import OutputSeries, PerformedProcedure
from .workitem import Code


def text(ds: JsonDataset, tag: str) -> str:
    """The first value of a DICOM JSON element as text (a person name by its alphabetic group)."""
    values = (ds.get(tag) or {}).get("Value") or []
    value = values[0] if values else ""
    if isinstance(value, dict):
        return str(value.get("Alphabetic", ""))
    return "" if value is None else str(value)


def person_name(ds: JsonDataset, tag: str) -> str:
    """The first person name of a DICOM JSON element whole: its ideographic and phonetic groups
    are the patient's name as much as its alphabetic one (a Japanese RIS matches on them)."""
    values = (ds.get(tag) or {}).get("Value") or []
    return person_name_text(values[0]) if values else ""


def character_set(mwl: JsonDataset) -> list[str]:
    """The Specific Character Set of the worklist item an MPPS reports on: each of its messages
    uses it where it can carry their text (`charsets.declare`), as the RIS sent the item."""
    return charsets.declared_in(mwl)


def scheduled_step(mwl: JsonDataset) -> JsonDataset:
    """The (first) Scheduled Procedure Step of an MWL item; empty when it has none."""
    return ((mwl.get(SPS_SEQ) or {}).get("Value") or [{}])[0]


def in_progress(
    mwl: JsonDataset,
    mpps_uid: str,
    *,
    ae_title: str,
    station_name: str,
    unscheduled: bool = False,
    now: datetime | None = None,
) -> Dataset:
    """The MPPS N-CREATE (Create) that starts the procedure of an MWL item, IN PROGRESS."""
    now = now or datetime.now()
    sps = scheduled_step(mwl)
    ds = Dataset()
    step = Dataset()
    step.StudyInstanceUID = text(mwl, t.STUDY_INSTANCE_UID) or generate_uid()
    step.AccessionNumber = text(mwl, t.ACCESSION_NUMBER)
    step.RequestedProcedureID = text(mwl, t.REQUESTED_PROCEDURE_ID)
    step.RequestedProcedureDescription = text(mwl, t.REQUESTED_PROCEDURE_DESCRIPTION)
    step.ScheduledProcedureStepID = text(sps, SPS_ID)
    if unscheduled:  # F.7.2: no scheduled step, only the study the images join
        step.AccessionNumber = step.RequestedProcedureID = step.ScheduledProcedureStepID = ""
    step.ScheduledProcedureStepDescription = text(sps, SPS_DESCRIPTION)
    step.ReferencedStudySequence = []
    step.ScheduledProtocolCodeSequence = []
    ds.ScheduledStepAttributesSequence = [step]
    ds.PatientName = person_name(mwl, t.PATIENT_NAME)
    ds.PatientID = text(mwl, t.PATIENT_ID)
    ds.PatientBirthDate = text(mwl, t.BIRTH_DATE)
    ds.PatientSex = text(mwl, t.SEX)
    ds.ReferencedPatientSequence = []
    ds.PerformedProcedureStepID = mpps_uid[-16:]
    ds.PerformedStationAETitle = ae_title
    ds.PerformedStationName = station_name[:16]
    ds.PerformedLocation = ""
    ds.PerformedProcedureStepStartDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepStartTime = now.strftime("%H%M%S")
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepDescription = text(sps, SPS_DESCRIPTION)
    ds.PerformedProcedureTypeDescription = ""
    ds.ProcedureCodeSequence = []
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.Modality = text(sps, MODALITY) or "OT"
    ds.StudyID = ""
    ds.PerformedProtocolCodeSequence = []
    ds.PerformedSeriesSequence = []
    return charsets.declare(ds, character_set(mwl))


def progress(percent: float | None, description: str) -> Dataset:
    """An N-SET (Update) of progress: MPPS has no progress attribute, so it goes in the comments."""
    ds = Dataset()
    ds.CommentsOnThePerformedProcedureStep = " ".join(
        p for p in (f"{percent:.0f} %" if percent is not None else "", description) if p
    )[:10240]
    return ds


def performed_set(performed: PerformedProcedure, final: bool = False) -> Dataset:
    """The N-SET (Update) of what was performed (F.7.2-1: series, procedure codes, end time)."""
    ds = Dataset()
    if performed.end or final:
        end = performed.end or datetime.now().strftime("%Y%m%d%H%M%S")
        ds.PerformedProcedureStepEndDate = end[:8]
        ds.PerformedProcedureStepEndTime = end[8:14]
    ds.ProcedureCodeSequence = [c.to_item() for c in performed.procedures]
    series_list = list(performed.series)
    if final and not series_list:  # F.7: a final MPPS lists at least one series
        series_list = [OutputSeries(generate_uid(), "No images")]
    ds.PerformedSeriesSequence = [_series(s, performed.technologist) for s in series_list]
    return ds


def completed(performed: PerformedProcedure) -> Dataset:
    """The final N-SET (Update): what was performed, COMPLETED."""
    ds = performed_set(performed, final=True)
    ds.PerformedProcedureStepStatus = "COMPLETED"
    return ds


def discontinued(reason: Code, comment: str, now: datetime | None = None) -> Dataset:
    """The final N-SET (Update) of a procedure stopped: DISCONTINUED with its CID 9300 reason."""
    now = now or datetime.now()
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "DISCONTINUED"
    ds.PerformedProcedureStepEndDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepEndTime = now.strftime("%H%M%S")
    ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [reason.to_item()]
    if comment:
        ds.CommentsOnThePerformedProcedureStep = comment
    return ds


def _series(output: OutputSeries, technologist: str) -> Dataset:
    series = Dataset()
    series.SeriesInstanceUID = output.series_uid
    series.SeriesDescription = output.description
    series.ProtocolName = output.description or "Protocol"
    series.OperatorsName = technologist
    series.PerformingPhysicianName = ""
    series.RetrieveAETitle = output.retrieve_ae
    refs = []
    for sop_class, sop_instance in output.instances:
        ref = Dataset()
        ref.ReferencedSOPClassUID = sop_class
        ref.ReferencedSOPInstanceUID = sop_instance
        refs.append(ref)
    series.ReferencedImageSequence = refs
    series.ReferencedNonImageCompositeSOPInstanceSequence = []
    return series
