"""The gateway's look at the RIS's worklist (WG27 diagram 23): an MWL SCP sends no events, so the
gateway asks it for the whole worklist every POLL seconds and tells subscribers what appeared,
changed state or disappeared since the last look.

Of several gateway nodes on one PostgreSQL database, one polls: the node holding the duty's
advisory lock (`POLLING`), taken over by another when it dies. The last look (the baseline) is
kept in the database, as the subscribers were told it, so the node taking over reports what
changed since its predecessor's last look: nothing twice, nothing missed."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from app.domain import tags as t
from app.domain.dicomjson import JsonDataset, first_value
from app.domain.requirements import complete_cancellation
from app.domain.states import State
from app.domain.transitions import created_events
from app.domain.worklist_query import WorklistQuery
from app.server.service_api import UpstreamError

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.backends.profiles import Profile
    from app.domain.transitions import Event

    from .dimse_pool import AssociationPool
    from .dimse_state import GatewayState, Step
    from .dimse_subscriptions import Subscribers

log = logging.getLogger(__name__)

# A final step stays known this long, so that an MWL SCP that keeps listing it as SCHEDULED
# does not offer a finished procedure again.
KEEP_FINAL_SECONDS = 30 * 86400.0

# the duty of one node among several on one database (pg_store.PgStore.holds)
POLLING = "gateway polling"


class WorklistPolling:
    """The polling half of `DimseUpstream`, which it is a base of."""

    if TYPE_CHECKING:  # what it uses of DimseUpstream
        profile: Profile
        upstream: str
        state: GatewayState
        subscribers: Subscribers
        associations: AssociationPool
        clock: Callable[[], float]
        _stop: threading.Event
        _failing: bool
        _polls: threading.Lock
        _polling_here: bool

        def _find(self, query: WorklistQuery) -> list[tuple[str, JsonDataset, JsonDataset]]: ...
        def _tell(
            self, uid: str, events: list[Event], dataset: JsonDataset, before: JsonDataset | None = None
        ) -> None: ...
        def now_dt(self) -> str: ...

    def _wake(self) -> None:
        """Take the first look now, so that changes from here on are reported."""
        threading.Thread(target=self.poll, name="dimse-gateway first poll", daemon=True).start()

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.profile.poll_seconds):
            try:
                self.associations.reap()
                if not self._on_duty():
                    continue
                self.state.forget_steps(self.clock() - KEEP_FINAL_SECONDS, ("COMPLETED", "CANCELED"))
                self.poll()
            except Exception:  # the next poll tries again; a gateway must not stop reporting
                log.exception("Polling %s failed", self.upstream)

    def _on_duty(self) -> bool:
        """Whether this node polls the RIS (of several nodes on one database, one does)."""
        here = self.state.holds(POLLING)
        if here != self._polling_here and self.state.shared:
            if here:
                log.info("This node polls %s for events now", self.upstream)
            else:
                log.info("Another node polls %s for events", self.upstream)
        self._polling_here = here
        return here

    def poll(self) -> None:
        """One look at the whole worklist: what appeared, changed state or disappeared since the
        last look is reported to the subscribers it reaches."""
        if not self._on_duty():
            return
        with self._polls:  # the first look, woken by a subscriber, and the loop's
            self._poll()

    def _poll(self) -> None:
        if not self.subscribers.any():
            if self.state.polled():
                self.state.drop_baseline()
            return
        try:
            answers = self._find(WorklistQuery(states=()))
        except UpstreamError as exc:
            if not self._failing:
                log.warning("Events from %s wait until it answers again: %s", self.upstream, exc.message)
            self._failing = True
            return
        if self._failing:
            log.info("%s answers again: its changes are reported", self.upstream)
        self._failing = False
        # on PostgreSQL one transaction: the baseline's rows stay locked until the events are in
        # the log, and a claim on another node that changes one of them waits for it (dimse_state.py)
        with self.state.transaction():
            before = self.state.baseline()
            held = {step.uid: step for step in self.state.steps()}
            now = {uid: (held[uid].dataset if uid in held else view) for uid, _, view in answers}
            self.state.put_baseline(now, before, self.clock())
            if before is not None:
                self._report(before, now, held)

    def _report(self, before: dict[str, JsonDataset], now: dict[str, JsonDataset], held: dict[str, Step]) -> None:
        for uid, dataset in now.items():
            old = before.get(uid)
            if old is None:
                self._tell(uid, created_events(dataset), dataset)
            elif first_value(old, t.PROCEDURE_STEP_STATE) != first_value(dataset, t.PROCEDURE_STEP_STATE):
                self.subscribers.report_state(uid, dataset, old)
        for uid, old in before.items():
            if uid in now or uid in held:
                continue
            # the RIS no longer lists a step nobody claimed here: for its subscribers it is gone
            gone = complete_cancellation(old, self.now_dt(), _removed_reason(self.upstream))
            gone[t.PROCEDURE_STEP_STATE] = {"vr": "CS", "Value": [State.CANCELED.value]}
            self.subscribers.report_state(uid, gone, old)


def _removed_reason(upstream: str) -> JsonDataset:
    return {t.REASON_FOR_CANCELLATION: {"vr": "LT", "Value": [f"No longer on the worklist of {upstream}."]}}
