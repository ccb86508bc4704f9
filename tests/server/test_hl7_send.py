"""`worklist-console hl7 send` as an installer runs it: a process of its own against the real door."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from embedded_server import start_hl7_server

from app.server import UPSServer

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "hl7"


@pytest.fixture(scope="module")
def door(tmp_path_factory) -> Iterator[UPSServer]:
    server = start_hl7_server(tmp_path_factory.mktemp("hl7send") / "ups.db")
    try:
        yield server
    finally:
        server.stop()


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "hl7", "send", *args],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        encoding="latin-1",
        timeout=60,
    )


def fresh(name: str) -> bytes:
    """A sample with an order and control ID of its own; LF line ends, as an editor saves it."""
    tag = uuid.uuid4().hex[:8].upper()
    raw = (SAMPLES / name).read_bytes()
    for old in (b"PL-1001", b"FL-1001", b"PL-2002", b"FL-2002", b"ORM-000", b"OMI-000"):
        raw = raw.replace(old, old + tag.encode())
    return raw.replace(b"\r", b"\n")


def test_a_file_of_several_messages_prints_each_ack_and_exits_0(door, tmp_path) -> None:
    new = fresh("orm_o01_new.hl7")
    tag = new.split(b"PL-1001")[1][:8]
    cancel = (SAMPLES / "orm_o01_cancel.hl7").read_bytes().replace(b"PL-1001", b"PL-1001" + tag)
    cancel = cancel.replace(b"FL-1001", b"FL-1001" + tag).replace(b"ORM-0002", b"ORM-0002" + tag)
    feed = tmp_path / "feed.hl7"
    feed.write_bytes(new + b"\n" + fresh("omi_o23_new.hl7") + b"\n\n" + cancel)
    done = run(str(feed), "--to", f"127.0.0.1:{door.hl7.port}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("ORM-000") and lines[0].endswith("ORM^O01: AA")
    assert lines[1].endswith("OMI^O23^OMI_O23: AA")
    assert lines[2].startswith("ORM-0002") and lines[2].endswith(": AA")


def test_a_refused_message_prints_why_and_exits_1(door) -> None:
    bad = fresh("orm_o01_new.hl7").replace(b"PAT-1001^^^RIS", b"")
    done = run("-", "--to", f"127.0.0.1:{door.hl7.port}", stdin=bad)
    assert done.returncode == 1
    assert ": AE - The patient has no identifier (PID-3)." in done.stdout
    assert "at PID^1^3" in done.stdout and "101 Required field missing" in done.stdout


def test_no_receiver_is_a_sentence_and_exit_2(tmp_path) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    done = run(str(SAMPLES / "orm_o01_new.hl7"), "--to", f"127.0.0.1:{port}")
    assert done.returncode == 2
    assert "Cannot exchange HL7 messages with 127.0.0.1:" in done.stderr and "Traceback" not in done.stderr


def test_a_file_without_messages_is_exit_2(tmp_path) -> None:
    empty = tmp_path / "empty.hl7"
    empty.write_text("hello\n")
    done = run(str(empty), "--to", "127.0.0.1:2575")
    assert done.returncode == 2 and "no HL7 v2 message" in done.stderr


def test_serve_takes_the_accession_number_where_the_site_says(tmp_path) -> None:
    """`serve --hl7-accession ORC-3`: a RIS that sends the number as the filler order number."""
    from test_cli import start_serve, stop

    proc, base = start_serve(
        "--http-port", "0", "--dimse-port", "0", "--hl7-port", "0", "--hl7-accession", "ORC-3",
        "--db", str(tmp_path / "w.db"),
    )  # fmt: skip
    try:
        said = proc.stdout.readline()  # the line after "ready" names the HL7 port
        assert said.startswith("HL7 v2 orders (MLLP) on port "), said
        port = int(said.rsplit(" ", 1)[1])
        raw = fresh("orm_o01_new.hl7").replace(b"ACC-1001", b"")
        filler = raw.split(b"|FL-1001")[1][:8].decode()
        sent = run("-", "--to", f"127.0.0.1:{port}", stdin=raw)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        found = httpx.get(f"{base}/workitems", params={"0040A370.00080050": f"FL-1001{filler}"}, timeout=10)
        assert found.status_code == 200 and len(found.json()) == 1
    finally:
        stop(proc)
