"""The console's DIMSE backend at a locked DIMSE front: Test connection says which AE title is
wrong, and a profile with TLS talks DICOM over TLS to a peer whose certificate its CA file trusts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from certificates import make_certificate
from embedded_server import PINNED_DAY

from app.backends.dimse import DimseBackend
from app.backends.errors import Unreachable
from app.backends.profiles import Profile
from app.domain.worklist_query import WorklistQuery
from app.server import ServerConfig, UPSServer
from app.server.demo import seed_demo_day


def profile(port: int, **options) -> Profile:
    values = {"ae_title": "CT1", "mwl_aet": "RIS_WL", "timeout": 5} | options
    return Profile(name="dimse", backend="dimse", mwl_host="127.0.0.1", mwl_port=port, **values)


@pytest.fixture()
def guarded(tmp_path) -> Iterator[UPSServer]:
    config = ServerConfig(
        http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"), ae_title="RIS_WL", allow_ae=("CT1",)
    )
    server = UPSServer(config).start()
    try:
        yield server
    finally:
        server.stop()


async def test_test_connection_names_both_ae_titles_when_the_called_one_is_wrong(guarded):
    (check,) = await DimseBackend(profile(guarded.dimse.port, mwl_aet="WORKLIST")).check_peers()
    assert not check.ok
    assert check.sentence == (
        f"The worklist server at 127.0.0.1:{guarded.dimse.port} does not answer to the AE title WORKLIST that CT1 "
        "called: set the called AE title to the server's own."
    )


async def test_test_connection_says_our_ae_title_is_not_accepted_and_passes_once_it_is(guarded):
    (refused,) = await DimseBackend(profile(guarded.dimse.port, ae_title="US9")).check_peers()
    assert not refused.ok
    assert "rejected our AE title US9 (calling RIS_WL)" in refused.sentence
    (passed,) = await DimseBackend(profile(guarded.dimse.port)).check_peers()
    assert passed.ok, passed.sentence
    assert passed.sentence.startswith("The worklist server RIS_WL at 127.0.0.1") and "answers C-ECHO" in passed.sentence


@pytest.fixture()
def tls_front(tmp_path) -> Iterator[tuple[UPSServer, Path]]:
    cert, key = make_certificate(tmp_path)
    config = ServerConfig(
        http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"), dimse_tls=True, tls_cert=str(cert), tls_key=str(key)
    )
    server = UPSServer(config)
    seed_demo_day(server.service, today=PINNED_DAY)
    server.start()
    try:
        yield server, cert
    finally:
        server.stop()


async def test_a_tls_profile_trusting_the_servers_certificate_finds_the_worklist(tls_front):
    server, cert = tls_front
    backend = DimseBackend(profile(server.dimse.port, mwl_aet="WORKLIST", tls=True, ca_file=str(cert)))
    items = await backend.search(WorklistQuery.today("CT1", PINNED_DAY))
    assert items and {w.station_names[0].value for w in items} == {"CT1"}
    (check,) = await backend.check_peers()
    assert check.ok, check.sentence


async def test_a_tls_profile_without_the_ca_file_says_the_certificate_is_not_trusted(tls_front):
    server, _ = tls_front
    backend = DimseBackend(profile(server.dimse.port, mwl_aet="WORKLIST", tls=True))
    with pytest.raises(Unreachable) as failed:
        await backend.search(WorklistQuery.today("CT1", PINNED_DAY))
    assert "its certificate is not trusted" in failed.value.sentence
    assert "give the profile the CA file that signed it" in failed.value.sentence


async def test_a_plain_profile_does_not_reach_a_tls_front(tls_front):
    server, _ = tls_front
    (check,) = await DimseBackend(profile(server.dimse.port, mwl_aet="WORKLIST")).check_peers()
    assert not check.ok


async def test_a_classroom_server_with_tls_self_signed_speaks_dicom_tls_with_the_ca_it_prints(tmp_path):
    config = ServerConfig(
        http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"), dimse_tls=True, tls_self_signed=True
    )
    server = UPSServer(config).start()
    try:
        assert server.tls is not None and server.tls.ca is not None
        trusting = DimseBackend(profile(server.dimse.port, mwl_aet="WORKLIST", tls=True, ca_file=str(server.tls.ca)))
        (check,) = await trusting.check_peers()
        assert check.ok, check.sentence
    finally:
        server.stop()
