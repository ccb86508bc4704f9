"""What a web page may not do to a server on loopback: change the worklist cross-site, or reach it
under its own name (DNS rebinding)."""

from __future__ import annotations

import json

import httpx
import pytest
from upsrs_client import DICOM_JSON, GLOBAL, create, item, new_aet, subscribe, value
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

EVIL = "http://evil.example"


def retrieve_state(http: httpx.Client, uid: str) -> str:
    r = http.get(f"/workitems/{uid}")
    assert r.status_code == 200, r.headers.get("Warning")
    return value(r.json()[0], "00741000")


def test_a_cancel_request_from_another_sites_page_is_refused_and_cancels_nothing(http):
    uid = create(http, item())
    r = http.post(f"/workitems/{uid}/cancelrequest", headers={"Origin": EVIL})
    assert r.status_code == 403
    assert "evil.example" in r.headers["Warning"]
    assert retrieve_state(http, uid) == "SCHEDULED"


def test_a_form_post_without_origin_is_refused_for_its_media_type(http):
    uid = create(http, item())
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        r = http.post(f"/workitems/{uid}/cancelrequest", content=b"", headers={"Content-Type": media})
        assert r.status_code == 415, media
    assert retrieve_state(http, uid) == "SCHEDULED"


def test_a_body_without_a_media_type_is_refused(http):
    ds = item()
    r = http.post("/workitems", content=json.dumps([ds]))  # what a page's fetch() of a Blob sends
    assert r.status_code == 415
    assert http.get(f"/workitems/{ds['00080018']['Value'][0]}").status_code == 404


def test_a_page_of_this_server_itself_may_cancel(http, server):
    uid = create(http, item())
    own = f"http://127.0.0.1:{server.port}"
    r = http.post(f"/workitems/{uid}/cancelrequest", headers={"Origin": own})
    assert r.status_code == 202
    assert retrieve_state(http, uid) == "CANCELED"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "localhost.evil.example"])
def test_a_request_under_a_foreign_host_name_is_refused_and_not_reflected(http, host):
    uid = create(http, item())
    r = http.post(f"/workitems/{uid}/cancelrequest", headers={"Host": host})
    assert r.status_code == 421
    assert "evil" not in str(r.headers)
    r = http.get("/workitems", headers={"Host": host})
    assert r.status_code == 421
    assert retrieve_state(http, uid) == "SCHEDULED"


def test_loopback_names_and_literals_are_accepted_as_host(http, server):
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "localhost"):
        r = http.post(f"/workitems/{GLOBAL}/subscribers/{new_aet()}", headers={"Host": host})
        assert r.status_code == 201, host
        assert r.headers["Content-Location"].startswith(f"ws://{host.split(':')[0]}:{server.port}/")


def test_a_notification_socket_opened_by_another_sites_page_is_refused(http, server):
    aet = new_aet()
    assert subscribe(http, GLOBAL, aet).status_code == 201
    url = f"ws://127.0.0.1:{server.port}/dicom-web/ws/subscribers/{aet}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin=EVIL, open_timeout=5)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    with connect(url, open_timeout=5):  # a console (no Origin) is welcome
        pass


def test_json_bodies_are_still_accepted(http):
    ds = item()
    r = http.post("/workitems", content=json.dumps([ds]), headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    r = http.post("/workitems", content=json.dumps([item()]), headers={"Content-Type": DICOM_JSON + "; charset=utf-8"})
    assert r.status_code == 201
