"""`worklist-console hl7 send FILE|- --to HOST:PORT [--tls …]`: send HL7 v2 messages over MLLP (or
MLLP over TLS) and print each ACK — what an installer uses to test a feed, as DCMTK's tools are for
DICOM."""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from pathlib import Path

import hl7
from hl7.mllp import open_hl7_connection

from app.domain.hl7_ack import AckSummary, read_ack, split_messages
from app.domain.hl7_orders import CHARACTER_SETS

USAGE = 2


def send(args: argparse.Namespace) -> int:
    """0 when every message was accepted (AA), 1 when one was not, 2 when nothing could be sent."""
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"Cannot read {args.file}: {exc.strerror or exc}.", file=sys.stderr)
        return USAGE
    messages = split_messages(data)
    if not messages or not all(message.startswith(b"MSH") for message in messages):
        print(f"{args.file} holds no HL7 v2 message: each must begin with an MSH segment.", file=sys.stderr)
        return USAGE
    host, port = args.to
    try:
        tls = _tls(args)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return USAGE
    except OSError as exc:  # ssl.SSLError included
        print(f"Cannot use the TLS files given (--ca, --cert, --key): {exc.strerror or exc}.", file=sys.stderr)
        return USAGE
    try:
        answers = asyncio.run(_exchange(host, port, messages, args.timeout, tls))
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {args.timeout:g} s"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            reason = f"its certificate is not one this trusts ({exc.verify_message}; give its CA with --ca)"
        elif isinstance(exc, ssl.SSLError):
            reason = (
                f"the TLS handshake failed ({exc.reason or exc}); is it `serve --hl7-tls`, and does it take --cert?"
            )
        elif isinstance(exc, asyncio.IncompleteReadError):
            reason = "it closed the connection without an answer" + (
                " (over TLS: it may not take this client certificate, or none)" if tls else ""
            )
        elif isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc):
            reason = "nothing listens there (is `serve --hl7-port` running?)"
        else:
            reason = exc.strerror or str(exc)
        print(f"Cannot exchange HL7 messages with {host}:{port}: {reason}.", file=sys.stderr)
        return USAGE
    accepted = True
    for message, answer in zip(messages, answers, strict=True):
        summary = _summary(answer, _codec(message))
        accepted = accepted and summary.code == "AA"
        print(summary.line(_named(message)), flush=True)
    return 0 if accepted else 1


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The client side of MLLP over TLS from --tls, --ca, --cert and --key; None without --tls."""
    if not getattr(args, "tls", False):
        if getattr(args, "ca", None) or getattr(args, "cert", None) or getattr(args, "key", None):
            raise ValueError("--ca, --cert and --key go with --tls.")
        return None
    if bool(args.cert) != bool(args.key):
        raise ValueError("--cert and --key go together: the client certificate and its private key.")
    context = ssl.create_default_context(cafile=args.ca)
    if args.cert:
        context.load_cert_chain(args.cert, args.key)
    return context


async def _exchange(
    host: str, port: int, messages: list[bytes], timeout: float, tls: ssl.SSLContext | None = None
) -> list[bytes]:
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


def _codec(message: bytes) -> str:
    try:
        declared = str(hl7.parse(message.decode("latin-1")).segments("MSH")[0].extract_field(1, 18, 1, 1, 1))
    except Exception:  # noqa: BLE001 -- a message the receiver cannot read either: its answer says so
        declared = ""
    return CHARACTER_SETS.get(declared.upper(), ("utf-8", ""))[0]


def _summary(answer: bytes, codec: str) -> AckSummary:
    try:
        return read_ack(answer.decode(codec, errors="replace"))
    except Exception:  # noqa: BLE001 -- whatever the peer sent back, it is reported, not raised
        return AckSummary("??", "", f"The answer is not an HL7 ACK: {answer[:80]!r}")


def _named(message: bytes) -> str:
    """The message as the installer knows it: its control ID and type (MSH-10, MSH-9)."""
    fields = message.split(b"\r", 1)[0].decode("latin-1").split(message[3:4].decode("latin-1") or "|")
    control = fields[9] if len(fields) > 9 else ""
    kind = fields[8] if len(fields) > 8 else ""
    return f"{control or '(no control ID)'} {kind}".strip()
