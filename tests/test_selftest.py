"""`worklist-console self-test`: passes on a working installation, and says which step broke
(and skips what depended on it) when something is missing — as in a bundle without a module."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time

import pytest

from app import selftest
from app.backends.dimse import DimseBackend
from app.backends.upsrs import UpsRsBackend

STEPS = [
    "embedded server",
    "UPS-RS connection",
    "UPS-RS search",
    "UPS-RS subscribe",
    "UPS-RS claim",
    "UPS-RS event",
    "UPS-RS progress",
    "UPS-RS complete",
    "DIMSE connection",
    "DIMSE MWL search",
    "DIMSE MPPS claim",
    "DIMSE MPPS progress",
    "DIMSE MPPS complete",
    "console modules",
]


def run(timeout: float = 30.0) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = selftest.run(out, timeout=timeout)
    return code, out.getvalue().splitlines()


def test_every_step_passes_in_process_one_line_each():
    code, lines = run()
    assert code == 0, "\n".join(lines)
    assert [line.split(":")[0][6:] for line in lines[:-1]] == STEPS
    assert all(line.startswith("PASS  ") for line in lines[:-1])
    assert lines[-1].startswith(f"self-test passed: {len(STEPS)} of {len(STEPS)} steps")
    by_step = {line.split(":")[0][6:]: line for line in lines[:-1]}
    assert "5 workitems for CT1" in by_step["UPS-RS search"] and "5 MWL items for CT2" in by_step["DIMSE MWL search"]
    assert "accepts worklist queries (MWL C-FIND) and procedure step reports (MPPS)" in by_step["DIMSE connection"]


def test_as_a_command_it_prints_to_stdout_and_exits_0():
    proc = subprocess.run(
        [sys.executable, "-m", "app", "self-test"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("\nPASS  ") == len(STEPS) - 1 and "self-test passed" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_missing_module_fails_its_step_skips_the_rest_of_its_flow_and_exits_1(monkeypatch):
    async def broken(self, query):
        raise ModuleNotFoundError("No module named 'pynetdicom.sop_class'")

    monkeypatch.setattr(DimseBackend, "search", broken)
    code, lines = run()
    assert code == 1
    by_step = {line.split(":")[0][6:]: line for line in lines[:-1]}
    assert by_step["DIMSE MWL search"].startswith("FAIL  DIMSE MWL search: ModuleNotFoundError: No module named")
    assert by_step["DIMSE MPPS claim"] == "SKIP  DIMSE MPPS claim: not run: an earlier step failed"
    assert by_step["DIMSE MPPS complete"].startswith("SKIP")
    assert by_step["UPS-RS complete"].startswith("PASS") and by_step["console modules"].startswith("PASS")
    assert lines[-1] == f"self-test FAILED: {len(STEPS) - 4} of {len(STEPS)} steps passed, 1 failed, 3 skipped"


def test_a_step_that_hangs_fails_on_its_timeout(monkeypatch):
    async def hang(self, *args):
        await asyncio.sleep(3600)

    monkeypatch.setattr(UpsRsBackend, "report_progress", hang)
    code, lines = run(timeout=1.0)
    assert code == 1
    assert any(line.startswith("FAIL  UPS-RS progress: no answer within 1 s") for line in lines)


def test_a_wrong_answer_fails_with_what_was_found(monkeypatch):
    async def nothing(self, query):
        return []

    monkeypatch.setattr(UpsRsBackend, "search", nothing)
    code, lines = run()
    assert code == 1
    assert lines[2].startswith("FAIL  UPS-RS search: expected the 5 workitems of CT1 on ")
    assert "found 0 (none)" in lines[2]


def test_a_server_that_cannot_start_is_one_failed_step(monkeypatch):
    class NoServer:
        def __init__(self, config):
            raise OSError(98, "Address already in use")

    monkeypatch.setattr(selftest, "UPSServer", NoServer)
    code, lines = run()
    assert code == 1
    assert len(lines) == 2
    assert lines[0].startswith("FAIL  embedded server: OSError: [Errno 98] Address already in use")
    assert lines[1] == "self-test FAILED: 0 of 1 steps passed, 1 failed, 0 skipped"


def test_a_server_that_fails_on_its_thread_is_named_at_once(monkeypatch):
    """A bundle without uvicorn's protocol modules fails inside the server's thread."""
    from app.server.runner import UPSServer

    async def broken(self):
        raise ImportError('Could not import module "uvicorn.protocols.websockets.websockets_impl".')

    monkeypatch.setattr(UPSServer, "serve", broken)
    began = time.monotonic()
    code, lines = run()
    assert code == 1 and time.monotonic() - began < 5
    assert lines[0].startswith('FAIL  embedded server: ImportError: Could not import module "uvicorn.protocols.')


@pytest.mark.parametrize("frozen", [False, True])
def test_resources_are_found_beside_the_app_package(monkeypatch, tmp_path, frozen):
    """In a PyInstaller bundle the package lives under sys._MEIPASS with resources/ collected beside it."""
    import app
    from app.resources import STYLE_SHEET, WINDOW_ICON, resource, resources_dir

    if frozen:
        (tmp_path / "app").mkdir()
        monkeypatch.setattr(app, "__file__", str(tmp_path / "app" / "__init__.pyc"))
        assert resources_dir() == tmp_path.resolve() / "resources"
    else:
        assert resource(STYLE_SHEET).is_file() and resource(WINDOW_ICON).is_file()
