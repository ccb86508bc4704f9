"""MPPS from Supplement 246 (and DIMSE) clients of the Origin-Server / SCU gateway, passed
straight on to the RIS's MPPS SCP: the dataset the client sent is the N-CREATE or N-SET the RIS
receives, under the same SOP Instance UID. The gateway keeps each MPPS (as created and since set)
and the workitem it starts, so that UPS-RS subscribers see that step go IN PROGRESS and final."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from app.backends.errors import AlreadyFinished, BackendError, Refused, TimedOut, Unreachable
from app.domain import tags as t
from app.domain.dicomjson import JsonDataset, first_value, from_dataset, items, to_dataset
from app.domain.mapping import MPPS_STATUS, SCHEDULED_STEP_ATTRIBUTES_SEQ, SPS_ID, SPS_SEQ, mwl_to_ups
from app.domain.status import ErrorID, Status, UPSError, fitting
from app.server.service_api import MppsOutcome, UpstreamError

from .dimse_state import PassedMpps

if TYPE_CHECKING:
    from .dimse_upstream import DimseUpstream

FINAL = {"COMPLETED": "COMPLETED", "DISCONTINUED": "CANCELED"}


def workitem_uid(mpps: JsonDataset) -> str | None:
    """The workitem UID of the step an MPPS names (Study Instance UID, Accession Number, Scheduled
    Procedure Step ID), as the gateway's searches give it; None for an unscheduled procedure."""
    steps = items(mpps, SCHEDULED_STEP_ATTRIBUTES_SEQ)
    step = steps[0] if steps else {}
    if not first_value(step, SPS_ID):
        return None
    mwl = {tag: step[tag] for tag in (t.STUDY_INSTANCE_UID, t.ACCESSION_NUMBER) if tag in step}
    mwl[SPS_SEQ] = {"vr": "SQ", "Value": [{SPS_ID: step[SPS_ID]}]}
    return str(mwl_to_ups(mwl)[t.SOP_INSTANCE_UID]["Value"][0])


class DimseMpps:
    """The `PerformedStepService` of the DIMSE gateway."""

    def __init__(self, gateway: DimseUpstream) -> None:
        self.gateway = gateway

    def _failed(self, exc: BackendError) -> MppsOutcome:
        """The RIS's refusal with its own DIMSE status; over HTTP, as every failure of the gateway's
        upstream: 409 for a UID in use, 503 unreachable, 504 silent, else 502 — naming the RIS."""
        upstream = self.gateway.mpps_upstream
        message, short = f"Upstream {upstream}: {exc.sentence}", peer_comment(exc, upstream)
        if isinstance(exc, Refused) and exc.status:
            http = 409 if exc.status == Status.DUPLICATE_INSTANCE else 502
            return MppsOutcome(exc.status, message, http_status=http, short=short)
        http = 504 if isinstance(exc, TimedOut) else 503 if isinstance(exc, Unreachable) else 502
        return MppsOutcome(Status.PROCESSING_FAILURE, message, http_status=http, short=short)

    def create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome:
        # the ledger's read-check-write, one at a time across the nodes (dimse_state.GatewayState.holding)
        with self.gateway.state.holding(f"mpps {uid}"):
            return self._create(uid, attributes, calling_ae)

    def _create(self, uid: str, attributes: JsonDataset, calling_ae: str) -> MppsOutcome:
        if self.gateway.state.mpps(uid) is not None:
            return MppsOutcome(
                Status.DUPLICATE_INSTANCE,
                f"An MPPS with UID {uid} already exists.",
                short="An MPPS with this UID already exists.",
            )
        workitem, attributes = self._for_the_ris(attributes)
        try:
            self.gateway.run(self.gateway.mpps_client().send_n_create(uid, to_dataset(attributes)), "MPPS N-CREATE")
        except BackendError as exc:
            return self._failed(exc)
        self.gateway.state.put_mpps(PassedMpps(uid, workitem, "IN PROGRESS", attributes))
        if workitem is not None:
            self.gateway.performed_elsewhere(workitem, "IN PROGRESS", uid, calling_ae)
        return MppsOutcome(Status.SUCCESS)

    def workitem_for(self, attributes: JsonDataset) -> JsonDataset | None:
        """The step an N-CREATE would start, for the access rule (app/server/guard.py); None for an
        unscheduled procedure or a step the RIS does not list."""
        uid, _ = self._for_the_ris(attributes)
        if uid is None:
            return None
        try:
            return json.loads(self.gateway.retrieve(uid))
        except UPSError as exc:
            if exc.status is Status.NO_SUCH_UPS:
                return None  # the RIS decides about a step it does not list
            raise

    def _for_the_ris(self, attributes: JsonDataset) -> tuple[str | None, JsonDataset]:
        """The workitem an MPPS starts, and the MPPS as the RIS must see it: a client that read the
        worklist through the gateway names the step by the gateway's Scheduled Procedure Step ID,
        which goes back to the RIS's own (F.7.2: the RIS matches its step by it)."""
        steps = items(attributes, SCHEDULED_STEP_ATTRIBUTES_SEQ)
        named = self.gateway.step_named(str(first_value(steps[0], SPS_ID) or "")) if steps else None
        if named is None:
            return workitem_uid(attributes), attributes
        uid, mwl = named
        scheduled = items(mwl, SPS_SEQ)
        original = first_value(scheduled[0], SPS_ID) if scheduled else None
        step = {**steps[0], SPS_ID: {"vr": "SH", "Value": [original]} if original else {"vr": "SH"}}
        sequence = {"vr": "SQ", "Value": [step, *steps[1:]]}
        return uid, {**attributes, SCHEDULED_STEP_ATTRIBUTES_SEQ: sequence}

    def set(self, uid: str, changes: JsonDataset) -> MppsOutcome:
        with self.gateway.state.holding(f"mpps {uid}"):
            return self._set(uid, changes)

    def _set(self, uid: str, changes: JsonDataset) -> MppsOutcome:
        record = self.gateway.state.mpps(uid)
        if record is None:
            return MppsOutcome(
                Status.NO_SUCH_SOP_INSTANCE, f"There is no MPPS {uid}.", short="There is no MPPS with this UID."
            )
        if record.status in FINAL:
            return MppsOutcome(
                Status.PROCESSING_FAILURE,
                f"The MPPS {uid} is already {record.status}.",
                short=f"The MPPS is already {record.status}.",
                error_id=ErrorID.MPPS_NO_LONGER_UPDATABLE,
            )
        try:
            self.gateway.run(self.gateway.mpps_client().send_n_set(uid, to_dataset(changes)), "MPPS N-SET")
        except AlreadyFinished:
            return MppsOutcome(
                Status.PROCESSING_FAILURE,
                f"Upstream {self.gateway.mpps_upstream}: the MPPS {uid} is already finished.",
                short="The RIS says the MPPS is already finished.",
                error_id=ErrorID.MPPS_NO_LONGER_UPDATABLE,
            )
        except BackendError as exc:
            return self._failed(exc)
        status = str(first_value(changes, MPPS_STATUS) or record.status)
        self.gateway.state.put_mpps(PassedMpps(uid, record.workitem_uid, status, {**record.dataset, **changes}))
        if record.workitem_uid and status in FINAL:
            self.gateway.performed_elsewhere(record.workitem_uid, FINAL[status], uid, None)
        return MppsOutcome(Status.SUCCESS)

    def get(self, uid: str) -> JsonDataset | None:
        """The MPPS as the RIS holds it, read by MPPS Retrieve (N-GET); from a RIS that does not offer
        MPPS Retrieve, as the gateway passed it on. UpstreamError when the RIS fails or refuses."""
        try:
            found = self.gateway.run(self.gateway.mpps_client().send_n_get(uid), "MPPS N-GET")
        except Refused as exc:
            if exc.status == Status.NO_SUCH_SOP_INSTANCE:
                return None
            raise self._error(exc) from None
        except BackendError as exc:
            raise self._error(exc) from None
        if found is None:
            return self.kept(uid)
        return from_dataset(found)

    def kept(self, uid: str) -> JsonDataset | None:
        """The MPPS as this gateway passed it on (created, and since set), without asking the RIS."""
        record = self.gateway.state.mpps(uid)
        return record.dataset if record is not None else None

    def _error(self, exc: BackendError) -> UpstreamError:
        """A Retrieve the RIS failed or refused: 0110 over DIMSE, and over HTTP what `_failed` says."""
        failed = self._failed(exc)
        return UpstreamError(
            Status.PROCESSING_FAILURE, failed.comment, failed.http_status or 502, short=failed.error_comment
        )

    def close(self) -> None:
        return None  # the gateway it belongs to closes what they share


def peer_comment(exc: BackendError, upstream: str) -> str:
    """A failure of the RIS `upstream` ("the worklist server RIS at host:port") as a modality's
    Error Comment: a whole sentence within 64 characters, naming the RIS's AE title where it fits."""
    who = upstream.rpartition(" at ")[0] or upstream
    who = who[:1].upper() + who[1:]
    if isinstance(exc, Refused):
        return fitting(
            f"{who} refused it: {exc.reason.rstrip('.')}." if exc.reason else "",
            f"{who} refused it; the gateway's log says why.",
            "The RIS refused it; the gateway's log says why.",
        )
    if isinstance(exc, TimedOut):
        tail = "did not answer in time."
    elif type(exc) is Unreachable:
        tail = "cannot be reached."
    else:
        tail = "failed; the gateway's log says how."
    return fitting(f"{who} {tail}", f"The RIS {tail}")
