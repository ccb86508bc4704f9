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
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

log = logging.getLogger(__name__)

HEADER_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
MAX_HEADER_BYTES = 16 * 1024
MAX_CONNECTIONS = 512  # beyond it uvicorn answers 503 at once instead of taking more
WS_PING_INTERVAL_SECONDS = 20.0
WS_PING_TIMEOUT_SECONDS = 20.0


class HeaderDeadlineProtocol(H11Protocol):
    """h11, closing a connection whose request headers are not complete in time."""

    _deadline: asyncio.TimerHandle | None = None
    _started = 0  # requests whose headers arrived on this connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a new request's headers are complete
            self._started += 1
            self._disarm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The transport now belongs to the WebSocket protocol: no HTTP timer may close it.
        self._disarm()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        started = self._started
        self._deadline = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._expire, started)

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
    shutdown half-way (every connection after that one left open)."""

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
