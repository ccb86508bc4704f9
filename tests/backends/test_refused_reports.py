"""A report the server refuses for who we are (HTTP 403) is kept, never dropped, and sent again
only when the profile changes or the technologist asks — not on a timer, and not as if the server
were away."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from door import PASSWORD, locked_server
from test_outbox import performed, scheduled

from app.backends.errors import NotPermitted
from app.backends.outbox import Outbox
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.states import State
from app.server import UPSServer


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> Iterator[UPSServer]:
    server, _ = locked_server(tmp_path_factory.mktemp("locked"), both=["CT1", "CT2"], ct1=["CT1"], ris=[])
    try:
        yield server
    finally:
        server.stop()


def ct2(server: UPSServer, user: str) -> UpsRsBackend:
    """The console of CT2, signed in as `user`, naming its AE title as the console does."""
    profile = Profile(url=server.base_url, ae_title="CT2", auth="basic", username=user, password=PASSWORD, timeout=5)
    return UpsRsBackend(profile, calling_ae=True)


async def test_a_refused_report_is_kept_and_sent_when_the_profile_changes_not_on_a_timer(locked, tmp_path):
    ris = UpsRsBackend(Profile(url=locked.base_url, auth="basic", username="ris", password=PASSWORD, timeout=5))
    good, wrong = ct2(locked, "both"), ct2(locked, "ct1")
    held: list[str] = []
    try:
        item = await scheduled(ris)
        box = Outbox(good, "CT2", tmp_path / "console.db")
        assert (await box.claim(item)).sent
        box.close()

        # the same console, its profile now signed in as a user not bound to CT2
        box = Outbox(wrong, "CT2", tmp_path / "console.db", on_held=held.append)
        delivery = await box.complete(item, performed())
        assert not delivery.sent and delivery.held
        assert "kept on this console" in delivery.sentence and "profile is changed" in delivery.sentence
        assert "reachable" not in delivery.sentence
        assert held and "does not let the user ct1 act as the AE title CT2" in held[0]
        assert box.pending() == 1 and box.next_attempt_in() is not None
        box.kick()  # the server answers searches again: what is held stays held
        assert await box.flush() == 0 and box.pending() == 1
        box.release()  # the technologist asks again, the profile unchanged: refused and kept again
        assert await box.flush() == 0 and box.pending() == 1 and len(held) == 2
        assert (await ris.retrieve(item.uid)).state is State.IN_PROGRESS
        box.close()

        box = Outbox(good, "CT2", tmp_path / "console.db")  # the profile fixed: sent at the first flush
        assert await box.flush() == 1 and box.pending() == 0
        assert (await ris.retrieve(item.uid)).state is State.COMPLETED
        box.close()
    finally:
        for backend in (ris, good, wrong):
            await backend.close()


async def test_a_start_refused_as_it_is_made_keeps_nothing_and_says_why(locked, tmp_path):
    ris = UpsRsBackend(Profile(url=locked.base_url, auth="basic", username="ris", password=PASSWORD, timeout=5))
    wrong = ct2(locked, "ct1")
    box = Outbox(wrong, "CT2", tmp_path / "console.db")
    try:
        item = await scheduled(ris)
        with pytest.raises(NotPermitted, match="does not let the user ct1 act as the AE title CT2"):
            await box.claim(item)
        assert box.pending() == 0 and box.claim_of(item.uid) is None and box.held is None
        assert (await ris.retrieve(item.uid)).state is State.SCHEDULED
    finally:
        box.close()
        await ris.close()
        await wrong.close()
