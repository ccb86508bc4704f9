"""The identifiers a request names in its path or its keys: UIDs and AE titles."""

from __future__ import annotations

import re
import uuid

from .status import InvalidRequest

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*\Z")
# The HTTP header in which a console names the AE title it acts as, on every request. PS3.18 gives
# a REST request no calling AE title (Change State carries only the Transaction UID and the state),
# so without it a server could only guess who claims; a server that does not know it ignores it.
CALLING_AE_HEADER = "Calling-AE-Title"

_AE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}\Z")  # PS3.5 AE: 16 chars, no backslash or control


def check_uid(uid: str) -> str:
    """`uid` if it is a UID (PS3.5 9.1: digits and dots, at most 64 characters); else a 400."""
    if not uid or len(uid) > 64 or not _UID.match(uid):
        shown = repr(uid) if len(uid) <= 70 else repr(uid[:70]) + f" (and {len(uid) - 70} characters more)"
        raise InvalidRequest(f"{shown} is not a valid UID.")
    return uid


def new_uid() -> str:
    """A new UID for what the console makes (a workitem, a study, a Transaction UID): pydicom's,
    under its root. pydicom is imported at the first call, not with the module, so that a window
    need not wait for it before it is painted."""
    from pydicom.uid import generate_uid

    return generate_uid()


def derived_uid(*sources: str) -> str:
    """The UID these `sources` always give (pydicom's, under its root, from their hash): the same
    order step has the same workitem however often it is sent. pydicom is imported at the first call."""
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=list(sources))


def probe_uid() -> str:
    """A UID no one has made, for a request that must name something that does not exist (a
    connectivity probe): derived from a random UUID (PS3.5 B.2, `2.25.` and its integer), as
    pydicom's generate_uid(prefix=None) makes it, without importing pydicom for one number."""
    return f"2.25.{uuid.uuid4().int}"


def check_ae_title(aet: str) -> str:
    """`aet` without its padding, if it is an AE title; else a 400."""
    if not _AE.match(aet) or not aet.strip():
        shown = repr(aet) if len(aet) <= 20 else repr(aet[:20]) + f" (and {len(aet) - 20} characters more)"
        raise InvalidRequest(f"{shown} is not a valid AE title (1 to 16 characters, no backslash).")
    return aet.strip()
