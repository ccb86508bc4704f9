"""A console started with reports waiting while its server is down stays alive and calm: one
attempt at a time, with growing pauses — not hundreds a second until the process dies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from app.backends.claim_store import ClaimStore, owner_key
from app.backends.profiles import Profile
from app.domain.build import NewWorkitem
from app.domain.mapping import ups_to_mwl
from app.domain.workitem import PatientName

ROOT = Path(__file__).resolve().parents[2]
WATCH_SECONDS = 30


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leave_reports_waiting(data_dir: Path, profile: Profile) -> None:
    """What a console leaves when the server went away mid-procedure: a claim, F7 and F8."""
    store = ClaimStore(data_dir / "console.db", owner_key(profile), profile.name)
    item = NewWorkitem(
        uid="1.2.826.0.1.3680043.8.498.1",
        label="CT chest",
        start="20261123083000",
        patient=PatientName("Weiß^Günther"),
        patient_id="P9",
        station="CT1",
        modality="CT",
    )
    record = {"mwl": ups_to_mwl(item.to_json())} if profile.backend == "dimse" else {}
    store.add_claim(item.uid, "1.2.826.0.1.3680043.8.498.2", "Weiß, Günther", "CT chest", record)
    store.enqueue("1.2.826.0.1.3680043.8.498.1", "progress", {"percent": 40, "description": "Contrast"})
    store.enqueue(
        "1.2.826.0.1.3680043.8.498.1",
        "discontinue",
        {"reason": {"value": "110513", "scheme": "DCM", "meaning": "Discontinued for unspecified reason"}, "text": ""},
    )
    store.close()


def start_console(tmp: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    logs = tmp / "logs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", *args, "--data-dir", str(tmp), "--log-dir", str(logs)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    return proc, logs / "worklist-console.log"


def test_a_console_with_reports_waiting_and_its_servers_down_stays_alive_with_bounded_attempts(tmp_path):
    port = closed_port()
    upsrs_dir, dimse_dir = tmp_path / "upsrs", tmp_path / "dimse"
    upsrs = Profile(name="Command line", url=f"http://127.0.0.1:{port}/dicom-web", ae_title="CT1")
    dimse = Profile(
        name="Command line", backend="dimse", mwl_host="127.0.0.1", mwl_port=port, mwl_aet="WORKLIST", ae_title="CT1"
    )
    leave_reports_waiting(upsrs_dir, upsrs)
    leave_reports_waiting(dimse_dir, dimse)
    consoles = [
        start_console(upsrs_dir, "--url", upsrs.url, "--ae-title", "CT1"),
        start_console(dimse_dir, "--backend", "dimse", "--mwl", f"127.0.0.1:{port}:WORKLIST", "--ae-title", "CT1"),
    ]
    try:
        time.sleep(WATCH_SECONDS)
        for proc, log in consoles:
            assert proc.poll() is None, f"the console died: {proc.stderr.read() if proc.stderr else ''}"
            attempts = log.read_text(encoding="utf-8").count("waits; next attempt in")
            assert 2 <= attempts <= 10, f"{attempts} attempts to send in {WATCH_SECONDS} s"
    finally:
        for proc, _ in consoles:
            proc.kill()
            proc.wait(timeout=10)
