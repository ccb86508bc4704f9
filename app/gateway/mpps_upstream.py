"""MPPS (PS3.4 F.7) from a DIMSE modality carried to an upstream UPS-RS server: what the
gateway's MPPS fronts (DIMSE, Sup 246) do with N-CREATE and N-SET.

N-CREATE finds the workitem the MPPS names upstream (Study Instance UID with the Scheduled
Procedure Step ID or Accession Number, else the Accession Number, else the patient with the
step ID) — or creates one for an unscheduled procedure — claims it with a Transaction UID the
gateway keeps, and updates it with the performed data. The workitem's scheduled codes (what the
performed data names) are kept from the search or creation that found it, so neither message
reads the workitem again. N-SET updates it — not when it changes nothing the workitem shows —; COMPLETED also
completes it, DISCONTINUED cancels it with the reason. The gateway's record changes only after
the upstream accepted: when the upstream fails half-way the modality is told so (0110 with
an Error Comment naming the upstream) and may send the same request again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from pydicom.uid import generate_uid

from app.domain import mpps_rules as rules
from app.domain import tags as t
from app.domain.dicomjson import JsonDataset, first_value, items
from app.domain.mapping import (
    PPS_DISCONTINUATION_REASON,
    mpps_performed,
    mpps_unscheduled_ups,
)
from app.domain.replacement import gives_wrong_entry
from app.domain.search import parse_search
from app.domain.status import Status, UPSError, fitting
from app.server.service_api import MppsOutcome, UpstreamError

from .records import MppsLink, MppsLinks

if TYPE_CHECKING:
    from app.server.store import Store

    from .ups_upstream import UpsRsUpstream

log = logging.getLogger(__name__)

FINAL_STATES = ("COMPLETED", "DISCONTINUED")
CLAIMED = "CLAIMED"  # the upstream accepted the claim, not yet the performed data: the N-CREATE may be sent again
# the claim was sent and its answer lost (a timeout, a dropped connection): whether it happened is
# found out upstream when the modality sends the N-CREATE again
CLAIMING = "CLAIMING"


def _refusal(exc: UPSError, upstream: UpsRsUpstream) -> MppsOutcome:
    """The modality's answer: an Error Comment is 64 characters, so an upstream that failed is
    named in a short sentence (the whole one goes to the log and over HTTP); a refusal keeps the
    upstream's reason."""
    if isinstance(exc, UpstreamError) and exc.http_status >= 500:
        what = "did not answer" if exc.http_status == 504 else "is unreachable"
        short = fitting(f"Upstream {upstream.host} {what}; nothing changed.", f"The upstream {what}; nothing changed.")
        whole = f"{exc.message[:1].upper()}{exc.message[1:]} Nothing changed."
        return MppsOutcome(Status.PROCESSING_FAILURE, whole, http_status=exc.http_status, short=short)
    return MppsOutcome(Status.PROCESSING_FAILURE, exc.message, gone=exc.gone, short=exc.comment)


class UpstreamMpps:
    """A `PerformedStepService` over an upstream UPS-RS server."""

    def __init__(self, upstream: UpsRsUpstream, links: MppsLinks) -> None:
        self.upstream = upstream
        self.links = links

    @property
    def database(self) -> Store | None:
        """The PostgreSQL database the gateway's nodes share (None with an SQLite file)."""
        return self.links.store

    # -- N-CREATE ------------------------------------------------------------------------------
    def create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome:
        refused = rules.creation_refusal(attributes)
        if refused is not None:
            return MppsOutcome.refused(refused)
        # one N-CREATE of an MPPS at a time, through any gateway node: a second one sent meanwhile
        # (the modality's retry, or the same MPPS given to two nodes) finds the first one's outcome
        with self.links.exclusive(uid):
            return self._create(uid, attributes, calling_ae)

    def _create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome:
        link = self.links.get(uid)
        if link is not None and link.status not in (CLAIMED, CLAIMING):
            return MppsOutcome.refused(rules.DUPLICATE)
        try:
            if link is None:
                link = self._claim(uid, attributes, calling_ae)
            elif link.status == CLAIMING:
                link = self._settle(link)
            codes = self._codes(link)
            self.upstream.update(link.ups_uid, link.transaction_uid, mpps_performed(attributes, codes))
        except _Refused as refusal:
            log.info("MPPS N-CREATE %s refused: %s", uid, refusal.outcome.comment)
            return refusal.outcome
        except UPSError as exc:
            log.info("MPPS N-CREATE %s not done upstream: %s", uid, exc.message)
            return _refusal(exc, self.upstream)
        self.links.save(MppsLink(uid, link.ups_uid, link.transaction_uid, "IN PROGRESS", attributes, calling_ae, codes))
        return MppsOutcome(Status.SUCCESS)

    def workitem_for(self, attributes: JsonDataset) -> JsonDataset | None:
        """The upstream workitem an N-CREATE would claim, for the access rule (app/server/guard.py);
        None for an unscheduled procedure."""
        return self._scheduled(attributes)

    def _codes(self, link: MppsLink) -> list[JsonDataset]:
        """The workitem's scheduled codes: kept when it was found, else (a record of an earlier
        gateway) read upstream."""
        if link.codes is not None:
            return link.codes
        return items(json.loads(self.upstream.retrieve(link.ups_uid)), t.SCHEDULED_WORKITEM_CODE_SEQ)

    def _claim(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsLink:
        found = self._scheduled(attributes)
        if found is None:
            found = mpps_unscheduled_ups(attributes, generate_uid(), self.upstream.now_dt())
            ups_uid = self.upstream.create(found).uid
        else:
            ups_uid = str(first_value(found, t.SOP_INSTANCE_UID))
        # a workitem without the sequence at all was not given whole: its codes are read when needed
        codes = items(found, t.SCHEDULED_WORKITEM_CODE_SEQ) if t.SCHEDULED_WORKITEM_CODE_SEQ in found else None
        # kept before it is sent: should the answer be lost, the retried N-CREATE finds out upstream;
        # and kept only if no other N-CREATE of this MPPS (through another gateway node) was first
        link = MppsLink(uid, ups_uid, generate_uid(), CLAIMING, attributes, calling_ae, codes)
        if not self.links.add(link):
            raise _Refused(MppsOutcome.refused(rules.DUPLICATE))
        return self._send_claim(link)

    def _send_claim(self, link: MppsLink) -> MppsLink:
        self.links.save(link)
        try:
            self.upstream.change_state(link.ups_uid, "IN PROGRESS", link.transaction_uid, link.calling_ae)
        except UpstreamError as exc:
            if exc.http_status in (400, 409):  # the upstream's word for "not SCHEDULED any more"
                self.links.delete(link.uid)
                raise self._taken(link.ups_uid, exc.message) from None
            raise  # unknown whether it happened: the CLAIMING record stays for the retry
        claimed = replace(link, status=CLAIMED)
        self.links.save(claimed)
        return claimed

    def _settle(self, link: MppsLink) -> MppsLink:
        """A claim whose answer was lost: SCHEDULED upstream, it did not happen and is sent again
        (same Transaction UID); IN PROGRESS under the Transaction UID the gateway sent (an empty
        Update succeeds for the claim's holder only), and held by no other MPPS of ours, it did."""
        state = self._state(link.ups_uid, strict=True)
        if state == "SCHEDULED":
            return self._send_claim(link)
        backend, ups_uid, transaction = self.upstream.backend, link.ups_uid, link.transaction_uid
        held_by_another = any(o.status != CLAIMING for o in self.links.others_on(ups_uid, link.uid))
        if (
            state == "IN PROGRESS"
            and not held_by_another
            and self.upstream.call(f"is {ups_uid} ours", lambda: backend.owns(ups_uid, transaction))
        ):
            log.info("MPPS %s: the claim of %s whose answer was lost had been made; adopted", link.uid, ups_uid)
            claimed = replace(link, status=CLAIMED)
            self.links.save(claimed)
            return claimed
        self.links.delete(link.uid)
        raise self._taken(ups_uid, f"The scheduled step is {state.lower()} upstream.")

    def _taken(self, ups_uid: str, otherwise: str) -> _Refused:
        state = self._state(ups_uid)
        if not state:
            return _Refused(MppsOutcome(Status.PROCESSING_FAILURE, otherwise))
        return _Refused(
            MppsOutcome(
                Status.PROCESSING_FAILURE,
                f"The scheduled step is already {state.lower()}; it cannot be started again.",
                short=f"The step is already {state.lower()}; it cannot start again.",
            )
        )

    def _state(self, ups_uid: str, strict: bool = False) -> str:
        """The workitem's state upstream; "" when it cannot be read (UPSError instead when strict)."""
        try:
            return str(first_value(json.loads(self.upstream.retrieve(ups_uid)), t.PROCEDURE_STEP_STATE) or "")
        except UPSError:
            if strict:
                raise
            return ""

    def _scheduled(self, mpps: JsonDataset) -> JsonDataset | None:
        """The upstream workitem the MPPS names through its Scheduled Step Attributes Sequence."""

        def search(params: list[tuple[str, str]]) -> list[JsonDataset]:
            return [json.loads(text) for text in self.upstream.search_all(parse_search(params))]

        return rules.scheduled_step(mpps, search)

    # -- N-SET ---------------------------------------------------------------------------------
    def set(self, uid: str, changes: JsonDataset) -> MppsOutcome:
        with self.links.exclusive(uid):  # one change of an MPPS at a time, through any gateway node
            return self._set(uid, changes)

    def _set(self, uid: str, changes: JsonDataset) -> MppsOutcome:
        link = self.links.get(uid)
        if link is None or link.status in (CLAIMED, CLAIMING):
            return MppsOutcome.refused(rules.UNKNOWN)
        merged, status = rules.status_after(link.dataset, changes)
        refused = rules.update_refusal(link.status, changes, merged)
        if refused is not None:
            return MppsOutcome.refused(refused)
        try:
            codes = self._codes(link)
            self._carry(link, merged, status, codes)
        except UPSError as exc:
            log.info("MPPS N-SET %s not done upstream: %s", uid, exc.message)
            return _refusal(exc, self.upstream)
        self.links.save(replace(link, status=status, dataset=merged, codes=codes))
        return MppsOutcome(Status.SUCCESS)

    def _carry(self, link: MppsLink, merged: JsonDataset, status: str, codes: list[JsonDataset]) -> None:
        upstream, ups_uid, transaction = self.upstream, link.ups_uid, link.transaction_uid
        performed = mpps_performed(merged, codes)
        if status == "IN PROGRESS":
            # the workitem holds what the MPPS said before: an N-SET that changes none of it is not sent
            if performed != mpps_performed(link.dataset, codes):
                upstream.update(ups_uid, transaction, performed)
            return
        state = "COMPLETED"
        if status == "DISCONTINUED":
            state = "CANCELED"
            reason = merged.get(PPS_DISCONTINUATION_REASON)
            item = {t.DISCONTINUATION_REASON_CODE_SEQ: reason} if reason and reason.get("Value") else {}
            performed[t.PROGRESS_INFORMATION_SEQ] = {"vr": "SQ", "Value": [item]}
        # the console's own final report: update, then change state, and a retry after a lost
        # answer is recognised as done (the upstream then says the step already is in that state)
        upstream.call(
            f"{state.lower()} {ups_uid}", lambda: upstream.backend.finish(ups_uid, transaction, performed, state)
        )
        if status == "DISCONTINUED" and gives_wrong_entry(items(merged, PPS_DISCONTINUATION_REASON)):
            # The modality picked the wrong entry: the order goes back upstream as it does on our own
            # server (app/server/mpps.py), replaced by a SCHEDULED step naming the canceled one; the
            # replacement's UID follows from the step's, so a retry finds the one already made.
            replacement_uid = generate_uid(entropy_srcs=[f"replacement of {ups_uid}"])
            upstream.call(
                f"put back {ups_uid}", lambda: upstream.backend.schedule_replacement(ups_uid, replacement_uid)
            )

    # -- N-GET ---------------------------------------------------------------------------------
    def get(self, uid: str) -> JsonDataset | None:
        link = self.links.get(uid)
        return link.dataset if link is not None and link.status not in (CLAIMED, CLAIMING) else None

    def close(self) -> None:
        self.links.close()


class _Refused(Exception):
    def __init__(self, outcome: MppsOutcome) -> None:
        super().__init__(outcome.comment)
        self.outcome = outcome
