"""A real embedded server on an ephemeral loopback port, and an HTTP client for it."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.server import ServerConfig, UPSServer
from upsrs_client import DICOM_JSON


def start_server(db_path) -> UPSServer:
    return UPSServer(ServerConfig(http_port=0, db_path=str(db_path), purge_interval=3600)).start()


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


@pytest.fixture()
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10.0, headers={"Accept": DICOM_JSON}) as client:
        yield client
