"""A notification channel stays open for a shift: a subscriber that sends nothing is still
connected after a minute — on the server, through the SCP / User-Agent gateway (UPS-RS upstream)
and through the Origin-Server / SCU gateway (a DIMSE RIS) — and gets the event sent at the end;
a peer that stops answering the server's pings is closed by the ping timeout, not by a timer.

The minute is held in real time: the server's own timers (the HTTP header deadline, keep-alive,
pings) run on the real clock, and only a real wait shows one of them closing a quiet channel."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from dimse_peers import MppsScp, Wlmscpfs, worklist_folder
from pydicom.uid import generate_uid
from upsrs_client import change_state, create, handshake, item, value
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from app.gateway.dimse_upstream import make
from app.server import ServerConfig, UPSServer

pytestmark = [pytest.mark.long, pytest.mark.interop]

HOLD_SECONDS = 62.0  # longer than every timer the server sets on a connection (10 s headers, 20 s pings)
GLOBAL = "1.2.840.10008.5.1.4.34.5"
STATE, WORKITEM = "00741000", "00001000"


def subscribe(base_url: str, aet: str) -> ClientConnection:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        answer = http.post(f"/workitems/{GLOBAL}/subscribers/{aet}", params={"deletionlock": "false"})
    assert answer.status_code == 201, answer.headers.get("Warning")
    # ping_interval=None: the client never pings, so nothing but the server keeps the channel up
    return connect(answer.headers["Content-Location"], open_timeout=10, ping_interval=None)


def hold(channels: dict[str, ClientConnection], seconds: float) -> None:
    """Read every channel until `seconds` have passed; a channel that closes fails the test."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        for name, channel in channels.items():
            try:
                channel.recv(timeout=min(0.5, max(0.01, left / len(channels))))
            except TimeoutError:
                pass
            except ConnectionClosed as closed:
                held = seconds - (deadline - time.monotonic())
                pytest.fail(f"the channel {name} closed after {held:.1f} s: {closed}")


def wait_for_state(channel: ClientConnection, uid: str, state: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = json.loads(channel.recv(timeout=left))
        except TimeoutError:
            break
        if value(event, WORKITEM) == uid and value(event, STATE) == state:
            return
    pytest.fail(f"no {state} event for {uid}")


@pytest.fixture()
def ris(tmp_path) -> Iterator[tuple[UPSServer, Wlmscpfs]]:
    """The Origin-Server / SCU gateway in front of wlmscpfs and an MPPS SCP."""
    worklist = Wlmscpfs(worklist_folder(tmp_path / "wlistdb")).start()
    mpps = MppsScp().start()
    spec = f"dimse:MWL=127.0.0.1:{worklist.port}:OFFIS,MPPS=127.0.0.1:{mpps.port}:MPPSSCP,POLL=1,TIMEOUT=5"
    service, performed = make(spec, str(tmp_path / "os-scu.db"), False)
    server = UPSServer(
        ServerConfig(http_port=0, db_path=str(tmp_path / "os-scu.db"), audit=False), upstream=(service, performed)
    ).start()
    yield server, worklist
    server.stop()
    service.close()
    mpps.stop()
    worklist.stop()


def test_quiet_subscribers_stay_connected_for_a_minute_on_the_server_and_through_both_gateways(
    upstream, gateway_of, ris
):
    scp_ua = gateway_of(upstream.base_url)
    os_scu, _ = ris
    channels = {
        "to the server": subscribe(upstream.base_url, "QUIET1"),
        "through the SCP / User-Agent gateway": subscribe(scp_ua.base_url, "QUIET2"),
        "through the Origin-Server / SCU gateway": subscribe(os_scu.base_url, "QUIET3"),
    }
    try:
        hold(channels, HOLD_SECONDS)

        # The event sent at the end reaches each of them.
        uid = create(httpx.Client(base_url=upstream.base_url, timeout=10), item())
        wait_for_state(channels["to the server"], uid, "SCHEDULED")
        wait_for_state(channels["through the SCP / User-Agent gateway"], uid, "SCHEDULED")
        with httpx.Client(base_url=os_scu.base_url, timeout=15, headers={"Accept": "application/dicom+json"}) as http:
            found = http.get("/workitems", params={"limit": "1"}).json()
            ris_uid = found[0]["00080018"]["Value"][0]
            assert change_state(http, ris_uid, "IN PROGRESS", generate_uid()).status_code == 200
        wait_for_state(channels["through the Origin-Server / SCU gateway"], ris_uid, "IN PROGRESS")
    finally:
        for channel in channels.values():
            channel.close()


def test_a_half_open_subscriber_is_closed_by_the_missing_pong_while_a_quiet_one_stays(tmp_path):
    server = UPSServer(
        ServerConfig(http_port=0, db_path=str(tmp_path / "pings.db"), ws_ping_interval=1.0, ws_ping_timeout=1.0)
    ).start()
    try:
        quiet = subscribe(server.base_url, "QUIET")  # the library answers every ping
        silent = handshake(server.base_url, "HALFOPEN")  # reads, never answers
        silent.settimeout(0.5)
        pinged, closed_after = False, None
        started = time.monotonic()
        while time.monotonic() - started < 15 and closed_after is None:
            try:
                data = silent.recv(4096)
            except TimeoutError:
                continue
            if not data:
                closed_after = time.monotonic() - started
            elif data[0] & 0x0F == 0x9:  # a ping frame
                pinged = True
            elif data[0] & 0x0F == 0x8:  # the server's Close frame; the TCP close follows
                continue
        assert pinged, "the server never pinged its subscriber"
        assert closed_after is not None, "a peer that answers no ping is still connected after 15 s"
        assert closed_after >= 1.0
        hold({"quiet": quiet}, 3.0)  # three ping rounds later the answering one is still there
        quiet.close()
    finally:
        server.stop()
