"""Events of an upstream UPS-RS server relayed to the gateway's own subscribers.

The gateway subscribes upstream in the subscriber's name and keeps one WebSocket open to the
upstream per subscriber AE; each event report that arrives is published, as it is, on the
gateway's event hub, which delivers it on the subscriber's WebSocket with us (or keeps it for
when the subscriber connects, or sends it as a DIMSE N-EVENT-REPORT when diverted).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from urllib.parse import quote

import websockets

from app.backends.upsrs import UpsRsBackend
from app.server.notifications import EventHub

from .bridge import Bridge, trace_log

log = logging.getLogger(__name__)

BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)


class EventRelay:
    def __init__(self, backend: UpsRsBackend, hub: EventHub, bridge: Bridge, trace: bool = False) -> None:
        self.backend = backend
        self.hub = hub
        self.bridge = bridge
        self.trace = trace
        self._tasks: dict[str, concurrent.futures.Future[None]] = {}

    def _default_url(self, aet: str) -> str:
        base = self.backend.base
        scheme = "wss" if base.startswith("https") else "ws"
        return f"{scheme}{base[base.index(':') :]}/ws/subscribers/{quote(aet)}"

    def follow(self, aet: str, url: str | None) -> None:
        """Keep the upstream channel of `aet` open (from any thread; returns at once)."""
        running = self._tasks.get(aet)
        if running is not None and not running.done():
            return
        self._tasks[aet] = asyncio.run_coroutine_threadsafe(
            self._listen(aet, url or self._default_url(aet)), self.bridge.loop
        )

    def drop(self, aet: str) -> None:
        task = self._tasks.pop(aet, None)
        if task is not None:
            task.cancel()

    def stop(self) -> None:
        for aet in list(self._tasks):
            self.drop(aet)

    async def _listen(self, aet: str, url: str) -> None:
        attempt = 0
        while True:
            try:
                ssl_context = self.backend.ssl_context() if url.startswith("wss") else None
                async with websockets.connect(
                    url,
                    additional_headers=self.backend.handshake_headers(),
                    ssl=ssl_context or None,
                    open_timeout=self.backend.profile.timeout,
                ) as socket:
                    attempt = 0
                    async for message in socket:
                        if self.trace:
                            trace_log.info("[event] ⇐ upstream event for %s", aet)
                        try:
                            self.hub.publish({aet}, json.loads(message))
                        except ValueError as exc:
                            log.warning("Ignored an unreadable event report from upstream: %s", exc)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                log.info("Upstream event channel of %s down (%s); reconnecting", aet, exc)
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1
