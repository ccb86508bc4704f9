"""Benchmark: MWL C-FIND on our DIMSE front and on DCMTK wlmscpfs, side by side, same entries.

    python tests/benchmarks/bench_mwl.py [--entries 10000] [--queries 30]

Both servers hold the same N scheduled steps (6 stations over N/300 days): ours in its UPS
store, wlmscpfs as N worklist files written from the same items through the UPS → MWL
mapping. The same station + one-day query (about 50 answers) goes to each from DCMTK's
findscu, timed from its start to its exit (the same client cost for both). The promise: our DIMSE front at
least 10x faster than wlmscpfs at 10 000 entries. Needs DCMTK (apt-get install dcmtk).
"""
from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from app.domain.build import NewWorkitem
from app.domain.dicomjson import to_dataset
from app.domain.mapping import ups_to_mwl
from app.domain.requirements import prepare_create
from app.domain.workitem import PatientName
from app.server import ServerConfig, UPSServer

STATIONS = [("CT1", "CT"), ("CT2", "CT"), ("MR1", "MR"), ("US1", "US"), ("CR1", "CR"), ("MG1", "MG")]
WLMSCPFS = "/usr/bin/wlmscpfs"
FINDSCU = "/usr/bin/findscu"  # DCMTK's, not the pynetdicom app of the same name


def items(count: int) -> list[dict]:
    start = date(2027, 3, 1)
    out = []
    for n in range(count):
        station, modality = STATIONS[n % len(STATIONS)]
        day = start + timedelta(days=n // 300)
        minutes = 7 * 60 + (n % 300) // 6 * 10
        uid = generate_uid()
        out.append(prepare_create(NewWorkitem(
            uid=uid, label=f"{modality} exam", start=f"{day:%Y%m%d}{minutes // 60:02d}{minutes % 60:02d}00",
            patient=PatientName(f"PATIENT^{n:05d}"), patient_id=f"P{n:06d}", station=station, modality=modality,
            accession=f"A{n:08d}", requested_procedure_id=f"RP{n:06d}", study_uid=generate_uid(),
        ).to_json(), uid, "20270101000000").dataset)
    return out


def write_worklist_files(entries: list[dict], folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "lockfile").touch()
    for n, ups in enumerate(entries):
        ds = to_dataset(ups_to_mwl(ups))
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = "1.2.276.0.7230010.3.1.0.1"  # DCMTK's worklist file class
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.save_as(folder / f"item{n:06d}.wl", enforce_file_format=True)


def query(station: str, day: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword in ("PatientName", "PatientID", "AccessionNumber", "RequestedProcedureID", "StudyInstanceUID"):
        setattr(ds, keyword, "")
    sps = Dataset()
    sps.ScheduledStationAETitle = station
    sps.ScheduledProcedureStepStartDate = day
    sps.ScheduledProcedureStepStartTime = ""
    sps.Modality = ""
    sps.ScheduledProcedureStepID = ""
    ds.ScheduledProcedureStepSequence = [sps]
    return ds


def timed_find(port: int, called: str, query_file: Path) -> tuple[float, int]:
    """DCMTK findscu as the client for both servers (a fast, independent SCU): wall time from
    start to exit, association included, and the number of answers it extracted."""
    out = query_file.parent / f"out-{called}"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    start = time.perf_counter()
    subprocess.run([FINDSCU, "-W", "-aec", called, "-X", "-od", str(out), "127.0.0.1", str(port), str(query_file)],
                   check=True, capture_output=True, timeout=600)
    return (time.perf_counter() - start) * 1000, len(list(out.iterdir()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    entries = items(args.entries)
    days = max(1, args.entries // 300)
    with tempfile.TemporaryDirectory(prefix="bench-mwl-") as tmp:
        root = Path(tmp)
        server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(root / "ups.db")))
        with server.store.write() as db:
            for ups in entries:
                server.store.insert(db, ups)
        server.start()
        write_worklist_files(entries, root / "wlistdb" / "WLMSCPFS")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        dcmtk = subprocess.Popen([WLMSCPFS, "-dfp", str(root / "wlistdb"), "-dfr", str(port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        try:
            ours, theirs, counts = [], [], set()
            for n in range(args.queries):
                station = STATIONS[n % len(STATIONS)][0]
                day = f"{date(2027, 3, 1) + timedelta(days=n % days):%Y%m%d}"
                query_file = root / "query.dcm"
                query(station, day).save_as(query_file, enforce_file_format=False, implicit_vr=False,
                                            little_endian=True)
                t_ours, found_ours = timed_find(server.dimse.port, "WORKLIST", query_file)
                t_theirs, found_theirs = timed_find(port, "WLMSCPFS", query_file)
                if found_ours != found_theirs:
                    raise SystemExit(f"different answers for {station} {day}: ours {found_ours}, wlmscpfs {found_theirs}")
                ours.append(t_ours)
                theirs.append(t_theirs)
                counts.add(found_ours)
        finally:
            dcmtk.terminate()
            server.stop()
    p50_ours, p50_theirs = statistics.median(ours), statistics.median(theirs)
    ratio = p50_theirs / p50_ours
    print(f"{args.entries} entries, {args.queries} station + day queries ({min(counts)}-{max(counts)} answers each), "
          "each by DCMTK findscu:")
    print(f"  our DIMSE front: p50 {p50_ours:8.1f} ms   max {max(ours):8.1f} ms")
    print(f"  DCMTK wlmscpfs:  p50 {p50_theirs:8.1f} ms   max {max(theirs):8.1f} ms")
    print(f"  ratio (wlmscpfs / ours): {ratio:.1f}x   promise >= 10x: {'PASS' if ratio >= 10 else 'MISS'}")


if __name__ == "__main__":
    main()
