"""`worklist-console serve` as a trainer runs it: ready line, a demo day, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from embedded_server import PINNED_DAY


def start_serve(*args: str) -> tuple[subprocess.Popen, str]:
    proc, base, _ = start_serve_saying(*args)
    return proc, base


def start_serve_saying(*args: str) -> tuple[subprocess.Popen, str, str]:
    """The server, its URL, and what it said until it was ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"ready at (http://\S+)", line)
        if m:
            return proc, m.group(1), "".join(lines)
    proc.kill()
    raise AssertionError("server never said it was ready:\n" + "".join(lines))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_prints_its_url_serves_the_demo_day_and_stops_cleanly(tmp_path, stop):
    proc, base = start_serve("--http-port", "0", "--dimse-port", "0", "--db", str(tmp_path / "w.db"), "--seed", "demo")
    try:
        assert base.startswith("http://127.0.0.1:") and base.endswith("/dicom-web")
        r = httpx.get(base + "/workitems", params={"ScheduledStationNameCodeSequence.CodeValue": "CT1"})
        assert r.status_code == 200 and len(r.json()) == 10  # 5 today, 5 tomorrow
    finally:
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "Server stopped." in out
    assert "Traceback" not in out


def test_serve_on_a_busy_port_says_so_in_a_sentence(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "serve",
                "--http-port",
                str(port),
                "--dimse-port",
                "0",
                "--db",
                str(tmp_path / "w.db"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 2
    assert f"Cannot start the server on 127.0.0.1 (HTTP port {port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_event_peers_are_ae_host_port_and_a_bad_one_is_said_in_a_sentence(capsys):
    from app.options import build_parser

    args = build_parser().parse_args(["serve", "--event-peer", "MOD1=10.0.0.7:104", "--event-peer", "RIS=[::1]:11113"])
    assert dict(args.event_peer) == {"MOD1": ("10.0.0.7", 104), "RIS": ("::1", 11113)}
    assert build_parser().parse_args(["serve"]).event_peer == []
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--event-peer", "MOD1@10.0.0.7"])
    assert "'MOD1@10.0.0.7' is not AE=HOST:PORT" in capsys.readouterr().err


def test_version_is_printed():
    proc = subprocess.run([sys.executable, "-m", "app", "--version"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.startswith("worklist-console ")


def test_a_database_of_another_version_is_refused_with_a_sentence(tmp_path):
    import sqlite3

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        old.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--http-port", "0", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "made by another version of Worklist Console" in proc.stderr and "Traceback" not in proc.stderr


def run_app(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60)


def test_find_gives_the_same_workitems_whichever_backend_found_them(front):
    import json

    day = f"{PINNED_DAY:%Y%m%d}"
    upsrs = run_app("find", "--url", front.base_url, "--station", "MR1", "--date", day, "--json")
    dimse = run_app(
        "find",
        "--backend",
        "dimse",
        "--mwl",
        f"127.0.0.1:{front.dimse.port}:WORKLIST",
        "--station",
        "MR1",
        "--date",
        day,
        "--json",
    )
    assert upsrs.returncode == 0 and dimse.returncode == 0, upsrs.stderr + dimse.stderr

    def facts(text: str) -> list[tuple]:
        return sorted(
            (
                w["00100020"]["Value"][0],
                w["0040A370"]["Value"][0]["00080050"]["Value"][0],
                w["00404005"]["Value"][0][:12],
                w["00741204"]["Value"][0],
            )
            for w in json.loads(text)
        )

    assert len(json.loads(upsrs.stdout)) == 5
    assert facts(upsrs.stdout) == facts(dimse.stdout)
    table = run_app("find", "--url", front.base_url, "--station", "MR1", "--date", day, "--patient-name", "N*")
    assert table.returncode == 0 and "workitem(s)." in table.stdout and "Núñez" in table.stdout


def test_echo_says_in_a_sentence_what_works(front):
    ok = run_app("echo", "--backend", "dimse", "--mwl", f"127.0.0.1:{front.dimse.port}:WORKLIST")
    assert ok.returncode == 0 and "✓" in ok.stdout and "answers C-ECHO and accepts worklist queries" in ok.stdout
    http = run_app("echo", "--url", front.base_url)
    assert http.returncode == 0 and "answers worklist queries" in http.stdout
    down = run_app("echo", "--mwl", "127.0.0.1:9:NOBODY")
    assert down.returncode == 1 and "✗ Cannot reach the worklist server at 127.0.0.1:9" in down.stderr
    assert "Traceback" not in down.stderr
    wrong = run_app("find", "--mwl", "nonsense")
    assert wrong.returncode == 2 and "HOST:PORT:AET" in wrong.stderr


def test_echo_at_a_port_that_answers_but_not_in_dicom_says_so(front):
    http_port = run_app("echo", "--mwl", f"127.0.0.1:{front.port}:WORKLIST")
    assert http_port.returncode == 1
    assert http_port.stderr.startswith(
        f"✗ The worklist server at 127.0.0.1:{front.port} answered, but not as a DICOM peer: is this the HTTP port"
    )
    assert "Cannot reach" not in http_port.stderr and "Traceback" not in http_port.stderr


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    return out


def test_a_second_demo_seed_says_the_days_are_already_there(tmp_path):
    db = str(tmp_path / "w.db")
    first, _, said = start_serve_saying("--http-port", "0", "--dimse-port", "0", "--db", db, "--seed", "demo")
    stop(first)
    seeded = re.search(r"Seeded 60 demo workitems for (\S+) and (\S+)\.", said)
    assert seeded, said
    today, tomorrow = seeded.groups()
    again, _, said = start_serve_saying("--http-port", "0", "--dimse-port", "0", "--db", db, "--seed", "demo")
    stop(again)
    assert "Seeded 0" not in said
    # a run that crossed midnight seeds the new tomorrow and finds only the old one there
    assert (
        f"The demo days {today} and {tomorrow} are already in the database." in said
        or f"The demo day {tomorrow} is already in the database." in said
    ), said


def test_find_says_which_station_days_and_states_it_searched(front):
    import json
    from datetime import date, timedelta

    before = date.today()
    table = run_app("find", "--url", front.base_url)  # the ad-hoc profile's station: its AE title
    after = date.today()
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[-1] in {
        f"Station CONSOLE, {day:%Y-%m-%d}, not finished: 0 workitem(s)." for day in (before, after)
    }
    day = f"{PINNED_DAY:%Y%m%d}"
    found = run_app("find", "--url", front.base_url, "--station", "MR1", "--date", day, "--json")
    assert found.returncode == 0 and len(json.loads(found.stdout)) == 5  # stdout stays pure JSON
    assert found.stderr.strip() == f"Station MR1, {PINNED_DAY:%Y-%m-%d}, not finished: 5 workitem(s)."
    both = f"{day}-{PINNED_DAY + timedelta(days=1):%Y%m%d}"
    every = run_app(
        "find",
        "--backend",
        "dimse",
        "--mwl",
        f"127.0.0.1:{front.dimse.port}:WORKLIST",
        "--station",
        "MR1",
        "--date-range",
        both,
        "--all-states",
    )
    assert every.returncode == 0, every.stderr
    assert every.stdout.splitlines()[-1] == (
        f"Station MR1, {PINNED_DAY:%Y-%m-%d} to {PINNED_DAY + timedelta(days=1):%Y-%m-%d}, any state: 10 workitem(s)."
    )


def test_echo_and_find_keep_library_log_lines_off_the_terminal_but_in_the_log_file(tmp_path):
    logs = tmp_path / "logs"
    echo = run_app("--log-dir", str(logs), "echo", "--mwl", "127.0.0.1:9:NOBODY")
    find = run_app("--log-dir", str(logs), "find", "--mwl", "127.0.0.1:9:NOBODY", "--station", "CT1")
    assert echo.returncode == 1 and echo.stderr == "✗ Cannot reach the worklist server at 127.0.0.1:9 (NOBODY).\n"
    assert find.returncode == 1 and find.stderr == "Cannot reach the worklist server at 127.0.0.1:9 (NOBODY).\n"
    assert echo.stdout == find.stdout == ""
    assert "Association request failed" in (logs / "worklist-console.log").read_text(encoding="utf-8")


def test_echo_says_a_wrong_url_path_is_a_wrong_url(front):
    wrong = front.base_url.replace("/dicom-web", "/dicomweb")
    echo = run_app("echo", "--url", wrong)
    assert echo.returncode == 1
    assert echo.stderr == (
        f"✗ The server at 127.0.0.1:{front.port} has no UPS-RS service at {wrong} (HTTP 404): "
        "check the URL — it usually ends in /dicom-web.\n"
    )


def test_options_may_follow_the_subcommand_and_dates_may_be_written_as_printed(front, tmp_path):
    from app.options import build_parser

    args = build_parser().parse_args(["demo", "--data-dir", str(tmp_path), "--ae-title", "CT9", "--verbose"])
    assert args.data_dir == str(tmp_path) and args.console_ae == "CT9" and args.verbose
    day = f"{PINNED_DAY:%Y-%m-%d}"
    found = run_app("find", "--url", front.base_url, "--station", "MR1", "--date", day, "--json")
    assert found.returncode == 0 and len(__import__("json").loads(found.stdout)) == 5


def test_find_over_mpps_rs_gives_what_upsrs_gives_and_echo_names_the_services(front):
    import json

    day = f"{PINNED_DAY:%Y%m%d}"
    upsrs = run_app("find", "--url", front.base_url, "--station", "MR1", "--date", day, "--json")
    sup246 = run_app(
        "find", "--backend", "mpps-rs", "--url", front.base_url, "--station", "MR1", "--date", day, "--json"
    )
    assert upsrs.returncode == 0 and sup246.returncode == 0, upsrs.stderr + sup246.stderr
    accessions = lambda text: sorted(w["0040A370"]["Value"][0]["00080050"]["Value"][0] for w in json.loads(text))  # noqa: E731
    assert len(json.loads(sup246.stdout)) == 5 and accessions(sup246.stdout) == accessions(upsrs.stdout)
    host = front.base_url.split("/")[2]
    everything = f"The server at {host} offers UPS-RS, Supplement 246 worklist search and MPPS over DICOMweb."
    echo = run_app("echo", "--backend", "mpps-rs", "--url", front.base_url)
    assert echo.returncode == 0, echo.stderr
    assert echo.stdout.splitlines() == [
        f"✓ The server at {host} answers worklist queries (Supplement 246 Search, HTTP 200).",
        f"✓ The server at {host} accepts procedure step reports (MPPS).",
        f"✓ {everything}",
    ]
    plain = run_app("echo", "--url", front.base_url)
    assert plain.returncode == 0 and plain.stdout.splitlines()[-1] == f"✓ {everything}"
    wrong = run_app("find", "--backend", "mpps-rs", "--url", front.base_url.replace("/dicom-web", "/dicomweb"))
    assert wrong.returncode == 1 and "has no DICOMweb worklist (Supplement 246)" in wrong.stderr
    assert "Traceback" not in wrong.stderr
