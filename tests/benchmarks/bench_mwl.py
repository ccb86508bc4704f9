"""Benchmark: MWL C-FIND on our DIMSE front and on DCMTK wlmscpfs, side by side, same entries.

    python tests/benchmarks/bench_mwl.py [--entries 1000,10000] [--queries 30]

At each size N, both servers hold the same N scheduled steps (6 stations over N/300 days): ours
in its UPS store, wlmscpfs as N worklist files written from the same items through the UPS → MWL
mapping. The same station + one-day queries (50 answers each, at 10 000) go to each from ONE
DCMTK findscu run, every query on one association held open, as a modality's worklist client
holds it (Debian's findscu leaves Nagle's algorithm on). Each C-FIND time is read from findscu's
own log: from sending the request to receiving the final response. Printed: p50 and max per
server, the ratio, and how our p50 grew from the smallest size to the largest.
The goal (issue 21): our C-FIND at least 30x faster than wlmscpfs at the largest size (exit 1
when missed). Needs DCMTK (apt-get install dcmtk).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dimse_peers import Wlmscpfs

STATIONS = [("CT1", "CT"), ("CT2", "CT"), ("MR1", "MR"), ("US1", "US"), ("CR1", "CR"), ("MG1", "MG")]
FINDSCU = "/usr/bin/findscu"  # DCMTK's, not the pynetdicom app of the same name
RATIO_GOAL = 30.0  # issue 21: our C-FIND at least 30x faster than wlmscpfs, at 10 000 entries


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


def timed_finds(port: int, called: str, query_files: list[Path]) -> list[tuple[float, int]]:
    """DCMTK findscu as the client (a fast, independent SCU), sending every query in turn on ONE
    association, held open as a modality's worklist client holds it. For each query: the C-FIND
    time from findscu's log (request sent to final response received, without its start-up or the
    association set-up) and the number of answers."""
    log_config = query_files[0].parent / "findscu-log.cfg"
    if not log_config.exists():
        log_config.write_text(LOG_CONFIG)
    run = subprocess.run(
        [FINDSCU, "-W", "-lc", str(log_config), "-aec", called, "127.0.0.1", str(port), *map(str, query_files)],
        check=True,
        capture_output=True,
        timeout=600,
        errors="replace",
    )
    found: list[tuple[float, int]] = []
    sent, answers = None, 0
    for line in run.stdout.splitlines() + run.stderr.splitlines():
        if "Sending Find Request" in line:
            sent, answers = _stamp(line), 0
        elif "(Pending)" in line:
            answers += 1
        elif "Received Final Find Response" in line and sent is not None:
            found.append((_stamp(line) - sent, answers))
            sent = None
    if len(found) != len(query_files):
        raise SystemExit(f"findscu answered {len(found)} of {len(query_files)} queries on {called}")
    return found


@dataclass
class Figures:
    entries: int
    ours: list[float]
    theirs: list[float]
    answers: set[int]

    @property
    def ratio(self) -> float:
        return statistics.median(self.theirs) / statistics.median(self.ours)


def measure(entry_count: int, query_count: int, root: Path) -> Figures:
    """Both servers over the same `entry_count` steps, the same queries to each on one association."""
    entries = items(entry_count)
    days = max(1, entry_count // 300)
    server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(root / "ups.db")))
    with server.store.write() as db:
        for ups in entries:
            server.store.insert(db, ups)
    folder = root / "wlistdb" / "WLMSCPFS"  # wlmscpfs's layout: a folder per called AE title
    write_worklist_files(entries, folder)
    server.start()
    dcmtk = Wlmscpfs(folder)
    try:
        dcmtk.start()  # a free port, taken again if another process bound it first
        files = []
        for n in range(query_count):
            station = STATIONS[n % len(STATIONS)][0]
            day = f"{date(2027, 3, 1) + timedelta(days=n % days):%Y%m%d}"
            query_file = root / f"query{n:03d}.dcm"
            query(station, day).save_as(query_file, enforce_file_format=False, implicit_vr=False, little_endian=True)
            files.append(query_file)
        timed_finds(server.dimse.port, "WORKLIST", files[:3])  # warm-up: the answers' code paths
        ours = timed_finds(server.dimse.port, "WORKLIST", files)
        theirs = timed_finds(dcmtk.port, folder.name, files)
    finally:
        dcmtk.stop()
        server.stop()
    for n, ((_, found_ours), (_, found_theirs)) in enumerate(zip(ours, theirs, strict=True)):
        if found_ours != found_theirs:
            raise SystemExit(f"different answers to query {n}: ours {found_ours}, wlmscpfs {found_theirs}")
    return Figures(entry_count, [ms for ms, _ in ours], [ms for ms, _ in theirs], {found for _, found in ours})


def report(figures: Figures, query_count: int) -> None:
    ours, theirs = figures.ours, figures.theirs
    print(
        f"{figures.entries} entries, {query_count} station + day queries "
        f"({min(figures.answers)}-{max(figures.answers)} answers each) on one association per server, by DCMTK findscu:"
    )
    print("                   C-FIND, request to final response")
    print(f"  our DIMSE front: p50 {statistics.median(ours):8.1f} ms   max {max(ours):8.1f} ms")
    print(f"  DCMTK wlmscpfs:  p50 {statistics.median(theirs):8.1f} ms   max {max(theirs):8.1f} ms")
    print(f"  C-FIND ratio (wlmscpfs / ours): {figures.ratio:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", default="1000,10000", help="store sizes, comma-separated (default 1000,10000)")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(size) for size in args.entries.split(",")]
    runs = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-mwl-") as tmp:
            runs.append(measure(size, args.queries, Path(tmp)))
        report(runs[-1], args.queries)
    largest = max(runs, key=lambda run: run.entries)
    smallest = min(runs, key=lambda run: run.entries)
    print()
    if largest is not smallest:
        growth = statistics.median(largest.ours) / statistics.median(smallest.ours)
        print(
            f"Growth: our p50 at {largest.entries} / at {smallest.entries} entries = {growth:.2f}x "
            f"(the entries grew {largest.entries / smallest.entries:.0f}x)"
        )
    met = largest.ratio >= RATIO_GOAL
    print(
        f"{'PASS' if met else 'MISS'}  C-FIND >= {RATIO_GOAL:.0f}x wlmscpfs at {largest.entries} ({largest.ratio:.1f}x)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
