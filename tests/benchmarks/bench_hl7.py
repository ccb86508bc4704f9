"""Benchmark: HL7 v2 orders through the MLLP door to a searchable workitem, and ACK → event time.

    python tests/benchmarks/bench_hl7.py [--orders 2000] [--connections 1,8]

`worklist-console serve --hl7-port 0` runs in a process of its own (its interpreter lock is its
own, as at a site), with the store's `synchronous=FULL`, which it always uses. A console's way of
listening is open beside it: a global subscription and its WebSocket, read on a thread.

For each count K of connections: K senders share N distinct ORM^O01 NW orders (built from
resources/hl7/orm_o01_new.hl7, each with its own placer, filler, accession, study and control
ID), each sending one order and waiting for its ACK before the next, as MLLP asks. An order is
done when its ACK is AA for its control ID. Orders per second: the done ones over the wall time
from the first send to the last ACK. Then every order is looked for over UPS-RS (a Search by the
run's accession prefix, paged): a missing one fails the run.

Event time: for each order, from the moment its sender read the AA to the moment the subscriber
read the workitem's State Report. The server posts the event when the work commits, before the
ACK leaves, so a time can be negative (the event came first); p50/p95/max are of the signed
times. Both clocks are this process's perf_counter; the senders and the subscriber share this
process's interpreter lock, so what the client costs is printed beside the figures (its CPU per
order, and the server's).

Goals: at least 500 orders per second (judged on the run with the most connections; one
connection waits for each commit in turn, so it shows the per-order latency instead) and an
ACK → event p95 of at most 50 ms. Exits 1 when one is missed, 2 when an order is lost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from served import serve_process
from upsrs_client import DICOM_JSON, GLOBAL, new_aet, subscribe, value

from app.domain.hl7_orders import workitem_uid

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "hl7" / "orm_o01_new.hl7"
VT, END = b"\x0b", b"\x1c\x0d"
RATE_GOAL = 500.0  # orders per second
EVENT_P95_GOAL_MS = 50.0
STATE_REPORT = 1  # the event a new workitem causes (PS3.4 CC.2.4)
PAGE = 1000  # the server's own cap on one Search answer


# -- the orders ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Order:
    control_id: str
    accession: str
    uid: str
    raw: bytes


def orders(run: str, count: int) -> list[Order]:
    """`count` distinct new orders: the sample with its numbers made this order's own."""
    sample = SAMPLE.read_bytes()
    out = []
    for n in range(count):
        serial = f"{run}{n:06d}"
        placer, accession = f"PL{serial}", f"AC{serial}"
        control_id = f"C{serial}"
        raw = (
            sample.replace(b"ORM-0001", control_id.encode())
            .replace(b"PL-1001", placer.encode())
            .replace(b"FL-1001", f"FL{serial}".encode())
            .replace(b"ACC-1001", accession.encode())
            .replace(b"RP-1001", f"RP{serial}".encode())
            .replace(b"PAT-1001", f"P{serial}".encode())
            .replace(b".498.1001", f".498.{int(serial, 16)}".encode())
        )
        out.append(Order(control_id, accession, workitem_uid("RIS", "RADIOLOGY", placer, "SPS-1001"), raw))
    return out


def read_ack(peer: socket.socket, buffer: bytearray) -> bytes:
    """One ACK (without framing); `buffer` keeps what came after it."""
    while END not in buffer:
        chunk = peer.recv(65536)
        if not chunk:
            raise ConnectionError(f"the server closed the connection; received {bytes(buffer)!r}")
        buffer += chunk
    frame, _, rest = bytes(buffer).partition(END)
    buffer[:] = rest
    return frame[1:] if frame[:1] == VT else frame


def acknowledged(ack: bytes, control_id: str) -> bool:
    """MSA-1 AA and MSA-2 this order's control ID (read without python-hl7: the client stays cheap)."""
    for segment in ack.split(b"\r"):
        if segment.startswith(b"MSA|"):
            fields = segment.decode("latin-1").split("|")
            return len(fields) > 2 and fields[1] == "AA" and fields[2] == control_id
    return False


# -- the subscriber -----------------------------------------------------------------------------------
class Subscriber:
    """A console's way of listening: a global subscription and its WebSocket, read on a thread that
    notes when each workitem's first State Report arrived."""

    def __init__(self, base_url: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as http:
            answer = subscribe(http, GLOBAL, new_aet(), deletionlock="false")
        if answer.status_code != 201:
            raise RuntimeError(f"the global subscription was refused: {answer.status_code} {answer.text[:200]}")
        self.arrived: dict[str, float] = {}
        self.events = 0
        self._socket = connect(answer.headers["Content-Location"], open_timeout=10)
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):
            for message in self._socket:
                now = time.perf_counter()
                event = json.loads(message)
                if value(event, "00001002") != STATE_REPORT:
                    continue
                with self._changed:
                    self.events += 1
                    self.arrived.setdefault(value(event, "00001000"), now)
                    self._changed.notify_all()

    def wait_for(self, uids: set[str], timeout: float) -> set[str]:
        """The UIDs of `uids` still without an event after at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not uids <= self.arrived.keys() and time.monotonic() < deadline:
                self._changed.wait(max(0.0, deadline - time.monotonic()))
            return uids - self.arrived.keys()

    def close(self) -> None:
        self._socket.close()
        self._thread.join(2)


# -- one run -------------------------------------------------------------------------------------------
@dataclass
class Run:
    connections: int
    sent: int = 0
    done: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float | None = None
    refused: list[str] = field(default_factory=list)
    acked_at: dict[str, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    no_event: int = 0
    unsearchable: int = 0

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def send_orders(host: str, port: int, batch: list[Order], connections: int) -> Run:
    """`batch` over `connections` MLLP connections, each sending an order and waiting for its ACK."""
    run = Run(connections, sent=len(batch))
    work: queue.SimpleQueue[Order] = queue.SimpleQueue()
    for order in batch:
        work.put(order)
    lock = threading.Lock()
    ready = threading.Barrier(connections + 1)
    failures: list[BaseException] = []

    def sender() -> None:
        try:
            with socket.create_connection((host, port), timeout=60) as peer:
                peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffer = bytearray()
                ready.wait()
                while True:
                    try:
                        order = work.get_nowait()
                    except queue.Empty:
                        return
                    peer.sendall(VT + order.raw + END)
                    ack = read_ack(peer, buffer)
                    now = time.perf_counter()
                    with lock:
                        if acknowledged(ack, order.control_id):
                            run.done += 1
                            run.acked_at[order.uid] = now
                        else:
                            run.refused.append(ack.decode("latin-1")[:300])
        except BaseException as exc:  # the figure would be wrong: the run says so
            failures.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                ready.abort()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    ready.wait()
    cpu, began = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    run.client_cpu = time.process_time() - cpu
    if failures:
        raise RuntimeError(f"a sender failed: {failures[0]!r}")
    return run


def searchable(base_url: str, prefix: str) -> set[str]:
    """The accession numbers (in the Referenced Request Sequence) of the workitems a UPS-RS Search
    finds under `prefix`."""
    found: set[str] = set()
    with httpx.Client(base_url=base_url, timeout=60, trust_env=False, headers={"Accept": DICOM_JSON}) as http:
        offset = 0
        while True:
            answer = http.get("/workitems", params={"0040A370.00080050": f"{prefix}*", "limit": PAGE, "offset": offset})
            if answer.status_code == 204:
                return found
            answer.raise_for_status()
            page = answer.json()
            found.update(value(request, "00080050") for ds in page for request in ds["0040A370"]["Value"])
            if len(page) < PAGE:
                return found
            offset += PAGE


def measure(
    host: str, port: int, base_url: str, subscriber: Subscriber, count: int, connections: int, pid: int | None
) -> Run:
    """One run: `count` new orders over `connections` connections, their events and their Search."""
    tag = uuid.uuid4().hex[:6].upper()
    batch = orders(tag, count)
    server_cpu = cpu_seconds(pid)
    run = send_orders(host, port, batch, connections)
    if pid is not None:
        run.server_cpu = cpu_seconds(pid) - server_cpu  # type: ignore[operator]
    missing = subscriber.wait_for(set(run.acked_at), timeout=10.0)
    run.no_event = len(missing)
    run.latencies_ms = [
        (subscriber.arrived[uid] - at) * 1000 for uid, at in run.acked_at.items() if uid in subscriber.arrived
    ]
    found = searchable(base_url, f"AC{tag}")
    run.unsearchable = len({o.accession for o in batch} - found)
    return run


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU of a process (Linux), for the server's cost per order."""
    if pid is None:
        return None
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


def percentile(values: list[float], p: float) -> float:
    """Nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- the server ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Served:
    base_url: str
    hl7_port: int
    pid: int


@contextlib.contextmanager
def hl7_server(folder: Path) -> Iterator[Served]:
    """`python -m app serve --hl7-port 0` over a fresh database in `folder`."""
    options = ("--dimse-port", "0", "--hl7-port", "0", "--hl7-station", "CT=CT1", "--db", str(folder / "ups.db"))
    with serve_process(*options, until="HL7 v2 orders (MLLP) on port ") as running:
        yield Served(running.base_url, int(running.lines[-1].rsplit(" ", 1)[1]), running.pid)


# -- driver ----------------------------------------------------------------------------------------------
def report(run: Run) -> None:
    lat = run.latencies_ms
    print(
        f"  {run.connections} connection(s): {run.done} of {run.sent} orders AA in {run.seconds:.2f} s = "
        f"{run.rate:,.0f} orders/s; searchable: {run.sent - run.unsearchable} of {run.sent}",
        flush=True,
    )
    print(
        f"      ACK -> event: p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms, "
        f"max {max(lat, default=math.nan):.1f} ms ({sum(1 for x in lat if x < 0)} events before their ACK, "
        f"{run.no_event} never)",
        flush=True,
    )
    server = f"{run.server_cpu / run.sent * 1000:.2f} ms" if run.server_cpu is not None and run.sent else "n/a"
    print(
        f"      CPU per order: server {server}, this client (senders + subscriber) "
        f"{run.client_cpu / max(run.sent, 1) * 1000:.2f} ms",
        flush=True,
    )
    for ack in run.refused[:3]:
        print(f"      not AA: {ack!r}")


def verdicts(runs: list[Run]) -> int:
    """0 when every goal is met, 1 when one is missed, 2 when an order was lost or refused."""
    lost = [r for r in runs if r.done != r.sent or r.unsearchable or r.no_event]
    widest = max(runs, key=lambda r: r.connections)
    latencies = [x for r in runs for x in r.latencies_ms]
    p95 = percentile(latencies, 95)
    checks = [
        (
            f"orders/s >= {RATE_GOAL:g} ({widest.connections} connections)",
            widest.rate >= RATE_GOAL,
            f"{widest.rate:,.0f}",
        ),
        (f"ACK -> event p95 <= {EVENT_P95_GOAL_MS:g} ms (all runs)", p95 <= EVENT_P95_GOAL_MS, f"{p95:.1f} ms"),
        ("every order AA, searchable and told", not lost, "yes" if not lost else "NO"),
    ]
    print("\nGoals (synchronous=FULL):")
    for name, ok, figure in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {name}  ({figure})")
    if lost:
        return 2
    return 0 if all(ok for _, ok, _ in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="new orders in each run (default 2000)")
    parser.add_argument("--connections", default="1,8", help="comma-separated MLLP connection counts (default 1,8)")
    parser.add_argument("--warmup", type=int, default=50, help="orders sent first, not counted (default 50)")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.connections.split(",") if c.strip()]
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average at start "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (figures are noisy if something else runs)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-hl7-") as tmp, hl7_server(Path(tmp)) as served:
        subscriber = Subscriber(served.base_url)
        try:
            if args.warmup:
                measure("127.0.0.1", served.hl7_port, served.base_url, subscriber, args.warmup, max(counts), None)
            print(f"{args.orders} new ORM^O01 orders a run, each waiting for its ACK, a global subscriber listening:")
            runs = []
            for connections in counts:
                run = measure(
                    "127.0.0.1", served.hl7_port, served.base_url, subscriber, args.orders, connections, served.pid
                )
                report(run)
                runs.append(run)
        finally:
            subscriber.close()
    if len(runs) > 1 and runs[0].rate:
        print(f"  {runs[-1].connections} / {runs[0].connections} connections: {runs[-1].rate / runs[0].rate:.1f}x")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return verdicts(runs)


if __name__ == "__main__":
    sys.exit(main())
