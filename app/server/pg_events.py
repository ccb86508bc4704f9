"""Event reports across the nodes of one PostgreSQL database.

A change's events are rows of `event_log`, written in the change's own transaction (so there
is an event if and only if the change committed), and a NOTIFY that PostgreSQL delivers to
every node after the commit. Each node listens, reads the rows it has not seen, in order, and
hands each to its own subscribers: the WebSocket channels open on it and the DIMSE event peers
configured on it. The log is the truth, the notification only a wake-up: a node that missed one
(a dropped listening connection) reads what it missed on the next.

Event-writing transactions take one advisory lock just before they commit, so that the log's
order is the commit order: a reader that has seen event n has seen every committed event
before it, and events of one workitem (whose writers hold its row lock in turn) arrive in the
order they happened.

The backlog of an AE with no open channel is shared: `event_cursor` holds, per AE, the last
event its channels took. A subscriber that connects to any node is first sent what the log holds
for it past its cursor (the newest `backlog_size`); a node that dies loses at most the last
half second of cursor moves, so a subscriber may see an event twice then, never miss one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg

from app.domain import compact_json
from app.domain import events as ev

from .notifications import Channel, EventHub, event_text
from .pg_store import PgStore, duty_key
from .store import Connection, StoreError

log = logging.getLogger(__name__)

CHANNEL = "worklist_events"
EVENT_LOCK = duty_key("event order")
KEEP_SECONDS = 86400.0  # a subscriber away longer than a day gets the newest of a day, at most its backlog
FLUSH_SECONDS = 0.5

DDL = """
CREATE TABLE IF NOT EXISTS event_log (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aets TEXT[] COLLATE "C" NOT NULL,
    uid TEXT NOT NULL,
    kind INTEGER NOT NULL,
    attrs TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS event_log_aets ON event_log USING gin (aets);
CREATE TABLE IF NOT EXISTS event_cursor (aet TEXT COLLATE "C" PRIMARY KEY, seq BIGINT NOT NULL);
"""

Event = tuple[Iterable[str], str, ev.EventType, Any]


class SharedEvents:
    """The event log of the database and this node's delivery of it to its own subscribers."""

    def __init__(self, store: PgStore, hub: EventHub, clock: Callable[[], float]) -> None:
        self.store = store
        self.hub = hub
        self.clock = clock
        hub._returned = self._returned  # a closing channel's unsent events rewind the shared cursor
        self._lock = threading.Lock()  # one batch, or one connect, at a time
        self._handed: dict[str, deque[tuple[int, str]]] = {}  # per AE with a channel here: (seq, text)
        self._closed: dict[str, int] = {}  # AE -> cursor of a channel that closed, to be written
        self._stop = threading.Event()
        store.create_tables(DDL)
        with store.read() as db:
            self._last = int(_one(db, "SELECT coalesce(max(seq), 0) FROM event_log"))
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="event log", daemon=True)
        self._thread.start()
        self._listening.wait(10)

    # -- writing, inside the change's transaction -----------------------------------------
    def record(self, db: Connection, events: Sequence[Event]) -> None:
        rows = [
            (sorted(aets), uid, int(kind), compact_json.dumps(attrs), self.clock())
            for aets, uid, kind, attrs in events
            if aets
        ]
        if not rows:
            return
        db.execute("SELECT pg_advisory_xact_lock(?)", (EVENT_LOCK,))  # held to the commit: log order is commit order
        db.executemany("INSERT INTO event_log (aets, uid, kind, attrs, at) VALUES (?, ?, ?, ?, ?)", rows)
        db.execute(f"NOTIFY {CHANNEL}")

    def forget(self, aet: str) -> None:
        """A global unsubscribe: what waits for `aet` is dropped."""
        with self.store.write() as db:
            db.execute(
                "INSERT INTO event_cursor VALUES (?, (SELECT coalesce(max(seq), 0) FROM event_log)) "
                "ON CONFLICT (aet) DO UPDATE SET seq = excluded.seq",
                (aet,),
            )

    def purge(self) -> None:
        with self.store.write() as db:
            db.execute("DELETE FROM event_log WHERE at < ?", (self.clock() - KEEP_SECONDS,))

    # -- a subscriber connects here ---------------------------------------------------------
    def connect(self, aet: str) -> Channel:
        """The AE's channel, sent first what it missed (on whichever node), then what comes. Called
        on the channel's event loop, it reads nothing there: a slow or unreachable database must
        not stall the node's HTTP. The channel is held (events for it wait) until a thread of its
        own has put the backlog in front."""
        with self._lock:  # the listener publishes nothing meanwhile: what it has read is `upto`
            channel = self.hub.connect(aet, held=True)
            upto = self._last
            self._handed.setdefault(aet, deque(maxlen=self.hub.channel_limit * 2))
        threading.Thread(target=self._send_missed, args=(channel, upto), name="event backlog", daemon=True).start()
        return channel

    def _send_missed(self, channel: Channel, upto: int) -> None:
        aet = channel.aet
        try:
            with self.store.read() as db:
                cursor = db.execute("SELECT seq FROM event_cursor WHERE aet = ?", (aet,)).fetchone()
                rows = db.execute(
                    "SELECT seq, uid, kind, attrs FROM event_log WHERE aets @> ARRAY[?]::text[] AND seq > ? "
                    "AND seq <= ? ORDER BY seq DESC LIMIT ?",
                    (aet, cursor[0] if cursor else 0, upto, self.hub.backlog_size),
                ).fetchall()
        except self.store.errors as exc:
            # what it missed stays in the log past its cursor: the next connection gets it
            log.warning("Could not read what %s missed (%s); it gets the events from now on", aet, exc)
            rows = []
        missed = []
        for seq, uid, kind, attrs in reversed(rows):
            try:
                missed.append((seq, _text(seq, uid, kind, attrs)))
            except (ValueError, TypeError):  # never left held for one unreadable row
                log.exception("Event %d of the log cannot be read; it is not sent", seq)
        with self._lock:
            handed = self._handed.setdefault(aet, deque(maxlen=self.hub.channel_limit * 2))
            handed.extendleft(reversed(missed))  # older than what the listener handed it meanwhile
            if not self.hub.release(channel, [text for _, text in missed]):
                self._handed.pop(aet, None)  # it closed before: its cursor stays where it was

    def _returned(self, aet: str, unsent: list[str] | None) -> None:
        """A channel of `aet` closed: its cursor becomes the last event it sent (written by the
        listener's next flush, not here on the channel's event loop); None: it was sent nothing."""
        with self._lock:
            handed = self._handed.pop(aet, deque())
            if unsent is None:
                return
            first = next((seq for seq, text in handed if unsent and text is unsent[0]), None)
            if first is not None:
                self._closed[aet] = first - 1
            elif handed:
                self._closed[aet] = max(seq for seq, _ in handed)
            else:
                return
        # now, on a thread of its own (not this event loop's): a reconnect elsewhere may follow at once
        threading.Thread(target=self._flush_quietly, name="event cursor", daemon=True).start()

    def _flush_quietly(self) -> None:
        try:
            self._flush()
        except self.store.errors:
            log.exception("Could not keep where a subscriber's events stopped; it may see some twice")

    # -- this node's listener --------------------------------------------------------------
    def _listen(self) -> None:
        pause = 0.5
        while not self._stop.is_set():
            try:
                with self.store.connect() as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    pause = 0.5
                    self._catch_up()  # what was written while not listening
                    flushed = time.monotonic()
                    while not self._stop.is_set():
                        woken = False
                        for _ in connection.notifies(timeout=FLUSH_SECONDS, stop_after=1):
                            woken = True
                        if woken:
                            self._catch_up()
                        # the cursors every half second, not once per commit: each move is a commit too
                        if self._closed or time.monotonic() - flushed >= FLUSH_SECONDS:
                            self._flush()
                            flushed = time.monotonic()
            except Exception as exc:  # the node's one listener: whatever failed, it listens again
                self._listening.set()
                if isinstance(exc, (psycopg.Error, StoreError)):
                    log.warning("Listening for other nodes' events failed (%s); again in %.1f s", exc, pause)
                else:
                    log.exception("Listening for other nodes' events failed; again in %.1f s", pause)
                self._stop.wait(pause)
                pause = min(pause * 2, 10.0)

    def _catch_up(self) -> None:
        while True:
            with self.store.read() as db:
                rows = db.execute(
                    "SELECT seq, aets, uid, kind, attrs FROM event_log WHERE seq > ? ORDER BY seq LIMIT 1000",
                    (self._last,),
                ).fetchall()
            if not rows:
                return
            with self._lock:
                local = self.hub.connected()
                for seq, aets, uid, kind, attrs in rows:
                    self._last = seq  # a row that cannot be sent is passed over, not read for ever
                    here = local.intersection(aets)
                    if not here:
                        continue
                    try:
                        text = _text(seq, uid, kind, attrs)
                    except (ValueError, TypeError):
                        log.exception("Event %d of the log cannot be read; it is not sent", seq)
                        continue
                    for aet in here & self._handed.keys():
                        self._handed[aet].append((seq, text))
                    self.hub.publish_text(here, text)
            if len(rows) < 1000:
                return

    def _flush(self) -> None:
        """The cursors of the AEs whose channels here took every event handed to them."""
        moved: dict[str, int] = {}
        with self._lock:
            closed, self._closed = self._closed, {}
            idle = self.hub.idle()
            for aet, handed in self._handed.items():
                if handed and aet in idle:
                    moved[aet] = max(seq for seq, _ in handed)
                    handed.clear()
        if closed:
            self._move_cursors(closed, exact=True)
        if moved:
            self._move_cursors(moved)

    def _move_cursors(self, cursors: dict[str, int], exact: bool = False) -> None:
        rule = "excluded.seq" if exact else "GREATEST(event_cursor.seq, excluded.seq)"
        with self.store.write() as db:
            db.executemany(
                f"INSERT INTO event_cursor VALUES (?, ?) ON CONFLICT (aet) DO UPDATE SET seq = {rule}",
                sorted(cursors.items()),
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def _one(db: Connection, sql: str, params: tuple = ()) -> Any:
    found = db.execute(sql, params).fetchone()
    return found[0] if found else None


def _text(seq: int, uid: str, kind: int, attrs: str) -> str:
    return event_text(ev.message(uid, ev.EventType(kind), seq, compact_json.loads(attrs)))
