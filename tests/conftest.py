"""Suite-wide: real embedded servers on ephemeral loopback ports, and the CI rule that an
interoperability test that skips is a failure, not a pass."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from app.server import UPSServer
from embedded_server import start_server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and item.get_closest_marker("interop"):
        report.outcome = "failed"
        report.longrepr = f"interoperability test skipped in CI: {report.longrepr}"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[UPSServer]:
    """One server for a module: every test makes its own workitems, UIDs and AE titles."""
    srv = start_server(tmp_path_factory.mktemp("ups") / "ups.db")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture()
def fresh_server(tmp_path) -> Iterator[UPSServer]:
    """A server of its own, for tests that restart it or depend on what else it holds."""
    srv = start_server(tmp_path / "ups.db")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def front(tmp_path_factory) -> Iterator[UPSServer]:
    """An embedded server with the demo day and its DIMSE front on a free port, per module."""
    from app.server import ServerConfig
    from app.server.demo import seed_demo_day

    server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path_factory.mktemp("front") / "w.db")))
    seed_demo_day(server.service)
    server.start()
    try:
        yield server
    finally:
        server.stop()
