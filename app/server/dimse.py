"""The DIMSE front: a pynetdicom AE beside the HTTP front, over the same UPS service.

Verification; the Modality Worklist C-FIND SCP answered from the UPS store through the
UPS → MWL mapping (PS3.4 K.6), pending responses streamed one per step, C-CANCEL honoured;
the MPPS N-CREATE/N-SET SCP mapped onto UPS (mpps.py) and MPPS Retrieve, its N-GET
(mpps_dimse.py); and the UPS Push, Pull, Watch and Query SCP (ups_dimse.py) — requests are
routed to it by SOP class. Handlers are thin: for C-FIND the identifier becomes a domain query,
SQL narrows the candidates by the keys the store indexes, and the mapped MWL items are matched
exactly.

The door: an association must call our AE title, and, with an allow-list, come from one of
its AE titles (PS3.8 9.3.4: A-ASSOCIATE-RJ with "called" or "calling AE title not
recognized"); each refusal is logged in a sentence naming both titles. Who it is — a user
of the users file through User Identity Negotiation, or an AE title bound to its host — is
dimse_door.py's. With a certificate the front speaks DICOM over TLS (PS3.15 B.1) and nothing
else. Every request runs as its association's `Actor`, identity included, so the access rule
decides what it may do and the audit file says who did it.
"""

from __future__ import annotations

import logging
import socket
import ssl
import weakref
from collections.abc import Collection, Iterator

from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, _config, evt
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityPerformedProcedureStepRetrieve,
    ModalityWorklistInformationFind,
    Verification,
)

from app.domain.dicomjson import DicomJsonError, JsonDataset, first_value, from_dataset, to_dataset
from app.domain.information_model import MWL_MODEL, screen
from app.domain.mapping import (
    answer_keys,
    identifier_keys,
)
from app.domain.query import build_query
from app.domain.status import Status, dimse_status, error_comment
from app.domain.tags import SOP_INSTANCE_UID, STUDY_INSTANCE_UID
from app.domain.values import describe
from app.domain.writable import writable

from .audit import Actor, acting_as
from .dimse_door import NO_IDENTITY, NO_IDENTITY_COMMENT, DimsePolicy
from .dimse_failures import find_failure
from .dimse_tls import start_server
from .find_answers import PendingAnswers
from .mpps_dimse import retrieve
from .mwl_search import candidates, deciding
from .service_api import MppsOutcome, PerformedStepService, WorkitemService
from .ups_dimse import SCP_SOP_CLASSES, Handler, UpsScp, by_sop_class, unsupported

log = logging.getLogger(__name__)

ACSE_TIMEOUT_SECONDS = 5.0

MPPS_FAILED = "The server failed to process the MPPS."


def _spare_pynetdicom_logging() -> None:
    """Unless pynetdicom's DEBUG log is wanted, stop it formatting every PDU and every response
    identifier: it does that work before the logger decides to drop the lines, and it was
    about a quarter of the time of a 50-answer C-FIND."""
    if not logging.getLogger("pynetdicom").isEnabledFor(logging.DEBUG):
        _config.LOG_HANDLER_LEVEL = "none"
        _config.LOG_RESPONSE_IDENTIFIERS = False


def _answer_promptly(event: evt.Event) -> None:
    """Turn off the two TCP delays that cost a DIMSE exchange ~40 ms each.

    Many SCUs (DCMTK's tools as Debian builds them, so many modalities) leave Nagle's algorithm
    on and write a PDU's 6-byte header and its body separately: the body then waits for our
    ACK of the header, which Linux delays up to 40 ms in interactive mode. TCP_QUICKACK sends
    that ACK at once, but the kernel clears it after each read, so it is set again before
    each one. TCP_NODELAY does the same for our own command-then-dataset writes.
    """
    wrapper = event.assoc.dul.socket
    raw = getattr(wrapper, "socket", None)
    if wrapper is None or raw is None:
        return
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        return
    quickack = getattr(socket, "TCP_QUICKACK", None)  # Linux only
    if quickack is None:
        return
    recv = wrapper.recv

    def recv_acking(nr_bytes: int) -> bytearray:
        try:
            raw.setsockopt(socket.IPPROTO_TCP, quickack, 1)
        except OSError:
            pass
        return recv(nr_bytes)

    wrapper.recv = recv_acking


def tls_context(cert_file: str, key_file: str, client_ca: str | None = None) -> ssl.SSLContext:
    """The server side of DICOM over TLS from a PEM certificate (chain) and its key; with
    `client_ca`, each client is asked for a certificate that CA signed (one without is still
    accepted: it proves who it is another way). OSError or ssl.SSLError when the files cannot be
    read or do not belong together."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # PS3.15 B.9 (BCP 195)
    context.load_cert_chain(cert_file, key_file)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def _client_certificate(assoc: object) -> bytes | None:
    """The client certificate the association's TLS handshake verified, if any (DER)."""
    sock = getattr(getattr(getattr(assoc, "dul", None), "socket", None), "socket", None)
    if isinstance(sock, ssl.SSLSocket):
        try:
            return sock.getpeercert(binary_form=True)
        except ValueError:  # no handshake (yet)
            return None
    return None


def _found_as(actor: Actor, handler: Handler, event: evt.Event) -> Iterator[object]:
    with acting_as(actor):
        yield from handler(event)


def _encodable(answer: JsonDataset, uid: str | None) -> Dataset | None:
    """An MWL answer for pydicom to encode. A stored value its VR cannot hold (an older version's,
    or one that skipped the checks) is sent empty; an answer that still cannot be read is left
    out. Either way the other answers go on."""
    cleaned, faults = writable(answer)
    if faults:
        log.warning(
            "MWL C-FIND: stored values of %s that cannot be encoded sent empty: %s",
            uid,
            "; ".join(map(describe, faults)),
        )
    try:
        return to_dataset(cleaned)
    except DicomJsonError as exc:
        log.warning("MWL C-FIND: the answer for %s is left out: %s", uid, exc)
        return None


class DimseFront:
    def __init__(
        self,
        service: WorkitemService,
        mpps: PerformedStepService,
        ae_title: str = "WORKLIST",
        host: str = "127.0.0.1",
        port: int = 11112,
        event_peers: Collection[str] = (),
        max_associations: int = 64,
        idle_timeout: float = 15.0,
        allowed_calling: Collection[str] = (),
        tls: ssl.SSLContext | None = None,
        door: DimsePolicy | None = None,
    ) -> None:
        self.service = service
        _spare_pynetdicom_logging()
        self.ae = AE(ae_title)
        self.ae_title = ae_title
        self.door = door or DimsePolicy.from_entries(allowed_calling)
        self.allowed_calling = self.door.allowed
        self._identities: weakref.WeakKeyDictionary[object, Actor] = weakref.WeakKeyDictionary()
        self.tls = tls
        # Accepting any called AE title hides a misconfigured modality until the day its
        # worklist is wrong; a rejection tells the installer at the first echo.
        self.ae.require_called_aet = True
        self.ae.require_calling_aet = sorted(self.allowed_calling)
        self.ae.maximum_associations = max_associations
        # A connection that never sends A-ASSOCIATE-RQ holds a slot until ARTIM expires
        # (pynetdicom: 30 s); a few seconds is plenty for any real SCU on a network.
        self.ae.acse_timeout = ACSE_TIMEOUT_SECONDS
        self.ae.network_timeout = idle_timeout
        self.ae.add_supported_context(Verification)
        self.ae.add_supported_context(ModalityWorklistInformationFind)
        self.ae.add_supported_context(ModalityPerformedProcedureStep)
        self.ae.add_supported_context(ModalityPerformedProcedureStepRetrieve)
        for sop_class in SCP_SOP_CLASSES:
            self.ae.add_supported_context(sop_class)
        self.ae.maximum_pdu_size = 0
        self.mpps = mpps
        self.ups = UpsScp(service, event_peers)
        # MWL and UPS share C-FIND, MPPS and UPS share N-CREATE and N-SET: one handler each, routed by SOP class.
        ups, mpps_door = "DIMSE UPS", "DIMSE MPPS"
        acting = self._acting
        handlers = [
            (evt.EVT_REQUESTED, _answer_promptly),
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_C_ECHO, self._on_echo),
            (
                evt.EVT_C_FIND,
                by_sop_class(acting(self.ups.on_find, ups, find=True), acting(self._on_find, "DIMSE MWL", find=True)),
            ),
            (
                evt.EVT_N_CREATE,
                by_sop_class(acting(self.ups.on_n_create, ups), acting(self._on_n_create, mpps_door)),
            ),
            (evt.EVT_N_SET, by_sop_class(acting(self.ups.on_n_set, ups), acting(self._on_n_set, mpps_door))),
            (evt.EVT_N_GET, by_sop_class(acting(self.ups.on_n_get, ups), acting(self._on_n_get, mpps_door))),
            (evt.EVT_N_ACTION, by_sop_class(acting(self.ups.on_n_action, ups), unsupported)),
        ]
        self.server = start_server(self.ae, (host, port), handlers, tls)
        self.port: int = self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()

    # -- the door --------------------------------------------------------------------------------
    def _on_requested(self, event: evt.Event) -> None:
        """Admit the association as who it proves to be, or reject it (PS3.8 9.3.4) before any
        negotiation; pynetdicom skips the negotiation of an association rejected here."""
        assoc = event.assoc
        requestor = assoc.requestor
        where = f"{requestor.address}:{requestor.port}"
        calling = str(requestor.primitive.calling_ae_title or "").strip()
        try:
            admission = self.door.admit(
                calling, str(requestor.address), requestor.user_identity, _client_certificate(assoc)
            )
        except Exception:
            log.exception("Could not check the identity of the association from %s at %s", calling, where)
            admission = None
        if admission is None or admission.rejection is not None:
            reason = admission.rejection if admission is not None else "its identity could not be checked"
            log.warning("Refused an association from %s at %s: %s.", calling, where, reason)
            assoc.acse.send_reject(0x01, 0x01, 0x03)  # permanent, calling AE title not recognized
            assoc.is_rejected = True
            assoc.kill()
            return
        identity = admission.identity
        self._identities[assoc] = Actor(
            ae=calling, user=identity.name if identity else None, peer=where, identity=identity
        )

    def _acting(self, handler: Handler, door: str, *, find: bool = False) -> Handler:
        """`handler` run as the association's actor, so that the access rule judges its identity and
        the audit names it; with users on, an association with no identity is refused here.
        `find`: a C-FIND handler, whose answers are a generator run inside the actor too."""

        def run(event: evt.Event) -> object:
            known = self._identities.get(event.assoc)
            actor = Actor(
                ae=event.assoc.requestor.ae_title,
                peer=known.peer if known else None,
                user=known.user if known else None,
                door=door,
                identity=known.identity if known else None,
            )
            if self.door.needs_identity and actor.identity is None:
                log.info("%s from %s refused: %s", door, actor.ae, NO_IDENTITY)
                if find:
                    return iter([(dimse_status(Status.UNABLE_TO_PROCESS, NO_IDENTITY_COMMENT), None)])
                return dimse_status(Status.NOT_AUTHORIZED, NO_IDENTITY_COMMENT), None
            if find:
                return _found_as(actor, handler, event)
            with acting_as(actor):
                return handler(event)

        return run

    def _on_rejected(self, event: evt.Event) -> None:
        """Say why an association was refused, in words an installer can act on."""
        requestor = event.assoc.requestor
        request = requestor.primitive
        called = str(getattr(request, "called_ae_title", "") or "").strip()
        calling = str(requestor.ae_title or "").strip()
        where = f"{requestor.address}:{requestor.port}"
        if called != self.ae_title:
            log.warning(
                "Refused an association from %s at %s: it called the AE title %s, but this server is %s "
                "(set the called AE title on that system to %s).",
                calling,
                where,
                called,
                self.ae_title,
                self.ae_title,
            )
        elif self.allowed_calling and calling not in self.allowed_calling:
            log.warning(
                "Refused an association from %s at %s calling %s: the calling AE title %s is not on the "
                "allow-list (serve --allow-ae).",
                calling,
                where,
                called,
                calling,
            )
        else:
            log.warning("Refused an association from %s at %s: too many associations are open.", calling, where)

    def _on_echo(self, event: evt.Event) -> int:
        return Status.SUCCESS

    def _on_find(self, event: evt.Event) -> Iterator[tuple[int | Dataset, Dataset | None]]:
        try:
            screened = screen(from_dataset(event.identifier), MWL_MODEL)
            identifier = screened.identifier
            if screened.ignored:
                log.debug("MWL C-FIND: keys outside the information model ignored: %s", ", ".join(screened.ignored))
            query = build_query(identifier_keys(identifier), self.service.local)
        except Exception as exc:  # noqa: BLE001 -- find_failure logs it whole
            yield find_failure("MWL C-FIND", exc), None
            return
        pending = Status.PENDING_OPTIONAL_KEYS_UNSUPPORTED if screened.unsupported else Status.PENDING
        # a gateway's upstream gives its pages one by one: there each answer goes out as it comes
        streaming = getattr(self.service, "mwl_items", None) is not None or hasattr(self.service, "search_stream")
        answers = PendingAnswers.of(event, pending, streaming=streaming)
        try:
            rest = deciding(self.service, query)
            for item, workitem in candidates(self.service, query):
                if event.is_cancelled:
                    answers.flush()
                    yield Status.CANCELED, None
                    return
                if answers.broken:
                    return  # the modality aborted or went away: nobody reads the rest
                if not rest.matches(item, self.service.local):
                    continue
                answer = answer_keys(item, identifier)
                if answers.send(answer):
                    continue
                named = first_value(workitem, SOP_INSTANCE_UID) if workitem else first_value(item, STUDY_INSTANCE_UID)
                dataset = _encodable(answer, named)
                if dataset is not None:
                    answers.flush()  # pynetdicom's response must follow those already written
                    yield pending, dataset
            answers.flush()
        except Exception as exc:  # noqa: BLE001 -- find_failure logs it whole
            answers.flush()
            yield find_failure("MWL C-FIND", exc), None

    def _status(self, outcome: MppsOutcome, what: str) -> Dataset:
        sent = error_comment(outcome.error_comment)
        if outcome.status != Status.SUCCESS and sent != outcome.comment:
            # the modality got 64 characters: the log keeps the whole sentence
            log.info("MPPS %s refused (%04X): %s", what, outcome.status, outcome.comment)
        return dimse_status(outcome.status, sent, error_id=outcome.error_id)

    def _on_n_create(self, event: evt.Event) -> tuple[Dataset, Dataset | None]:
        request = event.request
        uid = request.AffectedSOPInstanceUID or generate_uid()
        try:
            attrs = from_dataset(event.attribute_list)
            outcome = self.mpps.create(str(uid), attrs, event.assoc.requestor.ae_title)
        except Exception:
            log.exception("MPPS N-CREATE failed")
            outcome = MppsOutcome(Status.PROCESSING_FAILURE, MPPS_FAILED)
        if outcome.status != Status.SUCCESS:
            return self._status(outcome, f"N-CREATE {uid}"), None
        answer = event.attribute_list
        if request.AffectedSOPInstanceUID is None:
            # an SCU may leave the UID to us (PS3.7 10.1.5.1.4); pynetdicom moves it to the response command
            answer.AffectedSOPInstanceUID = uid
        return self._status(outcome, f"N-CREATE {uid}"), answer

    def _on_n_set(self, event: evt.Event) -> tuple[Dataset, Dataset | None]:
        uid = str(event.request.RequestedSOPInstanceUID)
        try:
            changes = from_dataset(event.modification_list)
            outcome = self.mpps.set(uid, changes)
        except Exception:
            log.exception("MPPS N-SET failed")
            outcome = MppsOutcome(Status.PROCESSING_FAILURE, MPPS_FAILED)
        return self._status(outcome, f"N-SET {uid}"), (
            event.modification_list if outcome.status == Status.SUCCESS else None
        )

    def _on_n_get(self, event: evt.Event) -> tuple[int | Dataset, Dataset | None]:
        return retrieve(self.mpps, event)
