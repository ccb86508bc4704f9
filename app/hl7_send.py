"""`worklist-console hl7 send FILE|- --to HOST:PORT`: send HL7 v2 messages over MLLP and print
each ACK — what an installer uses to test a feed, as DCMTK's tools are for DICOM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.backends.mllp import exchange_blocking, why_not
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
        answers = exchange_blocking(host, port, messages, args.timeout)
    except (OSError, TimeoutError) as exc:
        print(f"Cannot exchange HL7 messages with {host}:{port}: {why_not(exc, args.timeout)}.", file=sys.stderr)
        return USAGE
    accepted = True
    for message, answer in zip(messages, answers, strict=True):
        summary = summarize(answer, message_codec(message))
        accepted = accepted and summary.code == "AA"
        print(summary.line(named(message)), flush=True)
    return 0 if accepted else 1
