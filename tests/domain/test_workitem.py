"""The typed Workitem view over a pydicom Dataset, and NewWorkitem that builds one."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydicom import Dataset
from pydicom.sequence import Sequence

from app.domain import tags as t
from app.domain.build import NewWorkitem
from app.domain.dicomjson import parse_datasets, to_dataset
from app.domain.requirements import prepare_create
from app.domain.states import InputReadiness, Priority, State
from app.domain.workitem import Code, PatientName, Performed, Workitem

CET = timezone(timedelta(hours=1))


def new(**fields) -> NewWorkitem:
    base = dict(
        uid="1.2.826.0.1.3680043.8.498.7",
        label="CT chest",
        start="20261123080000",
        patient=PatientName("Müller^Jürgen", "山田^太郎"),
        patient_id="P1",
        station="CT1",
        modality="CT",
        accession="A1",
        requested_procedure_id="RP1",
        requested_procedure=Code("CTCHEST", "99L", "CT Chest"),
        study_uid="1.2.3.4",
        location="Room 1",
        performers=[(Code("D1", "99P", "Dr One"), "Smith^John")],
        birth_date="19800101",
        sex="M",
    )
    base.update(fields)
    return NewWorkitem(**base)


def view(**fields) -> Workitem:
    return Workitem(to_dataset(new(**fields).to_json()))


# --- what a new workitem reads back as -------------------------------------------------------------


def test_new_workitem_reads_back_its_identity_and_schedule():
    w = view()
    assert w.uid == "1.2.826.0.1.3680043.8.498.7"
    assert w.state is State.SCHEDULED
    assert w.priority is Priority.MEDIUM
    assert w.input_readiness is InputReadiness.READY
    assert w.label == "CT chest"
    assert w.worklist_label == "WORKLIST"
    assert w.scheduled_start() == datetime(2026, 11, 23, 8)


def test_new_workitem_reads_back_station_modality_location_and_procedure_as_codes():
    w = view()
    assert w.station_names == [Code("CT1", "99WLSTATION", "CT1")]
    assert w.station_classes == [Code("CT", "DCM", "Computed Tomography")]
    assert w.station_locations == [Code("Room 1", "99WLLOCATION", "Room 1")]
    assert w.workitem_codes == [Code("CTCHEST", "99L", "CT Chest")]


def test_new_workitem_reads_back_patient_and_request():
    w = view()
    assert w.patient_name == PatientName("Müller^Jürgen", "山田^太郎")
    assert (w.patient_id, w.birth_date, w.sex, w.study_uid) == ("P1", "19800101", "M", "1.2.3.4")
    assert (w.accession_number, w.requested_procedure_id) == ("A1", "RP1")
    assert w.requested_procedure_description == "CT Chest"
    assert w.human_performers == ["Smith^John"]


def test_new_workitem_has_no_progress_and_nothing_performed():
    w = view()
    assert w.progress is None
    assert w.progress_description == ""
    assert w.discontinuation_reasons == []
    assert w.performed is None


def test_workitem_without_station_or_modality_has_empty_station_lists():
    w = view(station=None, modality=None, location=None)
    assert w.station_names == [] and w.station_classes == [] and w.station_locations == []


def test_unknown_modality_code_is_its_own_meaning():
    assert view(modality="OCT").station_classes == [Code("OCT", "DCM", "OCT")]


@pytest.mark.parametrize("priority", ["HIGH", "LOW"])
def test_priority_is_read_as_given(priority):
    assert view(priority=priority).priority is Priority(priority)


def test_repr_names_uid_state_and_label():
    assert repr(view()) == "Workitem('1.2.826.0.1.3680043.8.498.7', SCHEDULED, 'CT chest')"


# --- NewWorkitem output is what the service accepts -----------------------------------------------------


def test_built_dataset_is_valid_dicom_json():
    ds = new().to_json()
    assert parse_datasets(json.dumps([ds])) == [ds]


def test_built_dataset_is_a_complete_create_request():
    prepared = prepare_create(new().to_json(), "1.2.3", "20261101000000")
    assert prepared.modified is False


def test_built_dataset_has_an_empty_transaction_uid_and_empty_progress_and_performed_sequences():
    ds = new().to_json()
    assert ds[t.TRANSACTION_UID] == {"vr": "UI"}
    assert ds[t.PROGRESS_INFORMATION_SEQ] == {"vr": "SQ"}
    assert ds[t.PERFORMED_PROCEDURE_SEQ] == {"vr": "SQ"}


def test_empty_optional_facts_are_present_without_value():
    ds = new(birth_date="", sex="", accession="", study_uid="").to_json()
    assert ds[t.BIRTH_DATE] == {"vr": "DA"} and ds[t.SEX] == {"vr": "CS"}
    assert ds[t.REFERENCED_REQUEST_SEQ]["Value"][0][t.ACCESSION_NUMBER] == {"vr": "SH"}


def test_patient_name_without_ideographic_group_has_only_the_alphabetic_group():
    ds = new(patient=PatientName("Doe^Jane")).to_json()
    assert ds[t.PATIENT_NAME]["Value"] == [{"Alphabetic": "Doe^Jane"}]


# --- reading odd or changed datasets ---------------------------------------------------------------------


def test_unknown_state_priority_or_readiness_read_as_none():
    ds = to_dataset(new().to_json())
    ds.ProcedureStepState = "DISCONTINUED"
    ds.ScheduledProcedureStepPriority = "URGENT"
    ds.InputReadinessState = ""
    w = Workitem(ds)
    assert (w.state, w.priority, w.input_readiness) == (None, None, None)


def test_empty_dataset_reads_as_empty_values_not_errors():
    w = Workitem(Dataset())
    assert (w.uid, w.label, w.patient_id, w.accession_number) == ("", "", "", "")
    assert w.state is None and w.scheduled_start() is None and w.performed is None
    assert w.patient_name == PatientName()
    assert w.station_names == [] and w.human_performers == []


def test_scheduled_start_with_offset_is_given_in_the_requested_zone():
    w = view(start="20261123080000+0100")
    assert w.scheduled_start(UTC) == datetime(2026, 11, 23, 7)
    assert w.scheduled_start(CET) == datetime(2026, 11, 23, 8)


def test_unreadable_scheduled_start_reads_as_none():
    ds = to_dataset(new().to_json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid DT, as it should
        ds.ScheduledProcedureStepStartDateTime = "tomorrow"
    assert Workitem(ds).scheduled_start() is None


def progress_item(**attrs) -> Dataset:
    item = Dataset()
    for keyword, value in attrs.items():
        setattr(item, keyword, value)
    return item


def test_progress_and_its_description_are_read_from_the_progress_information():
    ds = to_dataset(new().to_json())
    ds.ProcedureStepProgressInformationSequence = Sequence(
        [progress_item(ProcedureStepProgress="42.5", ProcedureStepProgressDescription="Scanning")]
    )
    w = Workitem(ds)
    assert w.progress == 42.5
    assert w.progress_description == "Scanning"


def test_discontinuation_reasons_are_read_as_codes():
    ds = to_dataset(new().to_json())
    ds.ProcedureStepProgressInformationSequence = Sequence(
        [
            progress_item(
                ProcedureStepDiscontinuationReasonCodeSequence=Sequence(
                    [Code("110514", "DCM", "Incorrect worklist entry").to_item()]
                )
            )
        ]
    )
    assert Workitem(ds).discontinuation_reasons == [Code("110514", "DCM", "Incorrect worklist entry")]


def test_performer_without_name_is_shown_by_its_code_meaning():
    ds = to_dataset(new().to_json())
    del ds.ScheduledHumanPerformersSequence[0].HumanPerformerName
    assert Workitem(ds).human_performers == ["Dr One"]


def test_code_falls_back_to_long_or_urn_code_value():
    item = Dataset()
    item.LongCodeValue = "A-VERY-LONG-CODE-VALUE-BEYOND-16"
    item.CodingSchemeDesignator = "99L"
    assert Code.from_item(item) == Code("A-VERY-LONG-CODE-VALUE-BEYOND-16", "99L", "")
    item = Dataset()
    item.URNCodeValue = "urn:oid:1.2.3"
    assert Code.from_item(item).value == "urn:oid:1.2.3"


def test_code_item_uses_the_value_as_meaning_when_none_is_given():
    item = Code("CT1", "99WLSTATION").to_item()
    assert (item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning) == ("CT1", "99WLSTATION", "CT1")


def test_performed_procedure_is_read_from_the_first_performed_item():
    def seq(*items):
        return Sequence(list(items))

    performed = Dataset()
    performed.PerformedStationNameCodeSequence = seq(Code("CT1", "99WLSTATION").to_item())
    performed.PerformedProcedureStepStartDateTime = "20261123080000"
    performed.PerformedProcedureStepEndDateTime = "20261123081500"
    performed.PerformedWorkitemCodeSequence = seq(Code("CTCHEST", "99L", "CT Chest").to_item())
    performer = Dataset()
    performer.HumanPerformerName = "Tech^Tom"
    performed.ActualHumanPerformersSequence = seq(performer, Dataset())
    output = Dataset()
    output.SeriesInstanceUID = "1.2.3.4.5"
    performed.OutputInformationSequence = seq(output, Dataset())
    ds = to_dataset(new().to_json())
    ds.UnifiedProcedureStepPerformedProcedureSequence = seq(performed)
    assert Workitem(ds).performed == Performed(
        station=Code("CT1", "99WLSTATION", "CT1"),
        start="20261123080000",
        end="20261123081500",
        procedures=(Code("CTCHEST", "99L", "CT Chest"),),
        performers=("Tech^Tom",),
        series_uids=("1.2.3.4.5",),
        series_descriptions=("",),  # the output had no Series Description
    )


# --- names for display ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,shown",
    [
        (PatientName("Doe^Jane"), "Doe, Jane"),
        (PatientName("Doe^Jane^Mary^Dr"), "Doe, Jane Mary Dr"),
        (PatientName("Doe"), "Doe"),
        (PatientName("Doe^^^"), "Doe"),
        (PatientName("Müller^Jürgen", "山田^太郎"), "Müller, Jürgen (山田 太郎)"),
        (PatientName("", "山田^太郎"), "山田 太郎"),
        (PatientName(), ""),
    ],
)
def test_patient_name_is_shown_family_name_first(name, shown):
    assert name.display() == shown


def test_requested_procedure_codes_are_read_from_every_referenced_request():
    data = {
        "0040A370": {
            "vr": "SQ",
            "Value": [
                {
                    "00321064": {
                        "vr": "SQ",
                        "Value": [
                            {
                                "00080100": {"vr": "SH", "Value": ["CTCHEST"]},
                                "00080102": {"vr": "SH", "Value": ["99WLPROC"]},
                                "00080104": {"vr": "LO", "Value": ["CT chest"]},
                            }
                        ],
                    }
                },
                {"00321064": {"vr": "SQ", "Value": [{"00080102": {"vr": "SH", "Value": ["99WLPROC"]}}]}},
            ],
        }
    }
    assert Workitem(data).requested_procedure_codes == [Code("CTCHEST", "99WLPROC", "CT chest")]


def test_a_search_answer_keeps_the_performed_data_a_retrieve_of_the_same_state_told():
    performed = {"00741216": {"vr": "SQ", "Value": [{"00404028": {"vr": "SQ", "Value": []}}]}}
    base = {"00080018": {"vr": "UI", "Value": ["1.2.3"]}, "00741000": {"vr": "CS", "Value": ["IN PROGRESS"]}}
    retrieved = Workitem({**base, **performed})
    searched = Workitem({**base, "00741002": {"vr": "SQ", "Value": [{"00741004": {"vr": "DS", "Value": [60]}}]}})
    kept = searched.keeping_performed_of(retrieved)
    assert kept.json["00741216"] == performed["00741216"] and kept.progress == 60
    completed = Workitem({**base, "00741000": {"vr": "CS", "Value": ["COMPLETED"]}})
    assert "00741216" not in completed.keeping_performed_of(retrieved).json  # another state: not the same story
