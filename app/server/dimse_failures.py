"""How a refusal or a failure becomes a DIMSE status: one translation for every DIMSE service of
the front (UPS, MWL and MPPS), as app/server/http.py is the one for the HTTP doors."""

from __future__ import annotations

import logging

from pydicom import Dataset

from app.domain.status import Status, UPSError, dimse_status

from .service_api import UpstreamError
from .store import StoreUnavailable

log = logging.getLogger(__name__)

FAILED = "The server failed; the details are in its log."
UNREACHABLE = "The worklist database cannot be reached just now."  # an Error Comment: 64 characters at most


def find_failure(what: str, exc: Exception) -> Dataset:
    """The final status of a C-FIND that could not be answered: a query refused (A900, identifier
    does not match), or the upstream's failure or our own fault (C000, unable to process; ours logged
    whole)."""
    if isinstance(exc, UpstreamError):
        log.info("%s failed upstream: %s", what, exc.message)
        return dimse_status(Status.UNABLE_TO_PROCESS, exc.comment)
    if isinstance(exc, UPSError):
        log.info("%s refused: %s", what, exc.message)
        return dimse_status(Status.IDENTIFIER_DOES_NOT_MATCH, exc.comment, offending=exc.offending)
    if isinstance(exc, StoreUnavailable):
        log.warning("%s failed: %s", what, exc)
        return dimse_status(Status.UNABLE_TO_PROCESS, UNREACHABLE)
    log.error("%s failed", what, exc_info=exc)
    return dimse_status(Status.UNABLE_TO_PROCESS, FAILED)


def request_failure(what: str, exc: Exception, attributes: bool = True) -> Dataset:
    """The status of an N-CREATE, N-SET, N-GET or N-ACTION that could not be done: a refusal's own
    status and sentence (with the attributes at fault, where the response has an Attribute
    Identifier List: `attributes`), else a processing failure, logged whole."""
    if isinstance(exc, UPSError):
        log.info("%s refused (%04X): %s", what, exc.status, exc.message)
        return dimse_status(exc.status, exc.comment, attributes=exc.offending if attributes else ())
    if isinstance(exc, StoreUnavailable):
        log.warning("%s failed: %s", what, exc)
        return dimse_status(Status.PROCESSING_FAILURE, UNREACHABLE)
    log.error("%s failed", what, exc_info=exc)
    return dimse_status(Status.PROCESSING_FAILURE, FAILED)
