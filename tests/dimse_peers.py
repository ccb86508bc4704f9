"""The legacy RIS the Origin-Server / SCU gateway stands in front of: DCMTK's wlmscpfs (or
Orthanc's worklist plugin) serving the OFFIS sample worklist, and a pynetdicom MPPS SCP that
records what it is sent."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, Verification

EXAMPLES = Path("/usr/share/doc/dcmtk/examples/wlistdb/OFFIS")
WLMSCPFS = Path("/usr/bin/wlmscpfs")
DUMP2DCM = Path("/usr/bin/dump2dcm")
ORTHANC = Path("/usr/sbin/Orthanc")
ORTHANC_WORKLISTS = Path("/usr/share/orthanc/plugins/libModalityWorklists.so")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, seconds: float = 20, process: subprocess.Popen | None = None) -> bool:
    """Until something listens on `port`; False when `process` ended first (it could not bind the
    port: another test's peer, in another pytest worker, took it between free_port and the bind)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            if process is not None and process.poll() is not None:
                return False
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


def worklist_folder(root: Path) -> Path:
    """The OFFIS samples as worklist files, in `root`/OFFIS (wlmscpfs's layout: one folder per AE)."""
    if not (WLMSCPFS.exists() and DUMP2DCM.exists() and EXAMPLES.is_dir()):
        pytest.skip("DCMTK is not installed (apt-get install dcmtk)")
    folder = root / "OFFIS"
    folder.mkdir(parents=True)
    for dump in sorted(EXAMPLES.glob("*.dump")):
        subprocess.run([str(DUMP2DCM), str(dump), str(folder / (dump.stem + ".wl"))], check=True, timeout=30)
    (folder / "lockfile").touch()
    return folder


class Wlmscpfs:
    def __init__(self, folder: Path, *options: str) -> None:
        self.folder = folder
        self.options = options  # more of wlmscpfs's own, e.g. -csk (answer in the file's character set)
        self.port = free_port()
        self.aet = "OFFIS"
        self.process: subprocess.Popen | None = None

    def start(self) -> Wlmscpfs:
        for _ in range(5):
            self.process = subprocess.Popen(
                [str(WLMSCPFS), *self.options, "-dfp", str(self.folder.parent), "-dfr", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if wait_for(self.port, process=self.process):
                return self
            self.port = free_port()  # the port was taken meanwhile: another one
        raise AssertionError(f"wlmscpfs did not start on any of five ports (last {self.port})")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def orthanc_worklists(folder: Path, root: Path) -> tuple[subprocess.Popen, int]:
    if not ORTHANC.exists() or not ORTHANC_WORKLISTS.exists():
        pytest.skip("Orthanc with its ModalityWorklists plugin is not installed (apt-get install orthanc)")
    port = free_port()
    config = {
        "Name": "gateway-upstream",
        "StorageDirectory": str(root / "storage"),
        "IndexDirectory": str(root / "index"),
        "HttpPort": free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomAet": "ORTHANC",
        "DicomPort": port,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowFindWorklist": True,
        "DicomAlwaysAllowEcho": True,
        "Plugins": [str(ORTHANC_WORKLISTS)],
        "Worklists": {"Enable": True, "Database": str(folder)},
    }
    (root / "orthanc.json").write_text(json.dumps(config))
    log = open(root / "orthanc.log", "w")  # noqa: SIM115 -- stays open for the server's lifetime
    process = subprocess.Popen([str(ORTHANC), str(root / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    wait_for(port, 30)
    return process, port


class _MppsPeer:
    """An MPPS SCP on a free loopback port, answering with the subclass's `_create` and `_set`."""

    port: int
    server: object

    def start(self: _Peer) -> _Peer:
        ae = AE("MPPSSCP")
        ae.add_supported_context(Verification)
        ae.add_supported_context(ModalityPerformedProcedureStep)
        self.server = ae.start_server(
            ("127.0.0.1", 0),
            block=False,
            evt_handlers=[(evt.EVT_N_CREATE, self._create), (evt.EVT_N_SET, self._set)],
        )
        self.port = self.server.server_address[1]  # type: ignore[attr-defined]
        return self

    def stop(self) -> None:
        self.server.shutdown()  # type: ignore[attr-defined]

    def _create(self, event) -> tuple[int, Dataset | None]:
        raise NotImplementedError

    def _set(self, event) -> tuple[int, Dataset | None]:
        raise NotImplementedError


_Peer = TypeVar("_Peer", bound=_MppsPeer)


@dataclass
class MppsScp(_MppsPeer):
    """An MPPS SCP that keeps every N-CREATE and N-SET it answered, as a RIS would."""

    port: int = 0
    created: dict[str, Dataset] = field(default_factory=dict)
    sets: list[tuple[str, Dataset]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: object = None

    def _create(self, event) -> tuple[int, Dataset | None]:
        uid = str(event.request.AffectedSOPInstanceUID)
        with self.lock:
            if uid in self.created:
                return 0x0111, None
            self.created[uid] = event.attribute_list
        return 0x0000, event.attribute_list

    def _set(self, event) -> tuple[int, Dataset | None]:
        uid = str(event.request.RequestedSOPInstanceUID)
        with self.lock:
            if uid not in self.created:
                return 0x0112, None
            self.sets.append((uid, event.modification_list))
            for element in event.modification_list:
                self.created[uid][element.tag] = element
        return 0x0000, event.modification_list

    def status(self, uid: str) -> str:
        with self.lock:
            return str(self.created[uid].PerformedProcedureStepStatus)


YAMADA = "Yamada^Tarou=山田^太郎=やまだ^たろう"


def japanese_worklist(root: Path, day: str) -> Path:
    """One worklist file in ISO 2022 IR 87, as a Japanese RIS keeps it (the patient's name in its
    alphabetic, ideographic and phonetic groups), in `root`/JAPAN; served with -csk, wlmscpfs
    answers in that character set."""
    if not (WLMSCPFS.exists() and DUMP2DCM.exists()):
        pytest.skip("DCMTK is not installed (apt-get install dcmtk)")
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    folder = root / "JAPAN"
    folder.mkdir(parents=True)
    ds = Dataset()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.AccessionNumber = "J0001"
    ds.PatientName = YAMADA
    ds.PatientID = "JP0001"
    ds.PatientBirthDate = "19630611"
    ds.PatientSex = "M"
    ds.StudyInstanceUID = "1.2.276.0.7230010.3.2.8701"
    ds.RequestedProcedureID = "RP8701"
    ds.RequestedProcedureDescription = "頭部CT"
    sps = Dataset()
    sps.Modality = "CT"
    sps.ScheduledStationAETitle = "CT1"
    sps.ScheduledProcedureStepStartDate = day
    sps.ScheduledProcedureStepStartTime = "090000"
    sps.ScheduledProcedureStepDescription = "頭部CT 単純"
    sps.ScheduledProcedureStepID = "SPS8701"
    sps.ScheduledProcedureStepStatus = "SCHEDULED"
    ds.ScheduledProcedureStepSequence = [sps]
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.276.0.7230010.3.1.0.1"  # DCMTK's private worklist file class
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.276.0.7230010.3.2.8701.1"
    ds.save_as(folder / "yamada.wl", enforce_file_format=True)
    (folder / "lockfile").touch()
    return folder


@dataclass
class RecordingMppsScp(_MppsPeer):
    """An MPPS SCP that keeps the bytes of every N-CREATE and N-SET data set as they arrived, so a
    test reads them by the Specific Character Set each message declares, not by what pynetdicom
    or an earlier message made of them."""

    port: int = 0
    received: list[tuple[str, str, bytes, bool]] = field(default_factory=list)  # (N-CREATE|N-SET, UID, bytes, implicit)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: object = None

    def _keep(self, what: str, uid: str, raw: bytes, event) -> None:
        implicit = event.context.transfer_syntax.is_implicit_VR
        with self.lock:
            self.received.append((what, uid, raw, implicit))

    def _create(self, event) -> tuple[int, Dataset | None]:
        self._keep("N-CREATE", str(event.request.AffectedSOPInstanceUID), event.request.AttributeList.getvalue(), event)
        return 0x0000, None

    def _set(self, event) -> tuple[int, Dataset | None]:
        self._keep(
            "N-SET", str(event.request.RequestedSOPInstanceUID), event.request.ModificationList.getvalue(), event
        )
        return 0x0000, None

    def datasets(self, what: str) -> list[Dataset]:
        """The data sets of every `what` received, in order, each decoded by the character set it
        declares itself (none: the default repertoire)."""
        from io import BytesIO

        from pydicom.filereader import read_dataset

        with self.lock:
            kept = [(raw, implicit) for kind, _, raw, implicit in self.received if kind == what]
        out = []
        for raw, implicit in kept:
            ds = read_dataset(BytesIO(raw), implicit, True)
            ds.decode()
            out.append(ds)
        return out
