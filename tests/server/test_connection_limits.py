"""One client cannot fill the server with connections: each client address has a share (lower for
connections not yet authenticated), the header deadline shortens near the overall cap, the cap
follows the open-file limit, and a TLS handshake that never comes is cut short.

"Another client" is another loopback address: all of 127/8 reaches the server bound to 127.0.0.1.
The limits are set on the config after it is made, so that the code before them ran these tests
too (and failed them) instead of refusing the options."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from certificates import make_certificate
from door import PASSWORD, users_file
from upsrs_client import GLOBAL, subscribe
from websockets.sync.client import ClientConnection, connect

from app.server import ServerConfig, UPSServer


def serving(tmp_path: Path, **limits: object) -> UPSServer:
    config = ServerConfig(http_port=0, db_path=str(tmp_path / "w.db"), purge_interval=3600)
    for name, value in limits.items():
        setattr(config, name, value)
    return UPSServer(config).start()


def held_from(address: str, port: int, count: int) -> list[socket.socket]:
    return [
        socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(address, 0)) for _ in range(count)
    ]


def closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes `connection` (which sends nothing) within `seconds`."""
    connection.settimeout(seconds)
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def client_from(address: str, server: UPSServer, **options: object) -> httpx.Client:
    ca = options.pop("ca", None)
    verify = ssl.create_default_context(cafile=str(ca)) if ca else True
    transport = httpx.HTTPTransport(local_address=address, verify=verify)
    return httpx.Client(base_url=server.base_url, transport=transport, timeout=5, **options)  # type: ignore[arg-type]


@pytest.fixture()
def small(tmp_path) -> Iterator[UPSServer]:
    """The issue's server in miniature: a cap of 32 (for 512), shares of 16 and 8 per address."""
    server = serving(tmp_path, max_connections=32, max_connections_per_address=16, max_unauthenticated_per_address=8)
    try:
        yield server
    finally:
        server.stop()


def test_one_address_holding_idle_sockets_gets_its_share_and_other_clients_are_all_answered(small):
    hog = held_from("127.0.0.1", small.port, 40)  # more than the whole cap
    try:
        kept = [c for c in hog if not closed_within(c, 0.3)]
        assert len(kept) == 8  # its share of unauthenticated connections; the rest closed at once
        with client_from("127.0.0.2", small) as probe:
            began = time.monotonic()
            answers = [probe.get("/workitems", headers={"Connection": "close"}).status_code for _ in range(20)]
            assert answers == [204] * 20
            assert time.monotonic() - began < 5
    finally:
        for connection in hog:
            connection.close()


def test_authenticated_connections_count_against_the_larger_share_and_wrong_passwords_against_the_smaller(tmp_path):
    path, _ = users_file(tmp_path, ct1=["CT1"])
    server = serving(tmp_path, users_file=str(path), max_connections_per_address=6, max_unauthenticated_per_address=3)
    clients: list[httpx.Client] = []
    try:
        # Six consoles on one machine, each keeping its connection open after a valid request.
        for _ in range(6):
            clients.append(client_from("127.0.0.3", server, auth=("ct1", PASSWORD)))
            assert clients[-1].get("/workitems").status_code == 204
        assert all(closed_within(c, 1) for c in held_from("127.0.0.3", server.port, 1))  # the seventh

        # Three wrong passwords kept alive fill that address's unauthenticated share.
        for _ in range(3):
            clients.append(client_from("127.0.0.4", server, auth=("ct1", "wrong")))
            assert clients[-1].get("/workitems").status_code == 401
        assert all(closed_within(c, 1) for c in held_from("127.0.0.4", server.port, 1))
        with client_from("127.0.0.5", server, auth=("ct1", PASSWORD)) as elsewhere:
            assert elsewhere.get("/workitems").status_code == 204
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_a_notification_websocket_keeps_its_place_while_open_and_gives_it_back_when_closed(tmp_path):
    server = serving(tmp_path, max_connections_per_address=3, max_unauthenticated_per_address=2)
    try:
        with client_from("127.0.0.2", server) as setup:
            url = subscribe(setup, GLOBAL, "CT1").headers["Content-Location"]

        def websocket() -> ClientConnection:
            host, port = url.split("//")[1].split("/")[0].split(":")
            raw = socket.create_connection((host, int(port)), timeout=5, source_address=("127.0.0.8", 0))
            return connect(url, sock=raw, open_timeout=5)

        for _ in range(5):  # more than the share: each one closed gives its place back
            websocket().close()
        channels = [websocket() for _ in range(3)]  # accepted: out of the unauthenticated share
        try:
            assert all(closed_within(c, 1) for c in held_from("127.0.0.8", server.port, 1))
        finally:
            for channel in channels:
                channel.close()
        with client_from("127.0.0.8", server) as again:
            assert again.get("/workitems").status_code == 204
    finally:
        server.stop()


def test_near_the_cap_a_connection_has_two_seconds_to_send_its_request(tmp_path):
    server = serving(tmp_path, max_connections=8)
    held: list[socket.socket] = []
    try:
        held = held_from("127.0.0.1", server.port, 7)  # above three quarters of the cap
        began = time.monotonic()
        assert closed_within(held[-1], 5)
        assert time.monotonic() - began < 4  # the usual deadline is 10 s
        with client_from("127.0.0.2", server) as probe:
            assert probe.get("/workitems").status_code == 204
    finally:
        for connection in held:
            connection.close()
        server.stop()


def test_stalled_tls_handshakes_are_closed_within_a_few_seconds_and_others_served_meanwhile(tmp_path):
    cert, key = make_certificate(tmp_path)
    server = serving(tmp_path, tls_cert=str(cert), tls_key=str(key))
    stalled: list[socket.socket] = []
    try:
        stalled = held_from("127.0.0.6", server.port, 20)
        began = time.monotonic()
        with client_from("127.0.0.7", server, ca=cert) as probe:
            assert probe.get("/workitems").status_code == 204
        assert all(closed_within(c, 9 - (time.monotonic() - began)) for c in stalled)
        assert time.monotonic() - began < 9  # asyncio's own deadline is 60 s
    finally:
        for connection in stalled:
            connection.close()
        server.stop()


@pytest.mark.parametrize(
    ("open_files", "cap"),
    [(20000, 4096), (4096, 3072), (1024, 768), (256, 128), (40, 20), (-1, 512)],
)
def test_the_cap_leaves_descriptors_for_the_rest_of_the_server(open_files, cap):
    from app.server.connection_limits import connection_cap

    assert connection_cap(open_files) == cap


def test_the_server_takes_its_cap_from_the_open_file_limit(tmp_path):
    from app.server.connection_limits import connection_cap, open_file_limit

    server = serving(tmp_path)
    try:
        assert server.limits.total == connection_cap(open_file_limit())
    finally:
        server.stop()
