"""Several `serve` nodes on one PostgreSQL database behind a real load balancer, as the README's
"Several nodes on PostgreSQL" deploys them: Debian's nginx in front of the nodes' HTTP (UPS-RS and
the WebSocket notifications), the nodes started with `--public-url` naming the balancer. A node is
killed with SIGKILL in the middle of a technologist's procedure and under a subscriber: the
procedure goes on through the balancer on the node left, and the subscriber, reconnecting through
the balancer, is sent every event it missed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from benchmarks.served import Running
from dimse_peers import free_port
from pydicom.uid import generate_uid
from test_postgres_nodes import nodes
from upsrs_client import (
    GLOBAL,
    Events,
    change_state,
    create,
    item,
    new_aet,
    performed,
    progress,
    subscribe,
    update,
    value,
)
from waiting import until

from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.events import EventType
from app.domain.procedure import PerformedProcedure
from app.domain.states import State
from app.domain.workitem import Code

pytestmark = pytest.mark.interop

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)

# The configuration the README gives, with only the test's paths and ports filled in. `X-Upstream`
# is the test's own: which node answered (after a retry, the nodes tried, the last one answering).
# Every proxy_set_header is in the server block: one in a location would drop all those inherited,
# Host with them, and the nodes refuse the upstream's name as Host (421).
CONF = """\
daemon off;
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    upstream worklist {{
{servers}
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 16m;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_connect_timeout 2s;
        proxy_next_upstream error timeout;
        add_header X-Upstream $upstream_addr always;
        location / {{
            proxy_pass http://worklist;
            proxy_read_timeout 90s;
        }}
        location /dicom-web/ws/ {{
            proxy_pass http://worklist;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class Balanced:
    url: str  # the balancer's base URL, as clients are given it
    nodes: list[Running]

    def node_at(self, address: str) -> Running:
        """The node of an upstream address nginx names (`127.0.0.1:PORT`)."""
        return next(n for n in self.nodes if httpx.URL(n.base_url).port == int(address.rpartition(":")[2]))


def answered_by(response: httpx.Response) -> str:
    """The upstream address that answered (the last of those nginx tried)."""
    return response.headers["X-Upstream"].split(",")[-1].strip()


@contextlib.contextmanager
def nginx(prefix: Path, port: int, upstreams: list[str]) -> Iterator[None]:
    prefix.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=10s;" for u in upstreams)
    # run as root, nginx's workers would become `nobody`, who may not enter the test's temp dir
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(CONF.format(user=user, prefix=prefix, port=port, servers=servers))
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        until(lambda: process.poll() is not None or listening(port), 10, "nginx listening")
        if process.poll() is not None:
            raise RuntimeError("nginx did not start:\n" + (prefix / "error.log").read_text())
        yield
    finally:
        process.terminate()  # SIGTERM: a fast shutdown of master and workers
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@pytest.fixture()
def balanced(pg_url, tmp_path) -> Iterator[Balanced]:
    """Two nodes of one database behind nginx on a free loopback port."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")
    port = free_port()
    with nodes(pg_url, 2, "--public-url", f"http://127.0.0.1:{port}") as running:
        upstreams = [httpx.URL(n.base_url).netloc.decode() for n in running]
        with nginx(tmp_path / "nginx", port, upstreams):
            yield Balanced(f"http://127.0.0.1:{port}/dicom-web", running)


def state_of(http: httpx.Client, uid: str) -> str:
    return http.get(f"/workitems/{uid}").json()[0]["00741000"]["Value"][0]


def test_a_procedure_through_the_balancer_goes_on_when_the_node_that_claimed_is_killed(balanced):
    with httpx.Client(base_url=balanced.url, timeout=30) as http:
        uid = create(http, item())
        tx = generate_uid()
        claimed = change_state(http, uid, "IN PROGRESS", tx)
        assert claimed.status_code == 200, claimed.headers.get("Warning")
        claimer = balanced.node_at(answered_by(claimed))
        (survivor,) = [n for n in balanced.nodes if n is not claimer]
        os.kill(claimer.pid, signal.SIGKILL)
        until(lambda: not listening(httpx.URL(claimer.base_url).port), 10, "the killed node gone")

        steps = [
            update(http, uid, tx, progress(50, "halfway")),
            update(http, uid, tx, performed()),
            change_state(http, uid, "COMPLETED", tx),
        ]
        for step in steps:
            assert step.status_code == 200, (step.status_code, step.headers.get("Warning"))
            assert balanced.node_at(answered_by(step)) is survivor  # it really crossed to the other node
        assert state_of(http, uid) == "COMPLETED"
        # what a completion resent by nginx to another node after the first committed would get (README)
        again = change_state(http, uid, "COMPLETED", tx)
        assert again.status_code == 200 and "already" in again.headers["Warning"], again.headers.get("Warning")
    with httpx.Client(base_url=survivor.base_url, timeout=30) as direct:
        done = direct.get(f"/workitems/{uid}").json()[0]
        assert done["00741000"]["Value"] == ["COMPLETED"]
        assert done["00741002"]["Value"][0]["00741004"]["Value"] == [50]  # the updates made after the kill
        assert "00741216" in done


def test_a_subscriber_whose_node_is_killed_reconnects_through_the_balancer_and_misses_nothing(balanced):
    with httpx.Client(base_url=balanced.url, timeout=30) as http:
        aet = new_aet()
        events = connect(http, aet)
        try:
            holder = balanced.node_at(events.socket.response.headers["X-Upstream"])
            seen = create(http, item())
            events.wait_for(seen, 1, timeout=10)  # live through the balancer
            os.kill(holder.pid, signal.SIGKILL)
            until(lambda: not events.thread.is_alive(), 10, "the subscriber seeing its channel close")
        finally:
            events.close()

        # while it is away: new workitems, one of them claimed and completed, all through the balancer
        missed = [create(http, item()) for _ in range(3)]
        tx = generate_uid()
        assert change_state(http, missed[0], "IN PROGRESS", tx).status_code == 200
        assert update(http, missed[0], tx, performed()).status_code == 200
        assert change_state(http, missed[0], "COMPLETED", tx).status_code == 200
        wanted = [(uid, "SCHEDULED") for uid in missed] + [(missed[0], "IN PROGRESS"), (missed[0], "COMPLETED")]

        again = connect(http, aet)  # as the console reconnects: subscribe again, open the channel it names
        try:
            assert again.socket.response.headers["X-Upstream"] != events.socket.response.headers["X-Upstream"]
            got = gather(again, set(wanted), timeout=20)
        finally:
            again.close()
        # every one, in the order it happened (one sent before the kill may come again: never one lost)
        reports = [r for r in dict.fromkeys(got) if r in wanted]
        assert reports == wanted, reports


def connect(http: httpx.Client, aet: str) -> Events:
    """Subscribe through the balancer and open the channel it names, which is the balancer's."""
    answer = subscribe(http, GLOBAL, aet, deletionlock="false")
    assert answer.status_code in (200, 201), answer.headers.get("Warning")
    url = answer.headers["Content-Location"]
    assert url.startswith(balanced_ws(http)), url
    return Events(url)


def balanced_ws(http: httpx.Client) -> str:
    return f"ws://{http.base_url.netloc.decode()}/dicom-web/ws/subscribers/"


def gather(events: Events, wanted: set[tuple[str, str]], timeout: float) -> list[tuple[str, str]]:
    """The state reports (uid, state) read until every wanted one came, in the order they came."""
    got: list[tuple[str, str]] = []

    def arrived() -> bool:
        with contextlib.suppress(queue.Empty):
            while True:
                event = events.queue.get_nowait()
                if value(event, "00001002") == 1:
                    got.append((value(event, "00001000"), value(event, "00741000")))
        return wanted <= set(got)

    until(arrived, timeout, f"every missed event ({len(wanted)}) sent")
    return got


async def test_the_consoles_backend_through_the_balancer_completes_and_hears_on_after_its_channels_node_is_killed(
    balanced,
):
    """The UPS-RS backend the console runs, pointed at the balancer: it claims, its event channel's
    node is killed, it reconnects through the balancer, and completes with what it hears live."""
    backend = UpsRsBackend(Profile(url=balanced.url, ae_title="CT1"))
    events, connections = [], []
    watcher = asyncio.create_task(backend.watch(events.append, lambda up, why: connections.append(up)))
    try:
        await eventually(lambda: connections and connections[-1])
        with httpx.Client(base_url=balanced.url, timeout=30) as http:
            uid = await asyncio.to_thread(create, http, item("CT1"))
        tx = generate_uid()
        await backend.claim(uid, tx)  # a Change State and an Update: round robin puts them on both nodes
        await eventually(lambda: reported(events, uid, "IN PROGRESS"))

        def holding() -> list[Running]:  # the channel's node, once the requests' connections have closed
            return [n for n in balanced.nodes if established_to(httpx.URL(n.base_url).port)]

        await eventually(lambda: len(holding()) == 1)
        (holder,) = holding()
        os.kill(holder.pid, signal.SIGKILL)
        await eventually(lambda: connections[-1] is False)
        await eventually(lambda: connections[-1] is True, timeout=15)  # back, through the balancer
        await backend.report_progress(uid, tx, 60, "Contrast phase")
        now = datetime.now().strftime("%Y%m%d%H%M%S")
        station, procedure = Code("CT1", "99WLSTATION", "CT1"), Code("CTCHEST", "99WLPROC", "CT chest")
        await backend.complete(uid, tx, PerformedProcedure(station, start=now, end=now, procedures=(procedure,)))
        await eventually(lambda: reported(events, uid, "COMPLETED"), timeout=10)
        assert (await backend.retrieve(uid)).state is State.COMPLETED
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await backend.close()


def established_to(port: int) -> bool:
    """Does a TCP connection to this loopback port stand open? Between requests only a WebSocket
    does: nginx keeps no idle connections to the nodes (no `keepalive` in its upstream)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(int(r.split()[1].split(":")[1], 16) == port and r.split()[3] == "01" for r in rows)


def reported(events: list, uid: str, state: str) -> bool:
    return any(e.workitem_uid == uid and e.event_type is EventType.STATE_REPORT and e.state == state for e in events)


async def eventually(condition, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:g} s")
        await asyncio.sleep(0.02)
