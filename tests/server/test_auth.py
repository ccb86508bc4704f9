"""Users and tokens on the HTTP front: who may search, and as which AE titles one may act."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import httpx
import pytest
from door import PASSWORD, locked_server, users_file
from pydicom.uid import generate_uid
from upsrs_client import DICOM_JSON, GLOBAL, change_state, create, item, post, value
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.server import ServerConfig, UPSServer
from app.server.audit import audit_path, read
from app.server.security import DoorError
from app.server.users import Users


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    server, tokens = locked_server(tmp_path_factory.mktemp("locked"), trainer=[], ct1=["CT1"], both=["CT1", "CT2"])
    try:
        yield server, tokens
    finally:
        server.stop()


def client(server: UPSServer, *, token: str | None = None, headers: dict | None = None, **kw) -> httpx.Client:
    headers = {"Accept": DICOM_JSON, **({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return httpx.Client(base_url=server.base_url, timeout=10.0, headers=headers, **kw)


def state_of(c: httpx.Client, uid: str) -> str:
    return value(client_get(c, f"/workitems/{uid}").json()[0], "00741000")


def client_get(c: httpx.Client, url: str) -> httpx.Response:
    r = c.get(url)
    assert r.status_code == 200, (r.status_code, r.headers.get("Warning"))
    return r


def test_no_credentials_or_wrong_ones_get_401_with_both_challenges(locked):
    server, _ = locked
    for auth, token in (
        (None, None),
        (("trainer", "wrong password"), None),
        (("nobody", PASSWORD), None),
        (None, "0123456789ab.not-the-secret"),
        (None, "garbage"),
    ):
        with client(server, auth=auth, token=token) as c:
            r = c.get("/workitems")
            assert r.status_code == 401, (auth, token)
            challenge = r.headers["WWW-Authenticate"]
            assert "Basic realm=" in challenge and "Bearer" in challenge


def test_a_user_or_its_token_may_search_and_create(locked):
    server, tokens = locked
    with client(server, auth=("trainer", PASSWORD)) as c:
        uid = create(c, item())
        assert c.get("/workitems").status_code == 200
    with client(server, token=tokens["trainer"]) as c:
        assert state_of(c, uid) == "SCHEDULED"


def test_an_ae_bound_user_may_not_claim_subscribe_or_request_cancellation_as_another_ae(locked):
    server, tokens = locked
    with client(server, auth=("trainer", PASSWORD)) as trainer, client(server, auth=("ct1", PASSWORD)) as ct1:
        uid = create(trainer, item("CT2"))
        assert change_state(ct1, uid, "IN PROGRESS", "1.2.3.4", suffix="/CT2").status_code == 403
        assert state_of(trainer, uid) == "SCHEDULED"
        assert ct1.post(f"/workitems/{GLOBAL}/subscribers/CT2").status_code == 403
        r = post(ct1, f"/workitems/{uid}/cancelrequest/CT2", [{}])
        assert r.status_code == 403
        assert "ct1 may not act as the AE title CT2" in r.headers["Warning"]
        assert state_of(trainer, uid) == "SCHEDULED"
        # as its own AE title, named or not, it may — on its own station's work (a modality's role)
        assert ct1.post(f"/workitems/{GLOBAL}/subscribers/CT1").status_code == 201
        assert change_state(ct1, uid, "IN PROGRESS", "1.2.3.4").status_code == 403
        own = create(trainer, item("CT1"))
        assert change_state(ct1, own, "IN PROGRESS", "1.2.3.4").status_code == 200
        assert state_of(trainer, own) == "IN PROGRESS"


def test_a_client_naming_an_ae_title_its_user_is_not_bound_to_is_refused_by_every_door(locked):
    server, tokens = locked
    with client(server, auth=("trainer", PASSWORD)) as trainer:
        uid = create(trainer, item("CT2"))
    as_ct2 = {"Calling-AE-Title": "CT2"}
    with client(server, auth=("ct1", PASSWORD), headers=as_ct2) as ct1:
        for refused in (
            ct1.get("/workitems"),
            change_state(ct1, uid, "IN PROGRESS", "1.2.3.4"),
            ct1.get("/modality-scheduled-procedure-steps"),
            post(ct1, f"/modality-performed-procedure-steps/{generate_uid()}", [{}]),
        ):
            assert refused.status_code == 403, refused.request.url
            assert "ct1 may not act as the AE title CT2; it is bound to CT1" in refused.headers["Warning"]
        with pytest.raises(InvalidStatus) as socket:
            connect(
                f"ws://127.0.0.1:{server.port}/dicom-web/ws/subscribers/CT1",
                additional_headers={"Authorization": f"Bearer {tokens['ct1']}", **as_ct2},
                open_timeout=5,
            )
        assert socket.value.response.status_code == 403
    with client(server, auth=("ct1", PASSWORD)) as ct1:
        # no header, but the performing station of the MPPS is named: the same rule
        performing_ct2 = [{"00400241": {"vr": "AE", "Value": ["CT2"]}}]
        r = post(ct1, f"/modality-performed-procedure-steps/{generate_uid()}", performing_ct2)
        assert r.status_code == 403 and "may not act as the AE title CT2" in r.headers["Warning"]
        assert state_of(ct1, uid) == "SCHEDULED"
    assert [line["action"] for line in read(audit_path(server.store.path), uid)] == ["create"]


def test_a_claim_is_recorded_as_the_ae_title_the_client_names(locked):
    server, _ = locked
    with client(server, auth=("trainer", PASSWORD)) as trainer:
        first, second = create(trainer, item("CT1")), create(trainer, item("CT2"))
    with client(server, auth=("ct1", PASSWORD), headers={"Calling-AE-Title": "CT1"}) as ct1:
        assert change_state(ct1, first, "IN PROGRESS", generate_uid()).status_code == 200
    # a user bound to two AE titles is whichever one it names, not a guess
    with client(server, auth=("both", PASSWORD), headers={"Calling-AE-Title": "CT2"}) as both:
        assert change_state(both, second, "IN PROGRESS", generate_uid()).status_code == 200
    claims = {uid: list(read(audit_path(server.store.path), uid))[-1] for uid in (first, second)}
    assert [(claims[uid]["action"], claims[uid]["ae"]) for uid in (first, second)] == [
        ("claim", "CT1"),
        ("claim", "CT2"),
    ]
    with client(server, auth=("ct1", PASSWORD), headers={"Calling-AE-Title": "not\\an AE"}) as ct1:
        r = ct1.get("/workitems")
        assert r.status_code == 400 and "Calling-AE-Title" in r.headers["Warning"]


def test_a_token_carries_its_users_ae_binding(locked):
    server, tokens = locked
    with client(server, token=tokens["ct1"]) as c:
        assert c.post(f"/workitems/{GLOBAL}/subscribers/MR1").status_code == 403
        assert c.post(f"/workitems/{GLOBAL}/subscribers/CT1").status_code == 201


def test_the_notification_socket_needs_credentials_and_the_right_ae(locked):
    server, tokens = locked
    url = f"ws://127.0.0.1:{server.port}/dicom-web/ws/subscribers/CT1"
    for headers in ({}, {"Authorization": f"Bearer {tokens['ct1']}x"}):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers, open_timeout=5)
        # refused as a request is: 401 with the challenge, so a client knows to send credentials
        assert refused.value.response.status_code == 401
        assert "Basic" in refused.value.response.headers["WWW-Authenticate"]
    with pytest.raises(InvalidStatus):
        connect(url.replace("CT1", "CT2"), additional_headers={"Authorization": f"Bearer {tokens['ct1']}"})
    with client(server, auth=("ct1", PASSWORD)) as ct1, client(server, auth=("trainer", PASSWORD)) as trainer:
        assert ct1.post(f"/workitems/{GLOBAL}/subscribers/CT1").status_code == 201
        socket = connect(url, additional_headers={"Authorization": f"Bearer {tokens['ct1']}"}, open_timeout=5)
        try:
            uid = create(trainer, item("CT1"))
            uids = set()
            while uid not in uids:
                uids.add(value(json.loads(socket.recv(timeout=5)), "00001000"))
        finally:
            socket.close()


def test_the_users_file_is_private_and_holds_no_password_or_token(tmp_path):
    path, tokens = users_file(tmp_path, alice=["CT1"])
    text = path.read_text()
    assert PASSWORD not in text and tokens["alice"].split(".")[1] not in text
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = Users.load(path)
    assert users.by_password("alice", PASSWORD) is not None
    assert users.by_password("alice", PASSWORD + "x") is None
    assert users.by_token(tokens["alice"]).aes == frozenset({"CT1"})


def test_beyond_loopback_without_users_the_server_refuses_to_open(tmp_path):
    with pytest.raises(DoorError, match="--no-auth"):
        UPSServer(ServerConfig(host="0.0.0.0", http_port=0, db_path=str(tmp_path / "ups.db")))
    assert not (tmp_path / "ups.db").exists()  # it did not even open the database
    run = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--host", "0.0.0.0", "--http-port", "0", "--dimse-port", "0"]
        + ["--db", str(tmp_path / "ups.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "without authentication" in run.stderr and "Traceback" not in run.stderr


def test_no_auth_beyond_loopback_serves_and_warns(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "0.0.0.0", "--http-port", "0", "--dimse-port", "0"]
        + ["--db", str(tmp_path / "ups.db"), "--no-auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        assert any(line.startswith("WARNING: no authentication on 0.0.0.0") for line in lines), lines
        base = next(line for line in lines if "ready at" in line).split("ready at ")[1].split()[0]
        assert httpx.get(base + "/workitems", timeout=10).status_code == 204
    finally:
        proc.terminate()
        proc.wait(15)
