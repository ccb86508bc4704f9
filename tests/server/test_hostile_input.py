"""No client input ever gets a 500 or a traceback: random queries, bodies and paths."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from upsrs_client import DICOM_JSON

KEYS = st.sampled_from(
    [
        "PatientName",
        "PatientID",
        "00100020",
        "ScheduledProcedureStepStartDateTime",
        "00404005",
        "ScheduledStationNameCodeSequence.CodeValue",
        "0040A370.00080050",
        "ProcedureStepState",
        "limit",
        "offset",
        "includefield",
        "fuzzymatching",
        "SOPInstanceUID",
        "ScheduledHumanPerformersSequence.HumanPerformerCodeSequence.CodeValue",
        "PatientBirthDate",
        "StudyInstanceUID",
        "Priority",
        "nonsense",
        "0010",
        "filter",
    ]
)
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["*", "?", "-", "20260101-", "-20260101", "1.2.3,1.2.4", "all", "true", "99999999999999999999", "[", "\\", "%"]
    ),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
ELEMENTS = st.dictionaries(
    st.sampled_from(
        ["00100010", "00100020", "00741000", "00404005", "0040A370", "00081195", "00741002", "zz", "00080018"]
    ),
    st.fixed_dictionaries(
        {"vr": st.sampled_from(["PN", "LO", "CS", "DT", "SQ", "UI", "XX"])},
        optional={"Value": st.lists(JSON_VALUES, max_size=3)},
    ),
    max_size=6,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(params=st.lists(st.tuples(KEYS, VALUES), max_size=5))
def test_any_search_is_answered_without_a_server_error(http, params):
    r = http.get("/workitems", params=params)
    assert r.status_code in (200, 204, 400), (params, r.status_code)
    if r.status_code == 400:
        assert r.headers["Warning"].startswith("299 ")


@FUZZ
@given(
    body=st.one_of(JSON_VALUES, st.lists(ELEMENTS, max_size=2)),
    path=st.sampled_from(["/workitems", "/workitems/1.2.3", "/workitems/1.2.3/cancelrequest"]),
)
def test_any_posted_body_is_answered_without_a_server_error(http, body, path):
    r = http.post(path, content=json.dumps(body), headers={"Content-Type": DICOM_JSON})
    assert r.status_code < 500, (body, r.status_code, r.headers.get("Warning"))


@FUZZ
@given(body=st.lists(ELEMENTS, min_size=1, max_size=1), uid=st.text(max_size=20))
def test_any_state_change_is_answered_without_a_server_error(http, body, uid):
    r = http.put(
        f"/workitems/{quote(uid, safe='') or 'x'}/state", content=json.dumps(body), headers={"Content-Type": DICOM_JSON}
    )
    assert r.status_code < 500, (body, r.status_code, r.headers.get("Warning"))
