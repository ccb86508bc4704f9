"""The audit file: who changed which workitem, what and when, as JSON lines beside the database.

Every front reaches the UPS service, so the service writes the lines, after the commit that
holds the change (a refused or rolled-back request leaves none). Who made the change is the
front's knowledge: each front sets the `Actor` of the request it is handling with
`acting_as` (a context variable, so it follows the request into the worker thread the
service runs in), and the service reads it with `current_actor`.

A line never holds a patient's name, ID or accession number unless the site asked for it
(`serve --audit-phi`); the workitem UID is the key, and the worklist answers the rest.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from io import TextIOWrapper
from pathlib import Path
from typing import Any

from app import private_files
from app.domain import compact_json
from app.domain import tags as t
from app.domain.access import Identity
from app.domain.dicomjson import JsonDataset, text_value
from app.logs import PrivateRotatingFileHandler

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 9  # ten files of 10 MiB: months of a busy department's changes

Record = dict[str, Any]


@dataclass(frozen=True)
class Actor:
    """Who is behind a request: the AE title it came with, the authenticated user, the peer's
    address, the door it came through (UPS-RS, Sup 246, DIMSE UPS, DIMSE MPPS), and the identity
    the access rule judges (None where the server runs without users)."""

    ae: str | None = None
    user: str | None = None
    peer: str | None = None
    door: str | None = None
    identity: Identity | None = None


_ACTOR: ContextVar[Actor | Callable[[], Actor] | None] = ContextVar("audit_actor", default=None)


def current_actor() -> Actor:
    """The actor of the request being handled; an empty one for the server's own work."""
    found = _ACTOR.get()
    if found is None:
        return Actor()
    return found() if callable(found) else found


@contextlib.contextmanager
def acting_as(actor: Actor | Callable[[], Actor]) -> Iterator[None]:
    """Changes made inside the block are recorded as `actor`'s. A callable is asked when a line
    is written: an HTTP request's user is known only once authentication has run."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


# Where the HTTP door leaves the authenticated principal (a name and the AE titles it may act as).
PRINCIPAL_KEY = "worklist.principal"

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


# The door an HTTP request came through, by the path it asks for (the audit names the real one).
SUP246_PATHS = ("/modality-scheduled-procedure-steps", "/modality-performed-procedure-steps")


def http_door(path: str) -> str:
    return "Sup 246" if any(marker in path for marker in SUP246_PATHS) else "UPS-RS"


def http_actor(scope: Scope) -> Actor:
    """The actor of an HTTP request: its peer address and, once authenticated, its user and the one
    AE title that user acts as."""
    client = scope.get("client")
    principal = scope.get(PRINCIPAL_KEY)
    return Actor(
        ae=getattr(principal, "own_ae", None),
        user=getattr(principal, "name", None),
        peer=f"{client[0]}:{client[1]}" if client else None,
        door="WebSocket" if scope.get("type") == "websocket" else http_door(str(scope.get("path", ""))),
        identity=principal,
    )


class HttpActors:
    """ASGI middleware: the service calls of an HTTP request run as its actor (resolved when a
    change is recorded, after authentication has named the user)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        with acting_as(lambda: http_actor(scope)):
            await self.app(scope, receive, send)


def audit_path(db_path: str | Path) -> Path:
    """The audit file of a database: worklist.db → worklist.audit.jsonl, in the same folder."""
    return Path(db_path).with_suffix(".audit.jsonl")


class _PrivateRotatingFileHandler(PrivateRotatingFileHandler):
    """Audit files may name patients: readable by the server's own account only, rotated ones too."""

    def _open(self) -> TextIOWrapper:
        stream = super()._open()
        with contextlib.suppress(OSError):
            os.chmod(self.baseFilename, 0o600)
        return stream


class AuditLog:
    """Appends audit records to `path` as JSON lines, rotated at `max_bytes` (`backups` kept)."""

    def __init__(self, path: str | Path, *, phi: bool = False, max_bytes: int = MAX_BYTES, backups: int = BACKUPS):
        self.path = Path(path)
        self.phi = phi
        private_files.make_folder(self.path.parent)
        self._handler = _PrivateRotatingFileHandler(
            self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        self._closed = False

    def record(
        self,
        action: str,
        uid: str,
        *,
        when: float,
        actor: Actor,
        before: str | None = None,
        after: str | None = None,
        dataset: JsonDataset | None = None,
        **details: Any,
    ) -> Record:
        """One audit record (not yet written): `before`/`after` are the workitem's states."""
        line: Record = {
            "time": datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "action": action,
            "uid": uid,
            "before": before,
            "after": after,
            # The one AE title the request acted as: the one the transaction named (the access rule
            # bound it to the user), else the association's or the user's own.
            "ae": details.get("performer") or details.get("requester") or details.get("subscriber") or actor.ae,
            "user": actor.user,
            "peer": actor.peer,
            "door": actor.door,
        }
        line.update({key: value for key, value in details.items() if value is not None})
        if self.phi and dataset is not None:
            line["patient_name"] = text_value(dataset, t.PATIENT_NAME)
            line["patient_id"] = text_value(dataset, t.PATIENT_ID)
        return line

    def write(self, records: list[Record]) -> None:
        if self._closed:  # the server is stopping: as a logger without its handler, nothing is written
            return
        for line in records:
            try:
                self._handler.append(compact_json.dumps(line, non_finite=False))
            except Exception:
                # The change is committed: a full disk must not turn it into a failure for the client.
                log.exception("Could not write an audit line for %s %s", line.get("action"), line.get("uid"))

    def close(self) -> None:
        self._closed = True
        self._handler.close()


# -- reading ------------------------------------------------------------------------------------------
def read(path: str | Path, uid: str | None = None) -> Iterator[Record]:
    """The records of an audit file and its rotated predecessors, oldest first; those of `uid` only
    when given. A line that is not JSON (a torn write at a crash) is skipped."""
    path = Path(path)
    rotated = sorted(
        (p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()),
        key=lambda p: int(p.suffix[1:]),
        reverse=True,
    )
    for part in [*rotated, path]:
        try:
            lines = part.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            continue
        for text in lines:
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict) and (uid is None or line.get("uid") == uid):
                yield line


VERBS = {
    "create": "created",
    "claim": "started",
    "complete": "completed",
    "cancel": "discontinued",
    "request-cancellation": "asked to cancel",
    "update": "updated",
    "subscribe": "subscribed to",
    "unsubscribe": "unsubscribed from",
    "suspend": "suspended the subscription to",
    "delete": "deleted",
    "mpps-create": "created MPPS",
    "mpps-set": "set MPPS",
}


def sentence(line: Record) -> str:
    """A record as a person reads it: when, who, did what to which workitem."""
    who = line.get("ae") or line.get("user") or "the server"
    where = " ".join(
        part
        for part in (
            f"from {line['peer']}" if line.get("peer") else "",
            f"over {line['door']}" if line.get("door") else "",
        )
        if part
    )
    extra = ", ".join(
        part for part in (f"user {line['user']}" if line.get("user") and line.get("ae") else "", where) if part
    )
    verb = VERBS.get(str(line.get("action")), str(line.get("action")))
    states = ""
    if line.get("before") != line.get("after") and line.get("after"):
        states = f" ({line['before'] or 'new'} → {line['after']})"
    subscriber = f" for {line['subscriber']}" if line.get("subscriber") and line.get("subscriber") != who else ""
    when = str(line.get("time", "")).replace("T", " ").replace("Z", " UTC")
    return f"{when}  {who}{f' ({extra})' if extra else ''} {verb} {line.get('uid')}{subscriber}{states}"
