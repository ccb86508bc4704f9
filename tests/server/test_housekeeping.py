"""Final workitems are deleted after the keep delay unless a deletion lock holds them."""

from __future__ import annotations

import time

import httpx
from upsrs_client import GLOBAL, change_state, claim, create, item, new_aet, performed, subscribe, update


def complete(http: httpx.Client, uid: str) -> None:
    tx = claim(http, uid)
    update(http, uid, tx, performed())
    assert change_state(http, uid, "COMPLETED", tx).status_code == 200


def test_completed_items_are_deleted_after_a_day_and_then_answer_410(fresh_server):
    service = fresh_server.service
    with httpx.Client(base_url=fresh_server.base_url) as http:
        done = create(http, item())
        complete(http, done)
        canceled = create(http, item())
        http.post(f"/workitems/{canceled}/cancelrequest")
        waiting = create(http, item())

        assert service.purge() == []  # kept for a day by default
        service.clock = lambda: time.time() + 86400 + 60
        assert sorted(service.purge()) == sorted([done, canceled])

        gone = http.get(f"/workitems/{done}")
        assert gone.status_code == 410 and "deleted" in gone.headers["Warning"]
        assert http.get(f"/workitems/{waiting}").status_code == 200
        assert http.get("/workitems", params={"SOPInstanceUID": done}).status_code == 204
        # a deleted UID stays taken
        again = item()
        again["00080018"]["Value"] = [done]
        assert (
            http.post("/workitems", json=[again], headers={"Content-Type": "application/dicom+json"}).status_code == 409
        )


def test_a_deletion_lock_keeps_a_completed_item(fresh_server):
    service = fresh_server.service
    with httpx.Client(base_url=fresh_server.base_url) as http:
        locked = create(http, item())
        assert subscribe(http, locked, new_aet(), deletionlock="true").status_code == 201
        complete(http, locked)
        service.clock = lambda: time.time() + 3 * 86400
        assert service.purge() == []
        assert http.get(f"/workitems/{locked}").status_code == 200


def test_a_global_deletion_lock_keeps_everything(fresh_server):
    service = fresh_server.service
    with httpx.Client(base_url=fresh_server.base_url) as http:
        assert subscribe(http, GLOBAL, new_aet(), deletionlock="true").status_code == 201
        uid = create(http, item())
        complete(http, uid)
        service.clock = lambda: time.time() + 3 * 86400
        assert service.purge() == []
