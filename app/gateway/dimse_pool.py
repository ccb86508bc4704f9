"""Associations to the RIS kept open between the gateway's calls, so that a search is one
C-FIND and not an association setup plus a C-FIND.

Each peer has a few idle associations. A call takes one for itself (never two calls on one
association), or opens one when none is idle; after the call it goes back unless the call
failed or the peer closed it. One idle longer than `idle_seconds` is released: a RIS may
close an association it finds idle, and one it closed is not reused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

IDLE_SECONDS = 20.0
PER_PEER = 4  # idle associations kept for a peer; more calls at once open more and release them after

Peer = tuple[str, int, str]


class AssociationPool:
    """The `Associations` of `app.backends.dimse.DimseBackend`, shared by the gateway's clients."""

    def __init__(
        self, idle_seconds: float = IDLE_SECONDS, per_peer: int = PER_PEER, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle_seconds = idle_seconds
        self.per_peer = per_peer
        self.clock = clock
        self._idle: dict[Peer, list[tuple[Any, float]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def lease(self, peer: Peer, open: Callable[[], Any]) -> Iterator[tuple[Any, bool]]:
        assoc, kept = self._take(peer), True
        if assoc is None:
            assoc, kept = open(), False
        try:
            yield assoc, kept
        except BaseException:
            _end(assoc)  # after a failure its state is unknown: never reused
            raise
        self._give_back(peer, assoc)

    def _take(self, peer: Peer) -> Any | None:
        stale: list[Any] = []
        found = None
        with self._lock:
            idle = self._idle.get(peer, [])
            now = self.clock()
            while idle:
                assoc, since = idle.pop()
                if assoc.is_established and now - since < self.idle_seconds:
                    found = assoc
                    break
                stale.append(assoc)
        for assoc in stale:
            _end(assoc)
        return found

    def _give_back(self, peer: Peer, assoc: Any) -> None:
        if assoc.is_established:
            with self._lock:
                idle = self._idle.setdefault(peer, [])
                if not self._closed and len(idle) < self.per_peer:
                    idle.append((assoc, self.clock()))
                    return
        _end(assoc)

    def reap(self) -> None:
        """Release the associations idle too long (the gateway's poll calls it)."""
        stale: list[Any] = []
        with self._lock:
            now = self.clock()
            for peer, idle in self._idle.items():
                fresh = [(a, since) for a, since in idle if a.is_established and now - since < self.idle_seconds]
                stale += [a for a, _ in idle if (a, _) not in fresh]
                self._idle[peer] = fresh
        for assoc in stale:
            _end(assoc)

    def idle(self, peer: Peer) -> int:
        with self._lock:
            return len(self._idle.get(peer, []))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            every = [a for idle in self._idle.values() for a, _ in idle]
            self._idle.clear()
        for assoc in every:
            _end(assoc)


def _end(assoc: Any) -> None:
    try:
        if assoc.is_established:
            assoc.release()
    except Exception:  # a peer already gone: nothing left to release
        log.debug("Releasing an association failed", exc_info=True)
