"""The HTTP front's door: what a request must show before a handler sees it.

- Host: only names of this server. DNS rebinding makes a web page's own name resolve to this
  server, so its requests arrive with *that* name in Host; an IP literal cannot be rebound and
  is always accepted. With a wildcard bind and users on, any Host is accepted: credentials
  then stand in for the name.
- Origin: a browser names the page that sent a request; a page of another origin may not
  change anything (or open the notification WebSocket), whatever it sends.
- Media type: a browser sends a cross-site POST without asking first only as a form or text
  (or with no type at all); every POST and PUT here either carries DICOM JSON or, with no
  body (Subscribe, Suspend), no form type. The body itself is checked where it is read.
- Users: basic or bearer credentials from the users file, when one is configured. The
  principal is left in the scope for the handlers. Passwords are checked on a pool of their
  own and wrong ones throttled (password_checks.py): 429 or 503 with Retry-After.
- AE titles: one rule, `acting_ae`, for every HTTP door (UPS-RS, Sup 246, the WebSocket). A
  request may name the AE title it acts as in the `Calling-AE-Title` header, and a transaction
  may name one (the requester of a state change, a subscriber, an MPPS's performing station);
  each must be one its user is bound to. The door asks it of every request for the header; the
  handlers ask it again with what they name.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.domain.identifiers import CALLING_AE_HEADER, check_ae_title
from app.domain.status import InvalidRequest

from .password_checks import Busy, PasswordChecks, Throttled, ThrottleRules
from .users import Principal, Users, UsersFileError

log = logging.getLogger(__name__)

PRINCIPAL = "worklist.principal"  # the scope key the handlers read
REALM = "Worklist Console"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8", Bearer realm="{REALM}"'
BODY_TYPES = ("application/dicom+json", "application/json", "application/dicom+xml", "multipart/related")
CHANGING = ("POST", "PUT", "DELETE", "PATCH")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DoorError(ValueError):
    """The server cannot open as configured; the message is a sentence for the trainer."""


class Forbidden(Exception):
    """A principal acting as an AE title it is not bound to; the message is a sentence."""


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


def public_base(public_url: str) -> str:
    """`scheme://host[:port]` of a --public-url; ValueError says what is wrong with it."""
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{public_url!r} is not an http:// or https:// URL naming a host.")
    if parts.path.rstrip("/") not in ("", "/dicom-web") or parts.query or parts.fragment:
        raise ValueError(f"{public_url!r} must name only scheme, host and port (the service is under /dicom-web).")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def host_names(bind_host: str, public_url: str | None) -> frozenset[str]:
    """The names this server answers to, besides IP literals."""
    names = {"localhost"}
    if not is_loopback(bind_host):
        if not is_wildcard(bind_host):
            names.add(bind_host)
        for name in (socket.gethostname(), socket.getfqdn()):
            if name:
                names.update({name, f"{name.split('.')[0]}.local", name.split(".")[0]})
    if public_url:
        names.add(urlsplit(public_url).hostname or "")
    return frozenset(n.lower().rstrip(".") for n in names if n)


@dataclass(frozen=True)
class Policy:
    """What the door checks. `names` None: any Host."""

    names: frozenset[str] | None
    users: Users | None = None
    public_base: str | None = None
    passwords: PasswordChecks | None = None  # with users: how basic logins are checked

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if self.names is None:
            return True
        try:
            ipaddress.ip_address(host.strip("[]"))
            return True
        except ValueError:
            return host in self.names


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _split_host(authority: str) -> tuple[str, int | None] | None:
    """(host, port) of a Host header or an Origin's netloc; None when it is not one."""
    try:
        parts = urlsplit("//" + authority)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host or parts.username is not None or parts.path or parts.query:
        return None
    return host, port


class Door:
    """ASGI middleware applying a Policy to every HTTP request and WebSocket handshake."""

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy
        self.passwords = policy.passwords
        if policy.users is not None and self.passwords is None:
            self.passwords = PasswordChecks(policy.users)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        retry_after = None
        if refusal is None and self.policy.users is not None:
            try:
                principal = await self._authenticate(headers.get("authorization", ""), scope.get("client"))
            except Throttled as exc:
                principal, retry_after = None, exc.retry_after
                refusal = (
                    429,
                    f"Too many wrong passwords from this address or for this user: try again in {retry_after} s.",
                )
            except Busy as exc:
                principal, retry_after = None, exc.retry_after
                refusal = (503, "The server is checking too many passwords at once: try again in a second.")
            if refusal is None and principal is None:
                refusal = (401, "Credentials are missing or wrong: give a user and password, or a bearer token.")
            elif principal is not None:
                scope[PRINCIPAL] = principal
        if refusal is None:
            refusal = _ae_refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, text = refusal
        # throttled attempts come by the thousand and cost nothing; password_checks logs the waits
        level = logging.DEBUG if retry_after is not None else logging.INFO
        log.log(level, "Refused %s %s: %s", scope.get("method", "WebSocket"), scope.get("path"), text)
        if scope["type"] == "websocket":
            if "websocket.http.response" in scope.get("extensions", {}):
                # the handshake refused with the HTTP status a plain request gets (401 asks for credentials)
                await _answer(
                    send,
                    status,
                    text,
                    challenge=status == 401,
                    retry_after=retry_after,
                    prefix="websocket.http.response",
                )
                return
            # before the handshake is accepted, a close makes the server answer 403
            await send({"type": "websocket.close", "code": 1008})
            return
        await _answer(send, status, text, challenge=status == 401, retry_after=retry_after)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = _split_host(headers.get("host", ""))
        if host is None or not self.policy.host_allowed(host[0]):
            return 421, "The Host of this request is not a name of this server."
        origin = headers.get("origin")
        changing = scope["type"] == "websocket" or scope.get("method") in CHANGING
        if origin is not None and changing and not self._same_origin(scope, origin, headers["host"]):
            return 403, f"Requests from web pages of {origin[:100]} are not accepted."
        if scope.get("method") in ("POST", "PUT"):
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media and media not in BODY_TYPES:
                return (
                    415,
                    f"The media type {media[:100]} is not accepted; send application/dicom+json or application/dicom+xml.",
                )
        return None

    def _same_origin(self, scope: Scope, origin: str, host: str) -> bool:
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        own = {_origin_key(f"{scheme}://{host}")}
        if self.policy.public_base:
            own.add(_origin_key(self.policy.public_base))
        return _origin_key(origin) in own - {None}

    async def _authenticate(self, authorization: str, client: tuple[str, int] | None) -> Principal | None:
        users, passwords = self.policy.users, self.passwords
        if users is None or passwords is None:
            return None
        kind, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if kind.lower() == "bearer" and credentials:
            return users.by_token(credentials)
        if kind.lower() == "basic" and credentials:
            try:
                name, sep, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            if not sep:
                return None
            return await passwords.principal(client, name, password)
        return None


def _origin_key(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


async def _answer(
    send: Send,
    status: int,
    text: str,
    *,
    challenge: bool,
    retry_after: int | None = None,
    prefix: str = "http.response",
) -> None:
    """`prefix` "websocket.http.response": the answer to a handshake (the ASGI WebSocket Denial Response)."""
    headers = [(b"warning", f"299 worklist-console: {text}".encode("latin-1", "replace")), (b"content-length", b"0")]
    if challenge:
        headers.append((b"www-authenticate", CHALLENGE.encode()))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": f"{prefix}.start", "status": status, "headers": headers})
    await send({"type": f"{prefix}.body", "body": b""})


def principal_of(scope: Scope) -> Principal | None:
    return scope.get(PRINCIPAL)


def calling_ae(scope: Scope) -> str | None:
    """The AE title the client says it is (`Calling-AE-Title`); InvalidRequest when it is not one."""
    key = CALLING_AE_HEADER.lower().encode("latin-1")
    for name, value in scope.get("headers", []):
        if name.lower() == key:
            return check_ae_title(value.decode("latin-1"))
    return None


def acting_ae(scope: Scope, named: str | None = None) -> str | None:
    """The AE title a request acts as: the one the transaction names, else the one the client
    names in its header, else its user's own when the user is bound to exactly one. Forbidden
    when the user is not bound to one of those named: a station is never recorded as another."""
    principal = principal_of(scope)
    caller = calling_ae(scope)
    if principal is not None:
        for aet in (named, caller):
            if aet is not None and not principal.may_act_as(aet):
                bound = ", ".join(sorted(principal.aes))
                raise Forbidden(f"The user {principal.name} may not act as the AE title {aet}; it is bound to {bound}.")
    return named or caller or (principal.own_ae if principal is not None else None)


def _ae_refusal(scope: Scope) -> tuple[int, str] | None:
    try:
        acting_ae(scope)
    except Forbidden as exc:
        return 403, str(exc)
    except InvalidRequest as exc:
        return 400, f"The {CALLING_AE_HEADER} header: {exc.message}"
    return None


def door_policy(
    bind_host: str,
    users_file: str | None,
    *,
    no_auth: bool,
    public_url: str | None,
    throttle: ThrottleRules | None = None,
) -> Policy:
    """The policy of a server bound to `bind_host`. Beyond loopback it needs users, or `no_auth`
    said out loud; DoorError says what is missing."""
    users = None
    if users_file:
        try:
            users = Users.load(users_file)
        except UsersFileError as exc:
            raise DoorError(str(exc)) from None
        if not users.users:
            raise DoorError(f"The users file {users_file} has no users; add one with `worklist-console users add`.")
    elif not is_loopback(bind_host) and not no_auth:
        raise DoorError(
            f"Refusing to serve on {bind_host} without authentication: anyone on the network could change the "
            "worklist. Give --users FILE (see `worklist-console users add`), or --no-auth on a closed classroom network."
        )
    base = None
    if public_url:
        try:
            base = public_base(public_url)
        except ValueError as exc:
            raise DoorError(str(exc)) from None
    # credentials stand in for the name only where the server is open to every name anyway
    names = None if users is not None and is_wildcard(bind_host) and not base else host_names(bind_host, base)
    return Policy(names, users, base, PasswordChecks(users, throttle) if users is not None else None)
