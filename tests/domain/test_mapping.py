"""The MWL ⇄ UPS mapping both sides use (standard.md §8)."""

from __future__ import annotations

from app.domain import tags as t
from app.domain.build import NewWorkitem
from app.domain.mapping import answer_keys, identifier_keys, mpps_performed, mwl_to_ups, sps_id, ups_to_mwl
from app.domain.query import build_query
from app.domain.workitem import Code, PatientName, Workitem


def ups() -> dict:
    return NewWorkitem(
        uid="1.2.3.4",
        label="CT chest",
        start="20261123081500",
        patient=PatientName("Müller^Jürgen"),
        patient_id="P1",
        station="CT1",
        modality="CT",
        accession="ACC1",
        requested_procedure_id="RP1",
        requested_procedure=Code("CTCHEST", "99WLPROC", "CT chest"),
        study_uid="1.2.3.9",
        location="Room 1",
        performers=[(Code("T1", "99S", "Tech"), "Becker^Anna")],
    ).to_json()


def test_ups_becomes_an_mwl_item_with_every_required_key():
    mwl = ups_to_mwl(ups())
    sps = mwl["00400100"]["Value"][0]
    assert sps["00400001"]["Value"] == ["CT1"] and sps["00080060"]["Value"] == ["CT"]
    assert sps["00400002"]["Value"] == ["20261123"] and sps["00400003"]["Value"] == ["081500"]
    assert sps["00400006"]["Value"] == [{"Alphabetic": "Becker^Anna"}]
    assert sps["00400009"]["Value"] == [sps_id("1.2.3.4")] and len(sps_id("1.2.3.4")) == 16
    assert mwl[t.ACCESSION_NUMBER]["Value"] == ["ACC1"] and mwl[t.REQUESTED_PROCEDURE_ID]["Value"] == ["RP1"]
    assert mwl[t.PATIENT_NAME]["Value"] == [{"Alphabetic": "Müller^Jürgen"}]


def test_mwl_item_reads_back_as_the_same_workitem_facts():
    back = Workitem(mwl_to_ups(ups_to_mwl(ups())))
    assert back.station_names[0].value == "CT1" and back.station_classes[0].value == "CT"
    assert back.label == "CT chest" and back.accession_number == "ACC1" and back.requested_procedure_id == "RP1"
    assert back.scheduled_start().strftime("%Y%m%d%H%M%S") == "20261123081500"
    assert back.patient_name.alphabetic == "Müller^Jürgen" and back.human_performers == ["Becker^Anna"]
    assert back.uid == Workitem(mwl_to_ups(ups_to_mwl(ups()))).uid  # stable for the same step


def test_an_identifier_matches_through_the_query_model_with_combined_date_time():
    identifier = {
        "00400100": {
            "vr": "SQ",
            "Value": [
                {
                    "00400001": {"vr": "AE", "Value": ["CT1"]},
                    "00400002": {"vr": "DA", "Value": ["20261123"]},
                    "00400003": {"vr": "TM", "Value": ["0800-0900"]},
                }
            ],
        },
        t.PATIENT_NAME: {"vr": "PN", "Value": [{"Alphabetic": "MÜLLER*"}]},
    }
    query = build_query(identifier_keys(identifier))
    assert query.matches(ups_to_mwl(ups()))
    identifier["00400100"]["Value"][0]["00400003"]["Value"] = ["0900-1000"]
    assert not build_query(identifier_keys(identifier)).matches(ups_to_mwl(ups()))


def test_answer_holds_requested_keys_and_the_character_set_only():
    identifier = {t.PATIENT_ID: {"vr": "LO"}, "00400100": {"vr": "SQ", "Value": [{"00400001": {"vr": "AE"}}]}}
    answer = answer_keys(ups_to_mwl(ups()), identifier)
    assert set(answer) == {t.SPECIFIC_CHARACTER_SET, t.PATIENT_ID, "00400100"}
    assert set(answer["00400100"]["Value"][0]) == {"00400001"}


def test_an_operator_known_only_by_an_ideographic_name_is_kept_as_performer():

    mpps = {
        "00400340": {
            "vr": "SQ",
            "Value": [
                {
                    "00081070": {"vr": "PN", "Value": [{"Ideographic": "山田^花子"}, {"Alphabetic": "Becker^Anna"}]},
                    "00081050": {"vr": "PN", "Value": [{"Alphabetic": "Becker^Anna"}]},
                }
            ],
        }
    }
    performed = mpps_performed(mpps)[t.PERFORMED_PROCEDURE_SEQ]["Value"][0]
    people = performed[t.ACTUAL_HUMAN_PERFORMERS_SEQ]["Value"]
    assert [p[t.HUMAN_PERFORMER_NAME]["Value"] for p in people] == [
        [{"Ideographic": "山田^花子"}],
        [{"Alphabetic": "Becker^Anna"}],
    ]
    assert people[0][t.HUMAN_PERFORMER_CODE_SEQ]["Value"][0]["00080104"]["Value"] == ["山田^花子"]
