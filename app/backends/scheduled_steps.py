"""What an MWL + MPPS backend remembers of the worklist it read, whatever carries it (DIMSE or
DICOMweb Supplement 246): each MWL item under the stable UID of its workitem view, the procedures
created here (their MPPS takes the unscheduled form), and what this console's own MPPS made of a
step — many MWL servers never update the Scheduled Procedure Step Status."""

from __future__ import annotations

import logging

from app.domain import mpps_build
from app.domain import tags as t
from app.domain.build import NewWorkitem
from app.domain.dicomjson import JsonDataset
from app.domain.mapping import SPS_ID, mwl_to_ups, unknown_sps_status, ups_to_mwl
from app.domain.workitem import Workitem

from .errors import Refused

log = logging.getLogger(__name__)


class ScheduledSteps:
    def __init__(self, server: str) -> None:
        self.server = server  # how the log names the worklist server
        self._items: dict[str, JsonDataset] = {}  # UPS-view UID -> the MWL item it came from
        self._unscheduled: set[str] = set()
        self._states: dict[str, str] = {}
        self._unknown_told: set[tuple[str, str]] = set()  # (UID, status) already logged: polling repeats them

    def read(self, mwl: JsonDataset) -> Workitem:
        """The workitem an MWL answer shows; the item is kept for the MPPS that may start it."""
        workitem = self.view(mwl)
        self._items[workitem.uid] = mwl
        return workitem

    def view(self, mwl: JsonDataset) -> Workitem:
        ups = mwl_to_ups(mwl)
        uid = ups[t.SOP_INSTANCE_UID]["Value"][0]
        unknown = unknown_sps_status(ups)
        if unknown and (uid, unknown) not in self._unknown_told:
            self._unknown_told.add((uid, unknown))
            log.warning(
                "The worklist server %s sent the Scheduled Procedure Step Status %r, which is not a known term: "
                "step %s (accession %s) is shown as in progress and not offered for starting",
                self.server,
                unknown,
                mpps_build.text(mpps_build.scheduled_step(mwl), SPS_ID),
                mpps_build.text(mwl, t.ACCESSION_NUMBER),
            )
        state = self._states.get(uid)
        if state and ups[t.PROCEDURE_STEP_STATE]["Value"] == ["SCHEDULED"] or state in ("COMPLETED", "CANCELED"):
            ups[t.PROCEDURE_STEP_STATE] = {"vr": "CS", "Value": [state]}
        return Workitem(ups)

    def retrieve(self, uid: str) -> Workitem:
        mwl = self._items.get(uid)
        if mwl is None:
            raise Refused("This procedure is no longer on the worklist.")
        return self.view(mwl)

    def item(self, uid: str) -> JsonDataset | None:
        return self._items.get(uid)

    def unscheduled(self, uid: str) -> bool:
        return uid in self._unscheduled

    def record(self, workitem: Workitem) -> dict:
        """What a claim keeps across a restart: the MWL item as the server sent it."""
        mwl = self._items.get(workitem.uid)
        return {"mwl": mwl, "unscheduled": workitem.uid in self._unscheduled} if mwl is not None else {}

    def restore(self, uid: str, record: dict | None) -> None:
        """A claim kept across a restart, before any search listed its item again."""
        if uid not in self._items and record and record.get("mwl"):
            self._items[uid] = record["mwl"]
            if record.get("unscheduled"):
                self._unscheduled.add(uid)

    def create(self, item: NewWorkitem) -> Workitem:
        """An unscheduled procedure: known only here until its MPPS reports it."""
        self._items[item.uid] = ups_to_mwl(item.to_json())
        self._unscheduled.add(item.uid)
        return Workitem(item.to_json())

    def mark(self, uid: str, state: str) -> None:
        """What this console's own MPPS made of the step (a UPS state)."""
        self._states[uid] = state

    def forget(self, uid: str) -> None:
        """The step is the RIS's again (put back): shown as the worklist gives it."""
        self._states.pop(uid, None)
