"""The Origin-Server / SCU gateway keeps its associations to the RIS open between calls: a search
is one C-FIND on an association already there; one the RIS closed, or idle too long, is replaced;
two searches at once never share one. The RIS is a pynetdicom MWL SCP that counts associations."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from dimse_peers import MppsScp
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityWorklistInformationFind
from test_dimse_upstream import gateway, spec

pytestmark = pytest.mark.interop


class CountingRis:
    """An MWL SCP with no scheduled steps that remembers which association each C-FIND came on."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.accepted = 0
        self.finds: list[int] = []
        self.lock = threading.Lock()
        ae = AE("COUNTRIS")
        ae.add_supported_context(ModalityWorklistInformationFind)
        self.server = ae.start_server(
            ("127.0.0.1", 0),
            block=False,
            evt_handlers=[(evt.EVT_ACCEPTED, self._accepted), (evt.EVT_C_FIND, self._find)],
        )
        self.port = self.server.server_address[1]

    def _accepted(self, event) -> None:
        with self.lock:
            self.accepted += 1

    def _find(self, event):
        with self.lock:
            self.finds.append(id(event.assoc))
        time.sleep(self.delay)
        yield 0x0000, None

    def close_all(self) -> None:
        """The RIS closes every association it holds (as one does with those idle too long)."""
        for assoc in self.server.active_associations:
            assoc.release()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def mpps():
    scp = MppsScp().start()
    yield scp
    scp.stop()


def search(base_url: str) -> int:
    return httpx.get(base_url + "/workitems", timeout=30).status_code


def test_searches_reuse_one_association_to_the_ris(mpps, tmp_path):
    ris = CountingRis()
    try:
        with gateway(spec(ris.port, mpps.port, mwl_aet="COUNTRIS", poll=600), tmp_path / "gw.db") as (server, _):
            assert [search(server.base_url) for _ in range(4)] == [204] * 4
        assert len(ris.finds) >= 4
        assert ris.accepted == 1
        assert len(set(ris.finds)) == 1
    finally:
        ris.stop()


def test_an_association_the_ris_closed_or_idle_too_long_is_replaced(mpps, tmp_path):
    ris = CountingRis()
    try:
        with gateway(spec(ris.port, mpps.port, mwl_aet="COUNTRIS", poll=600), tmp_path / "gw.db") as (server, up):
            assert search(server.base_url) == 204
            ris.close_all()
            assert search(server.base_url) == 204  # not an error for the user: a new association
            assert ris.accepted == 2
            pool = up.associations  # its clock moved on: the association has been idle too long
            pool.clock = lambda: time.monotonic() + pool.idle_seconds + 1
            assert search(server.base_url) == 204
            assert ris.accepted == 3
            up.associations.reap()
    finally:
        ris.stop()


def test_searches_at_the_same_time_do_not_share_an_association(mpps, tmp_path):
    ris = CountingRis(delay=0.5)
    try:
        with gateway(spec(ris.port, mpps.port, mwl_aet="COUNTRIS", poll=600), tmp_path / "gw.db") as (server, _):
            assert search(server.base_url) == 204
            before = len(ris.finds)
            with ThreadPoolExecutor(3) as pool:
                answers = list(pool.map(lambda _: search(server.base_url), range(3)))
            assert answers == [204] * 3
            concurrent = ris.finds[before:]
        assert len(set(concurrent)) == 3  # each search had an association of its own
        assert ris.accepted == 3  # the idle one reused, two more opened
    finally:
        ris.stop()
