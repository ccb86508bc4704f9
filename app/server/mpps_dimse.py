"""MPPS Retrieve on the DIMSE front (PS3.4 F.8): an N-GET of 1.2.840.10008.3.1.2.3.4 answered
from the same `PerformedStepService` as the Supplement 246 MPPS Retrieve over REST, so that the
two doors read the same step under the same access rule — on our own store, and through a
gateway from its upstream.

The answer holds the attributes the Attribute Identifier List names (all of them when it names
none; one the step lacks comes back empty), its text as UTF-8 with (0008,0005) declaring it
whenever it is not plain ASCII. An unknown MPPS is 0112; the access rule's refusal is 0124 with
the rule's sentence; an upstream that failed is 0110 with a sentence naming it.
"""

from __future__ import annotations

import logging

from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.sop_class import ModalityPerformedProcedureStepRetrieve

from app.domain.status import Status, UPSError, dimse_status

from .dimse_failures import request_failure
from .service_api import PerformedStepService
from .ups_dimse import requested, sop_class_of, unsupported, wire

log = logging.getLogger(__name__)

UNKNOWN = "There is no MPPS with this UID."


def retrieve(mpps: PerformedStepService, event: evt.Event) -> tuple[int | Dataset, Dataset | None]:
    """The N-GET response to `event`: its status, and the MPPS's attributes on success."""
    if sop_class_of(event) != ModalityPerformedProcedureStepRetrieve:
        return unsupported(event)  # the MPPS SOP class itself has no N-GET (PS3.4 F.7.1)
    uid = str(event.request.RequestedSOPInstanceUID)
    what = f"MPPS N-GET {uid} from {event.assoc.requestor.ae_title}"
    try:
        found = mpps.get(uid)
        if found is None:
            raise UPSError(Status.NO_SUCH_SOP_INSTANCE, f"There is no MPPS {uid}.", short=UNKNOWN)
        attributes, status = requested(found, [f"{int(tag):08X}" for tag in event.attribute_identifiers])
        answer = wire(attributes)
    except Exception as exc:  # noqa: BLE001 -- request_failure logs it whole
        return request_failure(what, exc), None
    log.debug("%s: %04X", what, status)
    return dimse_status(status), answer
