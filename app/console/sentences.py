"""How the console names things in its messages, and the keys that group those messages."""

from __future__ import annotations

from app.domain.workitem import Workitem

CONNECTION = "connection"  # the message key of whatever concerns reaching the server
# the message key of a refusal of who we are (HTTP 403): a setting to fix, never an outage
CONFIGURATION = "configuration"


def procedure_key(uid: str) -> str:
    """The message key of one procedure: news about it replaces earlier news about it."""
    return f"procedure:{uid}"


def named(w: Workitem) -> str:
    return f"{w.label or 'the procedure'} for {w.patient_name.display()}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
