"""Suite-wide: real embedded servers on ephemeral loopback ports, a real PostgreSQL server, and
the CI rule that an interoperability test that skips is a failure, not a pass."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clock.moved_clock import ANCHOR, destination
from embedded_server import PINNED_DAY, start_server
from postgres_server import PostgresServer, postgres_binaries, running_postgres
from reactor_pause import install as confirm_reactor_pauses

from app.server import UPSServer

MOVED_CLOCK = destination()
if MOVED_CLOCK is not None:  # the Python processes tests start run on the moved clock too
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent / "clock"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )


confirm_reactor_pauses()  # the tests' own pynetdicom SCUs: see tests/reactor_pause.py


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    """Under WORKLIST_TEST_CLOCK every test, and the fixtures made for it, starts at that moment."""
    if MOVED_CLOCK is not None:
        import time_machine

        real = time.time()
        traveller = time_machine.travel(MOVED_CLOCK, tick=True)
        traveller.start()
        item.moved_clock = traveller
        os.environ[ANCHOR] = f"{MOVED_CLOCK.timestamp()}@{real}"
    yield


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    traveller = getattr(item, "moved_clock", None)
    if traveller is not None:
        traveller.stop()
        os.environ.pop(ANCHOR, None)


def pytest_report_header(config):
    return f"clock moved to {MOVED_CLOCK.isoformat()} at the start of every test" if MOVED_CLOCK else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and item.get_closest_marker("interop"):
        report.outcome = "failed"
        report.longrepr = f"interoperability test skipped in CI: {report.longrepr}"


# WORKLIST_TEST_STORE=postgresql: the embedded servers of the fixtures below keep their worklist in
# PostgreSQL (a new database each) instead of an SQLite file, so that the server's tests run against
# both engines (.ci/run runs tests/server so once more).
ON_POSTGRES = os.environ.get("WORKLIST_TEST_STORE") == "postgresql"


def worklist_db(request, folder: Path, name: str = "ups.db") -> str:
    """Where a fixture's server keeps its worklist: a file in `folder`, or a new PostgreSQL database."""
    if not ON_POSTGRES:
        return str(folder / name)
    postgres = request.getfixturevalue("postgres")
    os.environ["PGPASSWORD"] = postgres.password  # the server runs in this process
    return postgres.create_database()


@pytest.fixture(scope="module")
def server(tmp_path_factory, request) -> Iterator[UPSServer]:
    """One server for a module: every test makes its own workitems, UIDs and AE titles."""
    srv = start_server(worklist_db(request, tmp_path_factory.mktemp("ups")))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture()
def fresh_server(tmp_path, request) -> Iterator[UPSServer]:
    """A server of its own, for tests that restart it or depend on what else it holds."""
    srv = start_server(worklist_db(request, tmp_path))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def front(tmp_path_factory, request) -> Iterator[UPSServer]:
    """An embedded server with its DIMSE front on a free port, per module, holding the demo day
    of PINNED_DAY (for tests that name what is on it) and of today (for the console, which
    opens on today)."""
    from app.server import ServerConfig
    from app.server.demo import seed_demo_day

    server = UPSServer(
        ServerConfig(http_port=0, dimse_port=0, db_path=worklist_db(request, tmp_path_factory.mktemp("front"), "w.db"))
    )
    seed_demo_day(server.service, today=PINNED_DAY)
    seed_demo_day(server.service)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory) -> Iterator[PostgresServer]:
    """One PostgreSQL server per pytest worker (tests/postgres_server.py), started when a test first
    asks for it. Without PostgreSQL a test skips, and in CI it fails: the store's tests are the
    only check that it works against a real server, as interoperability tests are for their peers."""
    if postgres_binaries() is None:
        missing = "PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: in CI a test that needs PostgreSQL may not skip", pytrace=False)
        pytest.skip(missing)
    with running_postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture()
def pg_url(postgres, monkeypatch) -> Iterator[str]:
    """A new empty database of the login role, for this test only: its URL (no password in it),
    with PGPASSWORD set for the test, so psycopg and the processes it starts connect. Dropped
    afterwards, together with any connection still on it."""
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    url = postgres.create_database()
    try:
        yield url
    finally:
        postgres.drop_database(url.rpartition("/")[2])
