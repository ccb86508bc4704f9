"""The DIMSE front: a pynetdicom AE beside the HTTP front, over the same UPS service.

Verification; the Modality Worklist C-FIND SCP answered from the UPS store through the
UPS → MWL mapping (PS3.4 K.6), pending responses streamed one per step, C-CANCEL honoured;
the MPPS N-CREATE/N-SET SCP mapped onto UPS (mpps.py); and the UPS Push, Pull, Watch and
Query SCP (ups_dimse.py) — requests are routed to it by SOP class. Handlers are thin: for C-FIND
the identifier becomes a domain query, SQL narrows the candidates by the keys the store
indexes, and the mapped MWL items are matched exactly.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterator
from datetime import datetime

from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind, Verification

from app.domain import tags as t
from app.domain.dates import sortable
from app.domain.dicomjson import from_dataset, to_dataset
from app.domain.mapping import (
    MODALITY, SPS_SEQ, SPS_START_DATE, SPS_STATION_AE, answer_keys, identifier_keys, ups_to_mwl,
)
from app.domain.query import KeyMatch, MatchKind, Query, SequenceMatch, build_query
from app.domain.search import SearchRequest, parse_search
from app.domain.status import UPSError

from .mpps import MppsService, Outcome
from .service import UPSService
from .ups_dimse import SCP_SOP_CLASSES, UpsScp, by_sop_class, unsupported

log = logging.getLogger(__name__)

PENDING = 0xFF00
CANCELED = 0xFE00
UNABLE_TO_PROCESS = 0xC000
IDENTIFIER_DOES_NOT_MATCH = 0xA900


def _single(query: Query, path: tuple[str, ...]) -> KeyMatch | None:
    """The key at `path` if it is a plain single value (what the store can narrow on)."""
    keys = query.keys
    for tag in path[:-1]:
        seq = next((k for k in keys if isinstance(k, SequenceMatch) and k.tag == tag), None)
        if seq is None:
            return None
        keys = seq.keys
    key = next((k for k in keys if isinstance(k, KeyMatch) and k.tag == path[-1]), None)
    return key


def narrowing(query: Query) -> SearchRequest:
    """UPS Search keys that select a superset of what the MWL query matches."""
    params: list[tuple[str, str]] = []
    station = _single(query, (SPS_SEQ, SPS_STATION_AE))
    if station and station.kind is MatchKind.SINGLE:
        params.append(("ScheduledStationNameCodeSequence.CodeValue", station.raw))
    modality = _single(query, (SPS_SEQ, MODALITY))
    if modality and modality.kind is MatchKind.SINGLE:
        params.append(("ScheduledStationClassCodeSequence.CodeValue", modality.raw))
    patient = _single(query, (t.PATIENT_ID,))
    if patient and patient.kind is MatchKind.SINGLE:
        params.append(("PatientID", patient.raw))
    day = _single(query, (SPS_SEQ, SPS_START_DATE))
    if day and day.kind is MatchKind.RANGE and day.interval is not None:
        low, high = day.interval
        params.append(("ScheduledProcedureStepStartDateTime",
                       f"{sortable(low)[:8] if low != datetime.min else ''}-{sortable(high)[:8] if high != datetime.max else ''}"))
    return parse_search(params)


class DimseFront:
    def __init__(self, service: UPSService, ae_title: str = "WORKLIST", host: str = "127.0.0.1", port: int = 11112,
                 event_peers: Collection[str] = ()) -> None:
        self.service = service
        self.ae = AE(ae_title)
        self.ae.add_supported_context(Verification)
        self.ae.add_supported_context(ModalityWorklistInformationFind)
        self.ae.add_supported_context(ModalityPerformedProcedureStep)
        for sop_class in SCP_SOP_CLASSES:
            self.ae.add_supported_context(sop_class)
        self.ae.maximum_pdu_size = 0
        self.mpps = MppsService(service)
        self.ups = UpsScp(service, event_peers)
        # MWL and UPS share C-FIND, MPPS and UPS share N-CREATE and N-SET: one handler each, routed by SOP class.
        handlers = [(evt.EVT_C_ECHO, self._on_echo), (evt.EVT_C_FIND, by_sop_class(self.ups.on_find, self._on_find)),
                    (evt.EVT_N_CREATE, by_sop_class(self.ups.on_n_create, self._on_n_create)),
                    (evt.EVT_N_SET, by_sop_class(self.ups.on_n_set, self._on_n_set)),
                    (evt.EVT_N_GET, by_sop_class(self.ups.on_n_get, unsupported)),
                    (evt.EVT_N_ACTION, by_sop_class(self.ups.on_n_action, unsupported))]
        self.server = self.ae.start_server((host, port), block=False, evt_handlers=handlers)
        self.port: int = self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()

    def _on_echo(self, event: evt.Event) -> int:
        return 0x0000

    def _on_find(self, event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        try:
            identifier = from_dataset(event.identifier)
            query = build_query(identifier_keys(identifier), self.service.local)
            candidates = self.service.search_all(narrowing(query))
        except UPSError as exc:
            log.info("MWL C-FIND refused: %s", exc.message)
            yield IDENTIFIER_DOES_NOT_MATCH, None
            return
        except Exception:
            log.exception("MWL C-FIND failed")
            yield UNABLE_TO_PROCESS, None
            return
        for text in candidates:
            if event.is_cancelled:
                yield CANCELED, None
                return
            item = ups_to_mwl(json.loads(text))
            if query.matches(item, self.service.local):
                yield PENDING, to_dataset(answer_keys(item, identifier))

    def _status(self, outcome: Outcome) -> Dataset:
        status = Dataset()
        status.Status = outcome.status
        if outcome.comment:
            status.ErrorComment = outcome.comment[:64]
        if outcome.error_id is not None:
            status.ErrorID = outcome.error_id
        return status

    def _on_n_create(self, event: evt.Event) -> tuple[Dataset, Dataset | None]:
        request = event.request
        uid = request.AffectedSOPInstanceUID or generate_uid()
        try:
            attrs = from_dataset(event.attribute_list)
            outcome = self.mpps.create(str(uid), attrs, event.assoc.requestor.ae_title)
        except Exception:
            log.exception("MPPS N-CREATE failed")
            outcome = Outcome(0x0110, "The server failed to process the MPPS.")
        if outcome.status != 0x0000:
            return self._status(outcome), None
        answer = event.attribute_list
        answer.SOPInstanceUID = uid
        return self._status(outcome), answer

    def _on_n_set(self, event: evt.Event) -> tuple[Dataset, Dataset | None]:
        try:
            changes = from_dataset(event.modification_list)
            outcome = self.mpps.set(str(event.request.RequestedSOPInstanceUID), changes)
        except Exception:
            log.exception("MPPS N-SET failed")
            outcome = Outcome(0x0110, "The server failed to process the MPPS.")
        return self._status(outcome), (event.modification_list if outcome.status == 0x0000 else None)
