"""The HL7 v2 door: an MLLP listener (python-hl7's asyncio streams) that takes a RIS's orders and
patient events and answers each message with its ACK.

Each message is handled in a worker thread through the UPS service (its transactions, access
rule, audit and events), as the sender named in MSH-3^MSH-4 over the door "HL7". The answer to a
sender's control ID (MSH-10) is kept in the store, so that a message resent after a lost ACK is
answered again and done once. A connection is served one message at a time, in order.

Who sends: without users, anyone the allow-list lets in. With users, MLLP in the clear only on
loopback, where the sender acts as the RIS; else MLLP over TLS (`--hl7-tls`), where a client
certificate the users file names (`users certificate`) is that user, role and AE titles included,
and the access rule decides what it may order, change and cancel as over any other door.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import hl7
from hl7.mllp import start_hl7_server
from hl7.mllp.exceptions import InvalidBlockError

from app.domain.access import Identity, Role
from app.domain.hl7_ack import build_ack
from app.domain.hl7_bounds import UNREADABLE, loose, read, refused_before_parsing
from app.domain.hl7_orders import ACCESSION_FIELDS, CHARACTER_SETS, OrderError, header, message_type
from app.domain.hl7_outcome import AckCode, ErrorLocation, Outcome

from .audit import Actor, acting_as
from .hl7_orders import handle_orders
from .hl7_patients import handle_adt
from .security import is_loopback
from .service import UPSService
from .users import Users

log = logging.getLogger(__name__)

DOOR = "HL7"
MAX_MESSAGE_BYTES = 1 << 20  # an order is a few kilobytes; a megabyte is a mistake or an attack
END = b"\x1c\x0d"
# A RIS keeps one connection or a few; interface engines a few dozen. The 100 concurrent senders
# of the tests fit with room, and file descriptors stay plenty for the HTTP and DIMSE fronts.
MAX_CONNECTIONS = 256
ORDERS = {("ORM", "O01"), ("OMI", "O23")}
HANDSHAKE_SECONDS = 5.0  # as DICOM TLS's: a RIS on a site's network shakes hands in well under a second
NO_CERTIFICATE = (
    "This server needs to know who sends: connect with a client certificate that its --client-ca signed "
    "and that its users file names (worklist-console users certificate NAME PEM)."
)


def check_exposure(host: str, users_on: bool, tls: ssl.SSLContext | None) -> None:
    """ValueError, in a sentence, when the door could not tell who sends: with users, MLLP in the
    clear is for loopback only, and over TLS each sender must show a client certificate."""
    if not users_on:
        return
    asks_certificates = tls is not None and tls.verify_mode is not ssl.CERT_NONE
    if tls is not None and not asks_certificates:
        raise ValueError(
            "With --users the HL7 door over TLS knows a sender by its client certificate: give --client-ca "
            "with --hl7-tls."
        )
    if tls is None and not is_loopback(host):
        raise ValueError(
            "With --users the HL7 door cannot tell who sends MLLP in the clear (it has no passwords): off "
            f"loopback ({host}) it needs --hl7-tls and --client-ca, so that each sender shows a client "
            "certificate the users file names. Serve on 127.0.0.1 and let a local interface engine forward "
            "the RIS's feed, add --hl7-tls --client-ca PEM, or leave out --hl7-port."
        )


class Hl7Door:
    """The listener on `host`:`port` (0: a free one, known once constructed)."""

    def __init__(
        self,
        service: UPSService,
        host: str,
        port: int,
        *,
        ae_title: str = "WORKLIST",
        allow: tuple[str, ...] = (),
        users_on: bool = False,
        stations: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        accession_fields: Sequence[str] = ACCESSION_FIELDS,
        tls: ssl.SSLContext | None = None,
        users: Users | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        check_exposure(host, users_on or users is not None, tls)
        self.service = service
        self.ae_title = ae_title
        self.allow = frozenset(entry.strip() for entry in allow if entry.strip())
        self.users_on = users_on
        self.stations = {key.upper(): value for key, value in (stations or {}).items()}
        self.timeout = timeout
        self.accession_fields = tuple(accession_fields) or ACCESSION_FIELDS
        self.tls = tls
        self.users = users
        # who each open TLS connection is ("host:port" -> its certificate's user, None: none known)
        self._senders: dict[str, Identity | None] = {}
        self.max_connections = max_connections
        # one address may take most places, not all: a stuck or hostile sender leaves room for the RIS
        self.per_address = max(1, (max_connections * 3 + 3) // 4)
        self._by_address: Counter[str] = Counter()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError:
            self.socket.close()
            raise
        self.port: int = self.socket.getsockname()[1]
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    # -- the listener ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.tls is None:
            self._server = await start_hl7_server(self._connected, sock=self.socket, limit=MAX_MESSAGE_BYTES)
            return
        # asyncio shakes hands before it calls back, within its own deadline: a peer that never
        # sends its ClientHello holds one descriptor for that long and keeps no one waiting
        self._server = await start_hl7_server(
            self._identified,
            sock=self.socket,
            limit=MAX_MESSAGE_BYTES,
            ssl=self.tls,
            ssl_handshake_timeout=HANDSHAKE_SECONDS,
        )

    async def _identified(self, reader: Any, writer: Any) -> None:
        """A TLS connection: the user its client certificate stands for, then `_connected`."""
        peer = _peer(writer)
        self._senders[peer] = self._certificate_user(writer.get_extra_info("ssl_object"))
        try:
            await self._connected(reader, writer)
        finally:
            self._senders.pop(peer, None)

    def _certificate_user(self, tls: ssl.SSLObject | None) -> Identity | None:
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        return self.users.by_certificate(der) if der and self.users is not None else None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(self._connections, timeout=2)
        self.socket.close()

    async def _connected(self, reader: Any, writer: Any) -> None:
        peer = _peer(writer)
        address = peer.rpartition(":")[0]
        crowded = self._crowded(address)
        if crowded:
            # Closed before a byte is read: waiting for a message to answer AR would hold, up to the
            # timeout, the very place the cap keeps free; a sender takes a closed connection as
            # "not delivered" and sends again later, which is right, as nothing was processed.
            log.warning("HL7 connection from %s closed at once: %s", peer, crowded)
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        self._by_address[address] += 1
        try:
            await self._serve(reader, writer, peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the sender went away; what it did not get an ACK for, it sends again
        except TimeoutError:
            log.info("HL7 connection from %s closed: the end of an oversized message never came", peer)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("The HL7 connection from %s failed", peer)
        finally:
            writer.close()
            self._by_address[address] -= 1
            if not self._by_address[address]:
                del self._by_address[address]
            if task is not None:
                self._connections.discard(task)

    def _crowded(self, address: str) -> str:
        """Why a new connection from `address` is refused; "" when it is not."""
        if sum(self._by_address.values()) >= self.max_connections:
            return f"the door holds its {self.max_connections} connections (--hl7-max-connections)"
        if self._by_address[address] >= self.per_address:
            return f"{address} holds {self.per_address} connections, its share of --hl7-max-connections"
        return ""

    async def _serve(self, reader: Any, writer: Any, peer: str) -> None:
        while True:
            try:
                async with asyncio.timeout(self.timeout):  # no task per message, as wait_for made
                    raw = await reader.readblock()
            except TimeoutError:
                log.info("HL7 connection from %s closed: no complete message within %.0f s", peer, self.timeout)
                return
            except asyncio.IncompleteReadError:
                return
            except ValueError as exc:  # over the limit: python-hl7 dropped what it held
                if "not found" in str(exc):  # asyncio's words when the end block has not come yet
                    await self._skip_frame(reader)
                log.warning("HL7 message from %s refused: over %d bytes", peer, MAX_MESSAGE_BYTES)
                too_big = Outcome.rejected(
                    f"The message is over {MAX_MESSAGE_BYTES} bytes: it was not read.", None, 100
                )
                writer.writeblock(self._ack(None, too_big, "utf-8"))
                await writer.drain()
                continue
            except InvalidBlockError:
                writer.writeblock(self._ack(None, Outcome.rejected(UNREADABLE, ErrorLocation("MSH", 1), 100), "utf-8"))
                await writer.drain()
                continue
            ack = await asyncio.to_thread(self.answer, bytes(raw), peer)
            writer.writeblock(ack)
            await writer.drain()

    async def _skip_frame(self, reader: Any) -> None:
        tail = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), self.timeout)
            if not chunk:
                raise asyncio.IncompleteReadError(b"", None)
            if END in tail + chunk:
                return
            tail = chunk[-1:]

    # -- one message ----------------------------------------------------------------------------------------
    def answer(self, raw: bytes, peer: str) -> bytes:
        """The ACK of one message (without MLLP framing); never raises."""
        refused = refused_before_parsing(raw)
        if refused is not None:
            log.info("HL7 message from %s refused: %s", peer, refused.text)
            return self._ack(loose(raw.split(b"\r", 1)[0]), refused, "utf-8")
        try:
            message, charset = read(raw)
        except OrderError as exc:
            return self._ack(loose(raw), exc.outcome, "utf-8")
        except Exception:  # noqa: BLE001 -- python-hl7 raises whatever hostile bytes make it meet
            log.info("HL7 message from %s refused: it cannot be read as HL7 v2", peer)
            return self._ack(None, Outcome.rejected(UNREADABLE, ErrorLocation("MSH", 1), 100), "utf-8")
        codec = CHARACTER_SETS.get(header(message, 18).upper(), ("utf-8", ""))[0]
        application, facility = header(message, 3), header(message, 4)
        sender = f"{application}^{facility}"
        control_id = header(message, 10)
        kind, trigger = message_type(message)
        identity = self._sender(peer, sender)
        user = identity.name if identity is not None and self.tls is not None else None  # a certificate's
        actor = Actor(ae=application[:16] or None, user=user, peer=peer, door=DOOR, identity=identity)
        unknown = self._unknown(identity, application[:16])
        if unknown is not None:
            self._audit_refusal(actor, sender, control_id, kind, trigger, unknown.text)
            return self._ack(message, unknown, codec)
        if self.allow and sender not in self.allow:
            self._audit_refusal(actor, sender, control_id, kind, trigger, "not on --hl7-allow")
            refused = Outcome.rejected(
                f"The sender {sender} (MSH-3^MSH-4) is not on this server's --hl7-allow list.",
                ErrorLocation("MSH", 3),
                207,
            )
            return self._ack(message, refused, codec)
        try:
            ack, outcome, repeat = self._done_once(
                message, charset, codec, application, sender, control_id, kind, trigger, actor
            )
        except self.service.store.errors:
            log.exception("HL7 %s^%s %s from %s: the worklist database failed", kind, trigger, control_id, sender)
            failed = Outcome.rejected(
                "The server could not store the message just now; nothing of it was kept: send it again.", None, 207
            )
            return self._ack(message, failed, codec)
        if repeat:
            log.info("HL7 %s^%s %s from %s: a repeat, answered as the first time", kind, trigger, control_id, sender)
            return ack
        log.info(
            "HL7 %s^%s %s from %s (%s): %s %s",
            kind,
            trigger,
            control_id,
            sender,
            peer,
            outcome.code.value,
            outcome.text,
        )
        return ack

    def _sender(self, peer: str, sender: str) -> Identity | None:
        """Who sends on this connection: over TLS, its certificate's user; in the clear with
        users, the RIS (the door is then on loopback only); without users, nobody in particular."""
        if self.tls is not None:
            return self._senders.get(peer)
        return Identity(f"HL7 {sender}", Role.RIS) if self.users_on else None

    def _unknown(self, identity: Identity | None, application: str) -> Outcome | None:
        """The refusal of a sender the door cannot name as a user, or who sends under an AE title
        (MSH-3) its user is not bound to, as over DIMSE; None when the door may go on."""
        if self.tls is None or not self.users_on:
            return None
        if identity is None:
            return Outcome.rejected(NO_CERTIFICATE, ErrorLocation("MSH", 3), 207)
        if not identity.may_act_as(application):
            return Outcome.rejected(
                f"The user {identity.name} (this connection's client certificate) may not send as {application} "
                f"(MSH-3): it is bound to {', '.join(sorted(identity.aes))}.",
                ErrorLocation("MSH", 3),
                207,
            )
        return None

    def _done_once(
        self,
        message: hl7.Message,
        charset: str,
        codec: str,
        application: str,
        sender: str,
        control_id: str,
        kind: str,
        trigger: str,
        actor: Actor,
    ) -> tuple[bytes, Outcome, bool]:
        """The ACK, the outcome and whether it is a repeat answered with the stored ACK.

        The work and its ACK (under sender and MSH-10) commit in ONE transaction: the handlers'
        service calls join it (UPSService.transaction). Stored apart, a crash between the two
        commits left work without an ACK, and the resend ran again: an order found "already
        scheduled" would pass, but a cancellation request, a merge or an update would be done
        twice, answered differently. Recognising each kind of resend by its effect would be a rule
        per message type; one commit makes every message kind exactly-once. Looking the control ID
        up inside the write transaction also settles two connections sending the same message at
        once: the second waits for the first's commit and finds its ACK."""
        store = self.service.store
        try:
            with self.service.transaction() as work:
                first = store.hl7_ack(work.db, sender, control_id) if control_id else None
                if first is not None:
                    return first, Outcome.done(), True
                with acting_as(actor):
                    outcome = self._dispatch(message, charset, kind, trigger, application)
                ack = self._ack(message, outcome, codec)
                if outcome.code is AckCode.REJECTED:
                    # not processed (HL7's AR): what a failing handler did before it failed goes too,
                    # and nothing is stored, so the resend the ACK asks for runs afresh
                    raise _NotProcessed(ack, outcome)
                if control_id:
                    store.put_hl7_ack(work.db, sender, control_id, ack, self.service.clock())
        except _NotProcessed as refused:
            return refused.ack, refused.outcome, False
        return ack, outcome, False

    def _dispatch(self, message: hl7.Message, charset: str, kind: str, trigger: str, application: str) -> Outcome:
        version = header(message, 12)
        if not version.startswith("2."):
            return Outcome.rejected(
                f"HL7 version {version!r} (MSH-12) is not one this server reads: 2.3 to 2.5.1.",
                ErrorLocation("MSH", 12),
                203,
            )
        try:
            if (kind, trigger) in ORDERS:
                return handle_orders(
                    message,
                    charset,
                    self.service,
                    requester=application,
                    stations=self.stations,
                    accession_fields=self.accession_fields,
                )
            if kind == "ADT":
                return handle_adt(message, self.service)
        except Exception:
            log.exception("HL7 %s^%s could not be processed", kind, trigger)
            return Outcome.rejected(
                "The server could not process the message (its log says why); send it again later.", None, 207
            )
        return Outcome.rejected(
            f"The message type {kind}^{trigger} (MSH-9) is not one this server handles: ORM^O01, OMI^O23, ADT.",
            ErrorLocation("MSH", 9),
            200,
        )

    def _ack(self, message: hl7.Message | None, outcome: Outcome, codec: str) -> bytes:
        text = build_ack(message, outcome, uuid.uuid4().hex[:20], self.service.now_dt(), self.ae_title)
        return text.encode(codec, errors="replace")

    def _audit_refusal(self, actor: Actor, sender: str, control_id: str, kind: str, trigger: str, reason: str) -> None:
        log.warning("HL7 %s^%s %s from %s (%s) refused: %s", kind, trigger, control_id, sender, actor.peer, reason)
        audit = self.service.audit
        if audit is not None:
            line = audit.record(
                "hl7-refused",
                "",
                when=self.service.clock(),
                actor=actor,
                sender=sender,
                control_id=control_id,
                message=f"{kind}^{trigger}",
                reason=reason,
            )
            audit.write([line])


class _NotProcessed(Exception):
    """Rolls a message's transaction back: its answer is an AR."""

    def __init__(self, ack: bytes, outcome: Outcome) -> None:
        super().__init__(outcome.text)
        self.ack = ack
        self.outcome = outcome


def _peer(writer: Any) -> str:
    where = writer.get_extra_info("peername")
    return f"{where[0]}:{where[1]}" if isinstance(where, tuple) and len(where) >= 2 else "unknown"
