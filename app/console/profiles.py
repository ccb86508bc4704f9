"""The site's profiles as the console opens, checks and saves them. The window reaches the
profiles file and the peers' checks through here, never through the backends."""

from __future__ import annotations

from app.backends import check_profile
from app.backends.claim_store import owner_key
from app.backends.profiles import Profile, ProfileBook, ProfileError, backup_path, default_path, load, save

__all__ = [
    "Profile",
    "ProfileBook",
    "ProfileError",
    "backup_path",
    "check_profile",
    "default_path",
    "holds_same_claims",
    "load",
    "save",
]


def holds_same_claims(a: Profile, b: Profile) -> bool:
    """Whether a console opened on `b` finds the procedures `a` has in progress: the same
    protocol, server and AE title own the same claims."""
    return owner_key(a) == owner_key(b)
