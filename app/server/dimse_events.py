"""N-EVENT-REPORTs to DIMSE subscribers (PS3.4 CC.2.4): the UPS Event SOP class, sent by us.

The standard leaves a subscriber's network address to configuration (as for Storage
Commitment): `serve --event-peer AE=HOST:PORT` names it. The event hub diverts those AEs'
events to `DimseNotifier.deliver`, which queues them per peer without blocking the
request that caused them. One thread per peer opens an association (UPS Event, proposing
the SCP role for us as dcm4chee-arc does), sends what is queued in order, and releases it.
A peer that cannot be reached keeps its reports — up to the backlog size, oldest dropped,
like a WebSocket subscriber's backlog — and is tried again after 0.5 s, 1 s, 2 s … at most
a minute apart.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from pynetdicom import AE, build_role
from pynetdicom.sop_class import UnifiedProcedureStepEvent, UnifiedProcedureStepPush

from app.domain.dicomjson import JsonDataset
from app.domain.status import Status

from .ups_dimse import wire

log = logging.getLogger(__name__)

RETRY_FIRST = 0.5
RETRY_MAX = 60.0
TIMEOUT = 10.0  # connect, association and each response: a dead peer must not hold its thread forever


@dataclass(frozen=True)
class EventPeer:
    aet: str
    host: str
    port: int


@dataclass(frozen=True)
class Report:
    """A hub notification (PS3.18 8.10.5.1.1) split into N-EVENT-REPORT parameters and Event Information."""

    event_type: int
    instance_uid: str
    message_id: int
    information: JsonDataset


def report_of(text: str) -> Report:
    message = json.loads(text)

    def command(tag: str) -> object:
        return (message.get(tag) or {}).get("Value", [None])[0]

    return Report(
        event_type=int(str(command("00001002"))),
        instance_uid=str(command("00001000")),
        message_id=int(str(command("00000110") or 1)),
        information={tag: el for tag, el in message.items() if not tag.startswith("0000")},
    )


class _Link:
    """The queue and sending thread of one peer."""

    def __init__(self, peer: EventPeer, calling_ae: str, backlog: int) -> None:
        self.peer = peer
        self.calling_ae = calling_ae
        self.backlog = backlog
        self._pending: deque[str] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"ups-events-{peer.aet}", daemon=True)
        self._thread.start()

    def push(self, text: str) -> None:
        with self._cond:
            self._pending.append(text)
            if len(self._pending) > self.backlog:
                self._pending.popleft()
                log.warning(
                    "More than %d event reports wait for %s; the oldest is dropped", self.backlog, self.peer.aet
                )
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def join(self, timeout: float) -> None:
        self._thread.join(max(0.0, timeout))

    def _run(self) -> None:
        delay = RETRY_FIRST
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return
                batch = list(self._pending)
                self._pending.clear()
                last_try = self._stopping
            sent = self._send(batch)
            if sent == len(batch):
                delay = RETRY_FIRST
                continue
            with self._cond:
                # Unsent ones go back in front of what arrived meanwhile; the backlog bound keeps the newest.
                self._pending.extendleft(reversed(batch[sent:]))
                while len(self._pending) > self.backlog:
                    self._pending.popleft()
                if last_try or self._stopping:
                    log.warning("Stopping with %d event reports for %s unsent", len(self._pending), self.peer.aet)
                    return
                log.warning(
                    "%d event reports wait for %s at %s:%d; next try in %.1f s",
                    len(self._pending),
                    self.peer.aet,
                    self.peer.host,
                    self.peer.port,
                    delay,
                )
                deadline = time.monotonic() + delay
                while not self._stopping and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
            delay = min(delay * 2, RETRY_MAX)

    def _send(self, batch: list[str]) -> int:
        """Send `batch` in order on one association; how many the peer took (or refused for good)."""
        ae = AE(self.calling_ae)
        ae.connection_timeout = ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
        ae.add_requested_context(UnifiedProcedureStepEvent)
        peer = self.peer
        try:
            assoc = ae.associate(
                peer.host, peer.port, ae_title=peer.aet, ext_neg=[build_role(UnifiedProcedureStepEvent, scp_role=True)]
            )
        except Exception as exc:  # noqa: BLE001 -- a bad host name, say: pynetdicom lets socket errors through
            log.warning(
                "Cannot open an association to event subscriber %s at %s:%d: %s", peer.aet, peer.host, peer.port, exc
            )
            return 0
        if not assoc.is_established:
            why = "rejected the association" if assoc.is_rejected else "cannot be reached"
            log.warning("Event subscriber %s at %s:%d %s", peer.aet, peer.host, peer.port, why)
            return 0
        sent = 0
        try:
            for text in batch:
                try:
                    report = report_of(text)
                    information = wire(report.information)
                except Exception:
                    log.exception("An event report for %s cannot be encoded; it is skipped", peer.aet)
                    sent += 1
                    continue
                # Affected SOP Class is UPS Push whatever was negotiated (CC.3.1.1); pynetdicom picks the
                # UPS Event context through meta_uid.
                status, _ = assoc.send_n_event_report(
                    information,
                    report.event_type,
                    UnifiedProcedureStepPush,
                    report.instance_uid,
                    msg_id=report.message_id,
                    meta_uid=UnifiedProcedureStepEvent,
                )
                if not status:
                    log.warning("Event subscriber %s did not answer an N-EVENT-REPORT", peer.aet)
                    break
                if status.Status != Status.SUCCESS:
                    log.warning(
                        "Event subscriber %s answered N-EVENT-REPORT %d for %s with status %04X; not sent again",
                        peer.aet,
                        report.event_type,
                        report.instance_uid,
                        status.Status,
                    )
                else:
                    log.debug("N-EVENT-REPORT %d for %s sent to %s", report.event_type, report.instance_uid, peer.aet)
                sent += 1
        finally:
            if assoc.is_established:
                assoc.release()
        return sent


class DimseNotifier:
    """Sends the event reports of the AEs in `peers` as N-EVENT-REPORTs, from background threads."""

    def __init__(self, peers: Iterable[EventPeer], calling_ae: str, backlog: int = 1000) -> None:
        self._links = {peer.aet: _Link(peer, calling_ae, backlog) for peer in peers}

    @property
    def aets(self) -> frozenset[str]:
        return frozenset(self._links)

    def deliver(self, aet: str, text: str) -> None:
        """The EventHub's delivery function: queue and return at once."""
        link = self._links.get(aet)
        if link is not None:
            link.push(text)

    def stop(self, timeout: float = 3.0) -> None:
        """Send what is queued (GOING DOWN, typically) within `timeout`, then stop."""
        deadline = time.monotonic() + timeout
        for link in self._links.values():
            link.stop()
        for link in self._links.values():
            link.join(deadline - time.monotonic())
