"""HL7 v2 orders read as UPS actions (app/domain/hl7_orders.py): the README's mapping table."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain import tags as t
from app.domain.dicomjson import first_value, items
from app.domain.hl7_orders import OrderAction, OrderControl, OrderError, decode, read_order, workitem_uid
from app.domain.hl7_outcome import AckCode, ErrorLocation, Outcome

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "hl7"
NOW = "20270101120000"


def actions(raw: bytes, stations: dict[str, str] | None = None) -> list[OrderAction]:
    message, charset = decode(raw)
    found = read_order(message, charset, NOW, stations)
    assert isinstance(found, list), found
    return found


def refusal(raw: bytes) -> Outcome:
    message, charset = decode(raw)
    found = read_order(message, charset, NOW)
    assert isinstance(found, Outcome), found
    return found


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_orm_new_order_maps_patient_visit_request_and_step() -> None:
    [action] = actions(sample("orm_o01_new.hl7"), {"CT": "CT_ROOM1"})
    ds = action.dataset
    assert action.control is OrderControl.CREATE
    assert action.uid == first_value(ds, t.SOP_INSTANCE_UID)
    assert first_value(ds, t.SPECIFIC_CHARACTER_SET) == "ISO_IR 100"  # MSH-18 8859/1
    assert first_value(ds, t.PATIENT_NAME) == {"Alphabetic": "Müller^Anna^M"}
    assert first_value(ds, t.PATIENT_ID) == "PAT-1001"
    assert first_value(ds, t.ISSUER_OF_PATIENT_ID) == "RIS"
    assert (first_value(ds, t.BIRTH_DATE), first_value(ds, t.SEX)) == ("19720412", "F")
    assert first_value(ds, t.ADMISSION_ID) == "V-3001"
    assert first_value(ds, t.SPS_START_DATETIME) == "20270315093000"
    assert first_value(ds, t.PRIORITY) == "LOW"  # R routine
    assert first_value(ds, t.STUDY_INSTANCE_UID) == "1.2.826.0.1.3680043.8.498.1001"  # ZDS-1
    assert first_value(items(ds, t.STATION_NAME_CODE_SEQ)[0], t.CODE_VALUE) == "CT_ROOM1"  # modality mapping
    assert first_value(items(ds, t.STATION_CLASS_CODE_SEQ)[0], t.CODE_VALUE) == "CT"
    assert first_value(ds, "00102000") == "Contrast allergy"
    request = items(ds, t.REFERENCED_REQUEST_SEQ)[0]
    assert first_value(request, t.ACCESSION_NUMBER) == "ACC-1001"
    assert first_value(request, t.REQUESTED_PROCEDURE_ID) == "RP-1001"
    assert first_value(items(request, t.REQUESTED_PROCEDURE_CODE_SEQ)[0], t.CODE_VALUE) == "CT-HEAD"
    assert first_value(request, "00080090") == {"Alphabetic": "Weber^Klaus^^Dr."}
    assert first_value(request, "00321032") == {"Alphabetic": "Braun^Eva"}
    assert first_value(request, "00401002") == "Headache since three days"
    assert first_value(request, "00402016") == "PL-1001"


def test_omi_new_order_takes_the_ipc_and_tq1() -> None:
    [action] = actions(sample("omi_o23_new.hl7"))
    ds = action.dataset
    assert first_value(ds, t.SPECIFIC_CHARACTER_SET) == "ISO_IR 192"
    assert first_value(ds, t.PATIENT_NAME) == {"Alphabetic": "Çelik^Deniz"}
    assert first_value(ds, t.SPS_START_DATETIME) == "20270315101500"
    assert first_value(ds, t.PRIORITY) == "MEDIUM"  # A asap
    assert first_value(ds, t.STUDY_INSTANCE_UID) == "1.2.826.0.1.3680043.8.498.2002"
    assert first_value(items(ds, t.STATION_NAME_CODE_SEQ)[0], t.CODE_VALUE) == "MR1"  # IPC-9
    assert first_value(items(ds, t.SCHEDULED_WORKITEM_CODE_SEQ)[0], t.CODE_VALUE) == "PROT-KNEE"
    assert first_value(items(ds, t.REFERENCED_REQUEST_SEQ)[0], t.ACCESSION_NUMBER) == "ACC-2002"


def test_cancel_and_change_find_the_workitem_the_new_order_made() -> None:
    [new] = actions(sample("orm_o01_new.hl7"))
    [cancel] = actions(sample("orm_o01_cancel.hl7"))
    [change] = actions(sample("orm_o01_change.hl7"))
    assert new.uid == cancel.uid == change.uid == workitem_uid("RIS", "RADIOLOGY", "PL-1001", "SPS-1001")
    assert cancel.control is OrderControl.CANCEL
    assert change.control is OrderControl.CHANGE
    assert first_value(change.dataset, t.PRIORITY) == "HIGH"  # S stat
    assert first_value(change.dataset, t.SPS_START_DATETIME) == "20270315110000"
    assert first_value(items(change.dataset, t.STATION_NAME_CODE_SEQ)[0], t.CODE_VALUE) == "CT2"  # OBR-21
    assert t.PATIENT_ID not in change.dataset  # a change touches only what a scheduled step may change


@pytest.mark.parametrize("control", ["DC", "OC"])
def test_discontinue_and_cancelled_cancel(control: str) -> None:
    [action] = actions(sample("orm_o01_cancel.hl7").replace(b"ORC|CA|", f"ORC|{control}|".encode()))
    assert action.control is OrderControl.CANCEL


def test_study_uid_without_zds_is_the_same_for_a_resend() -> None:
    raw = sample("orm_o01_new.hl7").split(b"\rZDS")[0] + b"\r"
    first, again = actions(raw)[0], actions(raw.replace(b"ORM-0001", b"ORM-0099"))[0]
    study = first_value(first.dataset, t.STUDY_INSTANCE_UID)
    assert study and study != "1.2.826.0.1.3680043.8.498.1001"
    assert study == first_value(again.dataset, t.STUDY_INSTANCE_UID)


def test_escapes_are_decoded() -> None:
    raw = (
        sample("orm_o01_cancel.hl7")
        .replace(b"ORC|CA|", b"ORC|NW|")
        .replace(b"Mueller^Anna", b"O\\S\\Brien\\T\\x^Anna\\E\\")
    )
    [action] = actions(raw)
    assert first_value(action.dataset, t.PATIENT_NAME) == {"Alphabetic": "O^Brien&x^Anna\\"}


def test_missing_patient_id_is_ae_101_at_pid_3() -> None:
    raw = sample("orm_o01_new.hl7").replace(b"PAT-1001^^^RIS", b"")
    outcome = refusal(raw)
    assert (outcome.code, outcome.error_code, outcome.location) == (AckCode.ERROR, 101, ErrorLocation("PID", 3))
    assert "PID-3" in outcome.text


def test_unknown_order_control_is_ae_103_at_orc_1() -> None:
    outcome = refusal(sample("orm_o01_new.hl7").replace(b"ORC|NW|", b"ORC|ZZ|"))
    assert (outcome.code, outcome.error_code, outcome.location) == (AckCode.ERROR, 103, ErrorLocation("ORC", 1))


def test_unparseable_date_is_ae_102() -> None:
    outcome = refusal(sample("omi_o23_new.hl7").replace(b"20270315101500", b"2027-03-15"))
    assert (outcome.code, outcome.error_code) == (AckCode.ERROR, 102)
    assert outcome.location == ErrorLocation("TQ1", 7)


def test_ascii_message_declares_no_character_set() -> None:
    [action] = actions(sample("orm_o01_cancel.hl7").replace(b"ORC|CA|", b"ORC|NW|"))
    assert t.SPECIFIC_CHARACTER_SET in action.dataset
    assert first_value(action.dataset, t.SPECIFIC_CHARACTER_SET) is None


def test_unknown_character_set_is_refused() -> None:
    raw = sample("orm_o01_new.hl7").replace(b"|8859/1", b"|KLINGON")
    with pytest.raises(OrderError) as caught:
        decode(raw)
    assert caught.value.outcome.location == ErrorLocation("MSH", 18)


def site_actions(raw: bytes, accession_fields: tuple[str, ...]) -> list[OrderAction] | Outcome:
    message, charset = decode(raw)
    return read_order(message, charset, NOW, None, accession_fields)


def test_a_site_names_where_its_ris_puts_the_accession_number() -> None:
    raw = sample("orm_o01_new.hl7").replace(b"||ACC-1001|", b"|||")  # no OBR-18
    [by_default] = actions(raw)
    assert first_value(items(by_default.dataset, t.REFERENCED_REQUEST_SEQ)[0], t.ACCESSION_NUMBER) is None
    [from_filler] = site_actions(raw, ("OBR-18", "ORC-3"))
    assert first_value(items(from_filler.dataset, t.REFERENCED_REQUEST_SEQ)[0], t.ACCESSION_NUMBER) == "FL-1001"
    [obr_first] = site_actions(sample("orm_o01_new.hl7"), ("OBR-18", "ORC-3"))
    assert first_value(items(obr_first.dataset, t.REFERENCED_REQUEST_SEQ)[0], t.ACCESSION_NUMBER) == "ACC-1001"


def test_an_accession_number_over_16_characters_is_refused_not_cut() -> None:
    outcome = refusal(sample("orm_o01_new.hl7").replace(b"ACC-1001", b"ACC-1001-2027-0315"))
    assert (outcome.code, outcome.error_code, outcome.location) == (AckCode.ERROR, 102, ErrorLocation("OBR", 18))
    assert "16 characters" in outcome.text and "--hl7-accession" in outcome.text


def test_a_field_the_accession_rule_cannot_name_is_a_sentence() -> None:
    from app.domain.hl7_orders import accession_field

    assert accession_field(" orc-3 ") == "ORC-3"
    for wrong in ("PID-3", "OBR", "OBR-0", "OBR-x"):
        with pytest.raises(ValueError, match="ORC, OBR or IPC"):
            accession_field(wrong)


def test_allergies_come_from_each_al1_and_the_orm_protocol_from_obr_44() -> None:
    raw = sample("orm_o01_new.hl7").replace(
        b"\rORC|", b"\rAL1|1|DA|70618^Penicillin^RxNorm|SV\rAL1|2|FA|^Peanuts\rORC|"
    )
    raw = raw.replace(
        b"^Headache since three days", b"^Headache since three days" + b"|" * 13 + b"P-HEAD^Head routine^99RIS"
    )
    [action] = actions(raw)
    assert action.dataset["00102110"]["Value"] == ["Penicillin", "Peanuts"]
    protocol = items(action.dataset, t.SCHEDULED_WORKITEM_CODE_SEQ)[0]
    assert (first_value(protocol, t.CODE_VALUE), first_value(protocol, "00080104")) == ("P-HEAD", "Head routine")


@pytest.mark.parametrize(
    ("sample_name", "written", "escaped", "read"),
    [
        ("omi_o23_new.hl7", "\u00c7elik".encode(), b"\\XC387\\elik", "\u00c7elik^Deniz"),  # UTF-8 bytes
        ("orm_o01_new.hl7", "M\u00fcller".encode("latin-1"), b"M\\XFC\\ller", "M\u00fcller^Anna^M"),  # 8859/1
        ("orm_o01_new.hl7", "M\u00fcller".encode("latin-1"), b"M\\X7C\\ller", "M|ller^Anna^M"),  # a separator
    ],
)
def test_hexadecimal_escapes_are_bytes_of_the_messages_character_set(sample_name, written, escaped, read) -> None:
    [action] = actions(sample(sample_name).replace(written, escaped))
    assert first_value(action.dataset, t.PATIENT_NAME) == {"Alphabetic": read}


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (b"PAT-1001^^^RIS", b"P" * 65 + b"^^^RIS", ErrorLocation("PID", 3)),
        (b"M\xfcller^Anna^M", b"M" * 70 + b"^Anna", ErrorLocation("PID", 5)),
        (b"|PL-1001|FL-1001|", b"|" + b"P" * 65 + b"|FL-1001|", ErrorLocation("ORC", 2)),
        (b"|RP-1001|", b"|RP-1001-2027-03-15|", ErrorLocation("OBR", 19)),
        (b"CT-HEAD^", b"CT-HEAD-WITHOUT-CONTRAST^", ErrorLocation("OBR", 4)),
        (b"V-3001", b"V" * 65, ErrorLocation("PV1", 19)),
    ],
)
def test_an_identifier_dicom_cannot_keep_whole_is_refused_not_cut(old: bytes, new: bytes, where) -> None:
    raw = sample("orm_o01_new.hl7")
    assert old in raw
    outcome = refusal(raw.replace(old, new, 1))
    assert (outcome.code, outcome.error_code, outcome.location) == (AckCode.ERROR, 102, where), outcome
    assert "cuts no identifier short" in outcome.text
