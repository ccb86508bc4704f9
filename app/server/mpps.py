"""MPPS (PS3.4 F.7) mapped onto the UPS service: what the MPPS fronts' create and set do.

N-CREATE IN PROGRESS claims the UPS the MPPS names (the server keeps the Transaction UID
for it), or creates one for an unscheduled procedure; N-SET carries performed data into
the UPS Performed Procedure Sequence; COMPLETED completes the UPS, DISCONTINUED cancels it
with the reason. UPS-RS subscribers see every step as the usual events. Each request is one
service transaction: it happens whole or not at all, so a failure half-way never leaves a
workitem claimed without its MPPS.
"""

from __future__ import annotations

import json
import logging

from pydicom.uid import generate_uid

from app.domain import mpps_rules as rules
from app.domain import tags as t
from app.domain.access import Act
from app.domain.dicomjson import JsonDataset, first_value, items, text_value
from app.domain.mapping import (
    PPS_DISCONTINUATION_REASON,
    mpps_performed,
    mpps_unscheduled_ups,
)
from app.domain.replacement import gives_wrong_entry, replaced_reference
from app.domain.search import parse_search
from app.domain.status import Status, UPSError

from .guard import PERFORMED_STATION_AE, authorize, mpps_refusal
from .service import MppsRecord, Transaction, UPSService
from .service_api import MppsOutcome

log = logging.getLogger(__name__)


class _Refused(Exception):
    """Ends an MPPS transaction with this answer, rolling back whatever it had done."""

    def __init__(self, outcome: MppsOutcome) -> None:
        super().__init__(outcome.comment)
        self.outcome = outcome


class MppsService:
    """The MPPS service over the local UPS service (a `PerformedStepService`)."""

    def __init__(self, ups: UPSService) -> None:
        self.ups = ups

    # -- N-CREATE, N-SET, N-GET ----------------------------------------------------------------
    def create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome:
        refused = rules.creation_refusal(attributes)
        if refused is not None:
            return MppsOutcome.refused(refused)
        transaction = generate_uid()
        try:
            with self.ups.transaction() as work:
                if work.mpps(uid) is not None:
                    raise _Refused(MppsOutcome.refused(rules.DUPLICATE))
                ups_uid = scheduled_ups(work, attributes)
                if ups_uid is None:
                    unscheduled = mpps_unscheduled_ups(attributes, generate_uid(), self.ups.now_dt())
                    ups_uid = work.create(unscheduled).uid
                self._claim(work, ups_uid, transaction, calling_ae)
                work.update(ups_uid, transaction, mpps_performed(attributes, _scheduled_codes(work, ups_uid)))
                work.save_mpps(MppsRecord(uid, ups_uid, transaction, "IN PROGRESS", attributes))
        except _Refused as refusal:
            log.info("MPPS N-CREATE %s refused: %s", uid, refusal.outcome.comment)
            return refusal.outcome
        except UPSError as exc:
            log.info("MPPS N-CREATE %s refused: %s", uid, exc.message)
            return MppsOutcome(_mpps_status(exc), exc.message, short=exc.comment)
        return MppsOutcome(Status.SUCCESS)

    def set(self, uid: str, changes: JsonDataset) -> MppsOutcome:
        try:
            with self.ups.transaction() as work:
                record = work.mpps(uid)
                if record is None:
                    raise _Refused(MppsOutcome.refused(rules.UNKNOWN))
                refused_here = mpps_refusal(Act.PERFORMED_STEP, performer=_performer(work, record))
                if refused_here is not None:
                    raise _Refused(refused_here)
                merged, status = rules.status_after(record.dataset, changes)
                refused = rules.update_refusal(record.status, changes, merged)
                if refused is not None:
                    raise _Refused(MppsOutcome.refused(refused))
                self._carry(work, record, merged, status)
                work.save_mpps(MppsRecord(uid, record.ups_uid, record.transaction_uid, status, merged))
        except _Refused as refusal:
            log.info("MPPS N-SET %s refused: %s", uid, refusal.outcome.comment)
            return refusal.outcome
        except UPSError as exc:
            log.info("MPPS N-SET %s refused: %s", uid, exc.message)
            return MppsOutcome(_mpps_status(exc), exc.message, gone=exc.gone, short=exc.comment)
        return MppsOutcome(Status.SUCCESS)

    def get(self, uid: str) -> JsonDataset | None:
        """The MPPS, to the station that performs it (and a ris or admin); NotAuthorized to others."""
        with self.ups.transaction() as work:
            record = work.mpps(uid)
            if record is not None:
                authorize(Act.PERFORMED_STEP, performer=_performer(work, record))
        return record.dataset if record else None

    # -- the UPS side ------------------------------------------------------------------------
    @staticmethod
    def _claim(work: Transaction, ups_uid: str, transaction: str, calling_ae: str) -> None:
        state = first_value(work.dataset(ups_uid), t.PROCEDURE_STEP_STATE)
        if state != "SCHEDULED":
            raise _Refused(
                MppsOutcome(
                    Status.PROCESSING_FAILURE,
                    f"The scheduled step is already {str(state).lower()}; it cannot be started again.",
                )
            )
        work.change_state(ups_uid, "IN PROGRESS", transaction, calling_ae)

    @staticmethod
    def _carry(work: Transaction, record: MppsRecord, merged: JsonDataset, status: str) -> None:
        ups_uid, transaction = record.ups_uid, record.transaction_uid
        work.update(ups_uid, transaction, mpps_performed(merged, _scheduled_codes(work, ups_uid)))
        if status == "COMPLETED":
            work.change_state(ups_uid, "COMPLETED", transaction)
        elif status == "DISCONTINUED":
            reason = merged.get(PPS_DISCONTINUATION_REASON)
            item = {t.DISCONTINUATION_REASON_CODE_SEQ: reason} if reason and reason.get("Value") else {}
            work.update(ups_uid, transaction, {t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [item]}})
            work.change_state(ups_uid, "CANCELED", transaction)
            if gives_wrong_entry(items(merged, PPS_DISCONTINUATION_REASON)):
                # The modality picked the wrong entry: a RIS keeps such an order scheduled. The UPS
                # cannot go back to SCHEDULED (CC.1.1), so the order returns as a replacement, as
                # a UPS-RS performer puts it back; its scheduled data is copied from the canceled one.
                replacement = {
                    t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": ["SCHEDULED"]},
                    **replaced_reference(ups_uid),
                }
                work.create(replacement, generate_uid())


def scheduled_ups(work: Transaction, mpps: JsonDataset) -> str | None:
    """The UPS an MPPS names through its Scheduled Step Attributes Sequence, if any."""

    def search(params: list[tuple[str, str]]) -> list[JsonDataset]:
        return [json.loads(text) for text in work.search_all(parse_search(params, work.service.local))]

    found = rules.scheduled_step(mpps, search, work.survivor_of)
    return str(first_value(found, t.SOP_INSTANCE_UID)) if found is not None else None


def _performer(work: Transaction, record: MppsRecord) -> str | None:
    """The station performing an MPPS: the one that claimed its workitem (kept with the workitem),
    else the Performed Station AE Title it was created with."""
    row = work.service.store.get(work.db, record.ups_uid)
    performer = row.performer_ae if row is not None else None
    return performer or text_value(record.dataset, PERFORMED_STATION_AE) or None


def _mpps_status(exc: UPSError) -> int:
    """A refusal of the access rule stays one (0124); any other failure of the workitem is a processing failure."""
    return Status.NOT_AUTHORIZED if exc.status == Status.NOT_AUTHORIZED else Status.PROCESSING_FAILURE


def _scheduled_codes(work: Transaction, ups_uid: str) -> list[JsonDataset]:
    return items(work.dataset(ups_uid), t.SCHEDULED_WORKITEM_CODE_SEQ)
