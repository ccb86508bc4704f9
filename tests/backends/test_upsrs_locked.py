"""The console's UPS-RS backend against a locked classroom server: HTTPS with the server's own CA as
the profile's CA file, basic or bearer credentials, live events over wss."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from door import PASSWORD, locked_server
from pydicom.uid import generate_uid

from app.backends.errors import Refused, Unreachable
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.build import NewWorkitem
from app.domain.events import EventType
from app.domain.workitem import PatientName
from app.domain.worklist_query import WorklistQuery


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    server, tokens = locked_server(tmp_path_factory.mktemp("classroom"), tls=True, ct1=["CT1"], ris=[])
    try:
        yield server, tokens
    finally:
        server.stop()


def profile(server, ae: str, **auth) -> Profile:
    return Profile(url=server.base_url, ae_title=ae, ca_file=str(server.tls.ca), **auth)


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def new_item(station: str) -> NewWorkitem:
    return NewWorkitem(
        uid=generate_uid(),
        label="CT chest",
        start=datetime.now().strftime("%Y%m%d%H%M%S"),
        patient=PatientName("Sørensen^Mette"),
        patient_id="P" + generate_uid()[-8:],
        station=station,
        modality="CT",
    )


@pytest.mark.parametrize("kind", ["basic", "bearer"])
async def test_live_events_reach_a_console_with_credentials_over_wss(classroom, kind):
    server, tokens = classroom
    auth = (
        {"auth": "basic", "username": "ct1", "password": PASSWORD}
        if kind == "basic"
        else {"auth": "bearer", "token": tokens["ct1"]}
    )
    console = UpsRsBackend(profile(server, "CT1", **auth))
    ris = UpsRsBackend(profile(server, "RIS", auth="basic", username="ris", password=PASSWORD))
    events, connections = [], []
    watcher = asyncio.create_task(console.watch(events.append, lambda up, why: connections.append((up, why))))
    try:
        await _until(lambda: connections and connections[-1][0])
        item = new_item("CT1")
        await ris.create(item)
        await _until(lambda: any(e.workitem_uid == item.uid and e.event_type is EventType.STATE_REPORT for e in events))
        found = await console.search(WorklistQuery.today("CT1"))
        assert item.uid in {w.uid for w in found}
    finally:
        watcher.cancel()
        await console.close()
        await ris.close()


async def test_wrong_credentials_are_said_in_a_sentence(classroom):
    server, _ = classroom
    console = UpsRsBackend(profile(server, "CT1", auth="basic", username="ct1", password="not it"))
    try:
        with pytest.raises(Refused, match="did not accept our credentials.*enter the user and password"):
            await console.search(WorklistQuery.today("CT1"))
    finally:
        await console.close()


async def test_a_certificate_not_trusted_and_a_plain_url_on_https_say_what_to_do(classroom):
    server, _ = classroom
    untrusting = UpsRsBackend(
        Profile(url=server.base_url, ae_title="CT1", auth="basic", username="ct1", password=PASSWORD)
    )
    plain = UpsRsBackend(
        Profile(
            url=server.base_url.replace("https://", "http://"),
            ae_title="CT1",
            auth="basic",
            username="ct1",
            password=PASSWORD,
        )
    )
    try:
        with pytest.raises(Unreachable, match="does not trust: give the profile the CA file"):
            await untrusting.search(WorklistQuery.today("CT1"))
        with pytest.raises(Unreachable, match="must start with https://"):
            await plain.search(WorklistQuery.today("CT1"))
    finally:
        await untrusting.close()
        await plain.close()


async def test_an_http_profile_loads_no_trust_store_and_refuses_https_rather_than_send_it_unverified(
    classroom, monkeypatch
):
    """The trust store is loaded for an https:// base only (a cold `echo` over http:// spares its 50-180
    ms); were an http:// profile's client ever asked for an https URL, it would refuse the certificate,
    the profile's CA file notwithstanding, and never talk unverified."""
    from app.backends import dicomweb

    server, _ = classroom
    loaded, real = [], dicomweb.tls_context
    monkeypatch.setattr(dicomweb, "tls_context", lambda p: loaded.append(p) or real(p))
    plain = dicomweb.DicomWebClient(
        Profile(url=server.base_url.replace("https://", "http://"), ae_title="CT1", ca_file=str(server.tls.ca))
    )
    secure = dicomweb.DicomWebClient(profile(server, "CT1"))
    try:
        assert loaded == [secure.profile]
        assert (await secure.request("GET", "/workitems")).status_code == 401  # the CA file trusted: TLS up
        with pytest.raises(Unreachable, match="does not trust"):
            await plain.request("GET", f"{server.base_url}/workitems")
    finally:
        await plain.close()
        await secure.close()
