"""Benchmark: MWL C-FIND on our DIMSE front and on DCMTK wlmscpfs, side by side, same entries.

    python tests/benchmarks/bench_mwl.py [--entries 10000] [--queries 30]

Both servers hold the same N scheduled steps (6 stations over N/300 days): ours in its UPS
store, wlmscpfs as N worklist files written from the same items through the UPS → MWL
mapping. The same station + one-day query (50 answers) goes to each from DCMTK's findscu,
as a modality would send it (Debian's findscu leaves Nagle's algorithm on). The C-FIND time
is read from findscu's own log: from sending the request to receiving the final response.
The whole findscu run (its start-up, association and release included) is printed beside it.
The promise: our C-FIND at least 10x faster than wlmscpfs at 10 000 entries. Needs DCMTK
(apt-get install dcmtk).
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
        out.append(
            prepare_create(
                NewWorkitem(
                    uid=uid,
                    label=f"{modality} exam",
                    start=f"{day:%Y%m%d}{minutes // 60:02d}{minutes % 60:02d}00",
                    patient=PatientName(f"PATIENT^{n:05d}"),
                    patient_id=f"P{n:06d}",
                    station=station,
                    modality=modality,
                    accession=f"A{n:08d}",
                    requested_procedure_id=f"RP{n:06d}",
                    study_uid=generate_uid(),
                ).to_json(),
                uid,
                "20270101000000",
            ).dataset
        )
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


# findscu's own log with microsecond timestamps: the C-FIND time is what the client sees from
# sending the request to receiving the final response, without its start-up (loading DCMTK's
# data dictionary takes ~20 ms) or the association set-up, which are the same for both servers.
LOG_CONFIG = """\
log4cplus.rootLogger = INFO, console
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %D{%H:%M:%S.%Q} %m%n
"""


def _stamp(line: str) -> float:
    clock = line.split(" ", 1)[0]
    hours, minutes, rest = clock.split(":")
    seconds, millis, micros = rest.split(".")
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis) + int(micros) / 1000


def timed_find(port: int, called: str, query_file: Path) -> tuple[float, float, int]:
    """DCMTK findscu as the client for both servers (a fast, independent SCU). Returns the
    C-FIND time from findscu's log (request sent to final response received), the wall time
    from start to exit (association and client start-up included), and the answer count."""
    log_config = query_file.parent / "findscu-log.cfg"
    if not log_config.exists():
        log_config.write_text(LOG_CONFIG)
    start = time.perf_counter()
    run = subprocess.run(
        [FINDSCU, "-W", "-lc", str(log_config), "-aec", called, "127.0.0.1", str(port), str(query_file)],
        check=True,
        capture_output=True,
        timeout=600,
        errors="replace",
    )
    wall = (time.perf_counter() - start) * 1000
    lines = run.stdout.splitlines() + run.stderr.splitlines()
    sent = next(_stamp(line) for line in lines if "Sending Find Request" in line)
    final = next(_stamp(line) for line in lines if "Received Final Find Response" in line)
    answers = sum(1 for line in lines if "(Pending)" in line)
    return final - sent, wall, answers


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
        dcmtk = subprocess.Popen(
            [WLMSCPFS, "-dfp", str(root / "wlistdb"), "-dfr", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        try:
            ours, theirs, walls_ours, walls_theirs, counts = [], [], [], [], set()
            for n in range(args.queries):
                station = STATIONS[n % len(STATIONS)][0]
                day = f"{date(2027, 3, 1) + timedelta(days=n % days):%Y%m%d}"
                query_file = root / "query.dcm"
                query(station, day).save_as(
                    query_file, enforce_file_format=False, implicit_vr=False, little_endian=True
                )
                t_ours, wall_ours, found_ours = timed_find(server.dimse.port, "WORKLIST", query_file)
                t_theirs, wall_theirs, found_theirs = timed_find(port, "WLMSCPFS", query_file)
                if found_ours != found_theirs:
                    raise SystemExit(
                        f"different answers for {station} {day}: ours {found_ours}, wlmscpfs {found_theirs}"
                    )
                ours.append(t_ours)
                theirs.append(t_theirs)
                walls_ours.append(wall_ours)
                walls_theirs.append(wall_theirs)
                counts.add(found_ours)
        finally:
            dcmtk.terminate()
            server.stop()
    p50_ours, p50_theirs = statistics.median(ours), statistics.median(theirs)
    ratio = p50_theirs / p50_ours
    print(
        f"{args.entries} entries, {args.queries} station + day queries ({min(counts)}-{max(counts)} answers each), "
        "each by DCMTK findscu:"
    )
    print("                   C-FIND (request to final response)     findscu run (start to exit)")
    print(
        f"  our DIMSE front: p50 {p50_ours:8.1f} ms   max {max(ours):8.1f} ms"
        f"     p50 {statistics.median(walls_ours):8.1f} ms"
    )
    print(
        f"  DCMTK wlmscpfs:  p50 {p50_theirs:8.1f} ms   max {max(theirs):8.1f} ms"
        f"     p50 {statistics.median(walls_theirs):8.1f} ms"
    )
    print(f"  C-FIND ratio (wlmscpfs / ours): {ratio:.1f}x   promise >= 10x: {'PASS' if ratio >= 10 else 'MISS'}")


if __name__ == "__main__":
    main()
