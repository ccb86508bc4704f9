"""The store's SQL search finds exactly the workitems the domain Query says match.

The store compiles a Query to SQL over indexed columns (app.server.sqlquery) and applies
the rest in Python; whatever the split, a Search must return what `Query.matches` would.
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import tags as t
from app.domain.build import NewWorkitem, code_item
from app.domain.query import Query
from app.domain.requirements import prepare_create
from app.domain.search import parse_search
from app.domain.workitem import Code, PatientName
from app.server.store import Store

NOW = "20261101000000"
STATIONS = ["CT1", "CT2", "MR1"]
PATIENTS = [
    PatientName("Doe^Jane"),
    PatientName("doe^john"),
    PatientName("Müller^Jürgen"),
    PatientName("MÜLLER^Anna"),
    PatientName("Yamada^Tarou", "山田^太郎"),
    PatientName("", "佐藤^一郎"),
]
ZONES = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))]
OFFSETS = ["", "", "+0000", "+0100", "-0500", "+0530"]
FIRST_DAY = datetime(2026, 11, 20)


# --- workitems -----------------------------------------------------------------------------------


def dt_text(moment: datetime, precision: int, offset: str) -> str:
    """A DT of `precision` characters (8 = day … 14 = second) with an optional UTC offset."""
    return moment.strftime("%Y%m%d%H%M%S")[:precision] + offset


moments = st.integers(0, 6 * 24 * 4).map(lambda quarter: FIRST_DAY + timedelta(minutes=15 * quarter))


@st.composite
def workitem(draw, n: int) -> dict:
    uid = f"1.2.826.0.1.3680043.8.498.{n + 1}"
    ds = NewWorkitem(
        uid=uid,
        label=draw(st.sampled_from(["CT chest", "MR head", "CT abdomen"])),
        start=dt_text(draw(moments), draw(st.sampled_from([8, 10, 12, 14, 14])), draw(st.sampled_from(OFFSETS))),
        patient=draw(st.sampled_from(PATIENTS)),
        patient_id=draw(st.sampled_from(["P1", "P2", "P3"])),
        station=draw(st.sampled_from(STATIONS + [None])),
        modality=draw(st.sampled_from(["CT", "MR"])),
        accession=draw(st.sampled_from(["A1", "A2", "A10", "B1", ""])),
        study_uid=f"1.2.3.{n + 1}",
        priority=draw(st.sampled_from(["HIGH", "MEDIUM", "LOW"])),
    ).to_json()
    if draw(st.booleans()):  # a second station item, under another scheme
        extra = code_item(Code(draw(st.sampled_from(STATIONS)), draw(st.sampled_from(["99WLSTATION", "99OTHER"]))))
        ds[t.STATION_NAME_CODE_SEQ] = {"vr": "SQ", "Value": (ds[t.STATION_NAME_CODE_SEQ].get("Value") or []) + [extra]}
    return prepare_create(ds, uid, NOW).dataset


@st.composite
def workitems(draw) -> list[dict]:
    count = draw(st.integers(0, 8))
    return [draw(workitem(n)) for n in range(count)]


# --- queries -----------------------------------------------------------------------------------------


@st.composite
def dt_range(draw) -> str:
    def end() -> str:
        return dt_text(draw(moments), draw(st.sampled_from([8, 10, 12, 14])), draw(st.sampled_from(OFFSETS)))

    form = draw(st.sampled_from(["a-b", "a-", "-b", "a"]))
    if form == "a-b":
        low, high = sorted([end(), end()])  # text order is close enough; reversed ranges are allowed too
        return f"{low}-{high}"
    if form == "a-":
        return f"{end()}-"
    if form == "-b":
        return f"-{end()}"
    return end()


PARAMS = {
    "ScheduledStationNameCodeSequence.CodeValue": st.sampled_from(STATIONS + ["CT*", "?R1", "C?2", "*", "", "XR1"]),
    "ScheduledStationNameCodeSequence.CodingSchemeDesignator": st.sampled_from(["99WLSTATION", "99OTHER", "99*"]),
    "ScheduledProcedureStepStartDateTime": dt_range(),
    "PatientName": st.sampled_from(
        [
            "doe*",
            "DOE^JANE",
            "Doe^Jane",
            "müller*",
            "MÜLLER^JÜRGEN",
            "müller^anna",
            "*^J*",
            "Y?MADA*",
            "山田*",
            "佐藤^一郎",
            "*",
            "",
            "Nobody",
        ]
    ),
    "ReferencedRequestSequence.AccessionNumber": st.sampled_from(["A1", "A*", "A?", "*1", "", "Z9"]),
    "AccessionNumber": st.sampled_from(["A1", "*", ""]),  # top-level: no column, answered in Python
    "PatientID": st.sampled_from(["P1", "P*", "P3"]),
    "ProcedureStepState": st.sampled_from(["SCHEDULED", "COMPLETED", "S*"]),
    "ScheduledProcedureStepPriority": st.sampled_from(["HIGH", "LOW"]),
    "StudyInstanceUID": st.sampled_from(["1.2.3.1", "1.2.3.1,1.2.3.2", "1.2.3.3\\1.2.3.9"]),
    "ProcedureStepLabel": st.sampled_from(["CT*", "MR head", "*abdomen"]),
}


@st.composite
def search_params(draw) -> list[tuple[str, str]]:
    names = draw(st.lists(st.sampled_from(sorted(PARAMS)), min_size=1, max_size=3, unique=True))
    return [(name, draw(PARAMS[name])) for name in names]


# --- the comparison -----------------------------------------------------------------------------------


def uid_of(dataset: dict) -> str:
    return dataset[t.SOP_INSTANCE_UID]["Value"][0]


def filled_store(datasets: list[dict], local: tzinfo) -> Store:
    store = Store(":memory:", local)
    with store.write() as db:
        for ds in datasets:
            store.insert(db, ds)
    return store


def found(store: Store, query: Query) -> list[str]:
    with store.read() as db:
        summaries, remaining = store.search(db, query, 0, 10_000)
    assert remaining == 0
    return [uid_of(json.loads(s)) for s in summaries]


def expected(datasets: list[dict], query: Query, local: tzinfo) -> list[str]:
    return [uid_of(ds) for ds in datasets if query.matches(ds, local)]


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(workitems(), st.lists(search_params(), min_size=1, max_size=4), st.sampled_from(ZONES))
def test_store_search_returns_exactly_the_workitems_the_query_matches(datasets, queries, local):
    with closing(filled_store(datasets, local)) as store:
        for params in queries:
            query = parse_search(params, local).query
            result = found(store, query)
            assert len(result) == len(set(result)), f"{params}: a workitem was returned twice"
            assert sorted(result) == sorted(expected(datasets, query, local)), params


# --- targeted cases --------------------------------------------------------------------------------------


def item(n: int, **fields) -> dict:
    base = dict(
        uid=f"1.2.3.{n}",
        label="CT chest",
        start="20261123080000",
        patient=PatientName("Doe^Jane"),
        patient_id="P1",
        station="CT1",
        accession=f"A{n}",
    )
    base.update(fields)
    return prepare_create(NewWorkitem(**base).to_json(), base["uid"], NOW).dataset


def compare(datasets: list[dict], params: list[tuple[str, str]], local: tzinfo = UTC) -> list[str]:
    query = parse_search(params, local).query
    with closing(filled_store(datasets, local)) as store:
        result = found(store, query)
    assert sorted(result) == sorted(expected(datasets, query, local))
    return result


def test_station_keys_from_different_items_do_not_match_in_sql_either():
    ds = item(1)
    ds[t.STATION_NAME_CODE_SEQ]["Value"].append(code_item(Code("CT2", "99B")))
    seq = "ScheduledStationNameCodeSequence"
    assert compare([ds], [(f"{seq}.CodeValue", "CT2")]) == ["1.2.3.1"]
    assert compare([ds], [(f"{seq}.CodeValue", "CT1"), (f"{seq}.CodingSchemeDesignator", "99B")]) == []
    assert compare([ds], [(f"{seq}.CodeValue", "CT2"), (f"{seq}.CodingSchemeDesignator", "99B")]) == ["1.2.3.1"]


def test_umlaut_and_ideographic_names_are_found_case_insensitively_in_sql():
    datasets = [
        item(1, patient=PatientName("Müller^Jürgen")),
        item(2, patient=PatientName("Yamada^Tarou", "山田^太郎")),
    ]
    assert compare(datasets, [("PatientName", "müller*")]) == ["1.2.3.1"]
    assert compare(datasets, [("PatientName", "山田*")]) == ["1.2.3.2"]


def test_results_come_in_scheduled_order_and_pages_report_what_remains():
    datasets = [item(n, start=f"2026112{n}080000") for n in (3, 1, 2)]
    query = parse_search([("PatientID", "P1")]).query
    with closing(filled_store(datasets, UTC)) as store, store.read() as db:
        page, remaining = store.search(db, query, 1, 1)
        assert [uid_of(json.loads(s)) for s in page] == ["1.2.3.2"] and remaining == 1
        page, remaining = store.search(db, query, 0, 10)
        assert [uid_of(json.loads(s)) for s in page] == ["1.2.3.1", "1.2.3.2", "1.2.3.3"] and remaining == 0


def test_start_with_utc_offset_is_found_by_a_range_in_the_servers_zone():
    # 08:00 UTC is 09:00 in the server's zone; the start without offset is 08:00 there
    datasets = [item(1, start="20261123080000+0000"), item(2, start="20261123080000")]
    cet = timezone(timedelta(hours=1))
    assert compare(datasets, [("ScheduledProcedureStepStartDateTime", "20261123090000")], cet) == ["1.2.3.1"]
    assert compare(datasets, [("ScheduledProcedureStepStartDateTime", "-20261123083000")], cet) == ["1.2.3.2"]


def test_performer_found_by_ideographic_name_in_sql_as_in_python():
    ds = item(1, performers=[(Code("D1", "99P", "Dr Sato"), "Sato^Ichiro")])
    ds[t.HUMAN_PERFORMERS_SEQ]["Value"][0][t.HUMAN_PERFORMER_NAME]["Value"][0]["Ideographic"] = "佐藤^一郎"
    assert compare([ds], [("ScheduledHumanPerformersSequence.HumanPerformerName", "佐藤*")]) == ["1.2.3.1"]


def test_range_starting_before_the_year_1000_finds_the_same_workitems_in_sql():
    assert compare([item(1)], [("ScheduledProcedureStepStartDateTime", "0999-")]) == ["1.2.3.1"]
