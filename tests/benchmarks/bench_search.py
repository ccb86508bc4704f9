"""Benchmark: UPS-RS Search and Create over real HTTP on loopback, at several store sizes.

A plain script, not a pytest test (the name does not match test_*.py):

    python tests/benchmarks/bench_search.py [--sizes 1000,10000,100000]

For each size N: a fresh temporary database, filled with N SCHEDULED workitems spread
over ceil(N / 600) days (about 600 a day) across 6 stations, so that one station on one
day holds at most 100 workitems. Then `worklist-console serve --users` runs over it in a process
of its own (synchronous=FULL, as always), and every request carries a RIS's bearer token through
the access rule. The client is raw_http.RawHttp, a keep-alive socket whose own CPU per request
is printed beside each figure (httpx added about 3 ms to every Search):

* Search: 20 warm-up requests, then 300 timed requests of the worklist query a modality
  sends (its station + a one-day ScheduledProcedureStepStartDateTime range, limit=100),
  varying station and day; every answer's count is checked against the fill plan.
* The same query with limit=5 (100 requests): a small answer, outside the goals; it
  shows per-response stalls (Nagle + delayed ACK gives ~40 ms) that big answers hide.
* Create: 500 POSTs of one new workitem each, from one client, then from 8 at once;
  creates per second over the wall time.

--order scattered (default) fills round-robin over the days, so one day's workitems are
spread over the whole table: the worst case for locality. --order chronological fills
day after day (the best case; real schedules are somewhere in between).

The goals checked (issue 21; exit 1 when one is missed): at 100 000 workitems, Search p50 <= 2 ms
and p99 <= 10 ms, the 100 000 p50 no more than 2x the 1 000 p50; at the largest size, Create
>= 400/s from one client and >= 1 000/s from 8.

Filling goes through `UPSService.create` (one transaction per workitem) while that is
fast enough; when the projected time for the rest exceeds --max-service-fill seconds it
switches to bulk: `prepare_create` + `Store.insert` in transactions of 1000, which writes
the same rows (columns, item_key index rows, dataset and summary) without the per-item
commit and the event bookkeeping (there are no subscribers here anyway).

Figures are wall-clock on a shared machine: other processes (a test run) add noise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from pydicom.uid import generate_uid

from app.domain.build import NewWorkitem
from app.domain.requirements import prepare_create
from app.domain.search import parse_search
from app.domain.workitem import Code, PatientName
from app.server import ServerConfig, UPSServer
from app.server.sqlquery import compile_query

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from door import users_file
from raw_http import RawHttp
from served import serve_process

STATIONS = [("CT1", "CT"), ("CT2", "CT"), ("MR1", "MR"), ("US1", "US"), ("CR1", "CR"), ("MG1", "MG")]
PER_DAY = 600
FIRST_DAY = date(2027, 1, 1)
SLOT_MINUTES = 14  # 100 slots a station a day fit in 23h20
NAMES = [
    "Doe^Jane",
    "Smith^John",
    "Müller^Jürgen",
    "Núñez^José",
    "Dubois^Élodie",
    "Sørensen^Mette",
    "Okafor^Chidi",
    "Kowalski^Zofia",
    "Rossi^Giulia",
    "Brown^Emily",
]
SEARCH_REQUESTS = 300
WARMUP_REQUESTS = 20
CREATE_REQUESTS = 500
SMALL_LIMIT = 5
BULK_BATCH = 1000
DICOM_JSON = "application/dicom+json"

# issue 21's goals: Search at 100 000; Create with FULL sync, one client and eight
P50_LIMIT_MS = 2.0
P99_LIMIT_MS = 10.0
SCALING_LIMIT = 2.0
CREATE_ONE_GOAL = 400.0
CREATE_MANY_GOAL = 1000.0
CREATE_CLIENTS = 8


# -- the fill plan --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    size: int
    order: str = "scattered"  # or "chronological"

    @property
    def days(self) -> int:
        return max(1, math.ceil(self.size / PER_DAY))

    def place(self, i: int) -> tuple[int, int, int]:
        """(day, station index, slot) of the i-th workitem.

        scattered: round-robin over the days, so one day's workitems are spread over the
        whole table (the worst case for locality). chronological: day after day, so one
        day's workitems are neighbours in the table (the best case).
        """
        if self.order == "chronological":
            day, k = divmod(i, math.ceil(self.size / self.days))
        else:
            day, k = i % self.days, i // self.days
        return day, k % len(STATIONS), k // len(STATIONS)

    def expected(self) -> dict[tuple[int, int], int]:
        counts: dict[tuple[int, int], int] = {}
        for i in range(self.size):
            day, station, _ = self.place(i)
            counts[(day, station)] = counts.get((day, station), 0) + 1
        return counts


def workitem(i: int, day: int, station: int, slot: int, tag: str = "") -> dict:
    name, modality = STATIONS[station]
    start = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time()) + timedelta(
        minutes=slot * SLOT_MINUTES + station
    )
    serial = f"{tag}{i:07d}"
    return NewWorkitem(
        uid=generate_uid(),
        label=f"{modality} procedure {i % 7}",
        start=start.strftime("%Y%m%d%H%M%S"),
        patient=PatientName(NAMES[i % len(NAMES)]),
        patient_id=f"PID{i % 5000:05d}",
        station=name,
        modality=modality,
        priority=("MEDIUM", "HIGH", "LOW")[i % 3],
        birth_date="19700101",
        sex="F" if i % 2 else "M",
        accession=f"ACC{serial}",
        requested_procedure_id=f"RP{serial}",
        requested_procedure=Code(f"{modality}PROC{i % 4}", "99WLPROC", f"{modality} procedure {i % 4}"),
        study_uid=generate_uid(),
        location=f"{name} room",
    ).to_json()


def fill(server: UPSServer, plan: Plan, mode: str, max_service_fill: float) -> dict:
    """Create plan.size workitems; returns timings and how many went each way."""
    service, store = server.service, server.store
    t0 = time.perf_counter()
    via_service = 0
    if mode in ("auto", "service"):
        probe = plan.size if mode == "service" else min(plan.size, 1000)
        for i in range(probe):
            service.create(workitem(i, *plan.place(i)))
        via_service = probe
    service_seconds = time.perf_counter() - t0
    service_rate = via_service / service_seconds if via_service else None
    remaining = plan.size - via_service
    if remaining and mode == "auto" and service_rate:
        projected = remaining / service_rate
        print(
            f"  service.create: {service_rate:,.0f}/s; the remaining {remaining:,} would take ~{projected:,.0f} s"
            + (" -> bulk" if projected > max_service_fill else ""),
            flush=True,
        )
        if projected <= max_service_fill:
            for i in range(via_service, plan.size):
                service.create(workitem(i, *plan.place(i)))
            via_service, remaining = plan.size, 0
    t1 = time.perf_counter()
    if remaining:
        now = datetime.now().strftime("%Y%m%d%H%M%S")
        for lo in range(via_service, plan.size, BULK_BATCH):
            batch = []
            for i in range(lo, min(plan.size, lo + BULK_BATCH)):
                ds = workitem(i, *plan.place(i))
                batch.append(prepare_create(ds, ds["00080018"]["Value"][0], now).dataset)
            with store.write() as db:
                for ds in batch:
                    store.insert(db, ds)
    t2 = time.perf_counter()
    bulk = plan.size - via_service
    return {
        "seconds": t2 - t0,
        "via_service": via_service,
        "service_rate": service_rate,
        "bulk": bulk,
        "bulk_rate": bulk / (t2 - t1) if bulk else None,
    }


# -- measurements ---------------------------------------------------------------------------------
def search_params(station: int, day: int, limit: int = 100) -> list[tuple[str, str]]:
    d = (FIRST_DAY + timedelta(days=day)).strftime("%Y%m%d")
    return [
        ("ScheduledStationNameCodeSequence.CodeValue", STATIONS[station][0]),
        ("ScheduledProcedureStepStartDateTime", f"{d}000000-{d}235959"),
        ("limit", str(limit)),
    ]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure_search(
    client: RawHttp, plan: Plan, rng: random.Random, requests: int = SEARCH_REQUESTS, limit: int = 100
) -> dict:
    expected = plan.expected()
    targets = [(rng.randrange(len(STATIONS)), rng.randrange(plan.days)) for _ in range(WARMUP_REQUESTS + requests)]
    latencies: list[float] = []
    counts: list[int] = []
    sizes: list[int] = []
    wrong: list[str] = []
    accept = {"Accept": DICOM_JSON}
    for n, (station, day) in enumerate(targets):
        path = f"/workitems?{urlencode(search_params(station, day, limit))}"
        t0 = time.perf_counter()
        status, body = client.request("GET", path, headers=accept)
        elapsed = time.perf_counter() - t0
        if status not in (200, 204):
            raise RuntimeError(f"Search answered {status}: {body[:300]!r}")
        count = len(json.loads(body)) if status == 200 else 0  # outside the clock
        want = expected.get((day, station), 0)
        if count != min(want, limit):
            wrong.append(f"{STATIONS[station][0]} day {day}: {count} != {want}")
        if n >= WARMUP_REQUESTS:
            latencies.append(elapsed * 1000)
            counts.append(count)
            sizes.append(len(body))
    if wrong:
        raise RuntimeError(f"{len(wrong)} searches returned the wrong count, e.g. {wrong[:3]}")
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "mean": statistics.fmean(latencies),
        "max": max(latencies),
        "matches_min": min(counts),
        "matches_max": max(counts),
        "matches_mean": statistics.fmean(counts),
        "bytes_mean": statistics.fmean(sizes),
        "client_ms": client.cost_ms,
    }


def measure_floor(size: int, requests: int = SEARCH_REQUESTS) -> dict:
    """p50 and p99 of a GET answered with `size` prepared bytes by Starlette on uvicorn's h11 and
    nothing else (floor_server.py), timed with the same client: what the stack costs before ours."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("floor_server.py")), str(size)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if "ready at " not in line:
            raise RuntimeError("the floor server did not start")
        with RawHttp(line.split("ready at ", 1)[1].strip()) as client:
            latencies = []
            for n in range(WARMUP_REQUESTS + requests):
                t0 = time.perf_counter()
                status, body = client.request("GET", "/workitems", headers={"Accept": DICOM_JSON})
                elapsed = time.perf_counter() - t0
                if status != 200 or len(body) != size:
                    raise RuntimeError(f"the floor server answered {status} with {len(body)} bytes")
                if n >= WARMUP_REQUESTS:
                    latencies.append(elapsed * 1000)
        return {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "bytes": size}
    finally:
        proc.terminate()
        proc.wait(30)


def measure_create(base: str, headers: dict[str, str], plan: Plan, clients: int, first: int) -> dict:
    """CREATE_REQUESTS creates over `clients` keep-alive connections at once; creates per second
    over the wall time from the first request to the last answer."""
    bodies = []
    for n in range(CREATE_REQUESTS):
        day, station, slot = n % plan.days, n % len(STATIONS), (n // len(STATIONS)) % 100
        bodies.append(json.dumps([workitem(first + n, day, station, slot, tag="N")], ensure_ascii=False).encode())
    shares = [bodies[k::clients] for k in range(clients)]
    latencies: list[float] = []
    costs: list[float] = []
    failures: list[str] = []
    ready = threading.Barrier(clients + 1)
    post = {"Content-Type": DICOM_JSON, "Accept": DICOM_JSON}

    def sender(share: list[bytes]) -> None:
        with RawHttp(base, headers) as client:
            ready.wait()
            for body in share:
                s = time.perf_counter()
                status, answer = client.request("POST", "/workitems", body, post)
                latencies.append((time.perf_counter() - s) * 1000)
                if status != 201:
                    failures.append(f"{status}: {answer[:300]!r}")
            costs.append(client.cost_ms)

    threads = [threading.Thread(target=sender, args=(share,), daemon=True) for share in shares]
    for thread in threads:
        thread.start()
    ready.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} creates failed, e.g. {failures[0]}")
    return {
        "rate": CREATE_REQUESTS / seconds,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "client_ms": statistics.fmean(costs),
    }


def explain(server: UPSServer, plan: Plan) -> list[str]:
    """EXPLAIN QUERY PLAN of the SQL Store.search runs for the benchmark query (for diagnosis)."""
    request = parse_search(search_params(0, plan.days // 2), server.store.local)
    compiled = compile_query(request.query, server.store.local)
    sql = f"SELECT w.summary FROM workitem w WHERE {compiled.sql} ORDER BY w.start_dt, w.id LIMIT ? OFFSET ?"
    db = server.store._connection()  # read-only use of the store's own connection of this thread
    rows = db.execute(f"EXPLAIN QUERY PLAN {sql}", (*compiled.params, 100, 0)).fetchall()
    lines = [f"  SQL: {sql}", f"  params: {compiled.params}", f"  residual (Python) keys: {len(compiled.residual)}"]
    depth = {0: 0}
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, 0) + 1
        lines.append("  " + "   " * depth[node] + detail)
    return lines


# -- driver ---------------------------------------------------------------------------------------
def run_size(size: int, args: argparse.Namespace) -> dict:
    plan = Plan(size, args.order)
    per_cell = plan.expected()
    print(
        f"\n== {size:,} workitems over {plan.days} days x {len(STATIONS)} stations, {args.order} "
        f"(max {max(per_cell.values())} per station-day) ==",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-ups-") as tmp:
        db_path = str(Path(tmp) / "ups.sqlite")
        server = UPSServer(ServerConfig(http_port=0, db_path=db_path, seed="none")).start()
        try:
            filled = fill(server, plan, args.fill, args.max_service_fill)
            how = (
                f"{filled['via_service']:,} via service.create"
                + (f" ({filled['service_rate']:,.0f}/s)" if filled["service_rate"] else "")
                + (f", {filled['bulk']:,} bulk ({filled['bulk_rate']:,.0f}/s)" if filled["bulk"] else "")
            )
            print(f"  filled in {filled['seconds']:.1f} s: {how}", flush=True)
            print(f"  database: {os.path.getsize(db_path) / 1e6:.1f} MB (+ WAL)")
            if args.explain:
                print("  query plan of the search SQL:")
                print("\n".join(explain(server, plan)))
        finally:
            server.stop()
        # Measure against `worklist-console serve` in a process of its own, as a site runs it (a
        # server thread in this process would share the GIL with the client being timed), with
        # users on: every request carries a RIS's bearer token through the access rule.
        users, tokens = users_file(Path(tmp), ris=[])
        headers = {"Authorization": f"Bearer {tokens['ris']}"}
        with (
            serve_process("--dimse-port", "0", "--db", db_path, "--users", str(users)) as served,
            RawHttp(url := served.base_url, headers) as client,
        ):
            search = measure_search(client, plan, random.Random(size))
            print(
                f"  search: p50 {search['p50']:.2f} ms, p99 {search['p99']:.2f} ms, mean {search['mean']:.2f} ms, "
                f"max {search['max']:.2f} ms; matches per query {search['matches_min']}-{search['matches_max']} "
                f"(mean {search['matches_mean']:.1f}, {search['bytes_mean'] / 1000:.0f} kB); the client's own CPU "
                f"{search['client_ms']:.3f} ms a request",
                flush=True,
            )
            floor = measure_floor(round(search["bytes_mean"]))
            print(
                f"  the stack's floor, a fixed {floor['bytes'] / 1000:.0f} kB answer from Starlette on uvicorn's h11 "
                f"with nothing else: p50 {floor['p50']:.2f} ms, p99 {floor['p99']:.2f} ms; ours above it at p50: "
                f"{search['p50'] - floor['p50']:.2f} ms",
                flush=True,
            )
            # the same query with a small page (a small answer): not part of the promise, but
            # it shows per-response stalls (e.g. Nagle + delayed ACK) that big answers hide
            small = measure_search(client, plan, random.Random(-size), requests=100, limit=SMALL_LIMIT)
            print(f"  search limit={SMALL_LIMIT}: p50 {small['p50']:.2f} ms, p99 {small['p99']:.2f} ms", flush=True)
            create = measure_create(url, headers, plan, 1, plan.size)
            many = measure_create(url, headers, plan, CREATE_CLIENTS, plan.size + CREATE_REQUESTS)
            for clients, figures in ((1, create), (CREATE_CLIENTS, many)):
                print(
                    f"  create, {clients} client(s): {figures['rate']:.0f}/s (p50 {figures['p50']:.2f} ms, "
                    f"p99 {figures['p99']:.2f} ms; the client's own CPU {figures['client_ms']:.3f} ms a request)",
                    flush=True,
                )
    return {
        "size": size,
        "fill": filled,
        "search": search,
        "floor": floor,
        "small": small,
        "create": create,
        "many": many,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated workitem counts")
    parser.add_argument(
        "--fill",
        choices=("auto", "service", "bulk"),
        default="auto",
        help="auto: service.create while the projected time stays under --max-service-fill, then bulk",
    )
    parser.add_argument(
        "--order",
        choices=("scattered", "chronological"),
        default="scattered",
        help="scattered: each day's workitems spread over the whole table (worst case); "
        "chronological: filled day by day (best case)",
    )
    parser.add_argument("--max-service-fill", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--no-explain", dest="explain", action="store_false", help="do not print the query plan")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]

    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average at start "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (figures are noisy if something else runs)"
    )
    results = [run_size(size, args) for size in sizes]

    print("\n" + "=" * 88)
    print(f"fill order: {args.order}")
    header = (
        f"{'size':>8} {'fill s':>8} {'fill method':>16} {'matches/query':>14} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'creates/s 1':>11} {f'creates/s {CREATE_CLIENTS}':>11} {f'p50 lim={SMALL_LIMIT}':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        f, s = r["fill"], r["search"]
        method = "service" if not f["bulk"] else ("bulk" if not f["via_service"] else f"svc {f['via_service']}+bulk")
        matches = f"{s['matches_min']}-{s['matches_max']}"
        print(
            f"{r['size']:>8} {f['seconds']:>8.1f} {method:>16} {matches:>14} {s['p50']:>8.2f} {s['p99']:>8.2f} "
            f"{r['create']['rate']:>11.0f} {r['many']['rate']:>11.0f} {r['small']['p50']:>11.2f}"
        )
    by_size = {r["size"]: r for r in results}
    small, big = by_size.get(1000), by_size.get(100000)
    ratio = big["search"]["p50"] / small["search"]["p50"] if small and big else None
    print(f"p50 ratio 100 000 / 1 000: {ratio:.2f}x" if ratio is not None else "p50 ratio 100 000 / 1 000: n/a")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    print("\nGoals (issue 21; --users on, synchronous=FULL; Search at 100 000 workitems):")
    verdicts = []
    if big:
        verdicts.append(
            (
                f"search p50 <= {P50_LIMIT_MS:g} ms",
                big["search"]["p50"] <= P50_LIMIT_MS,
                f"{big['search']['p50']:.2f} ms",
            )
        )
        verdicts.append(
            (
                f"search p99 <= {P99_LIMIT_MS:g} ms",
                big["search"]["p99"] <= P99_LIMIT_MS,
                f"{big['search']['p99']:.2f} ms",
            )
        )
    if ratio is not None:
        verdicts.append((f"p50 at 100 000 <= {SCALING_LIMIT:g}x p50 at 1 000", ratio <= SCALING_LIMIT, f"{ratio:.2f}x"))
    largest = max(results, key=lambda r: r["size"])
    one, many = largest["create"]["rate"], largest["many"]["rate"]
    verdicts.append((f"create, 1 client >= {CREATE_ONE_GOAL:g}/s", one >= CREATE_ONE_GOAL, f"{one:.0f}/s"))
    verdicts.append(
        (f"create, {CREATE_CLIENTS} clients >= {CREATE_MANY_GOAL:g}/s", many >= CREATE_MANY_GOAL, f"{many:.0f}/s")
    )
    if not verdicts:
        print("  n/a (run with sizes 1000 and 100000)")
    for name, ok, value in verdicts:
        print(f"  {'PASS' if ok else 'MISS'}  {name}  ({value})")
    if big:
        floor = big["floor"]
        print(
            f"  (the stack's own floor for the same {floor['bytes'] / 1000:.0f} kB answer: p50 {floor['p50']:.2f} ms, "
            f"so {max(0.0, P50_LIMIT_MS - floor['p50']):.2f} ms of the {P50_LIMIT_MS:g} ms are left for the door, "
            "the query and the answer)"
        )
    return 0 if all(ok for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
