"""Shift soak: a server and two consoles (offscreen) for N minutes while a RIS adds, changes
and cancels orders; each console must see every change, stay live and raise no banner.

    python tests/benchmarks/bench_shift_soak.py [--minutes 10] [--rate 2] [--postgres]

The server is `worklist-console serve` and each console a `worklist-console` window in its own
process (CT1, and CT2 viewing CT1), so that memory is measured per process. The RIS simulator
sends over UPS-RS, as a RIS would: a new order (Create), a changed one (Update of its label and
of the technologist it is assigned to: event 5), a cancelled one (Request Cancellation of a
SCHEDULED step, which the server cancels at once). Every change carries a mark that the
consoles record when their list shows it.

Prints, per console: reconnects (the live indicator leaving "live"), banners raised, changes
never shown (events lost: must be 0), the p50/p95 time from a change to the console's row;
and the memory growth per hour of the server and of each console (resident set, from the end
of the warm-up to the end). Exits 1 when an event was lost, a console or the server died, or a
console reconnected or raised a banner while the server never stopped.

With --postgres, two server nodes share one PostgreSQL database (started as the tests start it):
CT1's console on node A, CT2's console and the RIS on node B, so that every change CT1 shows
crossed from one node to the other.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve()
GLOBAL = "1.2.840.10008.5.1.4.34.5"
DICOM_JSON = "application/dicom+json"
SEEN_WITHIN_SECONDS = 15.0  # a change not shown by then is lost


# -- the console's side: a real window, observed ------------------------------------------------
def run_console(url: str, ae: str, station: str, report: Path, data_dir: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui import messages, status, worklist_model
    from app.ui.launch import application, open_window

    out = report.open("a", encoding="utf-8")

    def note(**record) -> None:
        out.write(json.dumps({"t": time.time(), **record}) + "\n")
        out.flush()

    def observe(w) -> None:
        label = w.label
        if label.startswith("SOAK "):
            note(kind="row", uid=w.uid, label=label, state=w.state.value if w.state else "")

    model = worklist_model.WorklistModel
    upsert, reset, remove = model.upsert, model.set_workitems, model.remove

    def upsert_(self, w) -> None:
        upsert(self, w)
        observe(w)

    def reset_(self, items) -> None:
        reset(self, items)
        for w in items:
            observe(w)

    def remove_(self, uid: str) -> None:
        remove(self, uid)
        note(kind="removed", uid=uid)

    model.upsert, model.set_workitems, model.remove = upsert_, reset_, remove_  # type: ignore[method-assign]
    show_mode = status.LiveIndicator.show_mode

    def show_mode_(self, mode: str, sentence: str) -> None:
        show_mode(self, mode, sentence)
        note(kind="mode", mode=mode, sentence=sentence)

    status.LiveIndicator.show_mode = show_mode_  # type: ignore[method-assign]
    show_message = messages.MessageStack.show_message

    def show_message_(self, key, html, *args, **kwargs):
        note(kind="banner", key=key, text=html)
        return show_message(self, key, html, *args, **kwargs)

    messages.MessageStack.show_message = show_message_  # type: ignore[method-assign]

    app: QApplication = application()
    window = open_window(["--data-dir", str(data_dir), "--url", url, "--ae-title", ae, "--station", station])
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
    timer = QTimer()
    timer.setInterval(100)

    def check() -> None:
        if stopping["now"]:
            timer.stop()
            window.close_without_asking()  # type: ignore[attr-defined]
            QTimer.singleShot(500, app.quit)

    timer.timeout.connect(check)
    timer.start()
    note(kind="started", title=window.windowTitle())
    code = app.exec()
    note(kind="stopped")
    out.close()
    return code


# -- the soak's side: server, consoles, the RIS -------------------------------------------------
def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Ris:
    """Orders for one station, changed as a RIS would change them; every change is remembered."""

    http: object
    station: str
    changes: list[tuple[float, str, str]] = field(default_factory=list)  # (when, uid, mark)
    live: dict[str, float] = field(default_factory=dict)  # uid -> when last touched
    counter: int = 0

    def mark(self) -> str:
        self.counter += 1
        return f"SOAK {self.counter}"

    def add(self) -> None:
        from app.domain.build import NewWorkitem
        from app.domain.workitem import PatientName

        uid, label = f"2.25.{uuid.uuid4().int}", self.mark()
        # within today, so that "Today" shows it whatever the hour
        start = min(datetime.now() + timedelta(minutes=1), datetime.now().replace(hour=23, minute=59, second=0))
        body = NewWorkitem(
            uid=uid,
            label=label,
            start=start.strftime("%Y%m%d%H%M%S"),
            patient=PatientName(f"Soak^Patient{self.counter}"),
            patient_id=f"SOAK{self.counter:06d}",
            station=self.station,
            modality="CT",
            accession=f"SK{self.counter:08d}",
            study_uid=f"2.25.{uuid.uuid4().int}",
        ).to_json()
        self._send("POST", "/workitems", [body], uid, label, expect=201)

    def change(self) -> None:
        uid = self._pick()
        if uid is None:
            return self.add()
        label = self.mark()
        performer = {
            "00404009": {
                "vr": "SQ",
                "Value": [
                    {
                        "00080100": {"vr": "SH", "Value": [f"T{self.counter}"]},
                        "00080102": {"vr": "SH", "Value": ["99SOAK"]},
                        "00080104": {"vr": "LO", "Value": [f"Technologist {self.counter}"]},
                    }
                ],
            }
        }
        changes = {"00741204": {"vr": "LO", "Value": [label]}, "00404034": {"vr": "SQ", "Value": [performer]}}
        self._send("POST", f"/workitems/{uid}", [changes], uid, label, expect=200)

    def cancel(self) -> None:
        uid = self._pick()
        if uid is None:
            return self.add()
        del self.live[uid]
        self._send("POST", f"/workitems/{uid}/cancelrequest", [{}], uid, "CANCELED", expect=202)

    def _pick(self) -> str | None:
        # one change at a time per order: a change is shown before the next one is made
        ready = [u for u, when in self.live.items() if time.time() - when > 3]
        return random.choice(ready) if ready else None

    def _send(self, method: str, path: str, body: list, uid: str, mark: str, expect: int) -> None:
        started = time.time()
        answer = self.http.request(  # type: ignore[attr-defined]
            method, path, content=json.dumps(body), headers={"Content-Type": DICOM_JSON}
        )
        if answer.status_code != expect:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.headers.get('Warning')}")
        self.changes.append((started, uid, mark))
        if mark != "CANCELED":
            self.live[uid] = started


def shown_at(records: list[dict], uid: str, mark: str, after: float) -> float | None:
    for r in records:
        if r["t"] < after or r.get("uid") != uid:
            continue
        if mark == "CANCELED" and (r["kind"] == "removed" or r.get("state") == "CANCELED"):
            return r["t"]
        if r["kind"] == "row" and r.get("label") == mark:
            return r["t"]
    return None


def read(report: Path) -> list[dict]:
    if not report.exists():
        return []
    return [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines() if line.strip()]


def start_server(work: Path, db: str, name: str = "serve") -> tuple[subprocess.Popen, str]:
    log = (work / f"{name}.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--http-port", "0", "--dimse-port", "0", "--db", db],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = (work / f"{name}.log").read_text()
        if "ready at http://" in text:
            return server, text.split("ready at ")[1].split()[0]
        if server.poll() is not None:
            raise RuntimeError(f"the server did not start:\n{text}")
        time.sleep(0.2)
    raise RuntimeError("the server did not start in 30 s")


def soak(minutes: float, rate: float, warmup: float, postgres: bool = False) -> int:
    work = Path(tempfile.mkdtemp(prefix="shift-soak-"))
    if not postgres:
        return soak_on(work, [start_server(work, str(work / "soak.db"))], minutes, rate, warmup)
    sys.path.insert(0, str(HERE.parent.parent))  # tests/postgres_server.py, as the tests start it
    from postgres_server import postgres_binaries, running_postgres

    if postgres_binaries() is None:
        print("PostgreSQL is not installed (apt-get install postgresql): no soak on two nodes", file=sys.stderr)
        return 2
    with running_postgres(work) as cluster:
        os.environ["PGPASSWORD"] = cluster.password  # for the nodes this process starts
        db = cluster.create_database()
        nodes = [start_server(work, db, "node-a"), start_server(work, db, "node-b")]
        return soak_on(work, nodes, minutes, rate, warmup)


def soak_on(work: Path, servers: list[tuple[subprocess.Popen, str]], minutes: float, rate: float, warmup: float) -> int:
    """The soak against one server, or two nodes of one database: CT1's console on the first, CT2's
    on the last, and the RIS sending to the last, so that CT1 sees every change across nodes."""
    import httpx

    urls = [url for _, url in servers]
    consoles = {}
    for ae, url in (("CT1", urls[0]), ("CT2", urls[-1])):
        report = work / f"{ae}.jsonl"
        consoles[ae] = (
            subprocess.Popen(
                [sys.executable, str(HERE), "--console", url, "--ae", ae, "--station", "CT1", "--report", str(report)]
                + ["--data-dir", str(work / ae)],
                stdout=(work / f"{ae}.log").open("w"),
                stderr=subprocess.STDOUT,
            ),
            report,
        )
    http = httpx.Client(base_url=urls[-1], timeout=10, headers={"Accept": DICOM_JSON})
    ris = Ris(http, "CT1")
    # The consoles are up once each has said it started and shown "live".
    deadline = time.monotonic() + 60
    while not all(any(r.get("mode") == "up" for r in read(report)) for _, report in consoles.values()):
        if time.monotonic() > deadline:
            raise RuntimeError("the consoles did not go live within 60 s")
        time.sleep(0.2)
    began = time.monotonic()
    end = began + minutes * 60
    memory_start: dict[str, tuple[float, int]] = {}
    named = {"server": servers[0][0]} if len(servers) == 1 else {f"node {n}": p for n, (p, _) in zip("AB", servers)}
    pids = {**{name: p.pid for name, p in named.items()}, **{ae: p.pid for ae, (p, _) in consoles.items()}}
    where = f"server {urls[0]}" if len(urls) == 1 else f"nodes {' and '.join(urls)} on PostgreSQL"
    print(f"soak: {minutes:g} min, {rate:g} changes/s, {where}, work folder {work}", flush=True)
    while time.monotonic() < end:
        if not memory_start and time.monotonic() - began >= warmup:
            memory_start = {name: (time.monotonic(), rss_kib(pid)) for name, pid in pids.items()}
        roll = random.random()
        (ris.add if roll < 0.45 or len(ris.live) < 5 else ris.change if roll < 0.8 else ris.cancel)()
        if len(ris.live) > 150:
            ris.cancel()
        time.sleep(1 / rate)
        dead = [name for name, (p, _) in consoles.items() if p.poll() is not None]
        if dead or any(p.poll() is not None for p in named.values()):
            break
    # what the RIS changed last has reached both consoles, or the time for it is up
    deadline = time.monotonic() + SEEN_WITHIN_SECONDS
    while time.monotonic() < deadline and not all(
        all(shown_at(read(report), uid, mark, when) is not None for when, uid, mark in ris.changes[-20:])
        for _, report in consoles.values()
    ):
        time.sleep(0.5)
    memory_end = {name: (time.monotonic(), rss_kib(pid)) for name, pid in pids.items()}
    alive = {name: (p.poll() is None) for name, (p, _) in consoles.items()}
    server_alive = all(p.poll() is None for p in named.values())
    for p, _ in consoles.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p, _ in consoles.values():
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
    for server in named.values():
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    http.close()

    failed = not server_alive or not all(alive.values())
    elapsed = (time.monotonic() - began) / 60
    print(f"{len(ris.changes)} changes by the RIS over {elapsed:.1f} min")
    for ae, (_, report) in consoles.items():
        records = read(report)
        since = next((r["t"] for r in records if r.get("mode") == "up"), 0.0)
        modes = [r["mode"] for r in records if r["kind"] == "mode" and r["t"] >= since]
        reconnects = sum(1 for a, b in zip(modes, modes[1:], strict=False) if a == "up" and b != "up")
        banners = [r for r in records if r["kind"] == "banner" and r["t"] >= since]
        latencies, lost = [], []
        for when, uid, mark in ris.changes:
            seen = shown_at(records, uid, mark, when)
            if seen is None or seen - when > SEEN_WITHIN_SECONDS:
                lost.append((uid, mark))
            else:
                latencies.append((seen - when) * 1000)
        latencies.sort()
        p50 = statistics.median(latencies) if latencies else float("nan")
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan")
        title = next((r["title"] for r in records if r["kind"] == "started"), "?")
        print(
            f"console {ae} ({title}): {'alive' if alive[ae] else 'DIED'}; reconnects {reconnects}; "
            f"banners raised {len(banners)}; events lost {len(lost)} (must be 0); "
            f"change → row p50 {p50:.0f} ms, p95 {p95:.0f} ms"
        )
        for banner in banners[:5]:
            print(f"    banner {banner['key']}: {banner['text'][:120]}")
        for uid, mark in lost[:5]:
            print(f"    lost: {mark} of {uid}")
        failed = failed or bool(lost) or reconnects > 0 or bool(banners)
    if memory_start:
        for name, (t0, kib0) in memory_start.items():
            t1, kib1 = memory_end[name]
            hours = max((t1 - t0) / 3600, 1e-9)
            print(
                f"memory of {name}: {kib0 / 1024:.1f} → {kib1 / 1024:.1f} MiB, "
                f"growth {(kib1 - kib0) / 1024 / hours:+.1f} MiB per hour"
            )
    else:
        print("memory: the soak ended before the warm-up did; run longer for memory figures")
    print("soak FAILED" if failed else "soak passed")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2.0, help="RIS changes per second")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before memory is first measured")
    parser.add_argument(
        "--postgres", action="store_true", help="two server nodes on one PostgreSQL database, a console on each"
    )
    parser.add_argument("--console", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--ae", help=argparse.SUPPRESS)
    parser.add_argument("--station", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.console:
        return run_console(args.console, args.ae, args.station, args.report, args.data_dir)
    return soak(args.minutes, args.rate, args.warmup, postgres=args.postgres)


if __name__ == "__main__":
    sys.exit(main())
