"""Benchmark: the embedded server under the abuse a hostile network can send, on loopback.

    python tests/benchmarks/bench_abuse.py [--subscriptions 3000] [--events 3000]

Prints, in one run:
  - a 3 000-star wildcard search: its time, and the latency of a search sent beside it;
  - DCMTK's echoscu with 20 bare TCP connections holding the DIMSE front;
  - the server's resident memory before and after a subscriber that never reads gets N events;
  - Create p50 (in process) at 0, 1 000 and 3 000 subscriptions;
  - Create throughput over HTTP with synchronous=FULL, 1 and 8 clients (group commit);
  - of 32 simultaneous claims of one workitem, how many won, over HTTP and over DIMSE;
  - DCMTK's echoscu +tls with 1, 10 and 100 TCP connections that never start TLS (goal: under 1 s);
  - probes from 127.0.0.2 answered while 127.0.0.1 keeps reopening 1 000 idle sockets (goal: all).
  - on a server with users, a valid request's p50/p95 while 48 clients send wrong passwords
    for 10 s, and the server's memory growth (goal: p95 < 50 ms, RSS growth < 50 MB).

The server runs in a process of its own (`worklist-console serve`), so that its memory and its
interpreter lock are its own. Needs DCMTK for the echoscu line (apt-get install dcmtk).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import UnifiedProcedureStepPull
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from door import PASSWORD, users_file
from upsrs_client import FILTERED, GLOBAL, item, post, subscribe, uid_of

ECHOSCU = "/usr/bin/echoscu"  # DCMTK's, not the pynetdicom app of the same name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(folder: Path, *extra: str) -> tuple[subprocess.Popen, str, int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--http-port",
            "0",
            "--dimse-port",
            str(port),
            "--db",
            str(folder / "w.db"),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in process.stdout:  # type: ignore[union-attr]
        if "ready at http://" in line:
            base = line.split("ready at ")[1].split()[0]
            return process, base, port
    raise SystemExit("the server did not start")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stars(base: str) -> None:
    beside: list[float] = []

    def neighbour() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            began = time.perf_counter()
            http.get("/workitems", params={"limit": "1"})
            beside.append(time.perf_counter() - began)

    with httpx.Client(base_url=base, timeout=60) as http:
        for _ in range(50):
            post(http, "/workitems", [item(patient=f"Star^{generate_uid()[-6:]}")])
        thread = threading.Thread(target=neighbour)
        began = time.perf_counter()
        thread.start()
        http.get("/workitems", params={"PatientName": "*" * 3000 + "Z"})
        took = time.perf_counter() - began
        thread.join()
    print(f"3 000-star search: {took * 1000:.1f} ms; a search beside it: {beside[0] * 1000:.1f} ms")


def bare_connections(dimse: int) -> None:
    if not Path(ECHOSCU).exists():
        print("echoscu with 20 bare connections: skipped (DCMTK not installed)")
        return
    held = [socket.create_connection(("127.0.0.1", dimse)) for _ in range(20)]
    try:
        echo = subprocess.run([ECHOSCU, "-aec", "WORKLIST", "-to", "10", "127.0.0.1", str(dimse)], capture_output=True)
        print(f"echoscu with 20 bare connections open: {'success' if echo.returncode == 0 else 'FAILED'}")
    finally:
        for connection in held:
            connection.close()


def silent_subscriber(process: subprocess.Popen, base: str, events: int) -> None:
    before = rss_mib(process.pid)
    with httpx.Client(base_url=base, timeout=60) as http:
        url = subscribe(http, GLOBAL, "SILENT").headers["Content-Location"]
        silent = connect(url, max_queue=1)
        silent.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for _ in range(events):
            post(http, "/workitems", [item(label="x" * 60)])
    after = rss_mib(process.pid)
    silent.close()
    print(
        f"server RSS, a subscriber reading nothing while {events} workitems were created: {before:.1f} → {after:.1f} MiB"
    )


def create_p50_by_subscriptions(base: str, counts: list[int]) -> None:
    """Create p50 over HTTP while N subscriptions (half global, half filtered on 50 stations,
    none connected: each event goes to N backlogs) are held."""
    figures = []
    made = 0
    with httpx.Client(base_url=base, timeout=60) as http:
        for target in counts:
            while made < target:
                if made % 2:
                    subscribe(http, GLOBAL, f"G{made}")
                else:
                    subscribe(
                        http, FILTERED, f"F{made}", filter=f"ScheduledStationNameCodeSequence.CodeValue=ST{made % 50}"
                    )
                made += 1
            times = []
            for _ in range(300):
                body = [item()]
                began = time.perf_counter()
                post(http, "/workitems", body)
                times.append(time.perf_counter() - began)
            figures.append(f"{target}: {statistics.median(times) * 1000:.2f} ms")
    print("create p50 over HTTP by subscriptions: " + ", ".join(figures))


def throughput(base: str) -> None:
    for clients in (1, 8):
        done = [0] * clients

        def client(n: int) -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                deadline = time.monotonic() + 3.0
                while time.monotonic() < deadline:
                    if post(http, "/workitems", [item()]).status_code == 201:
                        done[n] += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"create over HTTP, synchronous=FULL, {clients} client(s): {sum(done) / 3.0:.0f} per second")


def claims(base: str, dimse: int) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        uid = uid_of(ds := item())
        post(http, "/workitems", [ds])
    barrier = threading.Barrier(32)
    codes: list[int] = []

    def claim_http() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            body = [
                {
                    "00741000": {"vr": "CS", "Value": ["IN PROGRESS"]},
                    "00081195": {"vr": "UI", "Value": [generate_uid()]},
                }
            ]
            barrier.wait()
            answer = http.put(
                f"/workitems/{uid}/state", content=json.dumps(body), headers={"Content-Type": "application/dicom+json"}
            )
            codes.append(answer.status_code)

    threads = [threading.Thread(target=claim_http) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"32 simultaneous claims over HTTP: {codes.count(200)} won, {codes.count(409)} refused")

    with httpx.Client(base_url=base, timeout=60) as http:
        uid = uid_of(ds := item())
        post(http, "/workitems", [ds])
    barrier = threading.Barrier(32)
    statuses: list[int] = []

    def claim_dimse(n: int) -> None:
        ae = AE(f"CLAIM{n}")
        ae.add_requested_context(UnifiedProcedureStepPull)
        assoc = ae.associate("127.0.0.1", dimse, ae_title="WORKLIST")
        info = Dataset()
        info.ProcedureStepState = "IN PROGRESS"
        info.TransactionUID = generate_uid()
        barrier.wait()
        status, _ = assoc.send_n_action(info, 1, UnifiedProcedureStepPull, uid)
        statuses.append(int(status.Status) if status else -1)
        assoc.release()

    threads = [threading.Thread(target=claim_dimse, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"32 simultaneous claims over DIMSE: {statuses.count(0)} won, {len(statuses) - statuses.count(0)} refused")


def tls_echo_beside_silent_sockets() -> None:
    """echoscu over DICOM TLS while N bare TCP connections sit on the TLS port sending nothing."""
    if not Path(ECHOSCU).exists():
        print("echoscu +tls beside silent sockets: skipped (DCMTK not installed)")
        return
    with tempfile.TemporaryDirectory() as folder:
        dimse = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--http-port", "0", "--dimse-port", str(dimse)]
            + ["--db", str(Path(folder) / "w.db"), "--tls-self-signed", "--dimse-tls"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            for line in process.stdout:  # type: ignore[union-attr]
                if "ready at https://" in line:
                    break
            ca = str(Path(folder) / "tls" / "ca.pem")
            figures = []
            for silent in (1, 10, 100):
                held = []
                for _ in range(silent):
                    try:  # a front whose accepting thread is stuck lets only its backlog connect
                        held.append(socket.create_connection(("127.0.0.1", dimse), timeout=2))
                    except OSError:
                        break
                began = time.perf_counter()
                echo = subprocess.run(
                    [ECHOSCU, "+tla", "+cf", ca, "-aec", "WORKLIST", "-to", "10", "127.0.0.1", str(dimse)],
                    capture_output=True,
                )
                took = time.perf_counter() - began
                outcome = "" if echo.returncode == 0 else " FAILED"
                opened = "" if len(held) == silent else f" (only {len(held)} connected)"
                figures.append(f"{silent}: {took * 1000:.0f} ms{outcome}{opened}")
                for connection in held:
                    connection.close()
            print("echoscu +tls (DCMTK) beside N silent TCP connections: " + ", ".join(figures))
        finally:
            process.terminate()
            process.wait(10)


def probes_beside_a_hog(base: str, sockets: int = 1000, seconds: float = 10.0) -> None:
    """One address (127.0.0.1) reopens `sockets` idle connections as fast as the server closes them;
    another (127.0.0.2) sends a search every quarter second."""
    port = int(base.split(":")[2].split("/")[0])
    stop = threading.Event()
    held: list[socket.socket] = []

    def hog() -> None:
        while not stop.is_set():
            alive = []
            for connection in held:
                try:
                    closed = connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    connection.close()
                else:
                    alive.append(connection)
            while len(alive) < sockets and not stop.is_set():
                try:
                    alive.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                except OSError:
                    break
            held[:] = alive
            stop.wait(0.2)

    thread = threading.Thread(target=hog)
    thread.start()
    time.sleep(1.0)  # the hog has its sockets open
    answered, times = 0, []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as probe:
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                code = probe.get("/workitems", params={"limit": "1"}, headers={"Connection": "close"}).status_code
            except httpx.HTTPError:
                code = 0
            times.append(time.perf_counter() - began)
            answered += code in (200, 204)
            time.sleep(0.25)
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    print(
        f"probes from another address while one holds {sockets} idle sockets: {answered} of {len(times)} answered, "
        f"p95 {statistics.quantiles(times, n=20)[-1] * 1000:.1f} ms"
    )


def wrong_passwords(process: subprocess.Popen, base: str, token: str, clients: int, seconds: float) -> None:
    """Each attacker from a loopback address of its own (127.0.1.N), so that the per-address
    throttle does not simply stop them: the password pool stays full for the whole run."""
    stop = threading.Event()
    answers: Counter[int] = Counter()

    def attacker(n: int) -> None:
        transport = httpx.HTTPTransport(local_address=f"127.0.1.{n + 1}")
        with httpx.Client(base_url=base, timeout=60, transport=transport) as http:
            while not stop.is_set():
                name = "ct1" if n % 2 else f"nobody{uuid.uuid4().hex[:6]}"
                answers[http.get("/workitems", auth=(name, f"guess {n}")).status_code] += 1

    with httpx.Client(base_url=base, timeout=60, auth=("ris", PASSWORD)) as http:
        http.get("/workitems", params={"limit": "1"})  # verified once, as a console's first request
    before = peak = rss_mib(process.pid)
    threads = [threading.Thread(target=attacker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    times: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=base, timeout=60, headers=headers) as bearer,
        httpx.Client(base_url=base, timeout=60, auth=("ris", PASSWORD)) as basic,
    ):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for http in (bearer, basic):
                began = time.perf_counter()
                http.get("/workitems", params={"limit": "1"})
                times.append(time.perf_counter() - began)
            peak = max(peak, rss_mib(process.pid))
            time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"a valid request (bearer / remembered basic) while {clients} clients send wrong passwords for "
        f"{seconds:.0f} s: p50 {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms (goal < 50 ms); "
        f"server RSS {before:.1f} → {peak:.1f} MiB at most, +{peak - before:.1f} (goal < 50 MB); "
        f"answers {dict(sorted(answers.items()))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", type=int, default=3000)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--only-passwords", action="store_true", help="run only the wrong-passwords line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path, tokens = users_file(Path(folder), ris=[], ct1=["CT1"])
        process, base, _ = serve(Path(folder), "--users", str(path))
        try:
            wrong_passwords(process, base, tokens["ris"], clients=48, seconds=10)
        finally:
            process.terminate()
            process.wait(10)
    if args.only_passwords:
        return
    with tempfile.TemporaryDirectory() as folder:
        process, base, dimse = serve(Path(folder))
        try:
            stars(base)
            bare_connections(dimse)
            silent_subscriber(process, base, args.events)
            throughput(base)
            claims(base, dimse)
            probes_beside_a_hog(base)
        finally:
            process.terminate()
            process.wait(10)
    with tempfile.TemporaryDirectory() as folder:
        process, base, _ = serve(Path(folder))
        try:
            create_p50_by_subscriptions(base, sorted({0, 1000, args.subscriptions}))
        finally:
            process.terminate()
            process.wait(10)
    tls_echo_beside_silent_sockets()


if __name__ == "__main__":
    main()
