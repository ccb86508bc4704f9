"""Peers that fail mid-exchange: an SCP that aborts the association during C-ECHO or C-FIND,
and one that accepts the association but not the worklist service. The console says so in a
sentence — in the backend, in Test connection and on the command line — never a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from app.backends import check_profile
from app.backends.dicomweb import DicomWebClient
from app.backends.dimse import DimseBackend
from app.backends.errors import Aborted, Refused, Unreachable
from app.backends.profiles import Profile
from app.domain.worklist_query import WorklistQuery


@pytest.fixture(scope="module")
def echo_only_peer() -> Iterator[int]:
    """An SCP that answers C-ECHO and nothing else: it keeps no worklist."""
    ae = AE("ECHOONLY")
    ae.add_supported_context(Verification)
    server = ae.start_server(("127.0.0.1", 0), block=False)
    yield server.server_address[1]
    server.shutdown()


def profile(port: int, aet: str = "ABORTER") -> Profile:
    return Profile(name="peer", backend="dimse", ae_title="CT1", mwl_port=port, mwl_aet=aet, timeout=5)


def run_app(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60)


async def test_a_worklist_query_the_peer_aborts_says_the_peer_closed_the_association(aborting_peer):
    backend = DimseBackend(profile(aborting_peer))
    with pytest.raises(Aborted) as raised:
        await backend.search(WorklistQuery.today("CT1"))
    assert raised.value.sentence == (
        f"The worklist server at 127.0.0.1:{aborting_peer} closed the association before it answered (C-FIND)."
    )
    assert raised.value.retryable


async def test_test_connection_says_the_peer_closed_the_association_during_c_echo(aborting_peer):
    [check] = await check_profile(profile(aborting_peer))
    assert not check.ok
    assert "closed the association before it answered (C-ECHO)" in check.sentence


def test_echo_and_find_on_the_command_line_say_it_and_exit_non_zero(aborting_peer):
    peer = f"127.0.0.1:{aborting_peer}:ABORTER"
    echo = run_app("echo", "--mwl", peer)
    assert echo.returncode == 1
    assert "closed the association before it answered (C-ECHO)" in echo.stderr
    find = run_app("find", "--mwl", peer, "--station", "CT1")
    assert find.returncode == 1
    assert find.stderr.strip() == (
        f"The worklist server at 127.0.0.1:{aborting_peer} closed the association before it answered (C-FIND)."
    )
    assert "Traceback" not in echo.stderr + find.stderr and find.stdout == ""


async def test_a_peer_without_the_worklist_service_is_refused_in_a_sentence(echo_only_peer):
    backend = DimseBackend(profile(echo_only_peer, "ECHOONLY"))
    with pytest.raises(Refused) as raised:
        await backend.search(WorklistQuery.today("CT1"))
    assert "does not accept worklist queries (MWL C-FIND)" in raised.value.sentence
    assert not raised.value.retryable


class ClosingKeptAliveConnections:
    """An HTTP peer that answers the first request of every connection and keeps it alive, then
    closes that connection without answering the next one: what a server does when its
    keep-alive ends just as the client reuses the connection."""

    def __init__(self) -> None:
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        body = b"[]"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
        writer.close()


async def test_a_read_on_a_kept_alive_connection_the_server_closed_is_asked_again_on_a_new_one():
    peer = ClosingKeptAliveConnections()
    server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = DicomWebClient(Profile(name="peer", url=f"http://127.0.0.1:{port}/dicom-web", ae_title="CT1"))
    try:
        for _ in range(3):
            answer = await client.request("GET", "/workitems")
            assert answer.status_code == 200
        assert peer.connections >= 2  # the second GET met the closed connection and went again
        with pytest.raises(Unreachable):  # a write is not repeated behind the outbox's back
            await client.request("POST", "/workitems", body=[{}])
    finally:
        await client.client.aclose()
        server.close()
        await server.wait_closed()
