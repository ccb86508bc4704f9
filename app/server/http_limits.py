"""Bounds on what one HTTP connection may hold: uvicorn's h11 protocol with a header deadline,
and the process's file-descriptor limit raised where the OS allows.

uvicorn times out an idle keep-alive connection only after a first response; a connection
that sends nothing, or its headers a byte at a time, would hold its socket for ever. Here a
request's headers must be complete within HEADER_TIMEOUT_SECONDS of the connection opening or
of the previous response; the body has its own deadline in the HTTP front.

A connection upgraded to a WebSocket leaves this protocol for good: the deadline is disarmed at
the upgrade, and from then on the WebSocket's own pings (WS_PING_INTERVAL_SECONDS, a pong due
within WS_PING_TIMEOUT_SECONDS) tell a half-open peer from a quiet subscriber, which may stay
silent for a whole shift.

Each connection also takes a place in its client address's share (connection_limits.py): one
over the share is closed as soon as it is accepted, and near the overall cap the header deadline
is CROWDED_HEADER_TIMEOUT_SECONDS. A TLS handshake has TLS_HANDSHAKE_SECONDS (asyncio's default
is 60 s, and a connection still shaking hands is not yet anybody's: no cap counts it).

WebSocket messages go uncompressed (no permessage-deflate is offered): an event report is one
small JSON text, and deflate compresses it once per subscriber, each connection with its own
context, on the server's one event loop — 40-85 us of CPU per event per subscriber for 1-4 KB
events (a global subscriber of a busy RIS feed: up to half a millisecond per order for ten
consoles), and a zlib state kept per connection. What it saves, about 3/4 of a few kilobytes per
event, is nothing a site's network or a console notices.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from .connection_limits import CROWDED_HEADER_TIMEOUT_SECONDS, Ledger, Slot
from .security import PRINCIPAL

log = logging.getLogger(__name__)

HEADER_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
MAX_HEADER_BYTES = 16 * 1024
TLS_HANDSHAKE_SECONDS = 5.0
WS_PING_INTERVAL_SECONDS = 20.0
WS_PING_TIMEOUT_SECONDS = 20.0


class LimitedConfig(uvicorn.Config):
    """uvicorn's configuration, carrying the server's ledger of connections by client address."""

    def __init__(self, app: object, *, ledger: Ledger, **options: object) -> None:
        options.setdefault("ws_per_message_deflate", False)  # see the module's docstring
        super().__init__(app, **options)  # type: ignore[arg-type]
        self.ledger = ledger


def _ledger(config: uvicorn.Config) -> Ledger | None:
    return config.ledger if isinstance(config, LimitedConfig) else None


def _client_address(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


class HeaderDeadlineProtocol(H11Protocol):
    """h11, closing a connection whose request headers are not complete in time, or whose client
    address has used up its share of connections."""

    _deadline: asyncio.TimerHandle | None = None
    _started = 0  # requests whose headers arrived on this connection
    _slot: Slot | None = None
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        ledger = _ledger(self.config)
        if ledger is not None:
            self._slot = ledger.admit(_client_address(transport))
            if self._slot is None:
                # Closed before uvicorn sees it: it takes no place under the overall cap.
                self._refused = True
                transport.close()
                return
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        ledger = _ledger(self.config)
        # Authenticated: the door accepted this request's credentials, or there are none to show.
        if (
            self._slot is not None
            and ledger is not None
            and (not ledger.credentials_required or self.scope.get(PRINCIPAL) is not None)
        ):
            self._slot.prove()
        self._arm()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a new request's headers are complete
            self._started += 1
            self._disarm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The transport now belongs to the WebSocket protocol: no HTTP timer may close it, and the
        # connection's place goes with it (this protocol hears no more of the connection).
        self._disarm()
        super().handle_websocket_upgrade(event)
        slot, self._slot = self._slot, None
        if slot is not None:
            websocket = self.transport.get_protocol()
            if isinstance(websocket, ShutdownSafeWebSocketProtocol):
                websocket.slot = slot
            else:
                slot.release()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return  # uvicorn never saw it
        self._disarm()
        if self._slot is not None:
            self._slot.release()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        started = self._started
        seconds = HEADER_TIMEOUT_SECONDS
        ledger = _ledger(self.config)
        if ledger is not None and len(self.connections) >= ledger.limits.crowded:
            seconds = min(seconds, CROWDED_HEADER_TIMEOUT_SECONDS)
        self._deadline = self.loop.call_later(seconds, self._expire, started)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, started: int) -> None:
        self._deadline = None
        if self._started == started and not self.transport.is_closing():
            log.debug("Closing a connection whose request headers did not arrive in time")
            self.transport.close()


class ShutdownSafeWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, whose shutdown survives a channel already closing: the peer's
    Close received but not yet answered made send_close raise, which stopped the server's
    shutdown half-way (every connection after that one left open). It holds the connection's
    place from the HTTP protocol it was upgraded from, authenticated once the handshake is
    accepted (the door lets none through without credentials where they are required)."""

    slot: Slot | None = None

    async def send(self, message: Any) -> None:  # uvicorn's ASGISendEvent
        if message["type"] == "websocket.accept" and self.slot is not None:
            self.slot.prove()
        await super().send(message)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.slot is not None:
            self.slot.release()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        try:
            super().shutdown()
        except InvalidState:
            self.transport.close()


def raise_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit (capped at 65 536) where the OS has
    one, so that many connections exhaust sockets, not the server; returns the soft limit."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard if hard != resource.RLIM_INFINITY else 65536, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.info("Cannot raise the open-file limit from %d: %s", soft, exc)
    return soft
