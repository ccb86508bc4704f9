"""Benchmark: what each gateway adds to an exchange, against the direct path, in the same run.

    python tests/benchmarks/bench_gateway.py [--rounds 100]

SCP / User-Agent (`--upstream upsrs:URL`): a pynetdicom modality sends an MWL C-FIND (station
and day, one association held open) and an MPPS N-CREATE + N-SET COMPLETED (an unscheduled
procedure, so each round has a step of its own) to the gateway, and the same to the upstream
server's own DIMSE front.

Origin-Server / SCU (`--upstream dimse:…`): a UPS-RS client searches the gateway (station-less,
so all OFFIS samples) and claims an unscheduled workitem (an MPPS N-CREATE upstream); directly,
a DIMSE client sends wlmscpfs the C-FIND the gateway sends (the same identifier keys) on an
association held open, as the gateway keeps its own, and the MPPS SCP the N-CREATE.

Prints p50 and p90 of each path, the gateway's own cost (the difference of the p50s) and that
cost per upstream exchange the gateway makes for it. The goal: under 5 ms per exchange at p50 on loopback. Needs DCMTK (wlmscpfs, dump2dcm).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))  # its modality's datasets
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dimse_peers import MppsScp, Wlmscpfs, free_port, worklist_folder
from embedded_server import PINNED_DAY
from raw_http import RawHttp
from served import serve_process
from test_ups_upstream import completed, in_progress

from app.backends.dimse_worklist import mwl_identifier
from app.domain.build import NewWorkitem
from app.domain.search import parse_search
from app.domain.workitem import PatientName
from app.gateway import close_upstream, open_upstream
from app.gateway.dimse_mapping import worklist_query
from app.server import ServerConfig, UPSServer
from app.server.demo import seed_demo_day

DAY = PINNED_DAY.strftime("%Y%m%d")


def timed(rounds: int, exchange: Callable[[], None]) -> list[float]:
    exchange()  # warm: connections, caches
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        exchange()
        times.append((time.perf_counter() - began) * 1000)
    return times


def p(times: list[float], q: int) -> float:
    return statistics.quantiles(times, n=100)[q - 1]


def row(what: str, direct: list[float], through: list[float], upstream: int) -> None:
    cost = p(through, 50) - p(direct, 50)
    print(
        f"| {what} | {p(direct, 50):.2f} / {p(direct, 90):.2f} | {p(through, 50):.2f} / {p(through, 90):.2f} "
        f"| **{cost:+.2f}** | {upstream} | {cost / upstream:+.2f} |",
        flush=True,
    )


def modality(port: int, aet: str = "WORKLIST"):
    ae = AE("MR1")
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", port, ae_title=aet)
    assert assoc.is_established
    return assoc


def mwl_query(station: str | None, day: str | None) -> Dataset:
    query = Dataset()
    for keyword in ("PatientName", "PatientID", "AccessionNumber", "StudyInstanceUID"):
        setattr(query, keyword, "")
    sps = Dataset()
    sps.ScheduledStationAETitle = station or ""
    sps.ScheduledProcedureStepStartDate = day or ""
    sps.Modality = ""
    query.ScheduledProcedureStepSequence = [sps]
    return query


def c_find(assoc, query: Dataset) -> int:
    answers = 0
    for status, _ in assoc.send_c_find(query, ModalityWorklistInformationFind):
        assert status, "no answer"
        if status.Status in (0xFF00, 0xFF01):
            answers += 1
        else:
            assert status.Status == 0x0000, hex(status.Status)
    return answers


def mpps_round(assoc) -> None:
    uid = generate_uid()
    status, _ = assoc.send_n_create(in_progress(None), ModalityPerformedProcedureStep, uid)
    assert status.Status == 0x0000, status
    status, _ = assoc.send_n_set(completed(), ModalityPerformedProcedureStep, uid)
    assert status.Status == 0x0000, status


def scp_ua(rounds: int, folder: Path) -> None:
    upstream = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(folder / "up.db"), audit=False)).start()
    seed_demo_day(upstream.service, today=PINNED_DAY)
    services = open_upstream(f"upsrs:{upstream.base_url}", str(folder / "gw.db"))
    gateway = UPSServer(
        ServerConfig(http_port=0, dimse_port=0, db_path=str(folder / "gw.db"), audit=False), upstream=services
    ).start()
    try:
        assert upstream.dimse is not None and gateway.dimse is not None
        direct, through = modality(upstream.dimse.port), modality(gateway.dimse.port)
        query = mwl_query("MR1", DAY)
        answers = c_find(direct, query)
        assert answers == c_find(through, query) > 0
        row(
            f"MWL C-FIND, MR1's day ({answers} answers)",
            timed(rounds, lambda: c_find(direct, query)),
            timed(rounds, lambda: c_find(through, query)),
            1,
        )
        row(
            "MPPS N-CREATE + N-SET COMPLETED",
            timed(rounds, lambda: mpps_round(direct)),
            timed(rounds, lambda: mpps_round(through)),
            5,  # Create, Change State, Update; Update, Change State
        )
        direct.release()
        through.release()
    finally:
        gateway.stop()
        close_upstream(services)
        upstream.stop()


@dataclass
class Ris:
    """A DIMSE RIS for the Origin-Server / SCU gateway: its MWL and MPPS SCPs, and how to stop them."""

    name: str
    mwl: tuple[int, str]  # port, AE title
    mpps: tuple[int, str]
    stop: Callable[[], None]
    searches: list[list[tuple[str, str]]]  # the UPS-RS Searches sent through the gateway, as query pairs


def offis_ris(folder: Path) -> Ris:
    """DCMTK's wlmscpfs over the OFFIS samples, and a pynetdicom MPPS SCP: the bottleneck is wlmscpfs
    itself (it reads its files for every C-FIND)."""
    worklist = Wlmscpfs(worklist_folder(folder / "wlistdb")).start()
    mpps = MppsScp().start()

    def stop() -> None:
        mpps.stop()
        worklist.stop()

    return Ris("wlmscpfs (10 OFFIS samples)", (worklist.port, "OFFIS"), (mpps.port, "MPPSSCP"), stop, [[]])


def own_ris(folder: Path) -> Ris:
    """Our own server's DIMSE front (MWL and MPPS on one port) over a demo day, in a process of its
    own: a RIS that answers a C-FIND in a few milliseconds, so that what the gateway adds is not
    lost in the RIS's own time."""
    port = free_port()
    stack = contextlib.ExitStack()
    stack.enter_context(
        serve_process("--dimse-port", str(port), "--seed", "demo", "--db", str(folder / "ris.db"), *logs(folder, "ris"))
    )
    # one station's day and the whole worklist: two sizes of one exchange, for the cost per answer
    searches = [[("ScheduledStationNameCodeSequence.CodeValue", "MR1")], []]
    return Ris("our DIMSE front", (port, "WORKLIST"), (port, "WORKLIST"), stack.close, searches)


def logs(folder: Path, name: str) -> tuple[str, str]:
    return "--log-dir", str(folder / f"{name}-logs")


def os_scu(rounds: int, folder: Path, ris: Ris) -> None:
    """The gateway runs as `serve --upstream dimse:…` in a process of its own and is asked over a raw
    keep-alive socket, whose own cost is tens of microseconds (httpx's is milliseconds)."""
    (mwl_port, mwl_aet), (mpps_port, mpps_aet) = ris.mwl, ris.mpps
    spec = f"dimse:MWL=127.0.0.1:{mwl_port}:{mwl_aet},MPPS=127.0.0.1:{mpps_port}:{mpps_aet},POLL=3600"
    options = ("--dimse-port", "0", "--db", str(folder / f"os-{mwl_port}.db"), "--upstream", spec)
    try:
        with serve_process(*options, *logs(folder, f"os-{mwl_port}")) as gateway, RawHttp(gateway.base_url) as http:
            os_scu_rows(rounds, http, ris)
    finally:
        ris.stop()


def os_scu_rows(rounds: int, http: RawHttp, ris: Ris) -> None:
    (mwl_port, mwl_aet), (mpps_port, mpps_aet) = ris.mwl, ris.mpps
    dicom_json = {"Content-Type": "application/dicom+json", "Accept": "application/dicom+json"}

    def search_through(params: list[tuple[str, str]]) -> bytes:
        status, body = http.request("GET", "/workitems?" + urlencode(params), headers=dicom_json)
        assert status == 200, (status, body[:300])
        return body

    # the direct paths hold their associations open, as the gateway holds its own
    ae = AE("WORKLIST_GW")
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    held_mwl = ae.associate("127.0.0.1", mwl_port, ae_title=mwl_aet)
    assert held_mwl.is_established
    for params in ris.searches:
        # the C-FIND the gateway sends for this Search, sent directly on an association held open
        identifier = mwl_identifier(worklist_query(parse_search(params).query))
        answers = c_find(held_mwl, identifier)
        shown = len(json.loads(search_through(params)))
        what = ", ".join(f"{key.split('.')[-1]}={value}" for key, value in params) or "no key"
        row(
            f"UPS-RS Search ({what}) ⇄ MWL C-FIND, {ris.name}: {answers} answers, {shown} shown",
            timed(rounds, lambda: c_find(held_mwl, identifier)),
            timed(rounds, lambda: search_through(params)),
            1,
        )
    held_mwl.release()

    def claim_through() -> None:
        item = NewWorkitem(
            uid=generate_uid(),
            label="Bench",
            start=time.strftime("%Y%m%d%H%M%S"),
            patient=PatientName("Bench^Mark"),
            patient_id="BENCH",
            station="CT1",
            modality="CT",
        )
        body = json.dumps([item.to_json()]).encode()
        status, answer = http.request("POST", f"/workitems?workitem={item.uid}", body, dicom_json)
        assert status == 201, answer[:300]
        claim = [
            {
                "00081195": {"vr": "UI", "Value": [generate_uid()]},
                "00741000": {"vr": "CS", "Value": ["IN PROGRESS"]},
            }
        ]
        status, answer = http.request("PUT", f"/workitems/{item.uid}/state", json.dumps(claim).encode(), dicom_json)
        assert status == 200, answer[:300]

    held_mpps = ae.associate("127.0.0.1", mpps_port, ae_title=mpps_aet)
    assert held_mpps.is_established

    def claim_direct() -> None:
        status, _ = held_mpps.send_n_create(in_progress(None, "CT1"), ModalityPerformedProcedureStep, generate_uid())
        assert status.Status == 0x0000, status

    row(
        f"claim (Create + Change State) ⇄ MPPS N-CREATE, {ris.name}",
        timed(rounds, claim_direct),
        timed(rounds, claim_through),
        1,
    )
    held_mpps.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(
            "| exchange | direct p50 / p90 (ms) | through the gateway p50 / p90 (ms) | gateway's cost at p50 (ms) "
            "| upstream exchanges | cost per upstream exchange (ms) |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        scp_ua(args.rounds, folder)
        os_scu(args.rounds, folder, own_ris(folder))
        os_scu(args.rounds, folder, offis_ris(folder))


if __name__ == "__main__":
    main()
