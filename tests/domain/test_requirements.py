"""N-CREATE, N-SET and final-state requirements (PS3.4 Tables CC.2.5-3 and CC.2.5-1)."""

from __future__ import annotations

import copy

import pytest

from app.domain import tags as t
from app.domain.build import NewWorkitem
from app.domain.requirements import check_set, complete_cancellation, missing_for_completion, prepare_create
from app.domain.status import InvalidRequest, Status, UPSError
from app.domain.workitem import PatientName

UID = "1.2.826.0.1.3680043.8.498.100"
NOW = "20261123074500.000000"


def new_item(**fields) -> dict:
    return NewWorkitem(
        uid=UID,
        label="CT chest",
        start="20261123080000",
        patient=PatientName("Doe^Jane"),
        patient_id="P1",
        station="CT1",
        modality="CT",
        accession="A1",
        study_uid="1.2.3.4",
        **fields,
    ).to_json()


def value(ds: dict, tag: str):
    values = (ds.get(tag) or {}).get("Value") or []
    return values[0] if values else None


def code(v: str) -> dict:
    return {
        t.CODE_VALUE: {"vr": "SH", "Value": [v]},
        t.CODING_SCHEME: {"vr": "SH", "Value": ["99L"]},
        t.CODE_MEANING: {"vr": "LO", "Value": [v]},
    }


# --- N-CREATE -----------------------------------------------------------------------------


def test_complete_create_dataset_is_accepted_without_modifications():
    prepared = prepare_create(new_item(), UID, NOW)
    assert prepared.modified is False
    assert value(prepared.dataset, t.PROCEDURE_STEP_STATE) == "SCHEDULED"


def test_create_does_not_change_the_callers_dataset():
    original = new_item()
    snapshot = copy.deepcopy(original)
    prepare_create(original, UID, NOW)
    assert original == snapshot


def test_created_workitem_gets_the_push_sop_class_and_the_given_uid():
    ds = new_item()
    ds[t.SOP_CLASS_UID] = {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.34.6.3"]}
    prepared = prepare_create(ds, "1.2.3.999", NOW).dataset
    assert value(prepared, t.SOP_CLASS_UID) == "1.2.840.10008.5.1.4.34.6.1"
    assert value(prepared, t.SOP_INSTANCE_UID) == "1.2.3.999"


def test_created_workitem_is_stamped_with_the_modification_time():
    prepared = prepare_create(new_item(), UID, NOW).dataset
    assert prepared[t.SPS_MODIFICATION_DATETIME] == {"vr": "DT", "Value": [NOW]}


def test_empty_transaction_uid_of_a_create_is_not_kept_in_the_dataset():
    prepared = prepare_create(new_item(), UID, NOW).dataset
    assert t.TRANSACTION_UID not in prepared


@pytest.mark.parametrize("state", ["IN PROGRESS", "COMPLETED", "CANCELED"])
def test_create_in_a_state_other_than_scheduled_is_refused_with_c309(state):
    ds = new_item()
    ds[t.PROCEDURE_STEP_STATE] = {"vr": "CS", "Value": [state]}
    with pytest.raises(UPSError) as info:
        prepare_create(ds, UID, NOW)
    assert info.value.status is Status.CREATE_NOT_SCHEDULED


@pytest.mark.parametrize("tag", [t.TRANSACTION_UID, t.PROGRESS_INFORMATION_SEQ, t.PERFORMED_PROCEDURE_SEQ])
def test_create_with_a_value_where_the_standard_says_shall_be_empty_is_refused(tag):
    ds = new_item()
    ds[tag] = {"vr": "UI", "Value": ["1.2.3"]} if tag == t.TRANSACTION_UID else {"vr": "SQ", "Value": [code("X")]}
    with pytest.raises(InvalidRequest) as info:
        prepare_create(ds, UID, NOW)
    assert info.value.status is Status.INVALID_ATTRIBUTE_VALUE
    assert f"({tag[:4]},{tag[4:]})" in info.value.message


TYPE_1 = [t.PROCEDURE_STEP_STATE, t.PRIORITY, t.PROCEDURE_STEP_LABEL, t.SPS_START_DATETIME, t.INPUT_READINESS_STATE]


@pytest.mark.parametrize(
    "tag,how",
    [(tag, how) for tag in TYPE_1 for how in ("absent", "empty")]
    + [(tag, "empty string") for tag in TYPE_1 if tag != t.PROCEDURE_STEP_STATE],
)
def test_create_without_a_type_1_value_is_refused_as_missing_attribute_value(tag, how):
    ds = new_item()
    if how == "absent":
        del ds[tag]
    elif how == "empty":
        ds[tag] = {"vr": ds[tag]["vr"]}
    else:
        ds[tag] = {"vr": ds[tag]["vr"], "Value": [""]}
    with pytest.raises(UPSError) as info:
        prepare_create(ds, UID, NOW)
    assert info.value.status is Status.MISSING_ATTRIBUTE_VALUE
    assert f"({tag[:4]},{tag[4:]})" in info.value.message


def test_create_with_an_empty_string_as_state_is_refused():
    ds = new_item()
    ds[t.PROCEDURE_STEP_STATE] = {"vr": "CS", "Value": [""]}
    with pytest.raises(UPSError) as info:
        prepare_create(ds, UID, NOW)
    # "" is not SCHEDULED: refused as a create in another state (C309), not as 0121
    assert info.value.status in (Status.CREATE_NOT_SCHEDULED, Status.MISSING_ATTRIBUTE_VALUE)


@pytest.mark.parametrize("tag,bad", [(t.PRIORITY, "URGENT"), (t.PRIORITY, "high"), (t.INPUT_READINESS_STATE, "DONE")])
def test_create_with_a_value_outside_the_enumeration_is_refused_as_invalid(tag, bad):
    ds = new_item()
    ds[tag] = {"vr": "CS", "Value": [bad]}
    with pytest.raises(UPSError) as info:
        prepare_create(ds, UID, NOW)
    assert info.value.status is Status.INVALID_ATTRIBUTE_VALUE
    assert bad in info.value.message


@pytest.mark.parametrize("priority", ["HIGH", "MEDIUM", "LOW"])
@pytest.mark.parametrize("readiness", ["READY", "INCOMPLETE", "UNAVAILABLE"])
def test_every_enumerated_priority_and_readiness_is_accepted(priority, readiness):
    prepared = prepare_create(new_item(priority=priority, input_readiness=readiness), UID, NOW).dataset
    assert value(prepared, t.PRIORITY) == priority
    assert value(prepared, t.INPUT_READINESS_STATE) == readiness


@pytest.mark.parametrize("tag", [t.PATIENT_ID, t.STATION_NAME_CODE_SEQ, t.REFERENCED_REQUEST_SEQ, t.COMMENTS_ON_SPS])
def test_missing_type_2_attribute_is_added_empty_and_reported_as_a_modification(tag):
    ds = new_item()
    vr = ds[tag]["vr"]
    del ds[tag]
    prepared = prepare_create(ds, UID, NOW)
    assert prepared.modified is True
    assert prepared.dataset[tag] == {"vr": vr}


@pytest.mark.parametrize("tag", [t.PROGRESS_INFORMATION_SEQ, t.PERFORMED_PROCEDURE_SEQ])
def test_leaving_out_sequences_that_start_empty_is_not_a_modification(tag):
    ds = new_item()
    del ds[tag]
    prepared = prepare_create(ds, UID, NOW)
    assert prepared.modified is False
    assert prepared.dataset[tag] == {"vr": "SQ"}


@pytest.mark.parametrize("how", ["absent", "empty"])
def test_worklist_label_left_empty_is_filled_by_the_scp_without_a_warning(how):
    ds = new_item()
    if how == "absent":
        del ds[t.WORKLIST_LABEL]
    else:
        ds[t.WORKLIST_LABEL] = {"vr": "LO"}
    prepared = prepare_create(ds, UID, NOW)
    assert value(prepared.dataset, t.WORKLIST_LABEL) == "WORKLIST"
    assert prepared.modified is False


def test_worklist_label_given_by_the_scu_is_kept():
    prepared = prepare_create(new_item(worklist_label="CT ROOM 1"), UID, NOW).dataset
    assert value(prepared, t.WORKLIST_LABEL) == "CT ROOM 1"


# --- N-SET ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag,name",
    [
        (t.PATIENT_NAME, "Patient's Name"),
        (t.PATIENT_ID, "Patient ID"),
        (t.PROCEDURE_STEP_STATE, "Procedure Step State"),
        (t.SOP_INSTANCE_UID, "SOP Instance UID"),
        (t.REFERENCED_REQUEST_SEQ, "Referenced Request Sequence"),
        (t.BIRTH_DATE, "Patient's Birth Date"),
    ],
)
def test_update_of_an_attribute_the_standard_does_not_allow_is_refused_by_name(tag, name):
    with pytest.raises(InvalidRequest) as info:
        check_set({tag: {"vr": "CS", "Value": ["X"]}, t.PROCEDURE_STEP_LABEL: {"vr": "LO", "Value": ["new"]}})
    assert name in info.value.message


def test_update_of_scheduled_and_progress_attributes_is_allowed_and_drops_the_transaction_uid():
    changes = {
        t.PROCEDURE_STEP_LABEL: {"vr": "LO", "Value": ["MR head"]},
        t.SPS_START_DATETIME: {"vr": "DT", "Value": ["20261124090000"]},
        t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [{t.PROGRESS: {"vr": "DS", "Value": [50]}}]},
        t.TRANSACTION_UID: {"vr": "UI", "Value": ["1.2.3"]},
    }
    allowed = check_set(changes)
    assert set(allowed) == {t.PROCEDURE_STEP_LABEL, t.SPS_START_DATETIME, t.PROGRESS_INFORMATION_SEQ}


# --- Final state ----------------------------------------------------------------------------


def performed_item(**overrides) -> dict:
    item = {
        t.PERFORMED_STATION_NAME_CODE_SEQ: {"vr": "SQ", "Value": [code("CT1")]},
        t.PERFORMED_START_DATETIME: {"vr": "DT", "Value": ["20261123080000"]},
        t.PERFORMED_WORKITEM_CODE_SEQ: {"vr": "SQ", "Value": [code("CTCHEST")]},
        t.PERFORMED_END_DATETIME: {"vr": "DT", "Value": ["20261123081500"]},
        t.OUTPUT_INFORMATION_SEQ: {"vr": "SQ"},
    }
    item.update(overrides)
    return item


def test_workitem_with_all_performed_attributes_may_be_completed_even_without_output():
    ds = {t.PERFORMED_PROCEDURE_SEQ: {"vr": "SQ", "Value": [performed_item()]}}
    assert missing_for_completion(ds) == []


@pytest.mark.parametrize(
    "ds", [{}, {t.PERFORMED_PROCEDURE_SEQ: {"vr": "SQ"}}, {t.PERFORMED_PROCEDURE_SEQ: {"vr": "SQ", "Value": []}}]
)
def test_workitem_without_performed_procedure_item_may_not_be_completed(ds):
    assert missing_for_completion(ds) == ["UPS Performed Procedure Sequence"]


@pytest.mark.parametrize(
    "tag,name",
    [
        (t.PERFORMED_STATION_NAME_CODE_SEQ, "Performed Station Name Code Sequence"),
        (t.PERFORMED_START_DATETIME, "Performed Procedure Step Start DateTime"),
        (t.PERFORMED_WORKITEM_CODE_SEQ, "Performed Workitem Code Sequence"),
        (t.PERFORMED_END_DATETIME, "Performed Procedure Step End DateTime"),
    ],
)
def test_completion_names_each_missing_performed_attribute(tag, name):
    ds = {t.PERFORMED_PROCEDURE_SEQ: {"vr": "SQ", "Value": [performed_item(**{tag: {"vr": "SQ"}})]}}
    assert missing_for_completion(ds) == [name]


def test_cancellation_stamps_the_cancellation_time_when_none_was_given():
    ds = complete_cancellation({t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ"}}, NOW)
    item = ds[t.PROGRESS_INFORMATION_SEQ]["Value"][0]
    assert item[t.CANCELLATION_DATETIME] == {"vr": "DT", "Value": [NOW]}


def test_cancellation_keeps_a_cancellation_time_set_by_the_performer_and_its_progress():
    item = {t.CANCELLATION_DATETIME: {"vr": "DT", "Value": ["20261123090000"]}, t.PROGRESS: {"vr": "DS", "Value": [40]}}
    ds = complete_cancellation({t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [item]}}, NOW)
    out = ds[t.PROGRESS_INFORMATION_SEQ]["Value"][0]
    assert value(out, t.CANCELLATION_DATETIME) == "20261123090000"
    assert value(out, t.PROGRESS) == 40


def test_cancellation_records_the_reason_of_the_cancel_request():
    reason = {
        t.REASON_FOR_CANCELLATION: {"vr": "LT", "Value": ["Patient left"]},
        t.DISCONTINUATION_REASON_CODE_SEQ: {"vr": "SQ", "Value": [code("110514")]},
        t.CONTACT_DISPLAY_NAME: {"vr": "LO", "Value": ["Desk"]},
    }
    ds = complete_cancellation({}, NOW, reason)
    item = ds[t.PROGRESS_INFORMATION_SEQ]["Value"][0]
    assert value(item, t.REASON_FOR_CANCELLATION) == "Patient left"
    assert value(value(item, t.DISCONTINUATION_REASON_CODE_SEQ), t.CODE_VALUE) == "110514"
    assert value(item, t.CONTACT_DISPLAY_NAME) == "Desk"


def test_cancellation_does_not_overwrite_a_reason_the_performer_already_gave():
    item = {t.REASON_FOR_CANCELLATION: {"vr": "LT", "Value": ["Contrast allergy"]}}
    reason = {t.REASON_FOR_CANCELLATION: {"vr": "LT", "Value": ["Patient left"]}}
    ds = complete_cancellation({t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [item]}}, NOW, reason)
    assert value(ds[t.PROGRESS_INFORMATION_SEQ]["Value"][0], t.REASON_FOR_CANCELLATION) == "Contrast allergy"


def test_cancellation_does_not_change_the_callers_dataset():
    original = {t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [{t.PROGRESS: {"vr": "DS", "Value": [10]}}]}}
    snapshot = copy.deepcopy(original)
    complete_cancellation(original, NOW)
    assert original == snapshot
