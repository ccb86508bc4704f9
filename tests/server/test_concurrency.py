"""Two user agents claiming one workitem at the same moment: exactly one wins."""

from __future__ import annotations

import threading
from datetime import UTC

import httpx
from pydicom.uid import generate_uid
from upsrs_client import change_state, create, item

from app.domain.status import Status, UPSError
from app.server.notifications import EventHub
from app.server.service import UPSService
from app.server.store import Store


def test_simultaneous_claims_over_http_have_exactly_one_winner(server, http):
    uids = [create(http, item()) for _ in range(15)]
    clients = [httpx.Client(base_url=server.base_url, timeout=10) for _ in range(2)]
    try:
        for uid in uids:
            barrier = threading.Barrier(2)
            codes: list[int] = []

            def claim(client: httpx.Client) -> None:
                barrier.wait()
                codes.append(change_state(client, uid, "IN PROGRESS", generate_uid()).status_code)

            threads = [threading.Thread(target=claim, args=(c,)) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(codes) == [200, 409], (uid, codes)
    finally:
        for c in clients:
            c.close()


def test_two_services_on_one_database_file_cannot_both_claim(tmp_path):
    """The guarantee is the database lock, not the GIL: two stores, two connections, one file."""
    path = tmp_path / "shared.db"
    services = [UPSService(Store(path, UTC), EventHub()) for _ in range(2)]
    uids = [services[0].create(item()).uid for _ in range(20)]
    for uid in uids:
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def claim(service: UPSService) -> None:
            barrier.wait()
            try:
                outcomes.append(service.change_state(uid, "IN PROGRESS", generate_uid()))
            except UPSError as exc:
                outcomes.append(exc.status)

        threads = [threading.Thread(target=claim, args=(s,)) for s in services]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == sorted([Status.SUCCESS, Status.ALREADY_IN_PROGRESS]), outcomes
