"""The DIMSE backend: the WorklistBackend over Modality Worklist C-FIND and MPPS N-CREATE/N-SET.

Blocking pynetdicom work runs on a worker thread and is awaited, so the UI never waits on
an association. MWL items become the same domain workitems as UPS-RS results (the MWL →
UPS mapping); a claim is an MPPS N-CREATE whose SOP Instance UID is the outbox's
"transaction UID", so the local claim store keeps it like a UPS Transaction UID.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Protocol

from pydicom import Dataset
from pynetdicom import AE, _config, evt
from pynetdicom.pdu_primitives import UserIdentityNegotiation
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityPerformedProcedureStepRetrieve,
    ModalityWorklistInformationFind,
    Verification,
)

from app.domain import charsets, mpps_build
from app.domain.build import NewWorkitem
from app.domain.procedure import PerformedProcedure
from app.domain.replacement import WRONG_ENTRY
from app.domain.status import ErrorID, Status
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery

from .dimse_tls import client_tls
from .dimse_worklist import decode_answer, mwl_identifier
from .errors import Aborted, AlreadyFinished, BackendError, Conflict, NotPermitted, Refused, TimedOut, Unreachable
from .profiles import Profile
from .protocol import Capabilities, ConnectionSink, EventSink, Exchange, Observer, PeerCheck
from .scheduled_steps import ScheduledSteps

log = logging.getLogger(__name__)

USERNAME_AND_PASSCODE = 2  # PS3.7 Table D.3-14, User-Identity-Type
# The Error Comment a locked peer (our own server's DIMSE front) gives a request that came without
# a User Identity; matched loosely, as a peer may word it in its own case
NO_IDENTITY_WORDS = "send a username and passcode"


class Associations(Protocol):
    """Where established associations may be kept between calls (a gateway's pool): `lease` gives
    one association to one caller at a time, opened with `open` when none is kept for `peer`; the
    second value says whether it was kept from an earlier call (one the peer may since have closed)."""

    def lease(
        self, peer: tuple[str, int, str], open: Callable[[], Any]
    ) -> AbstractContextManager[tuple[Any, bool]]: ...


class NotOffered(Refused):
    """The peer did not accept the SOP class a request needs: it does not offer that service."""


class DimseBackend:
    def __init__(
        self,
        profile: Profile,
        observer: Observer | None = None,
        associations: Associations | None = None,
        *,
        ca_hint: str = "give the profile the CA file that signed it",
    ) -> None:
        """`ca_hint`: what to do when the peer's certificate is not trusted (a gateway names its option)."""
        self.profile = profile
        self.ca_hint = ca_hint
        self.observer = observer
        self.associations = associations
        self.capabilities = Capabilities(
            live_events=False,
            cancel_request=False,
            put_back_replaces=False,
            notes=[
                f"Live events are not available with MWL/MPPS: the list refreshes every {profile.poll_seconds:.0f} s."
            ],
        )
        self.steps = ScheduledSteps(profile.mwl_aet)
        # pynetdicom would read every answer to log it, before `decode_answer` sees the bytes the
        # RIS sent (and a patient's name has no place in its log); the message log is `observer`
        _config.LOG_RESPONSE_IDENTIFIERS = False

    # -- associations, on a worker thread -------------------------------------------------------------
    def _ae(self) -> AE:
        ae = AE(self.profile.ae_title)
        ae.acse_timeout = ae.network_timeout = self.profile.timeout
        ae.dimse_timeout = self.profile.dimse_timeout
        ae.add_requested_context(Verification)
        ae.add_requested_context(ModalityWorklistInformationFind)
        ae.add_requested_context(ModalityPerformedProcedureStep)
        # proposed beside it: a peer that does not offer it still accepts the rest
        ae.add_requested_context(ModalityPerformedProcedureStepRetrieve)
        return ae

    def _tls(self) -> ssl.SSLContext:
        """The client side of DICOM over TLS: the profile's CA file, else the system's trust store,
        and its client certificate for a peer that asks for one."""
        return client_tls(self.profile)

    def _tls_failure(self, host: str, port: int, context: ssl.SSLContext) -> str | None:
        """Why a TLS handshake with the peer fails, in words; None when it succeeds (or the peer is not
        there at all). pynetdicom only logs it, so one handshake is tried on its own to find out."""
        try:
            with (
                socket.create_connection((host, port), timeout=self.profile.timeout) as raw,
                context.wrap_socket(raw, server_hostname=host) as tls,
            ):
                # TLS 1.3 ends the handshake before the server has checked our certificate: a refusal
                # of it comes as an alert right after, while an accepting DICOM peer sends nothing
                tls.settimeout(min(self.profile.timeout, 1.0))
                tls.recv(1)
                return None
        except ssl.SSLCertVerificationError as exc:
            return f"its certificate is not trusted ({exc.verify_message}); {self.ca_hint}"
        except ssl.SSLError as exc:
            if "ALERT" in str(exc.reason):  # the server refused us
                said = str(exc.reason).replace("_", " ").lower()
                if self.profile.client_cert:
                    return f"it did not accept our client certificate ({said}); it wants one from a CA it trusts"
                return f"it wants a client certificate from a CA it trusts ({said})"
            return f"the TLS handshake failed ({exc.reason or exc}); is DICOM over TLS on at that port?"
        except OSError:
            return None

    def _user_identity(self) -> list[UserIdentityNegotiation]:
        """The User Identity Negotiation item (PS3.7 D.3.3.7) of a profile with a user: its name and
        password as username and passcode, on every association this backend opens."""
        if self.profile.auth != "basic" or not self.profile.username:
            return []
        item = UserIdentityNegotiation()
        item.user_identity_type = USERNAME_AND_PASSCODE
        item.primary_field = self.profile.username.encode("utf-8")
        item.secondary_field = self.profile.password.encode("utf-8")
        return [item]

    def _associate(self, peer: tuple[str, int, str], what: str, attempts: int = 2):
        host, port, called = peer
        where = f"{host}:{port}"
        received: list = []
        garbled: list = []  # Evt19 of the state machine: what came back is not a DICOM PDU
        tls = self._tls() if self.profile.tls else None
        try:
            assoc = self._ae().associate(
                host,
                port,
                ae_title=called,
                evt_handlers=[
                    (evt.EVT_ACSE_RECV, lambda e: received.append(e.primitive)),
                    (evt.EVT_FSM_TRANSITION, lambda e: garbled.append(e) if e.fsm_event == "Evt19" else None),
                ],
                tls_args=(tls, host) if tls else None,
                ext_neg=self._user_identity(),
            )
        except OSError as exc:
            raise Unreachable(f"Cannot reach the {what} server at {where}.", repr(exc)) from None
        if garbled and not assoc.is_established and not assoc.is_rejected:
            # something listens there and answered, in another protocol: a wrong port, not an outage
            hint = "is this the HTTP port?" if tls else "is this the HTTP port, or one that expects TLS?"
            raise Refused(
                f"The {what} server at {where} answered, but not as a DICOM peer: {hint}",
                f"no DICOM PDU from {called}@{where}",
            )
        if tls and not assoc.is_established and not assoc.is_rejected:
            # a refusal in the handshake may come as an abort after it (TLS 1.3): asked on its own
            failure = self._tls_failure(host, port, tls)
            if failure:
                raise Unreachable(f"Cannot talk TLS with the {what} server at {where}: {failure}.", failure)
        rejected = assoc.is_rejected or any(getattr(p, "result", 0) in (1, 2) for p in received)
        if not rejected and not assoc.is_established and assoc.is_aborted and attempts > 1:
            # a peer that closes right after its A-ASSOCIATE-RJ can leave only an abort seen: ask once more
            return self._associate(peer, what, attempts - 1)
        if rejected:
            reason = next((getattr(p, "diagnostic", None) for p in received if getattr(p, "result", 0) in (1, 2)), None)
            ours = self.profile.ae_title
            user = self.profile.username if self._user_identity() else ""
            if user and reason != 7:
                # ACSE has no reason for a wrong passcode: a locked peer says "calling AE title not recognized"
                raise NotPermitted(
                    f"The {what} server at {where} refused the user {user}: check the user and password in the "
                    f"profile (or the AE title {ours}, if the user is bound to another one).",
                    f"association with User Identity {user!r} rejected by {called}@{where} (reason {reason})",
                )
            if reason == 7:  # PS3.8 Table 9-21: called AE title not recognized
                sentence = (
                    f"The {what} server at {where} does not answer to the AE title {called} that {ours} called: "
                    "set the called AE title to the server's own."
                )
            else:
                sentence = f"The {what} server at {where} rejected our AE title {ours} (calling {called})."
            raise Refused(sentence, f"association rejected by {called}@{where} (reason {reason})")
        if not assoc.is_established:
            raise Unreachable(f"Cannot reach the {what} server at {where} ({called}).", f"no association with {called}")
        return assoc

    @contextmanager
    def _association(self, peer: tuple[str, int, str], what: str) -> Iterator[tuple[Any, bool]]:
        """An association for one exchange: the console's own, released after it; a kept one when
        the backend was given somewhere to keep them."""
        if self.associations is not None:
            with self.associations.lease(peer, lambda: self._associate(peer, what)) as leased:
                yield leased
            return
        assoc = self._associate(peer, what)
        try:
            yield assoc, False
        finally:
            assoc.release()

    def _observe(self, direction: str, summary: str, ds: Dataset | None) -> None:
        if self.observer is not None:
            self.observer(Exchange(datetime.now(), direction, summary, (), str(ds) if ds is not None else ""))

    def _silence(self, what: str, peer: tuple[str, int, str], since: float, during: str) -> Unreachable:
        """The error for a DIMSE exchange that ended without a status. pynetdicom gives an empty
        Dataset both when the peer aborts and when its own DIMSE timeout aborts: the time taken
        tells them apart."""
        where = f"{peer[0]}:{peer[1]}"
        detail = f"no {during} status from {peer[2]}@{where} after {time.monotonic() - since:.1f} s"
        if time.monotonic() - since >= 0.9 * self.profile.dimse_timeout:
            return TimedOut(
                f"The {what} server at {where} did not answer in time ({self.profile.dimse_timeout:.0f} s).", detail
            )
        return Aborted(f"The {what} server at {where} closed the association before it answered ({during}).", detail)

    def _refuse_unidentified(self, what: str, peer: tuple[str, int, str], code: int, comment: str) -> None:
        """A locked peer answers a request of an association that proved no identity with a refusal
        whose Error Comment asks for a User Identity: a setting to fix, said as one."""
        if NO_IDENTITY_WORDS not in str(comment).lower():
            return
        where = f"{peer[0]}:{peer[1]}"
        if self._user_identity():  # sent, yet not taken: the peer does not read User Identity
            sentence = (
                f"The {what} server at {where} did not take the user {self.profile.username} and asks who this "
                "station is: ask its administrator how this station must identify itself."
            )
        else:
            sentence = (
                f"The {what} server at {where} needs to know who this station is: in Settings, give this profile "
                "the user and password its administrator gave this station."
            )
        raise NotPermitted(sentence, f"status 0x{code:04X} from {peer[2]}@{where}: {comment}", code, str(comment))

    @staticmethod
    def _require_context(assoc, sop_class: str, what: str, peer: tuple[str, int, str], service: str) -> None:
        """pynetdicom raises ValueError for a service the peer did not accept: say it instead."""
        if not any(str(cx.abstract_syntax) == sop_class for cx in assoc.accepted_contexts):
            assoc.release()
            raise NotOffered(f"The {what} server {peer[2]} at {peer[0]}:{peer[1]} does not accept {service}.")

    def _find(self, identifier: Dataset) -> list[Dataset]:
        try:
            return self._find_on(identifier)
        except _KeptGone:
            return self._find_on(identifier)  # a kept association the peer had closed: once more, on a new one

    def _find_on(self, identifier: Dataset) -> list[Dataset]:
        peer = (self.profile.mwl_host, self.profile.mwl_port, self.profile.mwl_aet)
        with self._association(peer, "worklist") as (assoc, kept):
            self._require_context(
                assoc, ModalityWorklistInformationFind, "worklist", peer, "worklist queries (MWL C-FIND)"
            )
            try:
                return self._find_with(assoc, peer, identifier)
            except (Aborted, RuntimeError):
                if kept:  # pynetdicom raises RuntimeError on an association no longer established
                    raise _KeptGone() from None
                raise

    def _find_with(self, assoc: Any, peer: tuple[str, int, str], identifier: Dataset) -> list[Dataset]:
        found: list[Dataset] = []
        charsets.declare(identifier)  # the keys' character set, and the one the answers are asked in
        self._observe("→", f"C-FIND MWL to {peer[2]}@{peer[0]}:{peer[1]}", identifier)
        since = time.monotonic()
        for status, answer in assoc.send_c_find(identifier, ModalityWorklistInformationFind):
            if status is None or "Status" not in status:
                raise self._silence("worklist", peer, since, "C-FIND")
            since = time.monotonic()
            code = int(status.Status)
            if code in (Status.PENDING, Status.PENDING_OPTIONAL_KEYS_UNSUPPORTED) and answer is not None:
                self._observe("←", f"C-FIND pending 0x{code:04X}", answer)
                found.append(answer)
            elif code != Status.SUCCESS:
                comment = getattr(status, "ErrorComment", "")
                self._refuse_unidentified("worklist", peer, code, comment)
                raise Refused(
                    f"The worklist server refused the query (status 0x{code:04X}{': ' + comment if comment else ''})."
                )
            else:
                self._observe("←", "C-FIND success 0x0000", None)
        return found

    def _mpps(
        self, send, sop_class: str = ModalityPerformedProcedureStep, service: str = "procedure step reports (MPPS)"
    ) -> tuple[Dataset, Dataset | None]:
        peer = self.profile.mpps_peer
        with self._association(peer, "MPPS") as (assoc, _):
            self._require_context(assoc, sop_class, "MPPS", peer, service)
            since = time.monotonic()
            status, answer = send(assoc)
        if status is None or "Status" not in status:
            raise self._silence("MPPS", peer, since, "MPPS")
        code = int(status.Status)
        self._observe("←", f"MPPS status 0x{code:04X}", answer)
        if code == Status.PROCESSING_FAILURE and getattr(status, "ErrorID", None) == ErrorID.MPPS_NO_LONGER_UPDATABLE:
            raise AlreadyFinished("The performed procedure step was already finished.", status=code)
        if code != Status.SUCCESS:
            comment = getattr(status, "ErrorComment", "")
            self._refuse_unidentified("MPPS", peer, code, comment)
            error = Conflict if code in (Status.PROCESSING_FAILURE, Status.DUPLICATE_INSTANCE) else Refused
            raise error(
                f"The MPPS server refused the report (status 0x{code:04X}{': ' + comment if comment else ''}).",
                status=code,
            )
        return status, answer

    # -- the worklist --------------------------------------------------------------------------------
    async def search(self, query: WorklistQuery) -> list[Workitem]:
        answers = await asyncio.to_thread(self._find, mwl_identifier(query))
        items = []
        for answer in answers:
            workitem = self.steps.read(decode_answer(answer, self.profile.fallback_charset))
            if query.holds(workitem):
                items.append(workitem)
        return items

    async def retrieve(self, uid: str) -> Workitem:
        return self.steps.retrieve(uid)

    # -- MPPS ----------------------------------------------------------------------------------------
    def _n_create(self, uid: str, mpps_uid: str) -> None:
        mwl = self.steps.item(uid)
        if mwl is None:  # a claim kept from an older console, before a search listed the item: retried
            raise Unreachable(
                "The start waits until the worklist lists this procedure again.",
                f"{uid} not in the MWL answers of this session",
            )
        ds = mpps_build.in_progress(
            mwl,
            mpps_uid,
            ae_title=self.profile.ae_title,
            station_name=self.profile.station_code,
            unscheduled=self.steps.unscheduled(uid),
        )
        charsets.declare(ds, mpps_build.character_set(mwl))
        self._observe("→", f"MPPS N-CREATE {mpps_uid}", ds)
        try:
            self._mpps(lambda assoc: assoc.send_n_create(ds, ModalityPerformedProcedureStep, mpps_uid))
        except Conflict as exc:
            if exc.status != Status.DUPLICATE_INSTANCE:  # our own N-CREATE, retried after a lost answer
                raise

    def _n_set(self, mpps_uid: str, ds: Dataset, uid: str | None = None) -> None:
        """An N-SET declaring its own character set (an N-SET does not inherit the N-CREATE's): the
        worklist item's, of step `uid`, where that carries its text."""
        mwl = self.steps.item(uid) if uid else None
        charsets.declare(ds, mpps_build.character_set(mwl) if mwl else None)
        self._observe("→", f"MPPS N-SET {mpps_uid}", ds)
        self._mpps(lambda assoc: assoc.send_n_set(ds, ModalityPerformedProcedureStep, mpps_uid))

    async def send_n_create(self, mpps_uid: str, ds: Dataset) -> None:
        """An MPPS N-CREATE of a dataset made elsewhere (a gateway passing a Supplement 246 Create on);
        a duplicate is the peer's to report, not taken for a retry of ours."""
        charsets.declare(ds)
        self._observe("→", f"MPPS N-CREATE {mpps_uid}", ds)
        await asyncio.to_thread(
            self._mpps, lambda assoc: assoc.send_n_create(ds, ModalityPerformedProcedureStep, mpps_uid)
        )

    async def send_n_set(self, mpps_uid: str, ds: Dataset) -> None:
        """An MPPS N-SET of a dataset made elsewhere (a gateway passing a Supplement 246 Update on)."""
        await asyncio.to_thread(self._n_set, mpps_uid, ds)

    async def send_n_get(self, mpps_uid: str) -> Dataset | None:
        """MPPS Retrieve (PS3.4 F.8): the MPPS as the MPPS server holds it, every attribute; None when
        that server does not offer MPPS Retrieve. Refused with its status (0112: no such MPPS)."""
        self._observe("→", f"MPPS N-GET {mpps_uid}", None)
        retrieve = ModalityPerformedProcedureStepRetrieve
        try:
            _, answer = await asyncio.to_thread(
                self._mpps, lambda assoc: assoc.send_n_get(None, retrieve, mpps_uid), retrieve, "MPPS Retrieve"
            )
        except NotOffered:
            return None
        return answer

    def claim_record(self, workitem: Workitem) -> dict:
        return self.steps.record(workitem)

    async def claim(self, uid: str, transaction_uid: str, record: dict | None = None) -> None:
        self.steps.restore(uid, record)
        await asyncio.to_thread(self._n_create, uid, transaction_uid)
        self.steps.mark(uid, "IN PROGRESS")

    async def report_progress(self, uid: str, transaction_uid: str, percent: float | None, description: str) -> None:
        ds = mpps_build.progress(percent, description)
        await asyncio.to_thread(self._n_set, transaction_uid, ds, uid)

    async def set_performed(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None:
        await asyncio.to_thread(self._n_set, transaction_uid, mpps_build.performed_set(performed), uid)

    async def complete(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None:
        ds = mpps_build.completed(performed)
        try:
            await asyncio.to_thread(self._n_set, transaction_uid, ds, uid)
        except AlreadyFinished:
            pass  # a retry of a completion whose answer was lost is done
        self.steps.mark(uid, "COMPLETED")

    async def discontinue(self, uid: str, transaction_uid: str, reason: Code, text: str) -> None:
        ds = mpps_build.discontinued(reason, text)
        try:
            await asyncio.to_thread(self._n_set, transaction_uid, ds, uid)
        except AlreadyFinished:
            pass  # a retry of a discontinuation whose answer was lost is done
        self.steps.mark(uid, "CANCELED")

    async def put_back(self, uid: str, transaction_uid: str, replacement_uid: str, text: str) -> None:
        """DISCONTINUED as a wrong entry: the RIS keeps the order (PS3.4 F.7 has no way back to
        SCHEDULED), so what the worklist shows of the step is its again."""
        try:
            await asyncio.to_thread(self._n_set, transaction_uid, mpps_build.discontinued(WRONG_ENTRY, text), uid)
        except AlreadyFinished:
            pass  # a retry whose first answer was lost is done
        self.steps.forget(uid)

    async def request_cancellation(self, uid: str, reason: Code | None, text: str) -> None:
        raise Refused("Cancellation requests are not part of MWL/MPPS; ask the RIS to cancel the order.")

    async def create(self, item: NewWorkitem) -> Workitem:
        """An unscheduled procedure: known only here until its MPPS N-CREATE reports it."""
        return self.steps.create(item)

    async def watch(self, on_event: EventSink, on_connection: ConnectionSink) -> None:
        on_connection(False, self.capabilities.notes[0])

    async def follow(self, station: str) -> None:
        return None  # no events over MWL: every refresh queries what is shown

    def _check(self, peer: tuple[str, int, str], what: str, services: dict[str, str]) -> PeerCheck:
        """Associate, echo, and say which of `services` (SOP class UID → plain name) the peer
        accepts: an echo alone does not prove that a server keeps a worklist."""
        try:
            assoc = self._associate(peer, what)
        except BackendError as exc:
            return PeerCheck(False, exc.sentence)
        name = f"The {what} server {peer[2]} at {peer[0]}:{peer[1]}"
        try:
            accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
            echoed = False
            if Verification in accepted:
                since = time.monotonic()
                status = assoc.send_c_echo()
                if status is None or "Status" not in status:
                    return PeerCheck(False, self._silence(what, peer, since, "C-ECHO").sentence)
                echoed = int(status.Status) == 0
            if ModalityWorklistInformationFind in services and ModalityWorklistInformationFind in accepted:
                # an echo passes where queries are refused (a locked server, no user given): one query
                # that matches nothing proves the worklist answers this station
                self._find_with(assoc, peer, _probe())
        except BackendError as exc:
            return PeerCheck(False, exc.sentence)
        finally:
            assoc.release()
        answers = "answers C-ECHO and " if echoed else ""
        missing = [label for uid, label in services.items() if uid not in accepted]
        if not missing:
            return PeerCheck(True, f"{name} {answers}accepts {' and '.join(services.values())}.")
        return PeerCheck(False, f"{name} {answers or 'answers, but '}does not accept {' or '.join(missing)}.")

    async def check_peers(self) -> list[PeerCheck]:
        mwl = (self.profile.mwl_host, self.profile.mwl_port, self.profile.mwl_aet)
        worklist = {ModalityWorklistInformationFind: "worklist queries (MWL C-FIND)"}
        mpps = {ModalityPerformedProcedureStep: "procedure step reports (MPPS)"}
        if self.profile.mpps_peer == mwl:
            return [await asyncio.to_thread(self._check, mwl, "worklist", worklist | mpps)]
        return [
            await asyncio.to_thread(self._check, mwl, "worklist", worklist),
            await asyncio.to_thread(self._check, self.profile.mpps_peer, "MPPS", mpps),
        ]

    async def close(self) -> None:
        return None


def _probe() -> Dataset:
    """A worklist query that matches nothing: an accession number no order has."""
    ds = Dataset()
    ds.AccessionNumber = f"TEST{uuid.uuid4().hex[:12].upper()}"
    ds.PatientID = ""
    return ds


class _KeptGone(Exception):
    """A kept association failed before its exchange gave anything: the peer had closed it."""
