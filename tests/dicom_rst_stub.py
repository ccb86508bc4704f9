"""A Supplement 246 worklist server that pages as UMEssen/DICOM-RST does: at most 200 items per
answer whatever `limit` asks, no Warning that more follow, `200 []` past the end (or for no
match), and the answer labelled application/json rather than application/dicom+json. A real
Starlette app on uvicorn, on a loopback port of its own."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from waiting import until

from app.domain.build import NewWorkitem
from app.domain.mapping import ups_to_mwl
from app.domain.workitem import PatientName

SERVER_PAGE = 200
STATION_KEY = "00400100.00400001"


def scheduled_steps(count: int, station: str = "CT1") -> list[dict]:
    """`count` MWL items for `station` on the pinned day, a minute apart from 07:00."""
    items = []
    for n in range(count):
        hour, minute = divmod(7 * 60 + n, 60)
        new = NewWorkitem(
            uid=generate_uid(),
            label="CT head",
            start=f"{PINNED_DAY:%Y%m%d}{hour % 24:02d}{minute:02d}00",
            patient=PatientName(f"Paged^Patient{n:03d}"),
            patient_id=f"PG{n:04d}",
            station=station,
            modality="CT",
            accession=f"ACC-PG{n:04d}",
            study_uid=generate_uid(),
        )
        items.append(ups_to_mwl(new.to_json()))
    return items


@dataclass
class DicomRstStub:
    items: list[dict]
    station: str = "CT1"
    repeats: bool = False  # a server that ignores offset: every page is the first one again
    endless: bool = False  # a server that never runs out: every page holds new items
    asked: list[tuple[int, int]] = field(default_factory=list)  # (offset, limit) of each Search
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dicom-web"

    async def search(self, request: Request) -> Response:
        limit = int(request.query_params.get("limit", SERVER_PAGE))
        offset = int(request.query_params.get("offset", 0))
        self.asked.append((offset, limit))
        station = request.query_params.get(STATION_KEY, self.station)
        matched = self.items if station == self.station else []
        start = 0 if self.repeats or self.endless else offset
        page = matched[start : start + min(limit, SERVER_PAGE)]
        if self.endless:
            page = scheduled_steps(len(page), self.station)
        return Response(json.dumps(page), 200, media_type="application/json")


@contextmanager
def dicom_rst_stub(items: list[dict], *, repeats: bool = False, endless: bool = False) -> Iterator[DicomRstStub]:
    stub = DicomRstStub(items, repeats=repeats, endless=endless)
    app = Starlette(routes=[Route("/dicom-web/modality-scheduled-procedure-steps", stub.search)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    stub.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    # uvicorn says when it listens; a thread that ended will never say it
    until(lambda: server.started or not thread.is_alive(), 10, "the DICOM-RST stub listening")
    if not server.started:
        raise RuntimeError("The DICOM-RST stub did not start.")
    try:
        yield stub
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
