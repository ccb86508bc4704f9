"""Benchmark: the store engines and serve nodes side by side, in one run on one machine.

    python tests/benchmarks/bench_nodes.py [--quick]

A real PostgreSQL server is started in a temporary directory (tests/postgres_server.py, as the
store's tests start it: Debian's `postgresql` package, durable settings at their defaults); without
one installed the script says so and exits 2. Every `worklist-console serve` runs in a process of
its own, with --users (each request carries a RIS's bearer token through the access rule) and no
DIMSE front. Three setups:

* SQLite: `serve --db FILE`, one node.
* PostgreSQL, one node: `serve --db postgresql://...` (the password from --db-password-file).
* PostgreSQL, two nodes on the same database, the same load spread over both (client k talks to
  node k % 2).

Each store is filled through UPS-RS Create with bench_search's plan (6 stations, at most 100
workitems a station-day), then timed:

* Search: the worklist query a modality sends (its station + one day, limit=100), one client
  (SEARCH_REQUESTS requests, p50), then SEARCH_CLIENTS clients at once (p50 of all their
  requests); every answer's count is checked against the plan.
* Create: CREATE_CLIENTS clients post new workitems (on days outside the plan, so Search's counts
  hold) for CREATE_SECONDS; creates per second over the wall time.

Then, on the two PostgreSQL nodes A and B:

* Event latency: a global subscription's WebSocket on node A; a workitem created through node B,
  one at a time; the time from just before the POST is sent to the arrival of its State Report on
  A (both on this process's perf_counter). p50 and p95 over EVENTS creates; the same with A and B
  the same node as the baseline (and on SQLite, its one node). Goal: cross-node p50 <= 20 ms.
* Claims: CLAIM_ITEMS workitems; CLAIM_CLIENTS client threads, half on each node, each trying to
  claim (PUT /workitems/{uid}/state, IN PROGRESS, a Transaction UID of its own) every workitem in
  the same order. Claims decided per second (workitems over the time to the last workitem's
  winning answer) and attempts answered per second (all 32 answers a workitem gets, over the wall
  time); exactly one 200 per workitem is checked, every other answer must be a refusal (4xx).

Exit status: 0, or 1 when a check fails (a search count, a create, a lost event, not exactly one
claim winner per workitem); 2 without PostgreSQL. A missed latency goal is printed (MISS), not an
exit status: figures are wall-clock on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from pydicom.uid import generate_uid
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import STATIONS, Plan, percentile, search_params, workitem
from door import users_file
from raw_http import RawHttp
from served import serve_process
from upsrs_client import DICOM_JSON, GLOBAL, new_aet, subscribe, value

DICOM_HEADERS = {"Content-Type": DICOM_JSON, "Accept": DICOM_JSON}
STATE_REPORT = 1  # the event a new workitem causes (PS3.4 CC.2.4)
EVENT_P50_GOAL_MS = 20.0  # cross-node, p50
EVENT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Load:
    size: int  # workitems filled
    search_requests: int
    search_clients: int
    create_clients: int
    create_seconds: float
    events: int
    claim_items: int
    claim_clients: int = 32
    fill_clients: int = 8
    warmup: int = 20


FULL = Load(size=3000, search_requests=300, search_clients=4, create_clients=8, create_seconds=5.0, events=200,
            claim_items=200)  # fmt: skip
QUICK = Load(size=600, search_requests=60, search_clients=4, create_clients=8, create_seconds=1.5, events=30,
             claim_items=20, warmup=5)  # fmt: skip


class Failure(Exception):
    """A check failed: the run's figures cannot be trusted."""


# -- clients --------------------------------------------------------------------------------------
def fill(urls: list[str], headers: dict[str, str], plan: Plan, clients: int) -> float:
    """Create the plan's workitems through UPS-RS, `clients` at once over the nodes; the seconds taken."""
    failures: list[str] = []

    def sender(k: int) -> None:
        with RawHttp(urls[k % len(urls)], headers) as client:
            for i in range(k, plan.size, clients):
                body = json.dumps([workitem(i, *plan.place(i))], ensure_ascii=False).encode()
                status, answer = client.request("POST", "/workitems", body, DICOM_HEADERS)
                if status != 201:
                    failures.append(f"{status}: {answer[:200]!r}")

    t0 = time.perf_counter()
    run_threads(sender, clients)
    if failures:
        raise Failure(f"{len(failures)} of the fill's creates failed, e.g. {failures[0]}")
    return time.perf_counter() - t0


def run_threads(target: Callable[[int], None], count: int) -> None:
    threads = [threading.Thread(target=target, args=(k,), daemon=True) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure_search(urls: list[str], headers: dict[str, str], plan: Plan, load: Load, clients: int) -> float:
    """p50 (ms) of the station-day query, `clients` at once (client k on node k % nodes)."""
    expected = plan.expected()
    rng = random.Random(clients)
    per_client = max(1, load.search_requests // clients)
    targets = [
        [(rng.randrange(len(STATIONS)), rng.randrange(plan.days)) for _ in range(load.warmup + per_client)]
        for _ in range(clients)
    ]
    latencies: list[float] = []
    wrong: list[str] = []
    start = threading.Barrier(clients)

    def searcher(k: int) -> None:
        with RawHttp(urls[k % len(urls)], headers) as client:
            for n, (station, day) in enumerate(targets[k]):
                if n == load.warmup:
                    start.wait()
                path = f"/workitems?{urlencode(search_params(station, day))}"
                t0 = time.perf_counter()
                status, body = client.request("GET", path, headers={"Accept": DICOM_JSON})
                elapsed = time.perf_counter() - t0
                count = body.count(b'"00080018"') if status == 200 else 0  # one SOP Instance UID each
                if status not in (200, 204) or count != min(expected.get((day, station), 0), 100):
                    wrong.append(f"{status} {STATIONS[station][0]} day {day}: {count}")
                if n >= load.warmup:
                    latencies.append(elapsed * 1000)

    run_threads(searcher, clients)
    if wrong:
        raise Failure(f"{len(wrong)} searches answered wrong, e.g. {wrong[:3]}")
    return percentile(latencies, 50)


class Template:
    """One workitem's JSON with its UIDs and accession replaced per request: the client's cost of a
    new body is a string replace, not building a dataset."""

    def __init__(self, plan: Plan, day: int, station: int = 0) -> None:
        ds = workitem(0, day, station, 0, tag="T")
        self.uid = ds["00080018"]["Value"][0]
        self.text = json.dumps([ds], ensure_ascii=False)

    def body(self) -> tuple[str, bytes]:
        uid = generate_uid()
        return uid, self.text.replace(self.uid, uid).encode()


def measure_create(urls: list[str], headers: dict[str, str], plan: Plan, load: Load) -> float:
    """Creates per second: `create_clients` clients post new workitems for `create_seconds`."""
    done = [0] * load.create_clients
    failures: list[str] = []
    start = threading.Barrier(load.create_clients + 1)
    stop = threading.Event()

    def sender(k: int) -> None:
        template = Template(plan, plan.days + 30 + k % 5, k % len(STATIONS))  # outside Search's days
        with RawHttp(urls[k % len(urls)], headers) as client:
            start.wait()
            while not stop.is_set():
                _, body = template.body()
                status, answer = client.request("POST", "/workitems", body, DICOM_HEADERS)
                if status != 201:
                    failures.append(f"{status}: {answer[:200]!r}")
                    return
                done[k] += 1

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(load.create_clients)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(load.create_seconds)
    stop.set()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    if failures:
        raise Failure(f"{len(failures)} creates failed, e.g. {failures[0]}")
    return sum(done) / seconds


class Subscriber:
    """A global subscription's WebSocket on one node, read on a thread that notes when each
    workitem's first State Report arrived (this process's perf_counter)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30, trust_env=False) as http:
            answer = subscribe(http, GLOBAL, new_aet(), deletionlock="false")
        if answer.status_code != 201:
            raise Failure(f"the global subscription was refused: {answer.status_code} {answer.text[:200]}")
        self.arrived: dict[str, float] = {}
        self._socket = connect(answer.headers["Content-Location"], additional_headers=headers, open_timeout=10)
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
                    self.arrived.setdefault(value(event, "00001000"), now)
                    self._changed.notify_all()

    def wait_for(self, uid: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while uid not in self.arrived and time.monotonic() < deadline:
                self._changed.wait(max(0.0, deadline - time.monotonic()))
            return self.arrived.get(uid)

    def close(self) -> None:
        self._socket.close()
        self._thread.join(2)


def measure_events(listen_url: str, change_url: str, headers: dict[str, str], plan: Plan, count: int) -> list[float]:
    """Milliseconds from just before each create is sent on `change_url` to its event on `listen_url`."""
    subscriber = Subscriber(listen_url, headers)
    template = Template(plan, plan.days + 60)
    latencies: list[float] = []
    try:
        with RawHttp(change_url, headers) as client:
            for n in range(count + 3):  # three warm-ups
                uid, body = template.body()
                t0 = time.perf_counter()
                status, answer = client.request("POST", "/workitems", body, DICOM_HEADERS)
                if status != 201:
                    raise Failure(f"a create for the event latency failed: {status} {answer[:200]!r}")
                arrived = subscriber.wait_for(uid, EVENT_TIMEOUT)
                if arrived is None:
                    raise Failure(f"no event on {listen_url} within {EVENT_TIMEOUT:g} s of a create on {change_url}")
                if n >= 3:
                    latencies.append((arrived - t0) * 1000)
    finally:
        subscriber.close()
    return latencies


@dataclass
class Claims:
    items: int
    clients: int
    seconds: float
    winners: dict[str, int]  # workitem UID -> its 200 answers
    answers: Counter[int] = field(default_factory=Counter)
    last_decided: float = 0.0  # seconds from the start to the last workitem's winning answer

    @property
    def decided_rate(self) -> float:
        return self.items / (self.last_decided or self.seconds)

    @property
    def attempt_rate(self) -> float:
        return sum(self.answers.values()) / self.seconds

    @property
    def one_winner_each(self) -> bool:
        refusals = all(400 <= status < 500 for status in self.answers if status != 200)
        return refusals and all(wins == 1 for wins in self.winners.values())


def measure_claims(urls: list[str], headers: dict[str, str], plan: Plan, load: Load) -> Claims:
    """`claim_clients` threads (thread k on node k % nodes) each claim every one of `claim_items`
    new workitems, in the same order."""
    template = Template(plan, plan.days + 90)
    uids = []
    with RawHttp(urls[0], headers) as client:
        for _ in range(load.claim_items):
            uid, body = template.body()
            status, answer = client.request("POST", "/workitems", body, DICOM_HEADERS)
            if status != 201:
                raise Failure(f"a create for the claims failed: {status} {answer[:200]!r}")
            uids.append(uid)
    wins: Counter[str] = Counter()
    answers: Counter[int] = Counter()
    decided: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(load.claim_clients + 1)

    def claimer(k: int) -> None:
        with RawHttp(urls[k % len(urls)], headers) as client:
            start.wait()
            for uid in uids:
                body = json.dumps(
                    [
                        {
                            "00741000": {"vr": "CS", "Value": ["IN PROGRESS"]},
                            "00081195": {"vr": "UI", "Value": [generate_uid()]},
                        }
                    ]
                ).encode()
                status, _ = client.request("PUT", f"/workitems/{uid}/state", body, DICOM_HEADERS)
                with lock:
                    answers[status] += 1
                    if status == 200:
                        wins[uid] += 1
                        decided.append(time.perf_counter())

    threads = [threading.Thread(target=claimer, args=(k,), daemon=True) for k in range(load.claim_clients)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    last = max(decided, default=t0) - t0
    return Claims(len(uids), load.claim_clients, seconds, {uid: wins[uid] for uid in uids}, answers, last)


# -- driver ---------------------------------------------------------------------------------------
@dataclass
class Setup:
    name: str
    fill_seconds: float = 0.0
    search_one: float = 0.0  # p50 ms, one client
    search_many: float = 0.0  # p50 ms, load.search_clients clients
    creates: float = 0.0  # per second


def time_setup(setup: Setup, urls: list[str], headers: dict[str, str], plan: Plan, load: Load) -> Setup:
    setup.search_one = measure_search(urls, headers, plan, load, 1)
    setup.search_many = measure_search(urls, headers, plan, load, load.search_clients)
    setup.creates = measure_create(urls, headers, plan, load)
    print(
        f"  {setup.name}: filled {plan.size:,} in {setup.fill_seconds:.1f} s; search p50 {setup.search_one:.2f} ms "
        f"(1 client), {setup.search_many:.2f} ms ({load.search_clients} clients); "
        f"create {setup.creates:,.0f}/s ({load.create_clients} clients)",
        flush=True,
    )
    return setup


def describe(latencies: list[float]) -> str:
    return (
        f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, max {max(latencies):.1f} ms"
    )


def run(load: Load, pg: Any, tmp: Path) -> int:
    plan = Plan(load.size)
    users, tokens = users_file(tmp, ris=[])
    headers = {"Authorization": f"Bearer {tokens['ris']}"}
    common = ("--dimse-port", "0", "--users", str(users))
    setups: list[Setup] = []
    events: dict[str, list[float]] = {}

    print(
        f"\n== SQLite, one node ({plan.size:,} workitems, {plan.days} days x {len(STATIONS)} stations) ==", flush=True
    )
    with serve_process("--db", str(tmp / "ups.sqlite"), *common) as node:
        sqlite = Setup("SQLite", fill([node.base_url], headers, plan, load.fill_clients))
        setups.append(time_setup(sqlite, [node.base_url], headers, plan, load))
        events["SQLite, same node"] = measure_events(node.base_url, node.base_url, headers, plan, load.events)
        print(f"  event latency, same node: {describe(events['SQLite, same node'])}", flush=True)

    url = pg.create_database("bench_nodes")
    password = pg.password_file(tmp)
    on_pg = ("--db", url, "--db-password-file", str(password), *common)
    print(f"\n== PostgreSQL {pg.binaries.parent.name}, one node, then two ==", flush=True)
    with serve_process(*on_pg) as a:
        one = Setup("PostgreSQL, 1 node", fill([a.base_url], headers, plan, load.fill_clients))
        setups.append(time_setup(one, [a.base_url], headers, plan, load))
        with serve_process(*on_pg) as b:
            urls = [a.base_url, b.base_url]
            setups.append(time_setup(Setup("PostgreSQL, 2 nodes"), urls, headers, plan, load))
            for name, (listen_on, change_on) in {
                "PostgreSQL, same node": (a, a),
                "PostgreSQL, across nodes": (a, b),
            }.items():
                events[name] = measure_events(listen_on.base_url, change_on.base_url, headers, plan, load.events)
                print(f"  event latency, {name.split(', ')[1]}: {describe(events[name])}", flush=True)
            claims = measure_claims(urls, headers, plan, load)
            print(
                f"  claims: {claims.items} workitems, {claims.clients} clients over 2 nodes: "
                f"{claims.decided_rate:,.0f} decided/s ({claims.attempt_rate:,.0f} attempts answered/s); "
                f"answers {dict(sorted(claims.answers.items()))}",
                flush=True,
            )
    report(setups, events, claims, load)
    return 0 if claims.one_winner_each else 1


def report(setups: list[Setup], events: dict[str, list[float]], claims: Claims, load: Load) -> None:
    print("\n" + "=" * 88)
    header = (
        f"{'setup':<22} {'fill/s':>8} {'search p50 1c':>14} {f'search p50 {load.search_clients}c':>14} "
        f"{f'create/s {load.create_clients}c':>14}"
    )
    print(header)
    print("-" * len(header))
    for s in setups:
        fill_rate = f"{load.size / s.fill_seconds:,.0f}" if s.fill_seconds else "-"
        print(f"{s.name:<22} {fill_rate:>8} {s.search_one:>11.2f} ms {s.search_many:>11.2f} ms {s.creates:>14,.0f}")
    print()
    header = f"{'event latency (create -> event)':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  goal"
    print(header)
    print("-" * len(header))
    for name, latencies in events.items():
        p50 = percentile(latencies, 50)
        goal = ""
        if name.endswith("across nodes"):
            goal = f"p50 <= {EVENT_P50_GOAL_MS:g} ms: {'PASS' if p50 <= EVENT_P50_GOAL_MS else 'MISS'}"
        print(f"{name:<34} {p50:>8.1f} {percentile(latencies, 95):>8.1f} {max(latencies):>8.1f}  {goal}")
    print(f"({len(next(iter(events.values())))} events each)")
    print()
    winners = Counter(claims.winners.values())
    print(
        f"claims, {claims.clients} clients over 2 PostgreSQL nodes, {claims.items} workitems: "
        f"{claims.decided_rate:,.0f} decided/s, {claims.attempt_rate:,.0f} attempts answered/s"
    )
    verdict = "yes" if claims.one_winner_each else "NO"
    print(
        f"one winner per workitem: {verdict} (workitems by winners: {dict(sorted(winners.items()))}; "
        f"answers by status: {dict(sorted(claims.answers.items()))})"
    )
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


@contextlib.contextmanager
def postgres(tmp: Path) -> Iterator[Any]:
    """A running PostgreSQL (tests/postgres_server.py), or None when none is installed."""
    try:
        from postgres_server import postgres_binaries, running_postgres
    except ImportError:  # the fixture module of the store's tests, beside this folder
        print("tests/postgres_server.py, which starts PostgreSQL for the tests, is missing.")
        yield None
        return
    if postgres_binaries() is None:
        yield None
        return
    with running_postgres(tmp / "postgres") as server:
        yield server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (checks that the benchmark works)")
    args = parser.parse_args(argv)
    load = QUICK if args.quick else FULL
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average at start "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (figures are noisy if something else runs)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-nodes-") as folder, postgres(Path(folder)) as pg:
        if pg is None:
            print("No PostgreSQL to run against (apt-get install postgresql): no figures to compare, nothing run.")
            return 2
        try:
            return run(load, pg, Path(folder))
        except Failure as failure:
            print(f"FAILED: {failure}", flush=True)
            return 1


if __name__ == "__main__":
    sys.exit(main())
