"""Our DIMSE backend against two independent MWL servers — DCMTK's wlmscpfs and Orthanc's
ModalityWorklists plugin — both serving the sample worklists the dcmtk package ships: it
must find the same entries as DCMTK's own findscu -W for the same keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from dimse_peers import Wlmscpfs, free_port, orthanc_worklists, wait_for, worklist_folder
from pydicom import Dataset, dcmread

from app.backends.dimse import DimseBackend
from app.backends.profiles import Profile
from app.domain.worklist_query import WorklistQuery

DCMTK = {name: Path("/usr/bin") / name for name in ("wlmscpfs", "findscu", "dump2dcm")}

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def worklist_files(tmp_path_factory) -> Path:
    if not DCMTK["findscu"].exists():
        pytest.skip("DCMTK is not installed (apt-get install dcmtk)")
    return worklist_folder(tmp_path_factory.mktemp("wlistdb"))


@pytest.fixture(scope="module")
def wlmscpfs(worklist_files):
    server = Wlmscpfs(worklist_files).start()
    yield server.port, server.aet, len(list(worklist_files.glob("*.wl")))
    server.stop()


@pytest.fixture(scope="module")
def orthanc(worklist_files, tmp_path_factory):
    server, port = orthanc_worklists(worklist_files, tmp_path_factory.mktemp("orthanc"))
    yield port, "ORTHANC", len(list(worklist_files.glob("*.wl")))
    server.terminate()
    server.wait(20)


def dcmtk_findscu(port: int, called: str, tmp_path: Path, modality: str = "") -> list[Dataset]:
    query = Dataset()
    query.SpecificCharacterSet = "ISO_IR 100"
    for keyword in ("PatientName", "PatientID", "AccessionNumber", "RequestedProcedureID", "StudyInstanceUID"):
        setattr(query, keyword, "")
    sps = Dataset()
    sps.ScheduledStationAETitle = ""
    sps.ScheduledProcedureStepStartDate = ""
    sps.ScheduledProcedureStepStartTime = ""
    sps.Modality = modality
    sps.ScheduledProcedureStepID = ""
    query.ScheduledProcedureStepSequence = [sps]
    path = tmp_path / "query.dcm"
    query.save_as(path, enforce_file_format=False, implicit_vr=False, little_endian=True)
    out = tmp_path / "answers"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    proc = subprocess.run(
        [str(DCMTK["findscu"]), "-W", "-aec", called, "-X", "-od", str(out), "127.0.0.1", str(port), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return [dcmread(p) for p in sorted(out.iterdir())]


def ours(port: int, called: str, modality: str = "") -> list:
    import asyncio

    backend = DimseBackend(
        Profile(backend="dimse", ae_title="CONSOLE", mwl_host="127.0.0.1", mwl_port=port, mwl_aet=called, timeout=10)
    )
    return asyncio.run(backend.search(WorklistQuery(modality=modality, states=())))


@pytest.mark.parametrize("peer", ["wlmscpfs", "orthanc"])
@pytest.mark.parametrize("modality", ["", "MR", "CT"])
def test_our_backend_finds_what_dcmtk_findscu_finds(request, tmp_path, peer, modality):
    port, called, files = request.getfixturevalue(peer)
    theirs = dcmtk_findscu(port, called, tmp_path, modality)
    mine = ours(port, called, modality)
    assert theirs, f"{peer} returned nothing to findscu"
    assert len(mine) == len(theirs) and (modality or len(theirs) == files)
    assert sorted((str(d.PatientID), str(d.AccessionNumber)) for d in theirs) == sorted(
        (w.patient_id, w.accession_number) for w in mine
    )
    assert {w.patient_name.alphabetic for w in mine} == {str(d.PatientName) for d in theirs}


def test_a_wrong_called_ae_title_is_said_in_a_sentence(wlmscpfs):
    import asyncio

    from app.backends.errors import Refused

    port, _, _ = wlmscpfs
    backend = DimseBackend(
        Profile(backend="dimse", ae_title="CT1", mwl_host="127.0.0.1", mwl_port=port, mwl_aet="NOT_OFFIS", timeout=10)
    )
    with pytest.raises(Refused) as refused:
        asyncio.run(backend.search(WorklistQuery(states=())))
    assert refused.value.sentence == (
        f"The worklist server at 127.0.0.1:{port} does not answer to the AE title NOT_OFFIS that CT1 called: "
        "set the called AE title to the server's own."
    )


UTF8_ENTRY = """\
(0008,0050) SH  U0001
(0010,0010) PN  Müller^Jürgen=山田^太郎
(0010,0020) LO  UTF8P1
(0020,000d) UI  1.2.276.0.7230010.3.2.999
(0032,1060) LO  Schädel nativ
(0040,0100) SQ
(fffe,e000) -
(0008,0060) CS  CT
(0040,0001) AE  CT1
(0040,0002) DA  {day}
(0040,0003) TM  090000
(0040,0007) LO  Thorax Übersicht
(0040,0009) SH  SPS1
(0040,0010) SH  Raum Süd
(0040,0020) CS  IN_PROGRESS
(fffe,e00d) -
(fffe,e0dd) -
(0040,1001) SH  RP1
"""


@pytest.fixture(scope="module")
def utf8_wlmscpfs(tmp_path_factory):
    """wlmscpfs serving a worklist file written in UTF-8 with no Specific Character Set, as sites
    write them: it sends the bytes as they are, naming no character set."""
    from embedded_server import PINNED_DAY

    if not all(p.exists() for p in DCMTK.values()):
        pytest.skip("DCMTK is not installed (apt-get install dcmtk)")
    db = tmp_path_factory.mktemp("utf8db") / "UTF8"
    db.mkdir()
    dump = db.parent / "entry.dump"
    dump.write_text(UTF8_ENTRY.format(day=f"{PINNED_DAY:%Y%m%d}"), encoding="utf-8")
    subprocess.run([str(DCMTK["dump2dcm"]), str(dump), str(db / "entry.wl")], check=True, capture_output=True)
    (db / "lockfile").touch()
    port = free_port()
    server = subprocess.Popen(
        [str(DCMTK["wlmscpfs"]), "-dfp", str(db.parent), "-dfr", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(port)
    yield port
    server.terminate()
    server.wait(10)


def test_a_utf8_worklist_without_character_set_reads_as_utf8(utf8_wlmscpfs):
    [item] = ours(utf8_wlmscpfs, "UTF8")
    assert (item.patient_name.alphabetic, item.patient_name.ideographic) == ("Müller^Jürgen", "山田^太郎")
    assert item.label == "Thorax Übersicht" and item.station_names[0].meaning == "Raum Süd"
    assert item.state is not None and item.state.value == "IN PROGRESS"  # pylantir's spelling, read as it means
    table = subprocess.run(
        [sys.executable, "-m", "app", "find", "--mwl", f"127.0.0.1:{utf8_wlmscpfs}:UTF8", "--station", "CT1"]
        + ["--date-range", "-", "--all-states"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.returncode == 0, table.stderr
    assert "Müller, Jürgen" in table.stdout and "IN PROGRESS" in table.stdout and "Ã" not in table.stdout
