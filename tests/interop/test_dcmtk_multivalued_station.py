"""The console's DIMSE backend and `worklist-console find` against DCMTK's wlmscpfs, for the
OFFIS sample scheduled for two stations (wklist1: `AA32\\AA33`; (0040,0001) is VM 1-n): asked
for the second station, both show the step, and name both stations."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from dimse_peers import Wlmscpfs, worklist_folder

from app.backends.dimse import DimseBackend
from app.backends.profiles import Profile
from app.domain.worklist_query import WorklistQuery

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def wlmscpfs(tmp_path_factory) -> Iterator[Wlmscpfs]:
    server = Wlmscpfs(worklist_folder(tmp_path_factory.mktemp("wlistdb"))).start()
    yield server
    server.stop()


async def test_the_dimse_backend_shows_every_station_of_the_step(wlmscpfs):
    backend = DimseBackend(
        Profile(name="AA33", backend="dimse", mwl_host="127.0.0.1", mwl_port=wlmscpfs.port, mwl_aet=wlmscpfs.aet)
    )
    try:
        [found] = await backend.search(WorklistQuery(station="AA33", states=()))
    finally:
        await backend.close()
    assert found.patient_name.alphabetic == "VIVALDI^ANTONIO"
    assert [c.value for c in found.station_names] == ["AA32", "AA33"]


def test_find_names_every_station_of_the_step(wlmscpfs):
    mwl = f"127.0.0.1:{wlmscpfs.port}:{wlmscpfs.aet}"
    args = ["find", "--backend", "dimse", "--mwl", mwl, "--station", "AA33", "--date", "19951015", "--all-states"]
    table = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    [row] = [line for line in table.stdout.splitlines() if "VIVALDI" in line]
    assert row.rstrip().endswith("AA32, AA33")
