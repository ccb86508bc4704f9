"""The gateway's look at the RIS's worklist (WG27 diagram 23): an MWL SCP sends no events, so the
gateway asks it for the whole worklist every POLL seconds and tells subscribers what appeared,
changed state or disappeared since the last look."""

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
    from .dimse_state import GatewayState
    from .dimse_subscriptions import Subscribers

log = logging.getLogger(__name__)

# A final step stays known this long, so that an MWL SCP that keeps listing it as SCHEDULED
# does not offer a finished procedure again.
KEEP_FINAL_SECONDS = 30 * 86400.0


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
        _baseline: dict[str, JsonDataset] | None
        _failing: bool

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
                self.state.forget_steps(self.clock() - KEEP_FINAL_SECONDS, ("COMPLETED", "CANCELED"))
                self.poll()
            except Exception:  # the next poll tries again; a gateway must not stop reporting
                log.exception("Polling %s failed", self.upstream)

    def poll(self) -> None:
        """One look at the whole worklist: what appeared, changed state or disappeared since the
        last look is reported to the subscribers it reaches."""
        if not self.subscribers.any():
            self._baseline = None
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
        held = {step.uid: step for step in self.state.steps()}
        now = {uid: (held[uid].dataset if uid in held else view) for uid, _, view in answers}
        before, self._baseline = self._baseline, dict(now)
        if before is None:
            return
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
