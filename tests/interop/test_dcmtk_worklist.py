"""Our DIMSE backend against DCMTK's wlmscpfs serving the sample worklists the dcmtk package
ships: it must find the same entries as DCMTK's own findscu -W for the same keys."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread

from app.backends.dimse import DimseBackend
from app.backends.profiles import Profile
from app.domain.worklist_query import WorklistQuery

EXAMPLES = Path("/usr/share/doc/dcmtk/examples/wlistdb/OFFIS")
DCMTK = {name: Path("/usr/bin") / name for name in ("wlmscpfs", "findscu", "dump2dcm")}

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def wlmscpfs(tmp_path_factory):
    missing = [str(p) for p in DCMTK.values() if not p.exists()]
    if missing or not EXAMPLES.is_dir():
        pytest.skip(f"DCMTK is not installed (apt-get install dcmtk): {missing or EXAMPLES}")
    root = tmp_path_factory.mktemp("wlistdb")
    db = root / "OFFIS"
    db.mkdir()
    for dump in sorted(EXAMPLES.glob("*.dump")):
        subprocess.run([str(DCMTK["dump2dcm"]), str(dump), str(db / (dump.stem + ".wl"))], check=True,
                       capture_output=True, timeout=30)
    (db / "lockfile").touch()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(DCMTK["wlmscpfs"]), "-dfp", str(root), "-dfr", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, len(list(db.glob("*.wl")))
    server.terminate()
    server.wait(10)


def dcmtk_findscu(port: int, tmp_path: Path, modality: str = "") -> list[Dataset]:
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
    proc = subprocess.run([str(DCMTK["findscu"]), "-W", "-aec", "OFFIS", "-X", "-od", str(out), "127.0.0.1",
                           str(port), str(path)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return [dcmread(p) for p in sorted(out.iterdir())]


def ours(port: int, modality: str = "") -> list:
    import asyncio

    backend = DimseBackend(Profile(backend="dimse", ae_title="CONSOLE", mwl_host="127.0.0.1", mwl_port=port,
                                   mwl_aet="OFFIS", timeout=10))
    return asyncio.run(backend.search(WorklistQuery(modality=modality, states=())))


@pytest.mark.parametrize("modality", ["", "MR", "CT"])
def test_our_backend_finds_what_dcmtk_findscu_finds(wlmscpfs, tmp_path, modality):
    port, files = wlmscpfs
    theirs = dcmtk_findscu(port, tmp_path, modality)
    mine = ours(port, modality)
    assert len(mine) == len(theirs) and (modality or len(theirs) == files)
    assert sorted((str(d.PatientID), str(d.AccessionNumber)) for d in theirs) == \
        sorted((w.patient_id, w.accession_number) for w in mine)
    names = {str(d.PatientName) for d in theirs}
    assert {w.patient_name.alphabetic for w in mine} == names
