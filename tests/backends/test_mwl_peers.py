"""What MWL peers really send: statuses beyond the defined terms (pylantir's IN_PROGRESS), text
without a Specific Character Set (DCMTK's wlmscpfs sends UTF-8 so), a Scheduled Station Name
without an AE title, and CJK names that a terminal table must align by display width."""

from __future__ import annotations

import logging
import subprocess
import sys

from embedded_server import PINNED_DAY
from pydicom import Dataset
from pydicom.uid import generate_uid
from wcwidth import wcswidth

from app.backends.dimse import DimseBackend
from app.backends.profiles import Profile
from app.domain.states import State
from app.domain.worklist_query import WorklistQuery

DAY = f"{PINNED_DAY:%Y%m%d}"


def entry(
    name: str | bytes,
    accession: str,
    status: str = "SCHEDULED",
    station_ae: str = "CT1",
    station_name: str | bytes = "",
    charset: str | None = "ISO_IR 192",
) -> Dataset:
    """An MWL answer; a str name is sent in UTF-8, bytes as they are; the station name in UTF-8."""
    ds = Dataset()
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.add_new(0x00100010, "PN", name if isinstance(name, bytes) else name.encode())
    ds.PatientID = f"P{accession}"
    ds.AccessionNumber = accession
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[accession])
    ds.RequestedProcedureDescription = "CT chest"
    sps = Dataset()
    sps.ScheduledStationAETitle = station_ae
    sps.add_new(0x00400010, "SH", station_name if isinstance(station_name, bytes) else station_name.encode())
    sps.ScheduledProcedureStepStartDate = DAY
    sps.ScheduledProcedureStepStartTime = "090000"
    sps.Modality = "CT"
    sps.ScheduledProcedureStepID = f"S{accession}"
    sps.ScheduledProcedureStepStatus = status
    ds.ScheduledProcedureStepSequence = [sps]
    return ds


def backend(port: int, fallback: str = "ISO_IR 100") -> DimseBackend:
    return DimseBackend(
        Profile(
            name="mwl", backend="dimse", ae_title="CT1", mwl_port=port, mwl_aet="MWLPEER", fallback_charset=fallback
        )
    )


def everything() -> WorklistQuery:
    return WorklistQuery(station="CT1", date_from=PINNED_DAY, date_to=PINNED_DAY, states=())


def find(port: int, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", "find", "--mwl", f"127.0.0.1:{port}:MWLPEER", "--station", "CT1"]
        + ["--date", DAY, "--all-states", *options],
        capture_output=True,
        text=True,
        timeout=60,
    )


STATUSES = {
    "SCHEDULED": State.SCHEDULED,
    "ARRIVED": State.SCHEDULED,
    "READY": State.SCHEDULED,
    "": State.SCHEDULED,
    "STARTED": State.IN_PROGRESS,
    "DEPARTED": State.IN_PROGRESS,
    "IN PROGRESS": State.IN_PROGRESS,
    "IN_PROGRESS": State.IN_PROGRESS,
    "COMPLETED": State.COMPLETED,
    "DISCONTINUED": State.CANCELED,
    "CANCELED": State.CANCELED,
}


async def test_defined_terms_and_common_variants_of_the_step_status_give_the_right_state(mwl_peer):
    port = mwl_peer([entry(f"Status^{i}", f"A{i}", status) for i, status in enumerate(STATUSES)])
    items = await backend(port).search(everything())
    assert {w.accession_number: w.state for w in items} == {f"A{i}": state for i, state in enumerate(STATUSES.values())}
    claimed = next(w for w in items if w.accession_number == f"A{list(STATUSES).index('IN_PROGRESS')}")
    assert claimed.state is not State.SCHEDULED  # a second console is not offered pylantir's claimed step


async def test_an_unknown_status_is_not_startable_says_why_and_is_logged_once(mwl_peer, caplog):
    port = mwl_peer([entry("Held^Anna", "H1", "ON HOLD"), entry("Free^Ben", "F1", "SCHEDULED")])
    b = backend(port)
    with caplog.at_level(logging.WARNING, logger="app.backends.dimse"):
        items = await b.search(everything())
        await b.search(everything())  # the list refreshes: the log is not flooded
    held = next(w for w in items if w.accession_number == "H1")
    assert held.state is State.IN_PROGRESS  # not SCHEDULED: no console offers Start for it
    assert "status 'ON HOLD', which this console does not know" in held.comments
    assert "not offered for starting" in held.progress_description
    assert next(w for w in items if w.accession_number == "F1").state is State.SCHEDULED
    warnings = [r.getMessage() for r in caplog.records if "'ON HOLD'" in r.getMessage()]
    assert len(warnings) == 1 and "SH1" in warnings[0] and "H1" in warnings[0]
    table = find(port)
    assert table.returncode == 0, table.stderr
    held_line = next(line for line in table.stdout.splitlines() if "Held, Anna" in line)
    assert "ON HOLD? (unknown)" in held_line


async def test_utf8_text_without_a_character_set_is_read_as_utf8(mwl_peer, caplog):
    port = mwl_peer([entry("Müller^Jürgen=山田^太郎", "U1", charset=None, station_name="Raum Süd")])
    with caplog.at_level(logging.INFO, logger="app.backends.dimse_worklist"):
        [item] = await backend(port).search(everything())
    assert item.patient_name.alphabetic == "Müller^Jürgen" and item.patient_name.ideographic == "山田^太郎"
    assert item.station_names[0].meaning == "Raum Süd"  # inside the sequence as well
    assert any("read as UTF-8" in r.getMessage() for r in caplog.records)
    table = find(port)
    assert table.returncode == 0 and "Müller, Jürgen" in table.stdout and "Ã" not in table.stdout


async def test_other_text_without_a_character_set_uses_the_fallback_or_charset_option(mwl_peer):
    station = "Sál Ł2".encode("iso8859_2")
    port = mwl_peer([entry("Łódź^Bożena".encode("iso8859_2"), "L1", charset=None, station_name=station)])
    [item] = await backend(port, fallback="ISO_IR 101").search(everything())
    assert item.patient_name.alphabetic == "Łódź^Bożena"
    assert item.station_names[0].meaning == "Sál Ł2"  # inside the sequence as well
    latin2 = find(port, "--charset", "ISO_IR 101")
    assert latin2.returncode == 0 and "Łódź, Bożena" in latin2.stdout
    assert "Łódź" not in find(port).stdout  # the default fallback (ISO_IR 100) reads other letters
    wrong = find(port, "--charset", "latin-2")
    assert wrong.returncode == 2 and "'latin-2' is not a DICOM character set" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_the_station_name_fills_the_station_column_when_no_ae_title_is_sent(mwl_peer):
    port = mwl_peer([entry("Nur^Name", "N1", station_ae="", station_name="CT SUED")])
    table = find(port)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].endswith("Station") and lines[1].endswith("CT SUED")


def test_the_find_table_aligns_cjk_names_by_display_width(mwl_peer):
    names = ["山田^太郎", "Smith^Jo", "ヤマダ^タロウ", "Ærø^Åse"]
    port = mwl_peer([entry(name, f"C{i}") for i, name in enumerate(names)])
    table = find(port)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()[: len(names) + 1]
    columns = {wcswidth(line[: line.index(f"PC{i}" if i >= 0 else "Patient ID")]) for i, line in enumerate(lines, -1)}
    assert len(columns) == 1, table.stdout  # the Patient ID column starts at one display column on every line
