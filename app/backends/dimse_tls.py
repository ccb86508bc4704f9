"""The client side of DICOM over TLS, for the console's DIMSE backend and the gateway's `dimse:`
upstream alike: one place builds the context."""

from __future__ import annotations

import ssl

from .profiles import Profile


def client_tls(profile: Profile) -> ssl.SSLContext:
    """The client side of DICOM over TLS (PS3.15 B.9, TLS 1.2 at least): `ca_file` trusted, else the
    system's store; `client_cert` and `client_key` shown to a peer that asks. OSError or ssl.SSLError
    when a file cannot be read or the certificate and key do not belong together."""
    context = ssl.create_default_context(cafile=profile.ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not profile.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if profile.client_cert:
        # a key under a passphrase fails here rather than asking for it on a terminal nobody watches
        context.load_cert_chain(profile.client_cert, profile.client_key or None, password=_no_passphrase)
    return context


def _no_passphrase() -> str:
    raise ssl.SSLError("the key is protected by a passphrase")
