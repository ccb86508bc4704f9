"""Fan-out of event reports to the subscribers' WebSocket channels.

The UPS service publishes from whatever thread it runs on; each open channel reads from
an asyncio queue on its own loop. An AE with no open channel gets its events kept in a
bounded backlog (oldest dropped first) and delivered, in order, when it connects — so a
console that is reconnecting misses nothing. Events a channel had not yet sent when it
closed go back to the front of the backlog.

Events reach a channel's loop through its inbox: the first event of a burst wakes the loop
(call_soon_threadsafe, a write to its self-pipe), and the ones published before the loop runs
ride along with it — one wake-up for a burst, not one per event.

An AE can instead be *diverted*: its events go to a delivery function (the DIMSE front's
N-EVENT-REPORT sender) and never to a channel or the backlog — the hub stays the one place
events come from, whichever way a subscriber is reached.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable

from app.domain import compact_json
from app.domain import events as ev
from app.domain import tags as t
from app.domain.dicomjson import JsonDataset
from app.domain.writable import strict_json

from .service_api import Deliver

log = logging.getLogger(__name__)


def event_text(message: JsonDataset) -> str:
    """An event report as the JSON text a subscriber is sent."""
    text, faults = strict_json(compact_json.dumps(message))
    if faults:
        log.warning("An event carried values JSON cannot hold; sent without them: %s", faults)
    return text


class Channel:
    """One open notification connection of a subscriber AE."""

    def __init__(self, hub: EventHub, aet: str, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = hub
        self.aet = aet
        self.loop = loop
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.pending = 0  # events handed to the queue and not yet taken; guarded by the hub's lock
        self.dropped = asyncio.Event()  # set when the subscriber fell too far behind
        # published, not yet on the queue, and whether the loop was woken for them; the hub's lock
        self.inbox: list[str] = []
        self.woken = False
        # while not None, what is published for the channel waits here (the hub's lock): its backlog,
        # read elsewhere, is to go in front (EventHub.release)
        self.held: list[str] | None = None

    async def next(self) -> str:
        text = await self.queue.get()
        with self.hub._lock:
            self.pending -= 1
        return text

    def ready(self) -> str | None:
        """The next event if one is queued already, else None (without waiting)."""
        try:
            text = self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        with self.hub._lock:
            self.pending -= 1
        return text

    def close(self, unsent: Iterable[str] = ()) -> None:
        self.hub._disconnect(self, list(unsent))

    def _take_inbox(self) -> None:
        """On the channel's loop: what was published since the wake-up, onto the queue in order."""
        with self.hub._lock:
            texts, self.inbox, self.woken = self.inbox, [], False
        for text in texts:
            self.queue.put_nowait(text)


class EventHub:
    def __init__(
        self,
        backlog_size: int = 1000,
        channel_limit: int = 1000,
        returned: Callable[[str, list[str] | None], None] | None = None,
    ) -> None:
        self.backlog_size = backlog_size
        # Where the events a closing channel had not sent go: the AE's backlog here, or, given
        # `returned`, to it (the shared backlog of several nodes, pg_events.py)
        self._returned = returned
        # A channel with this many events not yet sent is dropped: its subscriber does not read,
        # and the server must not hold its events in memory for ever. They wait in the backlog.
        self.channel_limit = channel_limit
        self._lock = threading.Lock()
        self._backlog: dict[str, deque[str]] = {}
        self._channels: dict[str, list[Channel]] = {}
        self._diverted: dict[str, Deliver] = {}
        self._message_ids = itertools.count(1)
        self._posted: queue.SimpleQueue[tuple[frozenset[str], JsonDataset]] = queue.SimpleQueue()
        self._unsent = 0  # posted and not yet published; guarded by _drained
        self._drained = threading.Condition()
        self._worker: threading.Thread | None = None

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def post(self, aets: Iterable[str], message: JsonDataset) -> None:
        """Publish `message` on the hub's own thread, in the order posted: a write that reaches
        thousands of subscribers returns without waiting for them."""
        with self._drained:
            self._unsent += 1
            if self._worker is None:
                self._worker = threading.Thread(target=self._fan_out, name="event fan-out", daemon=True)
                self._worker.start()
        self._posted.put((frozenset(aets), message))

    def announce(self, subscribers: set[str], status: str) -> int:
        """Event 4 (SCP Status Change) after every event already posted: to every subscriber when
        the server RESTARTED, to those listening now otherwise (GOING DOWN). Returns how many."""
        self.drain()
        aets = subscribers if status == "RESTARTED" else subscribers & self.connected()
        if aets:
            message = ev.message(
                t.GLOBAL_SUBSCRIPTION_UID, ev.EventType.SCP_STATUS_CHANGE, self.next_message_id(), ev.scp_status(status)
            )
            self.publish(aets, message)
        return len(aets)

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every posted event is published; False if that took longer than `timeout`."""
        with self._drained:
            return self._drained.wait_for(lambda: self._unsent == 0, timeout)

    def _fan_out(self) -> None:
        while True:
            aets, message = self._posted.get()
            try:
                self.publish(aets, message)
            except Exception:  # one bad event must not end the delivery of the rest
                log.exception("An event could not be delivered")
            finally:
                with self._drained:
                    self._unsent -= 1
                    if self._unsent == 0:
                        self._drained.notify_all()

    def publish(self, aets: Iterable[str], message: JsonDataset) -> None:
        """Send `message` to every AE in `aets` now, or keep it for when it connects."""
        self.publish_text(aets, event_text(message))

    def publish_text(self, aets: Iterable[str], text: str) -> None:
        """`publish` of an event already made into its JSON text (event_text)."""
        aets = aets if isinstance(aets, (set, frozenset)) else set(aets)
        with self._lock:
            # most subscribers of a busy server are offline: find them by set difference, and
            # give each its event with no lookup beyond its own backlog
            online = aets & (self._diverted.keys() | self._channels.keys())
            for aet in online:
                deliver = self._diverted.get(aet)
                if deliver is not None:
                    deliver(aet, text)
                elif not self._offer(aet, self._channels[aet], text):
                    self._keep(aet, text)
            backlogs = self._backlog
            for aet in aets - online:
                backlog = backlogs.get(aet)
                if backlog is None:
                    backlog = backlogs[aet] = deque(maxlen=self.backlog_size)
                backlog.append(text)

    def _keep(self, aet: str, text: str) -> None:
        backlog = self._backlog.get(aet)
        if backlog is None:
            backlog = self._backlog[aet] = deque(maxlen=self.backlog_size)
        backlog.append(text)

    def _offer(self, aet: str, channels: list[Channel], text: str) -> bool:
        """Queue `text` on the AE's open channels, dropping those that fell behind; False when
        none is left (the caller keeps the event in the backlog). Called holding the lock."""
        for channel in list(channels):
            if channel.held is not None and len(channel.held) < self.channel_limit:
                channel.held.append(text)
                continue
            if channel.pending + len(channel.held or ()) >= self.channel_limit:
                log.warning(
                    "Subscriber %s reads no events (%d waiting): its connection is closed", aet, channel.pending
                )
                channels.remove(channel)
                channel.loop.call_soon_threadsafe(channel.dropped.set)
                continue
            channel.pending += 1
            channel.inbox.append(text)
            if not channel.woken:
                channel.woken = True
                channel.loop.call_soon_threadsafe(channel._take_inbox)
        if not channels:
            self._channels.pop(aet, None)
            return False
        return True

    def divert(self, aets: Iterable[str], deliver: Deliver) -> None:
        """Hand every event for `aets` to `deliver` instead of a channel or the backlog."""
        with self._lock:
            for aet in aets:
                self._diverted[aet] = deliver
                self._backlog.pop(aet, None)

    def connect(self, aet: str, first: Iterable[str] = (), held: bool = False) -> Channel:
        """Open a channel for `aet` on the running loop; `first`, then the backlog, are delivered first.
        A `held` channel gets nothing until `release`, which may put more in front."""
        channel = Channel(self, aet, asyncio.get_running_loop())
        if held:
            channel.held = []
        with self._lock:
            for text in [*first, *self._backlog.pop(aet, ())]:
                channel.queue.put_nowait(text)
                channel.pending += 1
            self._channels.setdefault(aet, []).append(channel)
        return channel

    def release(self, channel: Channel, first: list[str]) -> bool:
        """From any thread: a held channel gets `first`, then what waited for it, then what comes.
        False if it closed meanwhile (it took nothing)."""
        with self._lock:
            if channel.held is None or channel not in self._channels.get(channel.aet, ()):
                return False
            texts, channel.held = [*first, *channel.held], None
            channel.pending += len(texts)
            channel.inbox[:0] = texts
            if texts and not channel.woken:
                channel.woken = True
                channel.loop.call_soon_threadsafe(channel._take_inbox)
            return True

    def _disconnect(self, channel: Channel, unsent: list[str]) -> None:
        with self._lock:
            was_held, channel.held = channel.held is not None, None
            channels = self._channels.get(channel.aet, [])
            if channel in channels:
                channels.remove(channel)
            if not channels:
                self._channels.pop(channel.aet, None)
            while not channel.queue.empty():
                unsent.append(channel.queue.get_nowait())
            unsent.extend(channel.inbox)  # published after those on the queue
            channel.inbox = []
            if self._returned is None and unsent and channel.aet not in self._channels:
                backlog = self._backlog.setdefault(channel.aet, deque(maxlen=self.backlog_size))
                backlog.extendleft(reversed(unsent[-self.backlog_size :]))
        if self._returned is not None:  # outside the lock: the shared backlog takes locks of its own
            # one closed while held was sent nothing: None, whatever waited for it
            self._returned(channel.aet, None if was_held else unsent)

    def idle(self) -> set[str]:
        """The AEs with open channels that have taken every event handed to them."""
        with self._lock:
            return {
                aet
                for aet, channels in self._channels.items()
                if all(c.pending == 0 and not c.inbox and c.held is None for c in channels)
            }

    def forget(self, aet: str) -> None:
        with self._lock:
            self._backlog.pop(aet, None)

    def connected(self) -> set[str]:
        """The AEs an event reaches now: open channels, and diverted AEs (sent to at once)."""
        with self._lock:
            return set(self._channels) | set(self._diverted)

    def pending(self, aet: str) -> int:
        with self._lock:
            return len(self._backlog.get(aet, ()))
