"""The asyncio side of a gateway: the console's backends are coroutines, the server's services
are called from worker threads. One loop on a thread of its own runs every upstream call, each
with a deadline, and every exchange can be traced with the id of the request that caused it."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from app.backends.errors import TimedOut
from app.backends.protocol import Exchange

T = TypeVar("T")

trace_log = logging.getLogger("app.gateway.trace")
_exchange_id: contextvars.ContextVar[str] = contextvars.ContextVar("gateway_exchange", default="-")
_ids = itertools.count(1)


class Bridge:
    """Runs coroutines on the gateway's loop thread for synchronous callers."""

    def __init__(self, name: str, upstream: str, timeout: float, trace: bool = False) -> None:
        self.upstream = upstream  # what the upstream is called in sentences ("the UPS-RS server at host:port")
        self.timeout = timeout
        self.trace = trace
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], what: str, timeout: float | None = None) -> T:
        """The coroutine's result; TimedOut when the upstream has not answered within the deadline
        (the coroutine is then cancelled: nothing of it goes on behind the caller's back)."""
        exchange = f"{next(_ids):05d}"

        async def traced() -> T:
            _exchange_id.set(exchange)
            return await coroutine

        deadline = self.timeout if timeout is None else timeout
        future = asyncio.run_coroutine_threadsafe(traced(), self.loop)
        if self.trace:
            trace_log.info("[%s] ⇒ %s", exchange, what)
        try:
            return future.result(deadline)
        except FutureTimeout:
            future.cancel()
            raise TimedOut(f"{self.upstream} did not answer within {deadline:g} s.") from None

    def close(self, closing: Coroutine[Any, Any, None] | None = None) -> None:
        if closing is not None and self.loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(closing, self.loop).result(5)
            except (OSError, RuntimeError, FutureTimeout):
                trace_log.debug("Closing the upstream client failed", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def trace_exchange(exchange: Exchange) -> None:
    """A backend observer: each upstream leg as one INFO line, with the id of the request it serves."""
    arrow = {"→": "→ upstream", "←": "← upstream"}.get(exchange.direction, f"{exchange.direction} upstream")
    elapsed = f" ({exchange.elapsed_ms:.1f} ms)" if exchange.elapsed_ms is not None else ""
    trace_log.info("[%s] %s %s%s", _exchange_id.get(), arrow, exchange.summary, elapsed)
