"""MPPS Retrieve (PS3.4 F.8) through both gateway directions: an N-GET from a pynetdicom SCU at a
gateway's DIMSE front reads the step where the upstream keeps it.

- `serve --upstream dimse:` passes it on to the RIS's MPPS SCP as an N-GET of the MPPS Retrieve
  SOP class (a pynetdicom SCP here that logs every request it answers), and so does its Sup 246
  Retrieve door; a RIS that does not offer MPPS Retrieve is answered from what the gateway passed on.
- `serve --upstream sup246:` passes it on as a Sup 246 MPPS Retrieve (a second instance of our
  server as the origin).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from dimse_peers import MppsScp
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityPerformedProcedureStepRetrieve,
    ModalityWorklistInformationFind,
    Verification,
)
from test_ups_upstream import completed, in_progress, value, worklist

from app.gateway import close_upstream, open_upstream
from app.server import ServerConfig, UPSServer

RETRIEVE = ModalityPerformedProcedureStepRetrieve
MPPS = "/modality-performed-procedure-steps"
DESCRIPTION = "Kopf – 頭部CT"


@dataclass
class RetrievingRis(MppsScp):
    """A RIS's MPPS SCP that also offers MPPS Retrieve (and an empty worklist), and logs every N-GET:
    (SOP class, SOP instance, the attributes asked for)."""

    gets: list[tuple[str, str, list[int]]] = field(default_factory=list)
    retrieves: bool = True

    def start(self) -> RetrievingRis:
        ae = AE("MPPSSCP")
        for context in (Verification, ModalityWorklistInformationFind, ModalityPerformedProcedureStep):
            ae.add_supported_context(context)
        if self.retrieves:
            ae.add_supported_context(RETRIEVE)
        handlers = [
            (evt.EVT_N_CREATE, self._create),
            (evt.EVT_N_SET, self._set),
            (evt.EVT_N_GET, self._get),
            (evt.EVT_C_FIND, lambda event: iter([(0x0000, None)])),
        ]
        self.server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
        self.port = self.server.server_address[1]  # type: ignore[attr-defined]
        return self

    def _get(self, event) -> tuple[int, Dataset | None]:
        uid = str(event.request.RequestedSOPInstanceUID)
        with self.lock:
            self.gets.append(
                (str(event.request.RequestedSOPClassUID), uid, [int(t) for t in event.attribute_identifiers])
            )
            held = self.created.get(uid)
            if held is None:
                return 0x0112, None
            answer = Dataset()
            answer.SpecificCharacterSet = "ISO_IR 192"
            for element in held:
                answer[element.tag] = element
        return 0x0000, answer


def associate(port: int):
    ae = AE("CT1")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 15
    for context in (ModalityWorklistInformationFind, ModalityPerformedProcedureStep, RETRIEVE):
        ae.add_requested_context(context)
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST")
    assert assoc.is_established
    return assoc


def unscheduled() -> Dataset:
    ds = in_progress(None, "CT1")
    ds.PerformedProcedureStepDescription = DESCRIPTION
    return ds


class OsScu:
    """`serve --upstream dimse:` with its DIMSE front and its HTTP doors, over `ris` as MWL and MPPS SCP."""

    def __init__(self, ris: RetrievingRis, folder: Path) -> None:
        peer = f"127.0.0.1:{ris.port}:MPPSSCP"
        self.services = open_upstream(f"dimse:MWL={peer},MPPS={peer},POLL=60,TIMEOUT=5", str(folder / "gw.db"))
        config = ServerConfig(
            http_port=0, dimse_port=0, db_path=str(folder / "gw.db"), purge_interval=3600, audit=False
        )
        self.server = UPSServer(config, upstream=self.services).start()
        assert self.server.dimse is not None
        self.port = self.server.dimse.port

    def stop(self) -> None:
        self.server.stop()
        close_upstream(self.services)


@pytest.fixture()
def ris() -> Iterator[RetrievingRis]:
    scp = RetrievingRis().start()
    yield scp
    scp.stop()


@pytest.fixture()
def os_scu(ris, tmp_path) -> Iterator[OsScu]:
    gateway = OsScu(ris, tmp_path)
    yield gateway
    gateway.stop()


def test_an_n_get_at_the_dimse_gateway_is_an_n_get_at_the_ris(ris, os_scu):
    uid = generate_uid()
    assoc = associate(os_scu.port)
    try:
        assert assoc.send_n_create(unscheduled(), ModalityPerformedProcedureStep, uid)[0].Status == 0
        with ris.lock:  # the RIS learns more than the gateway passed on: the answer must be the RIS's
            ris.created[uid].PerformedProcedureStepDescription = "Kopf – 頭部CT, am RIS ergänzt"
        status, read = assoc.send_n_get([0x00400254, 0x00400241], RETRIEVE, uid)
        assert status.Status == 0x0000
        assert {int(element.tag) for element in read} == {0x00080005, 0x00400254, 0x00400241}
        assert read.SpecificCharacterSet == "ISO_IR 192"
        assert read.PerformedProcedureStepDescription == "Kopf – 頭部CT, am RIS ergänzt"
        assert read.PerformedStationAETitle == "CT1"
        assert ris.gets[-1][:2] == (RETRIEVE, uid)

        unknown = generate_uid()
        status, nothing = assoc.send_n_get(None, RETRIEVE, unknown)
        assert status.Status == 0x0112 and nothing is None
        assert ris.gets[-1][:2] == (RETRIEVE, unknown)
    finally:
        assoc.release()


def test_a_sup246_retrieve_at_the_dimse_gateway_is_an_n_get_at_the_ris(ris, os_scu):
    uid = generate_uid()
    assoc = associate(os_scu.port)
    try:
        assert assoc.send_n_create(unscheduled(), ModalityPerformedProcedureStep, uid)[0].Status == 0
        assert assoc.send_n_set(completed(), ModalityPerformedProcedureStep, uid)[0].Status == 0
    finally:
        assoc.release()
    with ris.lock:
        ris.created[uid].PerformedProcedureStepDescription = "am RIS ergänzt"
    with httpx.Client(base_url=os_scu.server.base_url, timeout=20) as http:
        response = http.get(f"{MPPS}/{uid}")
        assert response.status_code == 200, response.headers.get("warning")
        assert value(response.json()[0], "00400254") == "am RIS ergänzt"
        assert value(response.json()[0], "00400252") == "COMPLETED"
        assert ris.gets[-1][:2] == (RETRIEVE, uid)
        assert http.get(f"{MPPS}/{generate_uid()}").status_code == 404


def test_a_ris_without_mpps_retrieve_is_answered_from_what_the_gateway_passed_on(tmp_path):
    ris = RetrievingRis(retrieves=False).start()
    gateway = OsScu(ris, tmp_path)
    uid = generate_uid()
    try:
        assoc = associate(gateway.port)
        try:
            assert assoc.send_n_create(unscheduled(), ModalityPerformedProcedureStep, uid)[0].Status == 0
            status, read = assoc.send_n_get([0x00400254], RETRIEVE, uid)
            assert status.Status == 0x0000 and read.PerformedProcedureStepDescription == DESCRIPTION
            assert assoc.send_n_get(None, RETRIEVE, generate_uid())[0].Status == 0x0112
        finally:
            assoc.release()
        assert ris.gets == []
    finally:
        gateway.stop()
        ris.stop()


def test_an_n_get_at_the_sup246_gateway_is_a_sup246_retrieve_at_the_origin(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url, kind="sup246")
    item = worklist(gateway.dimse_port, "MR1")[0]
    uid = generate_uid()
    assoc = associate(gateway.dimse_port)
    try:
        created = in_progress(item)
        created.PerformedProcedureStepDescription = DESCRIPTION
        assert assoc.send_n_create(created, ModalityPerformedProcedureStep, uid)[0].Status == 0
        # changed at the origin behind the gateway's back: the N-GET must read the origin
        changed = {"00400254": {"vr": "LO", "Value": ["Kopf – 頭部CT, am Ursprung ergänzt"]}}
        response = httpx.post(
            f"{upstream.base_url}{MPPS}/{uid}/update",
            json=[changed],
            headers={"Content-Type": "application/dicom+json"},
            timeout=10,
        )
        assert response.status_code in (200, 204), response.headers.get("warning")
        status, read = assoc.send_n_get([0x00400254, 0x00100010], RETRIEVE, uid)
        assert status.Status == 0x0000
        assert read.PerformedProcedureStepDescription == "Kopf – 頭部CT, am Ursprung ergänzt"
        assert read.PatientName == item.PatientName and read.SpecificCharacterSet == "ISO_IR 192"
        assert assoc.send_n_get(None, RETRIEVE, generate_uid())[0].Status == 0x0112
    finally:
        assoc.release()
