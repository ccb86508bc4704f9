"""Backends the console talks through (UPS-RS, MWL + MPPS over DIMSE, DICOMweb MWL + MPPS) and the local
claim store."""

from __future__ import annotations

from .errors import BackendError
from .profiles import Profile
from .protocol import Observer, PeerCheck, WorklistBackend


def make_backend(profile: Profile, observer: Observer | None = None) -> WorklistBackend:
    """The console's backend for a profile, naming our AE title on every request; DIMSE's
    imports pynetdicom only when asked for."""
    if profile.backend == "upsrs":
        from .upsrs import UpsRsBackend

        return UpsRsBackend(profile, observer=observer, calling_ae=True)
    if profile.backend == "dimse":
        from .dimse import DimseBackend

        return DimseBackend(profile, observer=observer)
    if profile.backend == "mpps-rs":
        from .mpps_rs import MppsRsBackend

        return MppsRsBackend(profile, observer=observer, calling_ae=True)
    raise BackendError(f"The {profile.backend} backend is not available in this version.")


async def check_profile(profile: Profile) -> list[PeerCheck]:
    """Each peer of the profile checked on its own (Settings → Test connection, `echo`)."""
    backend = make_backend(profile)
    try:
        return await backend.check_peers()
    finally:
        await backend.close()
