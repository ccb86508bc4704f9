"""A gateway (`serve --upstream upsrs:URL`) in front of a real upstream: a second embedded server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from embedded_server import PINNED_DAY, start_server

from app.gateway import UpstreamAccess, close_upstream, open_upstream
from app.server import ServerConfig, UPSServer
from app.server.demo import seed_demo_day


class Gateway:
    """A gateway server with its DIMSE front, over the upstream at `url`, its mappings in `db_path`."""

    def __init__(self, url: str, db_path: Path, kind: str = "upsrs", access: UpstreamAccess | None = None) -> None:
        self.upstream = open_upstream(f"{kind}:{url}", str(db_path), trace=True, access=access)
        self.server = UPSServer(
            ServerConfig(http_port=0, dimse_port=0, db_path=str(db_path), purge_interval=3600), upstream=self.upstream
        ).start()
        self.stopped = False

    @property
    def dimse_port(self) -> int:
        assert self.server.dimse is not None
        return self.server.dimse.port

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.stop()
            close_upstream(self.upstream)


@pytest.fixture()
def gateway_of(tmp_path) -> Iterator[Callable[..., Gateway]]:
    """Start gateways (each stopped at the end); the same database path restarts one."""
    started: list[Gateway] = []

    def start(
        url: str, db_path: Path | None = None, kind: str = "upsrs", access: UpstreamAccess | None = None
    ) -> Gateway:
        gateway = Gateway(url, db_path or tmp_path / "gateway.db", kind, access)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture()
def upstream(tmp_path) -> Iterator[UPSServer]:
    """An upstream of its own holding the pinned demo day (tests here claim and stop it)."""
    server = start_server(tmp_path / "upstream.db")
    seed_demo_day(server.service, today=PINNED_DAY)
    yield server
    server.stop()
