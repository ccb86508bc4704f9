"""An MLLP client: HL7 v2 messages out, each one's ACK back, over python-hl7's asyncio streams
(their framing), one message at a time on one connection — what a RIS does.

Used by `worklist-console hl7 send` and by the demo's simulated RIS; neither needs more.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

from hl7.mllp import open_hl7_connection


async def exchange(
    host: str, port: int, messages: Sequence[bytes], timeout: float, tls: ssl.SSLContext | None = None
) -> list[bytes]:
    """The ACK of each message, in order (without framing), over TLS with `tls`. OSError,
    TimeoutError or IncompleteReadError when the receiver cannot be reached, does not answer
    within `timeout` seconds or closes the connection without an answer."""
    reader, writer = await asyncio.wait_for(open_hl7_connection(host, port, ssl=tls), timeout)
    answers = []
    try:
        for message in messages:
            writer.writeblock(message)
            await writer.drain()
            answers.append(bytes(await asyncio.wait_for(reader.readblock(), timeout)))
    finally:
        writer.close()
    return answers


def exchange_blocking(
    host: str, port: int, messages: Sequence[bytes], timeout: float, tls: ssl.SSLContext | None = None
) -> list[bytes]:
    """`exchange` for a caller without an event loop of its own (a worker thread)."""
    return asyncio.run(exchange(host, port, messages, timeout, tls))


def client_tls(ca: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    """The client side of MLLP over TLS: trust the receiver as `ca` signed it (else the system's
    CAs), and show `cert`/`key` when given. ValueError for a pair half given; OSError for files
    that cannot be used."""
    if bool(cert) != bool(key):
        raise ValueError("--cert and --key go together: the client certificate and its private key.")
    context = ssl.create_default_context(cafile=ca)
    if cert:
        context.load_cert_chain(cert, key)
    return context


def why_not(exc: OSError | TimeoutError | asyncio.IncompleteReadError, timeout: float, tls: bool = False) -> str:
    """Why an exchange failed, in words that end a sentence."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its certificate is not one this trusts ({exc.verify_message}; give its CA with --ca)"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({exc.reason or exc}); is it `serve --hl7-tls`, and does it take --cert?"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "it closed the connection without an answer" + (
            " (over TLS: it may not take this client certificate, or none)" if tls else ""
        )
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc):
        return "nothing listens there (is `serve --hl7-port` running?)"
    return exc.strerror or str(exc)
