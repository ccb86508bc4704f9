"""HTTPS for a classroom: the server makes its own CA once, consoles trust that CA file."""

from __future__ import annotations

import json
import ssl

import httpx
import pytest
from door import PASSWORD, locked_server, trusting
from upsrs_client import DICOM_JSON, GLOBAL, create, item, value
from websockets.sync.client import connect

from app.server import ServerConfig, UPSServer
from app.server.tls import fingerprint


@pytest.fixture()
def classroom(tmp_path):
    server, tokens = locked_server(tmp_path, tls=True, ct1=["CT1"])
    try:
        yield server, tokens
    finally:
        server.stop()


def test_a_console_trusting_the_ca_file_searches_over_https(classroom):
    server, _ = classroom
    assert server.base_url.startswith("https://127.0.0.1:")
    with httpx.Client(base_url=server.base_url, verify=trusting(server), auth=("ct1", PASSWORD)) as c:
        uid = create(c, item("CT1"))
        r = c.get(f"/workitems/{uid}", headers={"Accept": DICOM_JSON})
        assert r.status_code == 200
        r = c.post(f"/workitems/{GLOBAL}/subscribers/CT1")
        assert r.headers["Content-Location"].startswith("wss://127.0.0.1:")


def test_a_client_that_does_not_trust_the_ca_cannot_connect(classroom):
    server, _ = classroom
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(server.base_url + "/workitems", verify=ssl.create_default_context(), auth=("ct1", PASSWORD))


def test_events_arrive_over_wss_with_a_token(classroom):
    server, tokens = classroom
    auth = {"Authorization": f"Bearer {tokens['ct1']}"}
    with httpx.Client(base_url=server.base_url, verify=trusting(server), headers=auth) as c:
        url = c.post(f"/workitems/{GLOBAL}/subscribers/CT1").headers["Content-Location"]
        with connect(url, ssl=trusting(server), additional_headers=auth, open_timeout=5) as socket:
            uid = create(c, item("CT1"))
            seen = set()
            while uid not in seen:
                seen.add(value(json.loads(socket.recv(timeout=5)), "00001000"))


def test_the_classroom_ca_is_kept_across_restarts(tmp_path):
    config = ServerConfig(http_port=0, db_path=str(tmp_path / "ups.db"), purge_interval=3600, tls_self_signed=True)
    first = UPSServer(config).start()
    assert first.tls is not None and first.tls.ca is not None
    print_ = fingerprint(first.tls.ca)
    first.stop()
    second = UPSServer(config).start()
    try:
        assert second.tls is not None and second.tls.ca is not None
        assert fingerprint(second.tls.ca) == print_  # the trainees' CA files stay good
        assert len(print_.split(":")) == 32
        assert httpx.get(second.base_url + "/workitems", verify=trusting(second)).status_code == 204
    finally:
        second.stop()
