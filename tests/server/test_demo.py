"""The demo day a trainer starts with: realistic, international, and the same every time."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date

from app.domain.dicomjson import to_dataset
from app.domain.search import parse_search
from app.domain.workitem import Workitem
from app.server.demo import seed_demo_day
from app.server.notifications import EventHub
from app.server.service import UPSService
from app.server.store import Store


def service(tmp_path) -> UPSService:
    return UPSService(Store(tmp_path / "demo.db", UTC), EventHub())


def workitems(svc: UPSService) -> list[Workitem]:
    result = svc.search(parse_search([]))
    return [Workitem(to_dataset(json.loads(text))) for text in result.items]


def test_demo_day_has_about_sixty_items_across_six_stations_today_and_tomorrow(tmp_path):
    svc = service(tmp_path)
    assert seed_demo_day(svc, today=date(2026, 11, 23)) == 60
    items = workitems(svc)
    stations = Counter(w.station_names[0].value for w in items)
    assert set(stations) == {"CT1", "CT2", "MR1", "US1", "CR1", "MG1"}
    days = Counter(w.scheduled_start().date() for w in items)
    assert set(days) == {date(2026, 11, 23), date(2026, 11, 24)}
    assert {w.station_classes[0].scheme for w in items} == {"DCM"}
    assert {w.priority.value for w in items} >= {"HIGH", "MEDIUM"}
    assert all(w.accession_number and w.requested_procedure_id for w in items)
    assert any(w.human_performers for w in items)


def test_demo_names_need_more_than_ascii_including_ideographic(tmp_path):
    svc = service(tmp_path)
    seed_demo_day(svc, today=date(2026, 11, 23))
    names = [w.patient_name for w in workitems(svc)]
    assert any("ü" in n.alphabetic or "ö" in n.alphabetic or "ß" in n.alphabetic for n in names)
    assert any("ñ" in n.alphabetic or "é" in n.alphabetic.lower() for n in names)
    assert any(n.ideographic for n in names)


def content(svc: UPSService) -> list[tuple]:
    """What a trainer sees of the demo: who, what, where and when — not the UIDs."""
    return sorted(
        (w.accession_number, w.patient_name.alphabetic, w.station_names[0].value, w.scheduled_start())
        for w in workitems(svc)
    )


def test_seeding_is_deterministic_and_idempotent(tmp_path):
    first, second = service(tmp_path / "a"), service(tmp_path / "b")
    seed_demo_day(first, seed=7, today=date(2026, 11, 23))
    seed_demo_day(second, seed=7, today=date(2026, 11, 23))
    assert content(first) == content(second)
    assert seed_demo_day(first, seed=7, today=date(2026, 11, 23)) == 0
    other = service(tmp_path / "c")
    seed_demo_day(other, seed=8, today=date(2026, 11, 23))
    assert content(other) != content(first)


def test_demo_uids_differ_between_databases_and_stay_in_one(tmp_path):
    first, second = service(tmp_path / "a"), service(tmp_path / "b")
    seed_demo_day(first, today=date(2026, 11, 23))
    seed_demo_day(second, today=date(2026, 11, 23))
    first_uids = {w.uid for w in workitems(first)}
    assert len(first_uids) == 60
    assert first_uids.isdisjoint(w.uid for w in workitems(second))  # a web page cannot guess them
    first.store.close()
    reopened = service(tmp_path / "a")
    assert seed_demo_day(reopened, today=date(2026, 11, 23)) == 0  # the same UIDs again: nothing twice
    assert {w.uid for w in workitems(reopened)} == first_uids
