"""The MWL ⇄ UPS mapping both sides use (standard.md §8)."""

from __future__ import annotations

from app.domain import tags as t
from app.domain.access import Act, Identity, Role, refusal
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


def _mwl_for(*stations: str, name: str = "") -> dict:
    """An MWL item as an RIS sends it, scheduled for `stations` ((0040,0001) is VM 1-n)."""
    step: dict = {
        "00400001": {"vr": "AE", "Value": list(stations)},
        "00400002": {"vr": "DA", "Value": ["20261123"]},
        "00400003": {"vr": "TM", "Value": ["081500"]},
        "00080060": {"vr": "CS", "Value": ["MR"]},
        "00400009": {"vr": "SH", "Value": ["SPD3445"]},
        "00400011": {"vr": "SH", "Value": ["B34F56"]},
    }
    if name:
        step["00400010"] = {"vr": "SH", "Value": [name]}
    return {
        t.STUDY_INSTANCE_UID: {"vr": "UI", "Value": ["1.2.276.0.7230010.3.2.101"]},
        t.ACCESSION_NUMBER: {"vr": "SH", "Value": ["00000"]},
        "00400100": {"vr": "SQ", "Value": [step]},
    }


def test_every_scheduled_station_becomes_a_station_name_code_and_goes_back_as_one_multi_valued_ae():
    workitem = Workitem(mwl_to_ups(_mwl_for("AA32", "AA33", name="STN456")))
    assert [c.value for c in workitem.station_names] == ["AA32", "AA33"]
    assert {c.meaning for c in workitem.station_names} == {"STN456"}  # the one name the RIS gives them
    assert [c.value for c in workitem.station_classes] == ["MR"]  # (0008,0060) and (0040,0011) are VM 1
    assert [c.meaning for c in workitem.station_locations] == ["B34F56"]

    sps = ups_to_mwl(workitem.json)["00400100"]["Value"][0]
    assert sps["00400001"] == {"vr": "AE", "Value": ["AA32", "AA33"]}
    assert sps["00400010"]["Value"] == ["STN456"]
    assert [c.value for c in Workitem(mwl_to_ups(ups_to_mwl(workitem.json))).station_names] == ["AA32", "AA33"]


def test_a_step_scheduled_for_several_stations_matches_a_key_naming_any_of_them():
    mwl = ups_to_mwl(mwl_to_ups(_mwl_for("FG56", "ER67", "JJ56")))
    for station in ("FG56", "ER67", "JJ56", "ER*"):
        identifier = {"00400100": {"vr": "SQ", "Value": [{"00400001": {"vr": "AE", "Value": [station]}}]}}
        assert build_query(identifier_keys(identifier)).matches(mwl), station
    identifier = {"00400100": {"vr": "SQ", "Value": [{"00400001": {"vr": "AE", "Value": ["TZ77"]}}]}}
    assert not build_query(identifier_keys(identifier)).matches(mwl)


def test_the_access_rule_takes_a_workitem_scheduled_for_several_stations_as_scheduled_for_each():
    scheduled = tuple(c.value for c in Workitem(mwl_to_ups(_mwl_for("AA32", "AA33"))).station_names)
    assert scheduled == ("AA32", "AA33")
    for ae in ("AA32", "AA33"):
        assert (
            refusal(Identity(ae, Role.MODALITY, frozenset({ae})), Act.CLAIM, acting_ae=ae, stations=scheduled) is None
        )
    other = refusal(Identity("CT1", Role.MODALITY, frozenset({"CT1"})), Act.CLAIM, acting_ae="CT1", stations=scheduled)
    assert other is not None and "AA32, AA33" in other.text
