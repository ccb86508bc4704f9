"""How many HTTP connections the server holds, in all and per client address.

A cap on all connections alone is itself a lever: one client that keeps a few hundred idle
sockets open filled it, and everybody else got 503 (39 of 40 probes, for as long as it went on).
So each client address has a share of its own:

- at most `per_address` connections (PER_ADDRESS: two consoles, a gateway and a soak from one
  machine use a few dozen), and
- of those, at most `unauthenticated` (UNAUTHENTICATED_PER_ADDRESS) that have not yet shown
  valid credentials. A connection counts as unauthenticated from its first byte until a request
  on it carried credentials the door accepted (with a users file), or until a request on it was
  answered (a server without users has no credentials to show); a WebSocket, once accepted.
  Idle sockets, slow headers and wrong passwords all stay in this lower share.

A connection beyond its address's share is closed as soon as it is accepted, before uvicorn
counts it, so it never takes a place under the overall cap.

The overall cap follows the process's open-file limit (`connection_cap`), leaving descriptors for
the database, the audit file, the DIMSE front and TLS handshakes in progress. Above
CROWDED_FRACTION of it, a new connection has CROWDED_HEADER_TIMEOUT_SECONDS instead of the usual
header deadline to send its request: idle sockets then turn over fast enough that real clients
find room.

Everything here runs on the server's event loop: no locks.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

log = logging.getLogger(__name__)

PER_ADDRESS = 256
UNAUTHENTICATED_PER_ADDRESS = 128  # above the 48 wrong-password clients + 1 of the abuse benchmark
CAP_CEILING = 4096  # each connection may hold a request body of up to 4 MiB
CAP_FLOOR = 16
CROWDED_FRACTION = 0.75
CROWDED_HEADER_TIMEOUT_SECONDS = 2.0
UNLIMITED_FILES_CAP = 512  # where the OS reports no open-file limit (Windows)


def connection_cap(open_files: int) -> int:
    """The overall connection cap for a process allowed `open_files` descriptors (-1: unknown).

    A quarter of them, and at least 256 (or half of a tiny limit), stay for everything else:
    SQLite's files, the audit log, DIMSE associations and TLS handshakes not yet counted here."""
    if open_files < 0:
        return UNLIMITED_FILES_CAP
    reserve = max(open_files // 4, min(256, open_files // 2))
    return max(CAP_FLOOR, min(CAP_CEILING, open_files - reserve))


def open_file_limit() -> int:
    """The soft limit on open files; -1 where there is none to read."""
    try:
        import resource
    except ImportError:  # Windows
        return -1
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return -1 if soft == resource.RLIM_INFINITY else soft


@dataclass(frozen=True)
class ConnectionLimits:
    total: int
    per_address: int = PER_ADDRESS
    unauthenticated: int = UNAUTHENTICATED_PER_ADDRESS

    @property
    def crowded(self) -> int:
        """From this many open connections on, the short header deadline applies."""
        return int(self.total * CROWDED_FRACTION)


class Ledger:
    """Open connections by client address, and how many of those are not yet authenticated."""

    def __init__(self, limits: ConnectionLimits, *, credentials_required: bool) -> None:
        self.limits = limits
        self.credentials_required = credentials_required
        self.open: Counter[str] = Counter()
        self.unproven: Counter[str] = Counter()
        self._refusing: set[str] = set()  # addresses whose refusal was logged since they were last under

    def admit(self, address: str) -> Slot | None:
        """A place for a new connection from `address`, or None when its share is used up."""
        if self.open[address] >= self.limits.per_address or self.unproven[address] >= self.limits.unauthenticated:
            if address not in self._refusing:
                self._refusing.add(address)
                log.warning(
                    "Refusing connections from %s: it holds %d (%d not authenticated); at most %d, "
                    "%d not authenticated, are allowed per client address.",
                    address,
                    self.open[address],
                    self.unproven[address],
                    self.limits.per_address,
                    self.limits.unauthenticated,
                )
            return None
        self.open[address] += 1
        self.unproven[address] += 1
        return Slot(self, address)

    def _prove(self, address: str) -> None:
        self._drop(self.unproven, address)

    def _release(self, address: str, proven: bool) -> None:
        self._drop(self.open, address)
        if not proven:
            self._drop(self.unproven, address)
        if not self.open[address]:
            self._refusing.discard(address)

    @staticmethod
    def _drop(counter: Counter[str], address: str) -> None:
        counter[address] -= 1
        if counter[address] <= 0:
            del counter[address]


class Slot:
    """One connection's place in the ledger; it passes from the HTTP protocol to the WebSocket one
    on an upgrade, and is given back exactly once."""

    def __init__(self, ledger: Ledger, address: str) -> None:
        self.ledger = ledger
        self.address = address
        self.proven = False
        self.released = False

    def prove(self) -> None:
        if not (self.proven or self.released):
            self.proven = True
            self.ledger._prove(self.address)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.ledger._release(self.address, self.proven)
