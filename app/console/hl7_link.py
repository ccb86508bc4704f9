"""HL7 v2 messages sent to a worklist server's HL7 door, one at a time, each with what came
back: what the demo's simulated RIS uses, so the window shows every message and its ACK."""

from __future__ import annotations

from datetime import datetime

from app.backends.mllp import exchange_blocking, why_not
from app.domain.hl7_ack import message_codec, summarize
from app.domain.hl7_ris import SentMessage


class Hl7Link:
    """The door at `host`:`port`. `send` blocks: call it from a worker thread, never the window's."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def send(self, message: str) -> SentMessage:
        """The message (segments ending with CR) in the character set its MSH-18 names; never raises."""
        when = datetime.now()
        raw = message.encode("utf-8")
        codec = message_codec(raw)
        raw = message.encode(codec, errors="replace")
        try:
            (answer,) = exchange_blocking(self.host, self.port, [raw], self.timeout)
        except (OSError, TimeoutError) as exc:
            failure = f"No answer from the HL7 door at {self.host}:{self.port}: {why_not(exc, self.timeout)}."
            return SentMessage(when, message, failure=failure)
        return SentMessage(when, message, answer.decode(codec, errors="replace"), summarize(answer, codec))
