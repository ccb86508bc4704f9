"""The shell commands start cold without importing what only the window, the server or the other
backend needs: the modules a command imports, read from `python -X importtime`, not seconds
(tests/benchmarks/bench_cold_start.py prints those)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from stub_http import stub_http_server

# what the window, the server, the gateway and the HL7 tools need, and no shell command does
NEVER_IN_THE_SHELL = (
    "PySide6",
    "qasync",
    "starlette",
    "uvicorn",
    "hl7",
    "app.ui",
    "app.server",
    "app.gateway",
    "app.console.workflow",
)
HTTP_CLIENT = ("httpx", "websockets")
DICOM = ("pydicom", "pynetdicom", "numpy")


def imported(*args: str) -> set[str]:
    """The modules `worklist-console ARGS` imports, top-level packages and `app.` modules alike."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert "Traceback" not in run.stderr, run.stderr
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name)
            names.add(name.split(".")[0])
    return names


def heavy(names: set[str], forbidden: tuple[str, ...]) -> set[str]:
    return {n for n in names if n in forbidden or any(n.startswith(f"{f}.") for f in forbidden)}


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that is bound and never listens: a connection there is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_version_imports_neither_a_backend_nor_the_window_nor_the_server():
    names = imported("--version")
    assert "app.cli" in names  # the probe sees the command's imports at all
    # nor the access rules (their dataclasses bring inspect): the users command's choices are app.domain.roles
    forbidden = NEVER_IN_THE_SHELL + HTTP_CLIENT + DICOM + ("app.backends", "app.domain.dicomjson", "app.domain.access")
    assert heavy(names, forbidden) == set()


@pytest.mark.parametrize("command", ["echo", "find"])
def test_echo_and_find_over_http_import_the_http_client_only(command, refused_port, tmp_path):
    names = imported(command, "--url", f"http://127.0.0.1:{refused_port}/dicom-web", "--log-dir", str(tmp_path))
    assert "httpx" in names and "app.backends.upsrs" in names
    assert heavy(names, NEVER_IN_THE_SHELL + ("pynetdicom", "app.backends.dimse")) == set()


class UpsRsStub(BaseHTTPRequestHandler):
    """Answers as a UPS-RS server that lets anyone subscribe: the echo goes through every request it makes
    (Search, the Subscribe probe on a workitem nobody made, the capabilities), not just the first."""

    def answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.answer(200, b"[]")

    def do_POST(self) -> None:
        self.answer(404)

    def do_OPTIONS(self) -> None:
        self.answer(200, b"workitems modality-scheduled-procedure-steps")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def upsrs_stub() -> Iterator[str]:
    with stub_http_server(UpsRsStub) as url:
        yield url


def test_echo_over_http_imports_no_pydicom(upsrs_stub, tmp_path):
    """The connectivity check reads no dataset: pydicom (and numpy and requests, which its pixel handlers
    and example-file download pull in when installed) would be most of its cold start."""
    names = imported("echo", "--url", upsrs_stub, "--log-dir", str(tmp_path))
    assert "app.backends.upsrs" in names
    assert heavy(names, DICOM + ("requests",)) == set()
    # nor what only a saved profile file (tomllib) or a database (sqlite3) needs
    assert heavy(names, ("tomllib", "tomli_w", "sqlite3")) == set()


@pytest.mark.parametrize("command", ["echo", "find"])
def test_echo_and_find_over_dimse_import_pynetdicom_only(command, refused_port, tmp_path):
    names = imported(command, "--mwl", f"127.0.0.1:{refused_port}:WORKLIST", "--log-dir", str(tmp_path))
    assert "pynetdicom" in names and "app.backends.dimse" in names
    assert heavy(names, NEVER_IN_THE_SHELL + HTTP_CLIENT + ("app.backends.upsrs",)) == set()


def test_a_shell_command_leaves_its_objects_to_the_system_at_exit_and_still_says_everything(upsrs_stub, tmp_path):
    """echo and find freeze the garbage collector as the process exits (CPython's last collections over
    httpx, pydicom and pynetdicom took longer than the command): the exit handlers registered before
    still run after it, and the answer is whole."""
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print(f'frozen at exit: {gc.get_freeze_count() > 0}', file=sys.stderr))\n"
        "from app.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(f'frozen before exit: {gc.get_freeze_count() > 0}', file=sys.stderr)\n"
        "raise SystemExit(code)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "echo", "--url", upsrs_stub, "--log-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("✓") == 2
    assert "frozen before exit: False" in run.stderr and "frozen at exit: True" in run.stderr


def test_the_console_window_is_built_without_pydicom_or_the_server():
    """`worklist-console demo` paints its window before the demo server is imported (on a thread of
    its own, behind the window): what builds the window must not pull in pydicom (a third of a
    second and more, with numpy) nor the server's Starlette, uvicorn and store."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app.ui.launch"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert "Traceback" not in run.stderr, run.stderr
    names = {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "app.ui.main_window" in names and "PySide6.QtWidgets" in names  # the probe sees the window's imports
    assert (
        heavy(names | {n.split(".")[0] for n in names}, DICOM + ("starlette", "uvicorn", "app.server.runner")) == set()
    )
