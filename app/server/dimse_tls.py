"""DICOM over TLS with each connection's handshake on that connection's own thread, in bounded time.

pynetdicom's `AssociationServer.get_request` wraps an accepted socket with
`SSLContext.wrap_socket`, which performs the TLS handshake there and then: on the one thread that
accepts every connection, on a blocking socket, without a timeout. A single TCP connection that
never sends a ClientHello held that thread, and with it every later association, until the peer
went away (DCMTK's `echoscu +tla` gave up after 61 s).

Here accepting only wraps the socket (`do_handshake_on_connect=False`); the handshake runs first
thing on the thread socketserver's ThreadingMixIn starts for the connection, with a socket
timeout, which CPython applies to the handshake as a whole (since 3.5), so a peer trickling bytes
gains nothing. A silent peer holds one thread and one descriptor for HANDSHAKE_SECONDS; nobody
waits behind it.

Only public names of pynetdicom are used: `AE.make_server` takes a server class, and
`get_request`, `process_request_thread` and `shutdown` are socketserver's own hooks.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Sequence
from datetime import datetime

from pynetdicom import AE
from pynetdicom.events import EventHandlerType
from pynetdicom.transport import ThreadedAssociationServer

log = logging.getLogger(__name__)

HANDSHAKE_SECONDS = 5.0  # a real SCU on a site's network shakes hands in well under a second


class HandshakeOffTheAcceptThread(ThreadedAssociationServer):
    """pynetdicom's threaded association server, with the TLS handshake moved from the accepting
    thread to the connection's own, within HANDSHAKE_SECONDS."""

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        assert self.socket is not None
        connection, address = self.socket.accept()
        if self.ssl_context is not None:
            connection = self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def process_request_thread(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: tuple[str, int] | str
    ) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(HANDSHAKE_SECONDS)
                request.do_handshake()
                request.settimeout(None)  # as pynetdicom had it: its reactor polls before each read
            except (OSError, ValueError) as exc:  # ssl.SSLError and TimeoutError included
                log.info("Closed a DICOM TLS connection from %s without a handshake: %s", client_address, exc)
                self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)

    def shutdown(self) -> None:
        # pynetdicom's own shutdown also drops the server from the AE's list of those start_server
        # made; this one was made by make_server and is stopped by its owner alone.
        socketserver.BaseServer.shutdown(self)
        self.server_close()


def start_server(
    ae: AE, address: tuple[str, int], handlers: Sequence[EventHandlerType], tls: ssl.SSLContext | None
) -> HandshakeOffTheAcceptThread:
    """What `ae.start_server(address, block=False, ssl_context=tls, evt_handlers=handlers)` does,
    with a TLS handshake off the accepting thread."""
    server = ae.make_server(
        address, ssl_context=tls, evt_handlers=list(handlers), server_class=HandshakeOffTheAcceptThread
    )
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    threading.Thread(target=server.serve_forever, name=f"AcceptorServer@{stamp}", daemon=True).start()
    return server
