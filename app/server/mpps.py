"""MPPS (PS3.4 F.7) mapped onto the UPS service: the DIMSE front's N-CREATE and N-SET.

N-CREATE IN PROGRESS claims the UPS the MPPS names (the server keeps the Transaction UID
for it), or creates one for an unscheduled procedure; N-SET carries performed data into
the UPS Performed Procedure Sequence; COMPLETED completes the UPS, DISCONTINUED cancels it
with the reason. UPS-RS subscribers see every step as the usual events.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from pydicom.uid import generate_uid

from app.domain import tags as t
from app.domain.dicomjson import JsonDataset
from app.domain.mapping import (
    MPPS_STATUS,
    PPS_DISCONTINUATION_REASON,
    SCHEDULED_STEP_ATTRIBUTES_SEQ,
    SPS_ID,
    mpps_performed,
    mpps_unscheduled_ups,
    sps_id,
)
from app.domain.search import parse_search
from app.domain.status import UPSError

from .service import UPSService

log = logging.getLogger(__name__)

SUCCESS = 0x0000
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_INSTANCE = 0x0111
NO_SUCH_INSTANCE = 0x0112
NO_LONGER_UPDATABLE = "Performed Procedure Step Object may no longer be updated"


@dataclass(frozen=True)
class Outcome:
    status: int
    comment: str = ""
    error_id: int | None = None


def _first(ds: JsonDataset, tag: str) -> object:
    values = (ds.get(tag) or {}).get("Value") or []
    return values[0] if values else None


class MppsService:
    def __init__(self, ups: UPSService) -> None:
        self.ups = ups
        self.store = ups.store

    # -- records -----------------------------------------------------------------------------------
    def _record(self, uid: str) -> tuple[str, str, str, JsonDataset] | None:
        with self.store.read() as db:
            r = db.execute(
                "SELECT ups_uid, transaction_uid, status, dataset FROM mpps WHERE uid = ?", (uid,)
            ).fetchone()
        return (r[0], r[1], r[2], json.loads(r[3])) if r else None

    def _save(self, uid: str, ups_uid: str, transaction: str, status: str, dataset: JsonDataset) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO mpps VALUES (?, ?, ?, ?, ?)",
                (uid, ups_uid, transaction, status, json.dumps(dataset, ensure_ascii=False)),
            )

    # -- finding the scheduled step -------------------------------------------------------------
    def scheduled_ups(self, mpps: JsonDataset) -> str | None:
        """The UPS an MPPS names through its Scheduled Step Attributes Sequence, if any."""
        for step in _first_items(mpps, SCHEDULED_STEP_ATTRIBUTES_SEQ):
            study = str(_first(step, t.STUDY_INSTANCE_UID) or "")
            step_id = str(_first(step, SPS_ID) or "")
            accession = str(_first(step, t.ACCESSION_NUMBER) or "")
            if not study:
                continue
            candidates = [json.loads(x) for x in self.ups.search_all(parse_search([("StudyInstanceUID", study)]))]
            for ups in candidates:
                uid = str(_first(ups, t.SOP_INSTANCE_UID))
                if step_id and sps_id(uid) == step_id:
                    return uid
            for ups in candidates:
                request = (_first_items(ups, t.REFERENCED_REQUEST_SEQ) or [{}])[0]
                if not step_id and (not accession or _first(request, t.ACCESSION_NUMBER) == accession):
                    return str(_first(ups, t.SOP_INSTANCE_UID))
        return None

    # -- N-CREATE, N-SET -------------------------------------------------------------------------------
    def create(self, uid: str, attrs: JsonDataset, calling_ae: str) -> Outcome:
        if self._record(uid) is not None:
            return Outcome(DUPLICATE_INSTANCE, "An MPPS with this SOP Instance UID already exists.")
        if _first(attrs, MPPS_STATUS) != "IN PROGRESS":
            return Outcome(INVALID_ATTRIBUTE_VALUE, "Performed Procedure Step Status must be IN PROGRESS at creation.")
        transaction = generate_uid()
        try:
            ups_uid = self.scheduled_ups(attrs)
            if ups_uid is None:
                ups_uid = self.ups.create(mpps_unscheduled_ups(attrs, generate_uid(), self.ups.now_dt())).uid
            self.ups.change_state(ups_uid, "IN PROGRESS", transaction, calling_ae)
            self.ups.update(ups_uid, transaction, mpps_performed(attrs, self._scheduled_codes(ups_uid)))
        except UPSError as exc:
            log.info("MPPS N-CREATE %s refused: %s", uid, exc.message)
            return Outcome(PROCESSING_FAILURE, exc.message[:64])
        self._save(uid, ups_uid, transaction, "IN PROGRESS", attrs)
        return Outcome(SUCCESS)

    def set(self, uid: str, changes: JsonDataset) -> Outcome:
        record = self._record(uid)
        if record is None:
            return Outcome(NO_SUCH_INSTANCE, "There is no MPPS with this SOP Instance UID.")
        ups_uid, transaction, status, stored = record
        if status != "IN PROGRESS":
            return Outcome(PROCESSING_FAILURE, NO_LONGER_UPDATABLE, 0xA710)
        merged = {**stored, **changes}
        new_status = str(_first(merged, MPPS_STATUS) or "IN PROGRESS")
        try:
            self.ups.update(ups_uid, transaction, mpps_performed(merged, self._scheduled_codes(ups_uid)))
            if new_status == "COMPLETED":
                self.ups.change_state(ups_uid, "COMPLETED", transaction)
            elif new_status == "DISCONTINUED":
                reason = merged.get(PPS_DISCONTINUATION_REASON)
                item = {t.DISCONTINUATION_REASON_CODE_SEQ: reason} if reason and reason.get("Value") else {}
                self.ups.update(ups_uid, transaction, {t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [item]}})
                self.ups.change_state(ups_uid, "CANCELED", transaction)
        except UPSError as exc:
            log.info("MPPS N-SET %s refused: %s", uid, exc.message)
            return Outcome(PROCESSING_FAILURE, exc.message[:64])
        self._save(uid, ups_uid, transaction, new_status, merged)
        return Outcome(SUCCESS)

    def _scheduled_codes(self, ups_uid: str) -> list[JsonDataset]:
        return _first_items(json.loads(self.ups.retrieve(ups_uid)), t.SCHEDULED_WORKITEM_CODE_SEQ)


def _first_items(ds: JsonDataset, tag: str) -> list[JsonDataset]:
    return [v for v in (ds.get(tag) or {}).get("Value") or [] if isinstance(v, dict)]
