"""A date window across midnight ("Today and the next 12 hours" at 23:59:40) on every backend,
against the real embedded server: UPS-RS as one date-time range, MWL over DIMSE and over
DICOMweb (Sup 246) by whole days, narrowed to the hours by the console."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid

from app.backends import make_backend
from app.backends.profiles import Profile
from app.domain.build import NewWorkitem
from app.domain.dates import NEXT_12_HOURS
from app.domain.workitem import PatientName
from app.domain.worklist_query import WorklistQuery

STATION = "NIGHT1"  # a station of this module alone
EVENING = datetime.combine(PINNED_DAY, datetime.min.time()).replace(hour=23, minute=59, second=40)
NEXT = PINNED_DAY + timedelta(days=1)
SCHEDULED = {  # accession → start; True when the night window at EVENING holds it
    "NW-MORNING": (f"{PINNED_DAY:%Y%m%d}070000", True),
    "NW-EVENING": (f"{PINNED_DAY:%Y%m%d}223000", True),
    "NW-0002": (f"{NEXT:%Y%m%d}000200", True),
    "NW-1130": (f"{NEXT:%Y%m%d}113000", True),
    "NW-1330": (f"{NEXT:%Y%m%d}133000", False),
    "NW-DAY-BEFORE": (f"{PINNED_DAY - timedelta(days=1):%Y%m%d}230000", False),
}
EXPECTED = {accession for accession, (_, held) in SCHEDULED.items() if held}


@pytest.fixture(scope="module")
def night(front):
    for accession, (start, _) in SCHEDULED.items():
        item = NewWorkitem(
            uid=generate_uid(),
            label="CT head",
            start=start,
            patient=PatientName("Night^Nora"),
            patient_id=f"P{accession}",
            station=STATION,
            modality="CT",
            accession=accession,
            requested_procedure_id=accession,
            study_uid=generate_uid(),
        )
        front.service.create(item.to_json())
    return front


def window() -> WorklistQuery:
    return WorklistQuery(station=STATION, dates=NEXT_12_HOURS).at(EVENING)


def profile(front, backend: str) -> Profile:
    return Profile(
        name=backend,
        backend=backend,
        url=front.base_url,
        ae_title=STATION,
        mwl_host="127.0.0.1",
        mwl_port=front.dimse.port,
        mwl_aet="WORKLIST",
        timeout=5,
    ).check()


@pytest.mark.parametrize("kind", ["upsrs", "dimse", "mpps-rs"])
async def test_the_night_window_lists_the_evening_and_the_early_hours_of_the_next_day(night, kind):
    query = window()
    assert (query.date_from, query.date_to) == (PINNED_DAY, NEXT)
    b = make_backend(profile(night, kind))
    try:
        found = await b.search(query)
    finally:
        await b.close()
    assert {w.accession_number for w in found} == EXPECTED
