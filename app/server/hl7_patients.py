"""The HL7 door's patient messages (ADT) applied to the worklist: new demographics on the
patient's open workitems, and merges that move every workitem of the prior patient.

Each message is one service transaction: a merge moves every workitem or none.
"""

from __future__ import annotations

import logging

import hl7

from app.domain.hl7_outcome import Outcome
from app.domain.hl7_patients import Change, PatientAction, read_adt
from app.domain.status import UPSError

from .service import UPSService

log = logging.getLogger(__name__)


def handle_adt(message: hl7.Message, service: UPSService) -> Outcome:
    """What an ADT^A08/A31/A40/A34/A47 does to the worklist, as the door acknowledges it."""
    action = read_adt(message)
    if isinstance(action, Outcome):
        return action
    try:
        return _apply(action, service)
    except UPSError as exc:
        log.warning("ADT^%s not applied: %s", action.event, exc.message)
        return Outcome.refused(f"The worklist could not apply ADT^{action.event}: {exc.message}", error_code=207)
    except service.store.errors:
        # nothing of the message was applied (one transaction): AR, which the door neither keeps nor
        # commits, so the resend the RIS makes is done afresh (an AE would be answered for ever)
        log.exception("ADT^%s not applied: the worklist database failed", action.event)
        return Outcome.rejected(
            f"The worklist could not store ADT^{action.event} just now; nothing was changed: send it again.",
            None,
            207,
        )


def _apply(action: PatientAction, service: UPSService) -> Outcome:
    patient = action.patient
    with service.transaction() as work:
        if action.change is Change.UPDATE:
            changed = work.update_patient(patient, action.charset)
        else:
            changed = [uid for prior in action.priors for uid in work.merge_patient(prior, patient, action.charset)]
    if action.change is Change.UPDATE:
        text = f"Updated {_count(changed)} not yet final of patient {patient.patient}."
    elif changed:
        text = f"Moved {_count(changed)} to patient {patient.patient}."
    else:
        # a RIS merges patients who have no orders here: that is done, with nothing to move
        priors = ", ".join(str(prior) for prior in action.priors)
        text = f"No workitem of patient {priors}: nothing was moved; the merge into {patient.patient} is recorded."
    return Outcome.done(*changed, text=text)


def _count(uids: list[str]) -> str:
    return "1 workitem" if len(uids) == 1 else f"{len(uids)} workitems"
