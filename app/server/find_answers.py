"""The pending responses of one C-FIND, written without pynetdicom's per-message work.

Every pending response of a query has the same command set, so it is encoded once (by
pynetdicom) and each answer costs only its identifier, encoded straight from DICOM JSON
(`app.domain.wire`). Command and identifier travel as two PDVs of one P-DATA-TF when they fit the
peer's maximum PDU length (PS3.8 9.3.5), else fragmented as pynetdicom does.

On a plain TCP socket the PDUs are written by the handler's own thread, gathered into writes of
up to WRITE_BYTES: while a C-FIND is served nothing else is sent on the association, and the final
response is queued only after the handler has flushed. pynetdicom's reactor would take each PDU
off a queue, through its state machine, and encode it again, and each write to a loopback peer
costs tens of microseconds: together about as long as finding the answer. Over TLS the reactor
reads the same SSL object meanwhile, which OpenSSL does not allow from two threads: there each PDU
goes through pynetdicom's queue.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from io import BytesIO

from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import evt
from pynetdicom.dimse_messages import C_FIND_RSP
from pynetdicom.dimse_primitives import C_FIND
from pynetdicom.dsutils import encode
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.transport import AssociationSocket

from app.domain import wire
from app.domain.dicomjson import JsonDataset

# A station's day of answers in a handful of writes; a modality reading slowly holds at most this.
WRITE_BYTES = 64 * 1024


class PendingAnswers:
    """Sends pending responses of one C-FIND; `send` says False where it cannot (pynetdicom then
    encodes that answer through pydicom). Call `flush` before anything else goes out."""

    def __init__(self, assoc: object, context_id: int, command: bytes, max_pdu: int, implicit: bool) -> None:
        self.assoc = assoc
        self.context_id = context_id
        self.command = command
        self.max_pdu = max_pdu
        self.implicit = implicit
        self.direct = _plain_socket(assoc)
        self.streaming = False
        self.broken = False  # a write failed: nobody reads the rest
        self._held: list[bytes] = []
        self._held_bytes = 0

    @classmethod
    def of(cls, event: evt.Event, status: int, *, streaming: bool = False) -> PendingAnswers | _Refusing:
        """The sender for `event`'s query; one that always refuses where the context's transfer
        syntax is not one `wire` writes, or the peer's PDUs cannot hold the command whole."""
        context = event.context
        implicit = {ImplicitVRLittleEndian: True, ExplicitVRLittleEndian: False}.get(context.transfer_syntax)
        if implicit is None:
            return _Refusing()
        request = event.request
        response = C_FIND()
        response.MessageIDBeingRespondedTo = request.MessageID
        response.AffectedSOPClassUID = request.AffectedSOPClassUID
        response.Status = status
        response.Identifier = BytesIO(b"\0")  # a data set follows (Command Data Set Type)
        message = C_FIND_RSP()
        message.primitive_to_message(response)
        command = b"\x03" + encode(message.command_set, True, True)  # the last (only) command fragment
        max_pdu = event.assoc.dimse.maximum_pdu_size
        if max_pdu and len(command) + 5 > max_pdu:
            return _Refusing()
        answers = cls(event.assoc, context.context_id, command, max_pdu, implicit)
        answers.streaming = streaming
        return answers

    def send(self, answer: JsonDataset) -> bool:
        encoded = wire.encode(answer, self.implicit)
        if encoded is None or not self.assoc.is_established:  # type: ignore[attr-defined]
            return False
        if self.direct is None:
            for pdvs in _pdvs(self.command, encoded, self.max_pdu):
                pdata = P_DATA()
                pdata.presentation_data_value_list = [[self.context_id, pdv] for pdv in pdvs]
                self.assoc.dul.send_pdu(pdata)  # type: ignore[attr-defined]
            return True
        for pdvs in _pdvs(self.command, encoded, self.max_pdu):
            pdu = _p_data_tf(self.context_id, pdvs)
            self._held.append(pdu)
            self._held_bytes += len(pdu)
        if self.streaming or self._held_bytes >= WRITE_BYTES:
            self.flush()
        return True

    def flush(self) -> None:
        if self._held and self.direct is not None and not self.broken:
            try:
                self.direct.socket.sendall(b"".join(self._held))
            except OSError:
                # the modality aborted or went away: say so to pynetdicom's reactor as its own
                # write would (Evt17: the transport connection closed), and stop answering
                self.broken = True
                self.direct.event_queue.put("Evt17")
        self._held.clear()
        self._held_bytes = 0


class _Refusing:
    broken = False

    def send(self, answer: JsonDataset) -> bool:
        return False

    def flush(self) -> None:
        pass


def _plain_socket(assoc: object) -> AssociationSocket | None:
    """The association's socket when it is plain TCP (not TLS)."""
    wrapper = getattr(getattr(assoc, "dul", None), "socket", None)
    if isinstance(wrapper, AssociationSocket) and type(wrapper.socket) is socket.socket:
        return wrapper
    return None


def _pdvs(command: bytes, data: bytes, max_pdu: int) -> Iterator[list[bytes]]:
    """The PDVs of one message (the command's, with its control header, then the data set's), by
    P-DATA-TF: both in one where they fit `max_pdu` (0: no limit), each PDV taking its own 4-byte
    length and 1-byte context ID, else the command, then the data set in fragments of the PDU's room."""
    if not max_pdu or len(command) + len(data) + 11 <= max_pdu:  # 2 x (4 + 1) + the data's header
        yield [command, b"\x02" + data]
        return
    yield [command]
    room = max_pdu - 6
    for start in range(0, len(data), room):
        last = start + room >= len(data)
        yield [(b"\x02" if last else b"\x00") + data[start : start + room]]


def _p_data_tf(context_id: int, pdvs: list[bytes]) -> bytes:
    """One P-DATA-TF PDU (PS3.8 9.3.5) of PDVs that start with their message control header."""
    items = b"".join(struct.pack(">IB", len(pdv) + 1, context_id) + pdv for pdv in pdvs)
    return struct.pack(">BBI", 0x04, 0, len(items)) + items
