"""Every AE title a UPS-RS client puts in a path is checked: the requester of a state change or a
cancellation request, and the subscriber of a notification connection."""

from __future__ import annotations

import pytest
from pydicom.uid import generate_uid
from upsrs_client import change_state, create, item, post, value
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

BAD_TITLES = ["X" * 10_000, "A%00B", "CT%5C1", "SEVENTEEN_LETTERS"]


def state_of(http, uid: str) -> str:
    r = http.get(f"/workitems/{uid}")
    assert r.status_code == 200
    return value(r.json()[0], "00741000")


@pytest.mark.parametrize("aet", BAD_TITLES, ids=["10000-chars", "nul", "backslash", "17-chars"])
def test_claim_with_a_bad_requester_in_the_path_is_refused_and_changes_nothing(http, aet):
    uid = create(http, item())
    r = change_state(http, uid, "IN PROGRESS", generate_uid(), suffix=f"/{aet}")
    assert r.status_code == 400
    assert "AE title" in r.headers["Warning"]
    assert state_of(http, uid) == "SCHEDULED"


@pytest.mark.parametrize("aet", BAD_TITLES, ids=["10000-chars", "nul", "backslash", "17-chars"])
def test_cancel_request_with_a_bad_requester_is_refused_and_changes_nothing(http, aet):
    uid = create(http, item())
    r = post(http, f"/workitems/{uid}/cancelrequest/{aet}", [])
    assert r.status_code == 400
    assert "AE title" in r.headers["Warning"]
    assert state_of(http, uid) == "SCHEDULED"
    by_query = post(http, f"/workitems/{uid}/cancelrequest?requester={aet}", [])
    assert by_query.status_code == 400
    assert state_of(http, uid) == "SCHEDULED"


def test_a_good_requester_still_claims(http):
    uid = create(http, item())
    assert change_state(http, uid, "IN PROGRESS", generate_uid(), suffix="/CT1").status_code == 200
    assert state_of(http, uid) == "IN PROGRESS"


@pytest.mark.parametrize("aet", ["X" * 5_000, "A%00B", "CT%5C1"], ids=["5000-chars", "nul", "backslash"])
def test_a_notification_connection_for_a_bad_ae_title_is_refused_before_the_upgrade(http, aet):
    url = str(http.base_url).rstrip("/").replace("http", "ws", 1) + f"/ws/subscribers/{aet}"
    with pytest.raises(InvalidStatus) as refused, connect(url, open_timeout=5):
        pass
    assert refused.value.response.status_code == 403


def test_a_notification_connection_for_a_good_ae_title_opens(http):
    url = str(http.base_url).rstrip("/").replace("http", "ws", 1) + "/ws/subscribers/CT1"
    with connect(url, open_timeout=5) as ws:
        assert ws.protocol.state.name == "OPEN"
