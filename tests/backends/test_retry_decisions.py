"""What the outbox tries again is decided by the kind of failure, never by its sentence: a server
out of reach, one that does not answer in time, one failing on its side (HTTP 5xx) and a peer that
aborts the association are retried; a refusal is reported at once. Each against a real peer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler

import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid
from stub_http import stub_http_server

from app.backends.dimse import DimseBackend
from app.backends.errors import (
    Aborted,
    AlreadyFinished,
    BackendError,
    Refused,
    ServerFault,
    TimedOut,
    Unreachable,
)
from app.backends.outbox import Failure, Outbox
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.build import NewWorkitem
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.workitem import Code, PatientName, Workitem
from app.domain.worklist_query import WorklistQuery


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """Accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener.getsockname()[1]
    listener.close()


class _Failing(BaseHTTPRequestHandler):
    def _fail(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = _fail

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def failing_http() -> Iterator[str]:
    """An HTTP server that answers 503 to everything."""
    with stub_http_server(_Failing) as url:
        yield url


def new_item(station: str = "CT1") -> NewWorkitem:
    return NewWorkitem(
        uid=generate_uid(),
        label="CT chest",
        start=datetime.now().strftime("%Y%m%d%H%M%S"),
        patient=PatientName("Weiß^Günther"),
        patient_id="P9",
        station=station,
        modality="CT",
    )


class Reworded(UpsRsBackend):
    """The real backend, with every sentence it raises reworded to say the opposite."""

    async def claim(self, uid: str, transaction_uid: str, record: dict | None = None) -> None:
        try:
            await super().claim(uid, transaction_uid, record)
        except BackendError as exc:
            opposite = "The server refused this." if exc.retryable else "Cannot reach the server; it did not answer."
            exc.sentence = opposite
            exc.args = (opposite,)
            raise


def upsrs(url: str, reworded: bool = False) -> UpsRsBackend:
    return (Reworded if reworded else UpsRsBackend)(Profile(url=url, ae_title="CT1", timeout=0.5))


async def decision(backend, tmp_path, workitem: Workitem) -> tuple[str, BackendError | None]:
    """'retried' (kept, waiting) or 'reported' (raised, nothing kept)."""
    failures: list[Failure] = []
    box = Outbox(backend, "test", tmp_path / f"{generate_uid()}.db", on_failure=failures.append)
    try:
        try:
            delivery = await box.claim(workitem)
        except BackendError as exc:
            assert box.pending() == 0 and box.claim_of(workitem.uid) is None
            return "reported", exc
        assert not delivery.sent and box.pending() == 1 and "when the server is reachable" in delivery.sentence
        return "retried", None
    finally:
        box.close()
        await backend.close()


@pytest.mark.parametrize("reworded", [False, True])
async def test_each_kind_of_upsrs_failure_gets_its_decision_whatever_its_sentence(
    reworded, server, silent_port, failing_http, tmp_path
):
    item = Workitem(new_item().to_json())  # a workitem no server here has
    cases = {
        f"http://127.0.0.1:{closed_port()}/dicom-web": (Unreachable, "retried"),
        f"http://127.0.0.1:{silent_port}/dicom-web": (TimedOut, "retried"),
        failing_http: (ServerFault, "retried"),
        server.base_url: (Refused, "reported"),  # 404: no such workitem
    }
    for url, (kind, expected) in cases.items():
        with pytest.raises(kind) as raised:
            b = upsrs(url)
            try:
                await b.claim(item.uid, generate_uid())
            finally:
                await b.close()
        assert raised.value.retryable == (expected == "retried"), url
        assert (await decision(upsrs(url, reworded), tmp_path, item))[0] == expected, url


def dimse(port: int, aet: str) -> DimseBackend:
    return DimseBackend(
        Profile(name="dimse", backend="dimse", ae_title="CT1", mwl_port=port, mwl_aet=aet, timeout=2, dimse_timeout=5)
    )


async def test_a_dimse_peer_that_aborts_or_is_not_there_is_retried(aborting_peer, tmp_path):
    for port, kind in ((aborting_peer, Aborted), (closed_port(), Unreachable)):
        b = dimse(port, "ABORTER")
        item = await b.create(new_item())  # known to this backend only: its claim is an MPPS N-CREATE
        with pytest.raises(kind):
            await b.claim(item.uid, generate_uid())
        assert await decision(b, tmp_path, item) == ("retried", None)


async def test_a_report_sent_again_to_a_finished_mpps_is_typed_as_already_finished(front):
    b = dimse(front.dimse.port, "WORKLIST")
    item = (await b.search(WorklistQuery.today("US1")))[0]
    mpps_uid = generate_uid()
    await b.claim(item.uid, mpps_uid)
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    done = PerformedProcedure(
        Code("US1", "99WLSTATION", "US1"), start=now, end=now, series=(OutputSeries(generate_uid(), "Abdomen"),)
    )
    await b.complete(item.uid, mpps_uid, done)
    again = Dataset()
    again.PerformedProcedureStepStatus = "COMPLETED"
    with pytest.raises(AlreadyFinished) as raised:
        await asyncio.to_thread(b._n_set, mpps_uid, again)
    assert not raised.value.retryable
    await b.complete(item.uid, mpps_uid, done)  # a completion whose answer was lost: done, whatever the sentence
