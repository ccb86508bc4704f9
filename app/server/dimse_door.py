"""Who a DIMSE association is: the DICOM side of the door, with the users file HTTP uses.

An association proves who it is in one of two ways (with `serve --users`):
- **User Identity Negotiation** (PS3.7 D.3.3.7), username and passcode: checked against the
  users file exactly as HTTP basic credentials are (DCMTK's storescu sends it with `-usr` and
  `-pwd`). A wrong passcode, or an identity of a kind this server cannot check, rejects
  the association.
- **A client certificate** (`--dimse-tls` with `--client-ca`): one the CA signed and the users
  file names (`users certificate NAME PEM`) is that user, for modalities that hold a certificate
  but send no User Identity.
- **An AE title bound to its host**: `--allow-ae CT1@10.0.0.7` lets an association calling as
  CT1 from that address act as a modality bound to CT1, for modalities that cannot send a
  User Identity. The same AE title from any other address is rejected, users or not.

With users, an association that proves neither is accepted but may only echo (C-ECHO tells an
installer the network and the titles are right); every other request is refused with a sentence
saying what to send. What an identity may do is the access rule's (app/domain/access.py), as
over HTTP.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from app.domain.access import Identity, Role

from .password_checks import Busy, PasswordChecks, Throttled, address_key
from .users import Users

log = logging.getLogger(__name__)

USERNAME_AND_PASSCODE = 2  # PS3.7 Table D.3-14, User-Identity-Type

NO_IDENTITY = (
    "This server needs to know who you are: send a User Identity (username and passcode), "
    "or call from the host your AE title is bound to."
)
NO_IDENTITY_COMMENT = "Send a username and passcode (User Identity)."  # fits a 64-character Error Comment


@dataclass(frozen=True)
class Admission:
    """The door's answer for one association: reject it (with the sentence for the log), or admit
    it as `identity` (None: unidentified — with users on, echo only)."""

    identity: Identity | None = None
    rejection: str | None = None


@dataclass(frozen=True)
class DimsePolicy:
    users: Users | None = None
    allowed: frozenset[str] = frozenset()  # calling AE titles accepted (empty: any)
    # HTTP's checks of basic logins (their pool and throttle): a guess costs the same on either door
    passwords: PasswordChecks | None = None
    hosts: dict[str, frozenset[str]] = field(default_factory=dict)  # AE title -> the addresses it may call from

    @classmethod
    def from_entries(
        cls, entries: Collection[str], users: Users | None = None, passwords: PasswordChecks | None = None
    ) -> DimsePolicy:
        """From `--allow-ae` values: `AET` or `AET@ADDRESS` (an AE title may be bound to several)."""
        allowed: set[str] = set()
        hosts: dict[str, set[str]] = {}
        for entry in entries:
            aet, sep, host = entry.partition("@")
            allowed.add(aet)
            if sep:
                hosts.setdefault(aet, set()).add(str(ipaddress.ip_address(host.strip("[]"))))
        return cls(users, frozenset(allowed), passwords, {aet: frozenset(h) for aet, h in hosts.items()})

    @property
    def needs_identity(self) -> bool:
        return self.users is not None

    def admit(
        self, calling: str, address: str, user_identity: object | None, certificate: bytes | None = None
    ) -> Admission:
        """`user_identity`: the requestor's User Identity Negotiation item, if it sent one;
        `certificate`: the (DER) client certificate its TLS handshake verified, if any."""
        calling = calling.strip()
        bound = self.hosts.get(calling)
        if bound is not None and _normal(address) not in bound:
            return Admission(
                rejection=f"the AE title {calling} is bound to {', '.join(sorted(bound))} (serve --allow-ae), "
                f"and this association came from {address}"
            )
        if user_identity is not None and self.users is not None:
            kind = getattr(user_identity, "user_identity_type", None)
            if kind != USERNAME_AND_PASSCODE:
                return Admission(
                    rejection=f"its User Identity is of type {kind}; this server checks a username and passcode (type 2)"
                )
            name = _text(getattr(user_identity, "primary_field", b""))
            passcode = _text(getattr(user_identity, "secondary_field", b""))
            identity = self._check(address, name, passcode) if name is not None and passcode is not None else None
            if isinstance(identity, str):
                return Admission(rejection=identity)
            if identity is None:
                return Admission(rejection=f"the username or passcode of {name or 'its User Identity'} is wrong")
            return self._acting(identity, calling)
        held = self.users.by_certificate(certificate) if certificate and self.users is not None else None
        if held is not None:
            return self._acting(held, calling)
        if bound is not None:
            return Admission(Identity(f"{calling}@{_normal(address)}", Role.MODALITY, frozenset({calling})))
        return Admission()

    @staticmethod
    def _acting(identity: Identity, calling: str) -> Admission:
        if not identity.may_act_as(calling):
            # as over HTTP with a Calling-AE-Title the user is not bound to: nothing at all
            return Admission(
                rejection=f"the user {identity.name} may not act as the AE title {calling}; "
                f"it is bound to {', '.join(sorted(identity.aes))}"
            )
        return Admission(identity)

    def _check(self, address: str, name: str, passcode: str) -> Identity | str | None:
        """The user, None for a wrong pair, or why it was not checked (throttled, busy)."""
        assert self.users is not None
        if self.passwords is None:
            return self.users.by_password(name, passcode)
        try:
            return self.passwords.principal_now(address_key((address, 0)), name, passcode)
        except Throttled as exc:
            return f"too many wrong passwords from this address or for {name}: it may try again in {exc.retry_after} s"
        except Busy:
            return "the server is checking too many passwords at once"


def _normal(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        return address


def _text(value: object) -> str | None:
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return str(value) if value is not None else None
