"""The DIMSE front's door: our called AE title only, an optional calling-AE allow-list, and DICOM
over TLS — each refusal an A-ASSOCIATE-RJ with the reason of PS3.8 Table 9-21 and a log line an
installer can act on."""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from certificates import make_certificate
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification

from app.server import ServerConfig, UPSServer

CALLED_NOT_RECOGNISED, CALLING_NOT_RECOGNISED = 7, 3


def started(tmp_path: Path, **options) -> UPSServer:
    return UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"), **options)).start()


@pytest.fixture()
def guarded(tmp_path) -> Iterator[UPSServer]:
    server = started(tmp_path, ae_title="RIS_WL", allow_ae=("CT1", "MR1"))
    try:
        yield server
    finally:
        server.stop()


def associate(port: int, calling: str, called: str, tls: tuple[ssl.SSLContext, str] | None = None):
    """An association and what the peer answered in its A-ASSOCIATE-RJ (result, source, reason)."""
    ae = AE(calling)
    ae.acse_timeout = ae.network_timeout = ae.connection_timeout = 5
    ae.add_requested_context(Verification)
    answers: list = []
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title=called,
        tls_args=tls,
        evt_handlers=[(evt.EVT_ACSE_RECV, lambda e: answers.append(e.primitive))],
    )
    rejection = next(
        ((p.result, p.result_source, p.diagnostic) for p in answers if getattr(p, "result", None) in (1, 2)), None
    )
    return assoc, rejection


def logged(caplog, words: str, seconds: float = 5.0) -> list[str]:
    """What the DIMSE front logged, once `words` are in it: the server says why it refused an
    association on its own thread, after the rejection has gone out."""
    deadline = time.monotonic() + seconds
    while True:
        said = [r.getMessage() for r in caplog.records if r.name == "app.server.dimse"]
        if any(words in s for s in said) or time.monotonic() > deadline:
            return said
        time.sleep(0.02)


def echo(assoc) -> int:
    try:
        return int(assoc.send_c_echo().Status)
    finally:
        assoc.release()


def test_an_association_calling_another_ae_title_is_rejected_and_the_log_names_both(guarded, caplog):
    with caplog.at_level(logging.WARNING, logger="app.server.dimse"):
        assoc, rejection = associate(guarded.dimse.port, "CT1", "WORKLIST")
    assert not assoc.is_established
    assert rejection == (1, 1, CALLED_NOT_RECOGNISED)  # rejected-permanent, by the service user
    said = logged(caplog, "called the AE title WORKLIST")
    assert any("called the AE title WORKLIST" in s and "this server is RIS_WL" in s for s in said), said


def test_a_calling_ae_title_off_the_allow_list_is_rejected_and_one_on_it_is_served(guarded, caplog):
    with caplog.at_level(logging.WARNING, logger="app.server.dimse"):
        assoc, rejection = associate(guarded.dimse.port, "US9", "RIS_WL")
    assert not assoc.is_established
    assert rejection == (1, 1, CALLING_NOT_RECOGNISED)
    said = logged(caplog, "calling AE title US9 is not on the allow-list")
    assert any("calling AE title US9 is not on the allow-list" in s for s in said), said

    assoc, rejection = associate(guarded.dimse.port, "MR1", "RIS_WL")
    assert rejection is None and assoc.is_established
    assert echo(assoc) == 0


def test_without_an_allow_list_any_calling_ae_is_served_when_it_calls_our_title(tmp_path):
    server = started(tmp_path, ae_title="RIS_WL")
    try:
        assoc, rejection = associate(server.dimse.port, "ANYTHING", "RIS_WL")
        assert rejection is None
        assert echo(assoc) == 0
    finally:
        server.stop()


@pytest.fixture()
def tls_server(tmp_path) -> Iterator[tuple[UPSServer, Path]]:
    cert, key = make_certificate(tmp_path)
    server = started(tmp_path, dimse_tls=True, tls_cert=str(cert), tls_key=str(key))
    try:
        yield server, cert
    finally:
        server.stop()


def test_the_tls_front_answers_an_scu_that_trusts_its_certificate_and_no_plain_one(tls_server):
    server, cert = tls_server
    trusting = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
    assoc, _ = associate(server.dimse.port, "CT1", "WORKLIST", tls=(trusting, "localhost"))
    assert assoc.is_established
    assert echo(assoc) == 0

    plain, _ = associate(server.dimse.port, "CT1", "WORKLIST")
    assert not plain.is_established


def test_a_tls_front_without_a_usable_certificate_does_not_start_and_says_why(tmp_path):
    with pytest.raises(ValueError, match="--tls-self-signed"):
        UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"), dimse_tls=True))
    with pytest.raises(ValueError, match="missing.pem"):
        UPSServer(
            ServerConfig(
                http_port=0,
                dimse_port=0,
                db_path=str(tmp_path / "w.db"),
                dimse_tls=True,
                tls_cert=str(tmp_path / "missing.pem"),
                tls_key=str(tmp_path / "missing.key"),
            )
        )


@pytest.mark.parametrize("silent", [1, 10])
def test_tcp_connections_that_never_start_tls_do_not_hold_back_an_scu_that_does(tls_server, silent):
    """pynetdicom shook hands on its one accepting thread, without a timeout: a single
    connection that sent no ClientHello stopped every association after it."""
    server, cert = tls_server
    trusting = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
    held = [socket.create_connection(("127.0.0.1", server.dimse.port), timeout=10) for _ in range(silent)]
    try:
        began = time.monotonic()
        assoc, _ = associate(server.dimse.port, "CT1", "WORKLIST", tls=(trusting, "localhost"))
        assert assoc.is_established
        assert echo(assoc) == 0
        assert time.monotonic() - began < 2
    finally:
        for connection in held:
            connection.close()


def test_a_connection_that_never_finishes_its_tls_handshake_is_closed_in_a_few_seconds(tls_server, monkeypatch):
    from app.server import dimse_tls

    monkeypatch.setattr(dimse_tls, "HANDSHAKE_SECONDS", 1.0)
    server, _ = tls_server
    with socket.create_connection(("127.0.0.1", server.dimse.port), timeout=10) as silent:
        began = time.monotonic()
        assert silent.recv(1) == b""  # closed by the server
        assert time.monotonic() - began < 4
