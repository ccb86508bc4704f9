"""The gateway: the server's fronts over a service that forwards to an upstream system.

`serve --upstream SPEC` names the upstream:

    upsrs:URL                  a UPS-RS origin server (the SCP / User-Agent gateway)
    upsrs+dcm4chee:URL         the same, in dcm4chee-arc's forms (requester AE in the path, ?workitem=)
    sup246:URL                 a Supplement 246 origin server (MWL and MPPS over REST)
    dimse:MWL=HOST:PORT:AET[,MPPS=HOST:PORT:AET][,TLS=1]
                               a RIS over DIMSE (the Origin-Server / SCU gateway)

Each kind is a module with `make(spec, db_path, trace, access)` (`db_path` an SQLite file, or for
`dimse:` also the `PgStore` of a PostgreSQL database shared by several gateway nodes; an `UpstreamAccess`: credentials
and a CA file for HTTP kinds; for `dimse:` a user and password sent as a User Identity, and with
TLS=1 a CA file and a client certificate) returning
the `WorkitemService` and the `PerformedStepService` the fronts are built on; a service with a
`close()` is closed by `close_upstream`. The modules are imported when named, so each kind is optional.
"""

from __future__ import annotations

import importlib

from app.server.service_api import PerformedStepService, WorkitemService
from app.server.store import Store

from .access import UpstreamAccess

__all__ = ["UpstreamAccess", "UpstreamSpecError", "close_upstream", "kind_of", "open_upstream"]

# the kind before the first colon -> the module that makes it
UPSTREAMS: dict[str, str] = {
    "upsrs": "app.gateway.ups_upstream",
    "upsrs+dcm4chee": "app.gateway.ups_upstream",
    "sup246": "app.gateway.sup246_upstream",
    "dimse": "app.gateway.dimse_upstream",
}

HTTP_KINDS = frozenset({"upsrs", "upsrs+dcm4chee", "sup246"})

Upstream = tuple[WorkitemService, PerformedStepService]


class UpstreamSpecError(ValueError):
    """An --upstream value that names no upstream this gateway can use; the message says why."""


def kind_of(spec: str) -> str:
    kind, colon, rest = spec.partition(":")
    if not colon or not rest:
        raise UpstreamSpecError(
            f"--upstream {spec!r} names no upstream: write KIND:ADDRESS, one of {', '.join(sorted(UPSTREAMS))} "
            "(for example upsrs:http://ris.example:8080/dicom-web)."
        )
    if kind not in UPSTREAMS:
        raise UpstreamSpecError(
            f"--upstream {spec!r}: {kind!r} is not a kind of upstream ({', '.join(sorted(UPSTREAMS))})."
        )
    return kind


def open_upstream(
    spec: str, db_path: str | Store, trace: bool = False, access: UpstreamAccess | None = None
) -> Upstream:
    """The services of the upstream `spec` names, reached with `access` (credentials and CA file
    of an HTTP upstream; the user and password of a DIMSE one); UpstreamSpecError (a ValueError) when it cannot be used."""
    kind = kind_of(spec)
    if access is not None and access.token and kind not in HTTP_KINDS:
        raise UpstreamSpecError(
            f"--upstream-token-file is for an HTTP upstream ({', '.join(sorted(HTTP_KINDS))}), "
            f"not {kind!r}: a DIMSE RIS takes --upstream-user with --upstream-password-file (a User Identity)."
        )
    if access is not None and access.cert_file and kind in HTTP_KINDS:
        raise UpstreamSpecError(
            f"--upstream-cert and --upstream-key are for DICOM TLS to a dimse: RIS, not {kind!r}: an HTTP "
            "upstream takes --upstream-user with --upstream-password-file, or --upstream-token-file."
        )
    try:
        module = importlib.import_module(UPSTREAMS[kind])
    except ModuleNotFoundError as exc:
        if exc.name != UPSTREAMS[kind]:
            raise
        raise UpstreamSpecError(f"This build has no {kind!r} upstream yet.") from None
    return module.make(spec, db_path, trace, access)


def close_upstream(upstream: Upstream) -> None:
    for part in upstream:
        close = getattr(part, "close", None)
        if close is not None:
            close()
