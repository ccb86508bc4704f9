"""What a UPS-RS user agent sends and reads, for the server tests."""

from __future__ import annotations

import base64
import json
import os
import queue
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta

import httpx
from pydicom.uid import generate_uid
from websockets.sync.client import connect

from app.domain.build import NewWorkitem
from app.domain.workitem import PatientName

DICOM_JSON = "application/dicom+json"
GLOBAL = "1.2.840.10008.5.1.4.34.5"
FILTERED = "1.2.840.10008.5.1.4.34.5.1"


def new_aet() -> str:
    return "T" + uuid.uuid4().hex[:10].upper()


def item(
    station: str = "CT1",
    *,
    patient: str = "Doe^Jane",
    start: datetime | None = None,
    accession: str | None = None,
    **fields,
) -> dict:
    start = start or datetime.now().replace(microsecond=0) + timedelta(hours=1)
    return NewWorkitem(
        uid=generate_uid(),
        label=fields.pop("label", "CT chest"),
        start=start.strftime("%Y%m%d%H%M%S"),
        patient=PatientName(patient),
        patient_id=fields.pop("patient_id", "P" + uuid.uuid4().hex[:8].upper()),
        station=station,
        modality=fields.pop("modality", "CT"),
        accession=accession or "A" + uuid.uuid4().hex[:8].upper(),
        study_uid=generate_uid(),
        **fields,
    ).to_json()


def uid_of(ds: dict) -> str:
    return ds["00080018"]["Value"][0]


def value(ds: dict, tag: str):
    values = (ds.get(tag) or {}).get("Value") or []
    return values[0] if values else None


def post(http: httpx.Client, url: str, body, **kw) -> httpx.Response:
    return http.post(url, content=json.dumps(body), headers={"Content-Type": DICOM_JSON}, **kw)


def create(http: httpx.Client, ds: dict) -> str:
    r = post(http, "/workitems", [ds])
    assert r.status_code == 201, (r.status_code, r.headers.get("Warning"))
    return uid_of(ds)


def change_state(http: httpx.Client, uid: str, state: str, tx: str | None, suffix: str = "") -> httpx.Response:
    body = {"00741000": {"vr": "CS", "Value": [state]}}
    if tx:
        body["00081195"] = {"vr": "UI", "Value": [tx]}
    return http.put(f"/workitems/{uid}/state{suffix}", content=json.dumps([body]), headers={"Content-Type": DICOM_JSON})


def performed(station: str = "CT1") -> dict:
    def code(v, s="99L"):
        return {
            "00080100": {"vr": "SH", "Value": [v]},
            "00080102": {"vr": "SH", "Value": [s]},
            "00080104": {"vr": "LO", "Value": [v]},
        }

    return {
        "00741216": {
            "vr": "SQ",
            "Value": [
                {
                    "00404028": {"vr": "SQ", "Value": [code(station)]},
                    "00404050": {"vr": "DT", "Value": ["20261123080000"]},
                    "00404051": {"vr": "DT", "Value": ["20261123081500"]},
                    "00404019": {"vr": "SQ", "Value": [code("CTCHEST")]},
                    "00404033": {"vr": "SQ"},
                }
            ],
        }
    }


def progress(percent: float, text: str) -> dict:
    return {
        "00741002": {
            "vr": "SQ",
            "Value": [{"00741004": {"vr": "DS", "Value": [percent]}, "00741006": {"vr": "ST", "Value": [text]}}],
        }
    }


def update(http: httpx.Client, uid: str, tx: str | None, attrs: dict, form: str = "query") -> httpx.Response:
    body = dict(attrs)
    url = f"/workitems/{uid}"
    if tx and form in ("query", "bare"):
        url += f"?transaction={tx}" if form == "query" else f"?{tx}"
    if tx and form == "payload":
        body["00081195"] = {"vr": "UI", "Value": [tx]}
    return post(http, url, [body])


def claim(http: httpx.Client, uid: str) -> str:
    tx = generate_uid()
    r = change_state(http, uid, "IN PROGRESS", tx)
    assert r.status_code == 200, r.headers.get("Warning")
    return tx


class Events:
    """A notification channel read on a thread, like a console would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.queue: queue.Queue[dict] = queue.Queue()
        self.socket = connect(url, open_timeout=10)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for message in self.socket:
                self.queue.put(json.loads(message))
        except Exception:
            pass

    def next(self, timeout: float = 5.0) -> dict:
        return self.queue.get(timeout=timeout)

    def wait_for(self, uid: str, event_type: int, timeout: float = 5.0, **attrs) -> dict:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                event = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(event)
            if (
                value(event, "00001000") == uid
                and value(event, "00001002") == event_type
                and all(value(event, tag) == want for tag, want in attrs.items())
            ):
                return event
        raise AssertionError(f"no event {event_type} for {uid} {attrs}; saw {seen}")

    def drain(self, quiet: float = 0.3) -> list[dict]:
        out = []
        while True:
            try:
                out.append(self.queue.get(timeout=quiet))
            except queue.Empty:
                return out

    def close(self) -> None:
        self.socket.close()
        self.thread.join(2)


def subscribe(http: httpx.Client, target: str, aet: str, **params) -> httpx.Response:
    return http.post(f"/workitems/{target}/subscribers/{aet}", params=params or None)


def listen(http: httpx.Client, target: str, aet: str, **params) -> Events:
    r = subscribe(http, target, aet, **params)
    assert r.status_code == 201, (r.status_code, r.headers.get("Warning"))
    return Events(r.headers["Content-Location"])


def handshake(base_url: str, aet: str) -> socket.socket:
    """A WebSocket opened by hand, so that the test decides what it answers (here: nothing)."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        answer = subscribe(http, GLOBAL, aet, deletionlock="false")
    assert answer.status_code == 201
    url = httpx.URL(answer.headers["Content-Location"])
    peer = socket.create_connection((url.host, url.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    peer.sendall(
        (
            f"GET {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += peer.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    return peer
