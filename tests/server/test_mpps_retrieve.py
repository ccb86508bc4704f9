"""MPPS Retrieve on the DIMSE front (PS3.4 F.8): a pynetdicom SCU reads back over N-GET the step
it created and set, as the Supplement 246 Retrieve over REST reads it, under the same access rule.
(No DCMTK 3.6.7 tool sends an N-GET of the MPPS Retrieve SOP class — dcmprscu's N-GETs are Print
Management's — so pynetdicom is the peer here.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from door import PASSWORD, users_file
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.pdu_primitives import UserIdentityNegotiation
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityPerformedProcedureStepRetrieve
from test_mpps_front import completed, in_progress, worklist

from app.server import ServerConfig, UPSServer

RETRIEVE = ModalityPerformedProcedureStepRetrieve
NAME = "Yamada^Tarou=山田^太郎=やまだ^たろう"
DESCRIPTION = "Kopf – 頭部CT"


def associate(port: int, calling: str, user: str | None = None):
    ae = AE(calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 15
    for context in ("1.2.840.10008.5.1.4.31", ModalityPerformedProcedureStep, RETRIEVE):
        ae.add_requested_context(context)
    negotiation = []
    if user is not None:
        identity = UserIdentityNegotiation()
        identity.user_identity_type = 2
        identity.primary_field = user.encode()
        identity.secondary_field = PASSWORD.encode()
        negotiation.append(identity)
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST", ext_neg=negotiation)
    assert assoc.is_established
    return assoc


def created(station: str, item: Dataset | None = None) -> Dataset:
    """An N-CREATE whose text is not all ASCII: ideographic and phonetic name groups, a dash."""
    ds = in_progress(item, station)
    ds.PatientName = NAME
    ds.PerformedProcedureStepDescription = DESCRIPTION
    return ds


def test_an_mpps_created_over_dimse_is_read_back_with_n_get(front):
    assoc = associate(front.dimse.port, "MR1")
    try:
        item = worklist(assoc, "MR1")[0]
        uid = generate_uid()
        assert assoc.send_n_create(created("MR1", item), ModalityPerformedProcedureStep, uid)[0].Status == 0

        status, whole = assoc.send_n_get(None, RETRIEVE, uid)
        assert status.Status == 0x0000
        assert whole.SpecificCharacterSet == "ISO_IR 192"
        assert str(whole.PatientName) == NAME and whole.PatientID == item.PatientID
        assert whole.PerformedProcedureStepDescription == DESCRIPTION
        assert whole.PerformedStationAETitle == "MR1" and whole.PerformedProcedureStepStatus == "IN PROGRESS"
        step = whole.ScheduledStepAttributesSequence[0]
        assert step.StudyInstanceUID == item.StudyInstanceUID and step.AccessionNumber == item.AccessionNumber

        assert assoc.send_n_set(completed(), ModalityPerformedProcedureStep, uid)[0].Status == 0
        asked = [0x00400252, 0x00400254, 0x00400340]  # status, description, Performed Series Sequence
        status, some = assoc.send_n_get(asked, RETRIEVE, uid)
        assert status.Status == 0x0000
        assert {int(element.tag) for element in some} == {0x00080005, *asked}
        assert some.PerformedProcedureStepStatus == "COMPLETED"
        assert some.PerformedProcedureStepDescription == DESCRIPTION
        assert some.PerformedSeriesSequence[0].OperatorsName == "Tanaka^Yui"

        status, ascii_only = assoc.send_n_get([0x00400252], RETRIEVE, uid)
        assert status.Status == 0x0000 and list(ascii_only.keys()) == [0x00400252]  # default repertoire

        unknown, nothing = assoc.send_n_get(None, RETRIEVE, generate_uid())
        assert unknown.Status == 0x0112 and nothing is None
        assert unknown.ErrorComment == "There is no MPPS with this UID."
    finally:
        assoc.release()


def test_the_dimse_and_rest_retrieves_read_the_same_step(front):
    assoc = associate(front.dimse.port, "CR1")
    try:
        uid = generate_uid()
        assert assoc.send_n_create(created("CR1"), ModalityPerformedProcedureStep, uid)[0].Status == 0
        _, over_dimse = assoc.send_n_get(None, RETRIEVE, uid)
    finally:
        assoc.release()
    with httpx.Client(base_url=front.base_url, timeout=10) as http:
        response = http.get(f"/modality-performed-procedure-steps/{uid}")
    assert response.status_code == 200
    over_rest = response.json()[0]
    assert over_rest["00100010"]["Value"][0]["Ideographic"] == "山田^太郎"
    assert str(over_dimse.PatientName).split("=")[1] == "山田^太郎"
    assert over_rest["00400254"]["Value"] == [over_dimse.PerformedProcedureStepDescription]


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> Iterator[UPSServer]:
    folder: Path = tmp_path_factory.mktemp("locked")
    path, _ = users_file(folder, ct1=["CT1"], ct2=["CT2"])
    config = ServerConfig(
        http_port=0, dimse_port=0, db_path=str(folder / "ups.db"), purge_interval=3600, users_file=str(path)
    )
    server = UPSServer(config).start()
    yield server
    server.stop()


def test_a_locked_server_lets_only_the_performing_station_read_its_mpps(locked):
    assert locked.dimse is not None
    port, uid = locked.dimse.port, generate_uid()
    own = associate(port, "CT2", "ct2")
    try:
        assert own.send_n_create(created("CT2"), ModalityPerformedProcedureStep, uid)[0].Status == 0
        status, read = own.send_n_get([0x00400241], RETRIEVE, uid)
        assert status.Status == 0x0000 and read.PerformedStationAETitle == "CT2"
    finally:
        own.release()
    foreign = associate(port, "CT1", "ct1")
    try:
        status, read = foreign.send_n_get(None, RETRIEVE, uid)
        assert status.Status == 0x0124 and read is None
        assert status.ErrorComment == "The procedure is performed by CT2; ct1 may act only for CT1."
        assert foreign.send_n_get(None, RETRIEVE, generate_uid())[0].Status == 0x0112
    finally:
        foreign.release()
