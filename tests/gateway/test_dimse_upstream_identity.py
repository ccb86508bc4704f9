"""The Origin-Server / SCU gateway (`serve --upstream dimse:… --upstream-user NAME
--upstream-password-file FILE`) in front of a DIMSE RIS locked with users — our own embedded
server with `--users`: the gateway's user goes to the RIS as a User Identity on every association."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from door import PASSWORD, users_file
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid

from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.procedure import PerformedProcedure
from app.domain.search import parse_search
from app.domain.workitem import Code
from app.domain.worklist_query import WorklistQuery
from app.gateway import UpstreamAccess, UpstreamSpecError, close_upstream, open_upstream
from app.server import ServerConfig, UPSServer
from app.server.demo import seed_demo_day
from app.server.password_checks import ThrottleRules


@pytest.fixture()
def locked_ris(tmp_path) -> Iterator[UPSServer]:
    """The RIS: users on, `gateway` a ris user (bound to no AE title)."""
    path, _ = users_file(tmp_path, gateway=[])
    config = ServerConfig(
        http_port=0,
        dimse_port=0,
        db_path=str(tmp_path / "ris.db"),
        purge_interval=3600,
        users_file=str(path),
        password_throttle=ThrottleRules(free=1000),  # the throttle has its own tests
    )
    server = UPSServer(config)
    seed_demo_day(server.service, today=PINNED_DAY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Gateway:
    def __init__(self, ris: UPSServer, folder, access: UpstreamAccess) -> None:
        assert ris.dimse is not None
        peer = f"127.0.0.1:{ris.dimse.port}:WORKLIST"
        self.services = open_upstream(f"dimse:MWL={peer},POLL=60,TIMEOUT=5", str(folder / "gateway.db"), access=access)
        config = ServerConfig(http_port=0, db_path=str(folder / "gateway.db"), purge_interval=3600, audit=False)
        self.server = UPSServer(config, upstream=self.services).start()

    def stop(self) -> None:
        self.server.stop()
        close_upstream(self.services)


@pytest.fixture()
def gateway(tmp_path) -> Iterator:
    started: list[Gateway] = []

    def start(ris: UPSServer, access: UpstreamAccess) -> Gateway:
        folder = tmp_path / f"gw{len(started)}"
        folder.mkdir()
        started.append(Gateway(ris, folder, access))
        return started[-1]

    yield start
    for g in started:
        g.stop()


def stored(ris: UPSServer, accession: str) -> str:
    return ris.service.search_all(parse_search([("ReferencedRequestSequence.AccessionNumber", accession)]))[0].decode()


async def test_with_its_user_the_gateway_lists_claims_and_completes_on_a_locked_ris(locked_ris, gateway):
    through = gateway(locked_ris, UpstreamAccess(user="gateway", password=PASSWORD))
    console = UpsRsBackend(Profile(name="CT1", url=through.server.base_url, ae_title="CT1", timeout=15))
    try:
        items = await console.search(WorklistQuery.today("CT1", PINNED_DAY))
        assert items and {w.station_names[0].value for w in items} == {"CT1"}
        item, transaction = items[0], generate_uid()
        await console.claim(item.uid, transaction)
        assert '"IN PROGRESS"' in stored(locked_ris, item.accession_number)
        now = datetime.now().strftime("%Y%m%d%H%M%S")
        performed = PerformedProcedure(
            Code("CT1", "99WLSTATION", "CT1"), start=now, end=now, procedures=(Code("CTCHEST", "99WLPROC", "CT chest"),)
        )
        await console.complete(item.uid, transaction, performed)
        assert '"COMPLETED"' in stored(locked_ris, item.accession_number)
    finally:
        await console.close()


def test_a_wrong_password_or_none_is_said_by_the_gateway_in_the_ris_sentence(locked_ris, gateway):
    port = locked_ris.dimse.port
    wrong = gateway(locked_ris, UpstreamAccess(user="gateway", password="not it"))
    refused = httpx.get(wrong.server.base_url + "/workitems", timeout=30)
    assert refused.status_code == 502
    assert "refused the user gateway: check the user and password" in refused.headers["warning"]
    nobody = gateway(locked_ris, UpstreamAccess())
    unnamed = httpx.get(nobody.server.base_url + "/workitems", timeout=30)
    assert unnamed.status_code == 502
    assert f"127.0.0.1:{port} needs to know who this station is" in unnamed.headers["warning"]


def test_a_token_is_refused_for_a_dimse_ris(tmp_path):
    with pytest.raises(UpstreamSpecError, match="a DIMSE RIS takes --upstream-user with --upstream-password-file"):
        open_upstream("dimse:MWL=127.0.0.1:104:RIS", str(tmp_path / "g.db"), access=UpstreamAccess(token="t"))
