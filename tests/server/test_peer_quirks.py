"""What real user agents send that the standard's examples do not: parameter names in any case,
a Host header without the port."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from upsrs_client import DICOM_JSON, GLOBAL, claim, create, item, listen, new_aet, post, progress, uid_of, value


@pytest.mark.parametrize("name", ["transaction-uid", "Transaction-UID", "TRANSACTION", "Transaction"])
def test_update_reads_the_transaction_uid_parameter_in_any_case(http, name):
    uid = create(http, item())
    tx = claim(http, uid)
    r = post(http, f"/workitems/{uid}?{name}={tx}", progress(40, "contrast"))
    assert r.status_code == 200, r.headers.get("Warning")
    stored = http.get(f"/workitems/{uid}").json()[0]
    assert value(value(stored, "00741002"), "00741006") == "contrast"


def test_create_reads_the_workitem_parameter_in_any_case(http):
    ds = item()
    uid = uid_of(ds)
    del ds["00080018"]
    r = post(http, f"/workitems?Workitem={uid}", ds)
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/workitems/{uid}")


def test_search_control_parameters_are_read_in_any_case(http):
    day = datetime(2033, 3, 4, 8)
    station = new_aet()
    uids = [create(http, item(station, start=day + timedelta(minutes=m))) for m in range(3)]
    r = http.get(
        "/workitems",
        params={
            "ScheduledStationNameCodeSequence.CodeValue": station,
            "Limit": "1",
            "OFFSET": "1",
            "IncludeField": "all",
        },
    )
    assert r.status_code == 200, r.headers.get("Warning")
    assert [uid_of(d) for d in r.json()] == uids[1:2]
    assert "There are 1 additional results" in r.headers["Warning"]


def test_subscribe_reads_the_deletion_lock_parameter_in_any_case(http):
    uid = create(http, item())
    events = listen(http, GLOBAL, new_aet(), DeletionLock="true")
    try:  # a global subscription with a deletion lock reports every existing workitem (CC.2.3-2)
        events.wait_for(uid, 1, **{"00741000": "SCHEDULED"})
    finally:
        events.close()


@pytest.fixture()
def portless(server):
    """A client that sends `Host` without the port, as dicomweb-client does."""
    base = urlsplit(server.base_url)
    with httpx.Client(
        base_url=server.base_url, timeout=10.0, headers={"Accept": DICOM_JSON, "Host": base.hostname}
    ) as client:
        yield client, base


def test_a_host_header_without_port_still_gets_urls_with_the_servers_port(portless):
    http, base = portless
    r = post(http, "/workitems", item())
    assert r.status_code == 201
    location = urlsplit(r.headers["Location"])
    assert (location.scheme, location.hostname, location.port) == ("http", base.hostname, base.port)
    assert http.get(r.headers["Location"]).status_code == 200

    r = http.post(f"/workitems/1.2.840.10008.5.1.4.34.5/subscribers/{new_aet()}")
    assert r.status_code == 201
    for header in ("Location", "Content-Location"):
        ws = urlsplit(r.headers[header])
        assert (ws.scheme, ws.hostname, ws.port) == ("ws", base.hostname, base.port)
        assert ws.path.startswith("/dicom-web/ws/subscribers/")

    r = http.get("/workitems/1.2.3.4.5.6.7.8.9")
    assert r.status_code == 404
    service = r.headers["Warning"].split(" ", 2)[1].rstrip(":")
    assert service == f"http://{base.hostname}:{base.port}/dicom-web"


def test_create_with_a_value_its_vr_does_not_allow_is_a_400_naming_the_tag_and_nothing_is_stored(http):
    ds = item()
    ds["00404005"] = {"vr": "DT", "Value": ["not-a-date"]}
    r = post(http, "/workitems", ds)
    assert r.status_code == 400
    assert "(0040,4005)" in r.headers["Warning"] and "not-a-date" in r.headers["Warning"]
    assert http.get(f"/workitems/{uid_of(ds)}").status_code == 404


def test_update_with_a_number_that_is_not_finite_is_a_400_and_changes_nothing(http):
    uid = create(http, item())
    tx = claim(http, uid)
    body = '[{"00741002": {"vr": "SQ", "Value": [{"00741004": {"vr": "DS", "Value": [NaN]}}]}}]'
    r = http.post(f"/workitems/{uid}", params={"transaction": tx}, content=body, headers={"Content-Type": DICOM_JSON})
    assert r.status_code == 400 and "(0074,1004)" in r.headers["Warning"]
    assert "00741004" not in str(http.get(f"/workitems/{uid}").json()[0].get("00741002"))
