"""Password checks at the HTTP door: scrypt on a small pool of its own, and failures throttled
per client address and per user name.

A password costs scrypt (~100 ms and 16 MiB); a client sending wrong ones must not be able to
spend the server's time or memory for anyone else. So:

- the checks run on `workers` threads of their own, never on the thread pool that serves
  authenticated requests, with a few waiting at most; beyond that a login is refused at once
  (`Busy`, answered 503) instead of queueing memory and time;
- each attempt counts as a failure until it proves right, so concurrent guesses count too;
  after `free` failures an address, or a user name, waits before its next attempt (doubling,
  capped), and a refused attempt costs no scrypt at all (`Throttled`, answered 429);
- refusals are not answered at once (`hold`), so that they come no faster than checks did;
- a pair verified before is not sent to the pool (a keyed hash finds it), but it is throttled
  like any other: else a guess that happens to be a verified pair would be answered while its
  address waits. Bearer tokens never come here: 256 random bits cannot be guessed, and one
  SHA-256 costs nothing.

Unknown user names are checked against a dummy hash inside `Users.by_password`, so both fail in
the same time and throttle alike: neither timing nor 429 tells which names exist.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .users import Principal, Users

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThrottleRules:
    free: int = 5  # failures before any wait: a few typing mistakes cost nothing
    first_wait: float = 1.0  # seconds after the `free`-th failure, doubled with each further one
    longest_wait: float = 60.0
    forget_after: float = 900.0  # an address or name quiet this long starts afresh
    capacity: int = 10_000  # entries per table; the oldest goes first
    workers: int = 2  # scrypt threads: 2 × 16 MiB at most, whatever arrives
    waiting: int = 4  # checks queued behind them before logins are refused
    # A refusal is held this long at most (a timer, no work): answered at once, it would let a
    # client loop many times faster than when each guess cost scrypt, and the flood of cheap
    # refusals would itself crowd out the requests of authenticated users.
    hold: float = 1.0


class Throttled(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.retry_after = max(1, math.ceil(seconds))


class Busy(Exception):
    """Every checker busy and the queue full. Answered 503, not 429: it says the server is
    loaded, not that this client sent too much; the login may well be the first of a
    technologist whose address shares nothing with the one that fills the pool."""

    retry_after = 1


@dataclass
class _Failures:
    count: int
    last: float


class _Table:
    """Failures by key, at most `capacity` of them: the least recently failed is forgotten first."""

    def __init__(self, rules: ThrottleRules) -> None:
        self.rules = rules
        self.entries: OrderedDict[str, _Failures] = OrderedDict()

    def wait(self, key: str, now: float) -> float:
        entry = self.entries.get(key)
        if entry is None or entry.count < self.rules.free or now - entry.last > self.rules.forget_after:
            return 0.0
        delay = min(self.rules.first_wait * 2 ** (entry.count - self.rules.free), self.rules.longest_wait)
        return max(0.0, entry.last + delay - now)

    def charge(self, key: str, now: float) -> None:
        entry = self.entries.get(key)
        if entry is None or now - entry.last > self.rules.forget_after:
            entry = self.entries[key] = _Failures(0, now)
        entry.count += 1
        entry.last = now
        self.entries.move_to_end(key)
        while len(self.entries) > self.rules.capacity:
            self.entries.popitem(last=False)

    def refund(self, key: str) -> None:
        entry = self.entries.get(key)
        if entry is not None:
            entry.count = max(0, entry.count - 1)

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)


class FailedLogins:
    """Failures per client address and per user name, on a monotonic clock.

    A success forgets the name's failures but only refunds the address's own attempt: else a
    client with an account of its own could wash its address between guesses. An address
    where a user has logged in is not held back by that user's failures elsewhere, so guessing
    a name from other addresses cannot lock its owner out of the station it works from."""

    def __init__(self, rules: ThrottleRules | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules or ThrottleRules()
        self.clock = clock
        self.addresses = _Table(self.rules)
        self.names = _Table(self.rules)
        self.known: OrderedDict[tuple[str, str], None] = OrderedDict()  # (name, address) that logged in
        self._lock = threading.Lock()

    def begin(self, address: str, name: str) -> float:
        """Seconds to wait before this attempt may be checked; 0: it is let through and counted
        as a failure until `proved` or `unchecked`."""
        with self._lock:
            now = self.clock()
            own = (name, address) in self.known
            wait = max(self.addresses.wait(address, now), 0.0 if own else self.names.wait(name, now))
            if wait > 0:
                return wait
            self.addresses.charge(address, now)
            if not own:
                self.names.charge(name, now)
            return 0.0

    def proved(self, address: str, name: str) -> None:
        with self._lock:
            self.addresses.refund(address)
            self.names.forget(name)
            self.known[(name, address)] = None
            self.known.move_to_end((name, address))
            while len(self.known) > self.rules.capacity:
                self.known.popitem(last=False)

    def unchecked(self, address: str, name: str) -> None:
        """The attempt was not checked at all (the pool was busy): it counts for nothing."""
        with self._lock:
            self.addresses.refund(address)
            if (name, address) not in self.known:
                self.names.refund(name)

    def waiting_after_failure(self, address: str, name: str) -> float:
        with self._lock:
            now = self.clock()
            return max(self.addresses.wait(address, now), self.names.wait(name, now))


def address_key(client: tuple[str, int] | None) -> str:
    """What one client is: its IPv4 address, or its IPv6 /64 (one host usually holds a whole one)."""
    if not client:
        return "?"
    try:
        ip = ipaddress.ip_address(client[0])
    except ValueError:
        return client[0]
    if ip.version == 6 and not ip.is_loopback and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


class PasswordChecks:
    """Basic logins of one server: throttled, then checked on a pool of their own."""

    def __init__(self, users: Users, rules: ThrottleRules | None = None, clock: Callable[[], float] = time.monotonic):
        self.users = users
        self.rules = rules or ThrottleRules()
        self.failures = FailedLogins(self.rules, clock)
        self._pool = ThreadPoolExecutor(self.rules.workers, thread_name_prefix="password-check")
        self._pending = 0  # running and queued, counted down when the check ends or is cancelled
        self._lock = threading.Lock()

    async def principal(self, client: tuple[str, int] | None, name: str, password: str) -> Principal | None:
        """The user these credentials prove, or None; Throttled or Busy when they were not checked."""
        address = address_key(client)
        wait = self.failures.begin(address, name)
        if wait > 0:
            await asyncio.sleep(min(wait, self.rules.hold))
            raise Throttled(wait - min(wait, self.rules.hold))
        if self.users.remembered(name, password):
            principal = self.users.by_password(name, password)  # no scrypt: a keyed hash
        else:
            try:
                principal = await self._checked(name, password)
            except Busy:
                self.failures.unchecked(address, name)
                await asyncio.sleep(self.rules.hold)
                raise
        if principal is not None:
            self.failures.proved(address, name)
        else:
            wait = self.failures.waiting_after_failure(address, name)
            if wait > 0:
                log.warning(
                    "Wrong password for %r from %s: its next login waits %d s", name[:64], address, math.ceil(wait)
                )
        return principal

    def principal_now(self, address: str, name: str, password: str) -> Principal | None:
        """`principal` for a caller on a thread of its own (a DIMSE association's User Identity):
        the same throttle and the same pool, waited for here; Throttled or Busy at once."""
        wait = self.failures.begin(address, name)
        if wait > 0:
            raise Throttled(wait)
        if self.users.remembered(name, password):
            principal = self.users.by_password(name, password)
        else:
            with self._lock:
                if self._pending >= self.rules.workers + self.rules.waiting:
                    self.failures.unchecked(address, name)
                    raise Busy()
                self._pending += 1
            future = self._pool.submit(self.users.by_password, name, password)
            future.add_done_callback(self._done)
            principal = future.result()
        if principal is not None:
            self.failures.proved(address, name)
        return principal

    async def _checked(self, name: str, password: str) -> Principal | None:
        with self._lock:
            if self._pending >= self.rules.workers + self.rules.waiting:
                raise Busy()
            self._pending += 1
        future: Future[Principal | None] = self._pool.submit(self.users.by_password, name, password)
        # counted down by the future itself: a client that hangs up cancels the wait, not the check
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    def _done(self, _: Future[Principal | None]) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
