"""The console's DIMSE backend at a DIMSE front locked with users (`serve --users`): the profile's
user and password go as a User Identity (PS3.7 D.3.3.7) on every association, and a refusal of
who we are is said as a setting to fix, not as a wrong AE title."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from door import PASSWORD, users_file
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid

from app.backends.dimse import DimseBackend
from app.backends.errors import NotPermitted
from app.backends.profiles import Profile
from app.domain.procedure import PerformedProcedure
from app.domain.search import parse_search
from app.domain.workitem import Code
from app.domain.worklist_query import WorklistQuery
from app.server import ServerConfig, UPSServer
from app.server.demo import seed_demo_day
from app.server.password_checks import ThrottleRules

# a few wrong passwords from 127.0.0.1 are this file's own; the throttle has its own tests
LENIENT = ThrottleRules(free=1000)


@pytest.fixture()
def locked(tmp_path) -> Iterator[UPSServer]:
    """Users on: `tech` is a modality bound to CT1."""
    path, _ = users_file(tmp_path, tech=["CT1"])
    config = ServerConfig(
        http_port=0,
        dimse_port=0,
        db_path=str(tmp_path / "w.db"),
        purge_interval=3600,
        users_file=str(path),
        password_throttle=LENIENT,
    )
    server = UPSServer(config)
    seed_demo_day(server.service, today=PINNED_DAY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def backend(server: UPSServer, **credentials: str) -> DimseBackend:
    assert server.dimse is not None
    auth = {"auth": "basic"} if credentials else {}
    profile = Profile(
        name="dimse",
        backend="dimse",
        ae_title="CT1",
        mwl_host="127.0.0.1",
        mwl_port=server.dimse.port,
        mwl_aet="WORKLIST",
        timeout=5,
        **auth,
        **credentials,
    )
    return DimseBackend(profile)


def performed() -> PerformedProcedure:
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return PerformedProcedure(
        Code("CT1", "99WLSTATION", "CT1"), start=now, end=now, procedures=(Code("CTCHEST", "99WLPROC", "CT chest"),)
    )


def stored(server: UPSServer, accession: str) -> str:
    return server.service.search_all(parse_search([("ReferencedRequestSequence.AccessionNumber", accession)]))[
        0
    ].decode()


async def test_with_its_user_the_station_finds_its_worklist_and_completes_a_procedure(locked):
    b = backend(locked, username="tech", password=PASSWORD)
    items = await b.search(WorklistQuery.today("CT1", PINNED_DAY))
    assert items and {w.station_names[0].value for w in items} == {"CT1"}
    item, mpps_uid = items[0], generate_uid()
    await b.claim(item.uid, mpps_uid)
    assert '"IN PROGRESS"' in stored(locked, item.accession_number)
    await b.report_progress(item.uid, mpps_uid, 50, "Halfway")
    await b.complete(item.uid, mpps_uid, performed())
    assert '"COMPLETED"' in stored(locked, item.accession_number)
    (check,) = await b.check_peers()
    assert check.ok, check.sentence


async def test_a_wrong_password_is_said_as_the_user_refused_not_as_a_wrong_ae_title(locked):
    b = backend(locked, username="tech", password="not the password")
    with pytest.raises(NotPermitted) as refused:
        await b.search(WorklistQuery.today("CT1", PINNED_DAY))
    assert refused.value.sentence == (
        f"The worklist server at 127.0.0.1:{locked.dimse.port} refused the user tech: check the user and password "
        "in the profile (or the AE title CT1, if the user is bound to another one)."
    )
    (check,) = await b.check_peers()
    assert not check.ok and check.sentence == refused.value.sentence


async def test_without_a_user_the_station_is_told_to_set_one_and_its_start_is_kept(locked):
    b = backend(locked)
    needed = (
        f"server at 127.0.0.1:{locked.dimse.port} needs to know who this station is: in Settings, give this "
        "profile the user and password its administrator gave this station."
    )
    with pytest.raises(NotPermitted) as refused:
        await b.search(WorklistQuery.today("CT1", PINNED_DAY))
    assert refused.value.sentence == f"The worklist {needed}"
    # an echo passes without a user: Test connection asks a query too, and says what is missing
    (check,) = await b.check_peers()
    assert not check.ok and check.sentence == f"The worklist {needed}"
    # a start refused so is a setting to fix (held by the outbox until the profile changes), not lost
    identified = backend(locked, username="tech", password=PASSWORD)
    item = (await identified.search(WorklistQuery.today("CT1", PINNED_DAY)))[0]
    with pytest.raises(NotPermitted) as unclaimed:
        await b.claim(item.uid, generate_uid(), identified.claim_record(item))
    assert unclaimed.value.sentence == f"The MPPS {needed}"
