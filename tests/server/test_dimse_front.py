"""The embedded server's DIMSE front: MWL C-FIND from the UPS store, over real associations —
pynetdicom as a modality, and DCMTK's findscu as an independent peer."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from embedded_server import PINNED_DAY
from pydicom import Dataset, dcmread
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

from app.domain.dicomjson import from_dataset

TODAY = PINNED_DAY.strftime("%Y%m%d")  # the front holds that demo day
DCMTK_FINDSCU = "/usr/bin/findscu"  # not the pynetdicom app of the same name on PATH


def mwl_query(station: str = "CT1", day: str = TODAY, **top) -> Dataset:
    ds = Dataset()
    ds.PatientName = top.pop("PatientName", "")
    ds.PatientID = top.pop("PatientID", "")
    ds.AccessionNumber = ""
    ds.RequestedProcedureID = ""
    sps = Dataset()
    sps.ScheduledStationAETitle = station
    sps.ScheduledProcedureStepStartDate = day
    sps.ScheduledProcedureStepStartTime = ""
    sps.Modality = top.pop("Modality", "")
    sps.ScheduledProcedureStepDescription = ""
    ds.ScheduledProcedureStepSequence = [sps]
    for keyword, value in top.items():
        setattr(ds, keyword, value)
    return ds


def find(
    port: int,
    query: Dataset,
    calling: str = "CT1",
    syntax: str | None = None,
    max_pdu: int | None = None,
    pdu_lengths: list[int] | None = None,
) -> tuple[list[Dataset], int]:
    """The answers and the final status; `pdu_lengths` gets the length of each P-DATA-TF received."""
    ae = AE(calling)
    ae.add_requested_context(ModalityWorklistInformationFind, *([syntax] if syntax else []))
    handlers = []
    if pdu_lengths is not None:
        handlers.append(
            (
                evt.EVT_PDU_RECV,
                lambda event: type(event.pdu) is P_DATA_TF and pdu_lengths.append(event.pdu.pdu_length),
            )
        )
    # max_pdu: what this SCU says it receives at most; the front must fragment to it
    extra = {"max_pdu": max_pdu} if max_pdu is not None else {}
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST", evt_handlers=handlers, **extra)
    assert assoc.is_established
    found, final = [], -1
    try:
        for status, identifier in assoc.send_c_find(query, ModalityWorklistInformationFind):
            if status and status.Status in (0xFF00, 0xFF01):
                found.append(identifier)
            elif status:
                final = status.Status
    finally:
        assoc.release()
    return found, final


def test_verification_answers(front):
    ae = AE("CT1")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", front.dimse.port, ae_title="WORKLIST")
    assert assoc.send_c_echo().Status == 0x0000
    assoc.release()


def test_station_and_day_find_todays_items_of_that_station_only(front):
    found, final = find(front.dimse.port, mwl_query("CT1"))
    assert final == 0x0000 and len(found) == 5
    for item in found:
        sps = item.ScheduledProcedureStepSequence[0]
        assert sps.ScheduledStationAETitle == "CT1" and sps.ScheduledProcedureStepStartDate == TODAY
        assert sps.Modality == "CT" and item.AccessionNumber and item.RequestedProcedureID


def test_answers_hold_the_requested_keys_and_nothing_more(front):
    found, _ = find(front.dimse.port, mwl_query("MR1"))
    assert found
    keys = {e.keyword for e in found[0]}
    assert keys <= {
        "SpecificCharacterSet",
        "PatientName",
        "PatientID",
        "AccessionNumber",
        "RequestedProcedureID",
        "ScheduledProcedureStepSequence",
    }
    assert "StudyInstanceUID" not in keys


def test_patient_name_wildcard_matches_across_character_sets(front):
    found, _ = find(front.dimse.port, mwl_query("", "", PatientName="MÜLLER*"))
    assert found and all(str(f.PatientName).upper().startswith("MÜLLER") for f in found)


def test_a_date_range_and_modality_narrow_the_list(front):
    after = f"{PINNED_DAY + timedelta(days=1):%Y%m%d}"
    both, _ = find(front.dimse.port, mwl_query("", f"{TODAY}-{after}", Modality="US"))
    assert len(both) == 10  # the pinned day and the next on US1
    assert {f.ScheduledProcedureStepSequence[0].Modality for f in both} == {"US"}


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian])
def test_every_transfer_syntax_carries_the_same_answers(front, syntax):
    """Little-endian answers are written straight from DICOM JSON; big endian goes through
    pydicom. A modality must not see the difference."""
    query = mwl_query("", "", PatientName="*")
    found, final = find(front.dimse.port, query, syntax=syntax)
    reference, _ = find(front.dimse.port, query, syntax=ImplicitVRLittleEndian)
    assert final == 0x0000 and len(found) == len(reference) > 20
    as_json = sorted(json.dumps(from_dataset(d), sort_keys=True, ensure_ascii=False) for d in found)
    assert as_json == sorted(json.dumps(from_dataset(d), sort_keys=True, ensure_ascii=False) for d in reference)
    names = {str(d.PatientName) for d in found}
    assert any("=" in n and not n.isascii() for n in names)  # a Japanese name with its ideographic group
    assert any(not n.isascii() and "=" not in n for n in names)  # and a European one


@pytest.mark.parametrize("max_pdu", [128, 400])
def test_a_modality_with_small_pdus_gets_the_same_answers_in_fragments(front, max_pdu):
    """Answers are written as P-DATA-TF PDUs of our own (app/server/find_answers.py): a peer that
    receives small PDUs gets each answer's command and identifier fragmented to fit (128: every
    identifier in several fragments; 400: some answers whole in one PDU, others split)."""
    query = mwl_query("", "", PatientName="*")
    lengths: list[int] = []
    found, final = find(front.dimse.port, query, max_pdu=max_pdu, pdu_lengths=lengths)
    reference, _ = find(front.dimse.port, query)
    assert lengths and max(lengths) <= max_pdu
    assert final == 0x0000 and len(found) == len(reference) > 20
    as_json = sorted(json.dumps(from_dataset(d), sort_keys=True, ensure_ascii=False) for d in found)
    assert as_json == sorted(json.dumps(from_dataset(d), sort_keys=True, ensure_ascii=False) for d in reference)


def test_an_unknown_station_finds_nothing(front):
    found, final = find(front.dimse.port, mwl_query("NOSUCH"))
    assert found == [] and final == 0x0000


@pytest.mark.interop
def test_dcmtk_findscu_gets_the_demo_day_for_a_station(front, tmp_path):
    if not Path(DCMTK_FINDSCU).exists():
        pytest.skip("DCMTK findscu is not installed (apt-get install dcmtk)")
    query = tmp_path / "query.dcm"
    mwl_query("CT2").save_as(query, enforce_file_format=False, implicit_vr=False, little_endian=True)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(
        [
            DCMTK_FINDSCU,
            "-W",
            "-aet",
            "CT2",
            "-aec",
            "WORKLIST",
            "-X",
            "-od",
            str(out),
            "127.0.0.1",
            str(front.dimse.port),
            str(query),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    answers = [dcmread(p) for p in sorted(out.iterdir())]
    assert len(answers) == 5
    assert {a.ScheduledProcedureStepSequence[0].ScheduledStationAETitle for a in answers} == {"CT2"}
    assert all(a.SpecificCharacterSet == "ISO_IR 192" for a in answers)


def test_a_refused_query_says_why_in_its_error_comment(front):
    ae = AE("CT1")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", front.dimse.port, ae_title="WORKLIST")
    assert assoc.is_established
    query = mwl_query()
    query.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate = "20261345"
    try:
        statuses = [status for status, _ in assoc.send_c_find(query, ModalityWorklistInformationFind)]
    finally:
        assoc.release()
    assert statuses[-1].Status == 0xA900
    assert "0040,0002" in statuses[-1].ErrorComment


@pytest.mark.interop
def test_dcmtk_findscu_with_a_query_retrieve_level_and_a_key_outside_the_model_still_finds_the_day(front, tmp_path):
    if not Path(DCMTK_FINDSCU).exists():
        pytest.skip("DCMTK findscu is not installed (apt-get install dcmtk)")
    query = tmp_path / "query.dcm"
    mwl_query("CT2").save_as(query, enforce_file_format=False, implicit_vr=False, little_endian=True)
    out = tmp_path / "out"
    out.mkdir()
    extra = ["-k", "QueryRetrieveLevel=WORKLIST", "-k", "BodyPartExamined=HEAD"]
    proc = subprocess.run(
        [DCMTK_FINDSCU, "-W", "-aet", "CT2", "-aec", "WORKLIST", "-X", "-od", str(out), *extra]
        + ["127.0.0.1", str(front.dimse.port), str(query)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    answers = [dcmread(p) for p in sorted(out.iterdir())]
    assert len(answers) == 5
    assert {a.ScheduledProcedureStepSequence[0].ScheduledStationAETitle for a in answers} == {"CT2"}
    # not matched, returned as an unsupported key is (empty); the level is not an MWL attribute at all
    assert all(a.BodyPartExamined == "" and "QueryRetrieveLevel" not in a for a in answers)


def test_a_valued_key_outside_the_mwl_model_matches_as_a_return_key_with_pending_ff01(front):
    plain, _ = find(front.dimse.port, mwl_query("CT2"))
    ae = AE("CT2")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", front.dimse.port, ae_title="WORKLIST")
    assert assoc.is_established
    query = mwl_query("CT2", QueryRetrieveLevel="WORKLIST", StudyDescription="Anything")
    query.ScheduledProcedureStepSequence[0].ContrastBolusAgent = "Iodine"
    try:
        answers = list(assoc.send_c_find(query, ModalityWorklistInformationFind))
    finally:
        assoc.release()
    pending = [(status.Status, identifier) for status, identifier in answers if status.Status in (0xFF00, 0xFF01)]
    assert len(pending) == len(plain) == 5 and answers[-1][0].Status == 0x0000
    assert {code for code, _ in pending} == {0xFF01}
    assert all(
        a.StudyDescription == "" and a.ScheduledProcedureStepSequence[0].ContrastBolusAgent == "" for _, a in pending
    )


def test_a_query_retrieve_level_alone_changes_nothing_in_the_answers(front):
    plain, _ = find(front.dimse.port, mwl_query("CT2"))
    found, final = find(front.dimse.port, mwl_query("CT2", QueryRetrieveLevel="WORKLIST"))
    assert final == 0x0000 and len(found) == len(plain) == 5
    assert [(str(a.PatientName), a.AccessionNumber) for a in found] == [
        (str(a.PatientName), a.AccessionNumber) for a in plain
    ]
    assert all("QueryRetrieveLevel" not in a for a in found)
