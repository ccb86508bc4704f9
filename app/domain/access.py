"""Who may do what to a workitem: the one access rule every door and the gateway apply.

A door (UPS-RS, Supplement 246, the WebSocket, DIMSE, and a gateway in either direction) only
establishes *who* is asking — a user and password, a bearer token, a DICOM User Identity, an AE
title bound to the host it comes from — as an `Identity`. What that identity may then do is
decided here, from the action, the AE title the request acts as, and the workitem's own facts,
so that a request has the same outcome whatever door it takes.

Roles:
- `modality` acts only as its AE titles, and only on work scheduled for one of them or for no
  station at all (unscheduled work, or a workitem it creates for itself).
- `ris` creates, changes and cancels any work; bound to AE titles, it acts only as those.
- `admin` may do everything a `ris` may.

Reading (search, retrieve) is open to every identity: a modality's worklist query often names
no station, and what it reads changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from .roles import ROLES as ROLES  # the roles live beside, for the command line's choices
from .roles import Role


class Act(StrEnum):
    """What a request does, in the words of the access table."""

    SEARCH = "search"
    RETRIEVE = "retrieve"
    CREATE = "create"
    CLAIM = "claim"
    UPDATE = "update"
    COMPLETE = "complete"
    CANCEL = "cancel"
    CANCEL_REQUEST = "cancel-request"
    SUBSCRIBE = "subscribe"
    PERFORMED_STEP = "performed-step"  # an MPPS after its creation: set or retrieve


READING = frozenset({Act.SEARCH, Act.RETRIEVE})


@dataclass(frozen=True)
class Identity:
    """Who a request comes from: a name (a user, or `AE@host` for an address-bound AE title), its
    role, and the AE titles it may act as (empty: any)."""

    name: str
    role: Role = Role.MODALITY
    aes: frozenset[str] = frozenset()

    def may_act_as(self, aet: str) -> bool:
        return not self.aes or aet in self.aes

    @property
    def own_ae(self) -> str | None:
        """The one AE title this identity acts as when a request names none."""
        return next(iter(self.aes)) if len(self.aes) == 1 else None


@dataclass(frozen=True)
class Refusal:
    """Why an identity may not do it: a sentence for the client, and the audit."""

    text: str


def _bound(identity: Identity) -> str:
    return ", ".join(sorted(identity.aes)) or "no AE title"


def refusal(
    identity: Identity | None,
    act: Act,
    *,
    acting_ae: str | None = None,
    stations: Collection[str] = (),
    performer: str | None = None,
) -> Refusal | None:
    """None when `identity` may do `act`; otherwise why not.

    `identity` None: the server runs without users (on loopback, or `--no-auth`): everyone may.
    `acting_ae`: the AE title the request acts as (requester, subscriber, performing station).
    `stations`: the Scheduled Station AE Titles of the workitem (empty: scheduled for no station).
    `performer`: the AE title that claimed it (an MPPS's performing station), if any.
    """
    if identity is None:
        return None
    if acting_ae and not identity.may_act_as(acting_ae):
        return Refusal(
            f"The user {identity.name} may not act as the AE title {acting_ae}; it is bound to {_bound(identity)}."
        )
    if identity.role in (Role.RIS, Role.ADMIN) or act in READING:
        return None
    if act is Act.SUBSCRIBE:
        return None  # the subscriber's AE title is the acting one, checked above
    if not identity.aes:
        return Refusal(f"The user {identity.name} is a modality bound to no AE title; it may only read the worklist.")
    if performer and act in (Act.UPDATE, Act.COMPLETE, Act.CANCEL, Act.PERFORMED_STEP):
        if performer not in identity.aes:
            return Refusal(
                f"The procedure is performed by {performer}; {identity.name} may act only for {_bound(identity)}."
            )
        return None
    others = [station for station in stations if station]
    if others and not any(station in identity.aes for station in others):
        where = ", ".join(sorted(set(others)))
        return Refusal(f"This work is scheduled for {where}; {identity.name} may act only for {_bound(identity)}.")
    return None
