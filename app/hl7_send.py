"""`worklist-console hl7 send FILE|- --to HOST:PORT [--tls …]`: send HL7 v2 messages over MLLP (or
MLLP over TLS) and print each ACK — what an installer uses to test a feed, as DCMTK's tools are for
DICOM."""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from pathlib import Path

from app.backends.mllp import client_tls, exchange_blocking, why_not
from app.domain.hl7_ack import message_codec, named, split_messages, summarize

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
        answers = exchange_blocking(host, port, messages, args.timeout, tls)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        print(
            f"Cannot exchange HL7 messages with {host}:{port}: {why_not(exc, args.timeout, tls is not None)}.",
            file=sys.stderr,
        )
        return USAGE
    accepted = True
    for message, answer in zip(messages, answers, strict=True):
        summary = summarize(answer, message_codec(message))
        accepted = accepted and summary.code == "AA"
        print(summary.line(named(message)), flush=True)
    return 0 if accepted else 1


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The client side of MLLP over TLS from --tls, --ca, --cert and --key; None without --tls."""
    if not getattr(args, "tls", False):
        if getattr(args, "ca", None) or getattr(args, "cert", None) or getattr(args, "key", None):
            raise ValueError("--ca, --cert and --key go with --tls.")
        return None
    return client_tls(args.ca, args.cert, args.key)
