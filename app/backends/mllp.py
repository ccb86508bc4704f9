"""An MLLP client: HL7 v2 messages out, each one's ACK back, over python-hl7's asyncio streams
(their framing), one message at a time on one connection — what a RIS does.

Used by `worklist-console hl7 send` and by the demo's simulated RIS; neither needs more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hl7.mllp import open_hl7_connection


async def exchange(host: str, port: int, messages: Sequence[bytes], timeout: float) -> list[bytes]:
    """The ACK of each message, in order (without framing). OSError or TimeoutError when the
    receiver cannot be reached or does not answer within `timeout` seconds."""
    reader, writer = await asyncio.wait_for(open_hl7_connection(host, port), timeout)
    answers = []
    try:
        for message in messages:
            writer.writeblock(message)
            await writer.drain()
            answers.append(bytes(await asyncio.wait_for(reader.readblock(), timeout)))
    finally:
        writer.close()
    return answers


def exchange_blocking(host: str, port: int, messages: Sequence[bytes], timeout: float) -> list[bytes]:
    """`exchange` for a caller without an event loop of its own (a worker thread)."""
    return asyncio.run(exchange(host, port, messages, timeout))


def why_not(exc: OSError | TimeoutError, timeout: float) -> str:
    """Why an exchange failed, in words that end a sentence."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc):
        return "nothing listens there (is `serve --hl7-port` running?)"
    return exc.strerror or str(exc)
