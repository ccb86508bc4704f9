"""A step scheduled for several stations, through `serve --upstream dimse:` in front of DCMTK's
wlmscpfs: the OFFIS sample wklist1 is scheduled for `AA32\\AA33` ((0040,0001) is VM 1-n, PS3.4
Table K.6-1), and a search for either station finds it with both, as wlmscpfs itself does. What
the RIS matched is not matched again by the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dimse_peers import MppsScp, Wlmscpfs, worklist_folder
from door import PASSWORD, users_file
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.worklist_query import WorklistQuery
from app.gateway import close_upstream, open_upstream
from app.server import ServerConfig, UPSServer

pytestmark = pytest.mark.interop

VIVALDI = "VIVALDI^ANTONIO"  # wklist1: AA32\AA33


@pytest.fixture(scope="module")
def worklist(tmp_path_factory) -> Iterator[Wlmscpfs]:
    scp = Wlmscpfs(worklist_folder(tmp_path_factory.mktemp("wlistdb"))).start()
    yield scp
    scp.stop()


@pytest.fixture()
def mpps() -> Iterator[MppsScp]:
    scp = MppsScp().start()
    yield scp
    scp.stop()


def spec(mwl_port: int, mpps_port: int, mwl_aet: str = "OFFIS") -> str:
    return f"dimse:MWL=127.0.0.1:{mwl_port}:{mwl_aet},MPPS=127.0.0.1:{mpps_port}:MPPSSCP,POLL=600,TIMEOUT=5"


class Gateway:
    """`serve --upstream dimse:…` with its DIMSE front; locked when a users file is given."""

    def __init__(self, upstream: str, folder: Path, users: Path | None = None) -> None:
        self.services = open_upstream(upstream, str(folder / "gateway.db"))
        config = ServerConfig(
            http_port=0,
            dimse_port=0,
            db_path=str(folder / "gateway.db"),
            purge_interval=3600,
            audit=False,
            users_file=str(users) if users else None,
        )
        self.server = UPSServer(config, upstream=self.services).start()

    def console(self, ae: str, user: str = "") -> UpsRsBackend:
        login = {"auth": "basic", "username": user, "password": PASSWORD} if user else {}
        return UpsRsBackend(Profile(name=ae, url=self.server.base_url, ae_title=ae, timeout=15, **login))

    def stop(self) -> None:
        self.server.stop()
        close_upstream(self.services)


def c_find(port: int, aet: str, station: str) -> list[Dataset]:
    """The MWL answers of `aet` at `port` to a query for `station` (every day, every patient)."""
    query = Dataset()
    query.PatientName = ""
    query.StudyInstanceUID = ""
    step = Dataset()
    step.ScheduledStationAETitle = station
    step.ScheduledProcedureStepStartDate = ""
    step.Modality = ""
    query.ScheduledProcedureStepSequence = [step]
    ae = AE("MODALITY")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", port, ae_title=aet)
    assert assoc.is_established
    try:
        return [a for s, a in assoc.send_c_find(query, ModalityWorklistInformationFind) if s.Status in (0xFF00, 0xFF01)]
    finally:
        assoc.release()


def stations_of(answer: Dataset) -> list[str]:
    element = answer.ScheduledProcedureStepSequence[0]["ScheduledStationAETitle"]
    return [str(v) for v in element.value] if element.VM > 1 else [str(element.value)]


async def test_a_search_for_the_second_station_finds_the_step_with_both_as_wlmscpfs_does(worklist, mpps, tmp_path):
    [direct] = c_find(worklist.port, "OFFIS", "AA33")  # what the RIS itself answers
    assert str(direct.PatientName) == VIVALDI and stations_of(direct) == ["AA32", "AA33"]

    gateway = Gateway(spec(worklist.port, mpps.port), tmp_path)
    aa33 = gateway.console("AA33")
    try:
        [found] = await aa33.search(WorklistQuery(station="AA33", states=()))
        assert found.patient_name.alphabetic == VIVALDI
        assert [c.value for c in found.station_names] == ["AA32", "AA33"]
        # the same step for the first station (beside wklist4's), and a station two files share
        first = await aa33.search(WorklistQuery(station="AA32", states=()))
        assert len(first) == 2 and found.uid in {w.uid for w in first}
        shared = await aa33.search(WorklistQuery(station="NN77", states=()))
        assert sorted([c.value for c in w.station_names] for w in shared) == [
            ["CC56", "NN77"],
            ["DS45", "NN77", "GH67"],
        ]

        # a DIMSE modality asking the gateway's own MWL front gets every station back
        assert gateway.server.dimse is not None
        [answer] = c_find(gateway.server.dimse.port, "WORKLIST", "AA33")
        assert str(answer.PatientName) == VIVALDI and stations_of(answer) == ["AA32", "AA33"]
    finally:
        await aa33.close()
        gateway.stop()


async def test_a_modality_bound_to_either_station_may_start_the_step_and_no_other(worklist, mpps, tmp_path):
    users, _ = users_file(tmp_path, aa33=["AA33"], ct1=["CT1"])
    gateway = Gateway(spec(worklist.port, mpps.port), tmp_path, users)
    aa33, ct1 = gateway.console("AA33", "aa33"), gateway.console("CT1", "ct1")
    try:
        [step] = await aa33.search(WorklistQuery(station="AA33", states=()))
        refused = await _claim_refused(ct1, step.uid)
        assert refused is not None and "AA32, AA33" in refused
        assert await _claim_refused(aa33, step.uid) is None
        assert (await aa33.retrieve(step.uid)).state.value == "IN PROGRESS"
        [(_, created)] = mpps.created.items()
        assert created.PerformedStationName == "AA33"  # the station that started it, not the first one
    finally:
        await aa33.close()
        await ct1.close()
        gateway.stop()


async def _claim_refused(console: UpsRsBackend, uid: str) -> str | None:
    """None when the claim succeeds, else the sentence it was refused with."""
    from app.backends.errors import BackendError

    try:
        await console.claim(uid, generate_uid())
    except BackendError as exc:
        return f"{exc.sentence} {exc.detail or ''}"
    return None


class GroupingRis:
    """An MWL SCP that answers a query for a station with the steps of the room it belongs to: its
    rule, not ours. The gateway takes its answer as it is."""

    def __init__(self) -> None:
        ae = AE("GROUPRIS")
        ae.add_supported_context(ModalityWorklistInformationFind)
        ae.add_supported_context(Verification)
        self.server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, self._find)])
        self.port = self.server.server_address[1]

    def _find(self, event):
        item = Dataset()
        item.SpecificCharacterSet = "ISO_IR 100"
        item.PatientName = "ROOM^PATIENT"
        item.PatientID = "R1"
        item.AccessionNumber = "R100"
        item.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
        step = Dataset()
        step.ScheduledStationAETitle = "CTROOM"
        step.Modality = "CT"
        step.ScheduledProcedureStepStartDate = "20261123"
        step.ScheduledProcedureStepStartTime = "080000"
        step.ScheduledProcedureStepID = "R100-1"
        item.ScheduledProcedureStepSequence = [step]
        yield 0xFF00, item

    def stop(self) -> None:
        self.server.shutdown()


async def test_what_the_ris_matched_for_a_station_is_not_matched_again(mpps, tmp_path):
    ris = GroupingRis()
    gateway = Gateway(spec(ris.port, mpps.port, "GROUPRIS"), tmp_path)
    ct1 = gateway.console("CT1")
    try:
        [found] = await ct1.search(WorklistQuery(station="CT1", states=()))
        assert found.patient_name.alphabetic == "ROOM^PATIENT"
        assert [c.value for c in found.station_names] == ["CTROOM"]
        # nor by the gateway's own MWL front, which a DIMSE modality asks
        assert gateway.server.dimse is not None
        [answer] = c_find(gateway.server.dimse.port, "WORKLIST", "CT1")
        assert str(answer.PatientName) == "ROOM^PATIENT" and stations_of(answer) == ["CTROOM"]
        # what the MWL C-FIND does not carry is still matched here: the state
        assert await ct1.search(WorklistQuery(station="CT1")) != []
        response = httpx.get(
            gateway.server.base_url + "/workitems",
            params={"ScheduledStationNameCodeSequence.CodeValue": "CT1", "ProcedureStepState": "COMPLETED"},
            timeout=15,
        )
        assert response.status_code == 204, response.text
    finally:
        await ct1.close()
        ris.stop()
        gateway.stop()
