"""Wrong passwords at the HTTP door: checked on a pool of their own, throttled per client address
and per user name, unknown names as slow as known ones. Clients come from different loopback
addresses (127.0.0.0/8 is all loopback on Linux) so that each test has addresses of its own."""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
from door import PASSWORD, users_file
from upsrs_client import DICOM_JSON
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.server import ServerConfig, UPSServer
from app.server.password_checks import FailedLogins, ThrottleRules

RULES = ThrottleRules(free=3, first_wait=2.0, longest_wait=4.0, hold=0.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("abuse")
    path, tokens = users_file(folder, ris=[], tech=["CT1"], victim=["CT2"], timing=["CT3"])
    config = ServerConfig(
        http_port=0, db_path=str(folder / "ups.db"), purge_interval=3600, users_file=str(path), password_throttle=RULES
    )
    server = UPSServer(config).start()
    server.tokens = tokens
    try:
        yield server
    finally:
        server.stop()


def from_address(server: UPSServer, address: str, *, token: str | None = None, **kw) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url,
        timeout=30.0,
        headers={"Accept": DICOM_JSON, **({"Authorization": f"Bearer {token}"} if token else {})},
        transport=httpx.HTTPTransport(local_address=address),
        **kw,
    )


def search(server: UPSServer, address: str, auth=None, token: str | None = None) -> httpx.Response:
    with from_address(server, address, auth=auth, token=token) as c:
        return c.get("/workitems", params={"limit": "1"})


def test_wrong_passwords_from_many_clients_do_not_delay_an_authenticated_request(server):
    with from_address(server, "127.0.0.1", auth=("ris", PASSWORD)) as ris:
        assert ris.get("/workitems").is_success  # verified once: remembered from now on
    stop = threading.Event()
    answers: Counter[int] = Counter()

    def attacker(n: int) -> None:
        with from_address(server, f"127.0.1.{n + 1}") as c:
            while not stop.is_set():
                name = "ris" if n % 2 else f"nobody{uuid.uuid4().hex[:6]}"
                answers[c.get("/workitems", auth=(name, f"guess {n}")).status_code] += 1

    attackers = [threading.Thread(target=attacker, args=(n,), daemon=True) for n in range(32)]
    for thread in attackers:
        thread.start()
    times = []
    try:
        deadline = time.monotonic() + 20
        while answers.total() < 100 and time.monotonic() < deadline:  # the pool is full before we measure
            time.sleep(0.05)
        with (
            from_address(server, "127.0.0.1", auth=("ris", PASSWORD)) as basic,
            from_address(server, "127.0.0.1", token=server.tokens["ris"]) as bearer,
        ):
            for _ in range(25):
                for c in (basic, bearer):
                    began = time.perf_counter()
                    answer = c.get("/workitems", params={"limit": "1"})
                    times.append(time.perf_counter() - began)
                    assert answer.is_success, answer.headers.get("Warning")
    finally:
        stop.set()
        for thread in attackers:
            thread.join(30)
    p95 = statistics.quantiles(times, n=20)[-1]
    assert answers[401] > 0 and answers[401] + answers[429] + answers[503] == answers.total(), answers
    assert p95 < 0.25, (
        f"p95 {p95 * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms, while wrong passwords got {answers}"
    )


def test_repeated_wrong_passwords_from_one_address_wait_even_for_the_right_one(server):
    address = "127.0.2.1"
    for _ in range(RULES.free):
        assert search(server, address, auth=("tech", "not the password")).status_code == 401
    throttled = search(server, address, auth=("tech", "not the password"))
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert "Too many wrong passwords" in throttled.headers["Warning"]
    right = search(server, address, auth=("tech", PASSWORD))
    assert right.status_code == 429 and "Retry-After" in right.headers
    with socket.create_connection(("127.0.0.1", server.port), source_address=(address, 0)) as sock:
        with pytest.raises(InvalidStatus) as refused:
            connect(
                f"ws://127.0.0.1:{server.port}/dicom-web/ws/subscribers/CT1",
                sock=sock,
                additional_headers={"Authorization": httpx.BasicAuth("tech", PASSWORD)._auth_header},
                open_timeout=5,
            )
        answer = refused.value.response  # the handshake gets what a request gets: 429, and when to come back
        assert answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1
    # a bearer token is no guess: the address's wait does not hold it back
    assert search(server, address, token=server.tokens["tech"]).is_success
    deadline = time.monotonic() + 10
    while (answer := search(server, address, auth=("tech", PASSWORD))).status_code == 429:
        assert time.monotonic() < deadline, "still throttled after the longest wait"
        time.sleep(0.1)
    assert answer.is_success


def test_wrong_passwords_for_one_user_from_many_addresses_make_that_user_wait(server):
    home = "127.0.3.1"
    assert search(server, home, auth=("victim", PASSWORD)).is_success
    for n in range(RULES.free):
        assert search(server, f"127.0.3.{n + 10}", auth=("victim", f"guess {n}")).status_code == 401
    fresh = search(server, "127.0.3.99", auth=("victim", "one more guess"))
    assert fresh.status_code == 429 and "Retry-After" in fresh.headers
    assert search(server, "127.0.3.98", auth=("victim", PASSWORD)).status_code == 429
    # where the user has logged in before, guesses elsewhere do not lock it out
    assert search(server, home, auth=("victim", PASSWORD)).is_success
    # another user from those addresses is not held back
    assert search(server, "127.0.3.10", auth=("ris", PASSWORD)).is_success


def test_an_unknown_user_name_takes_as_long_as_a_wrong_password(server):
    def took(n: int, name: str) -> float:
        with from_address(server, f"127.0.4.{n}", auth=(name, "not the password")) as c:
            began = time.perf_counter()
            answer = c.get("/workitems", params={"limit": "1"})
            took = time.perf_counter() - began
        assert answer.status_code == 401
        return took

    known, unknown = [], []
    for n in range(RULES.free):  # interleaved, and the fastest of each: noise only ever adds
        known.append(took(n + 1, "timing"))
        unknown.append(took(n + 10, f"nobody{n}"))
    ratio = min(unknown) / min(known)
    assert 1 / 3 < ratio < 3, f"unknown {min(unknown) * 1000:.0f} ms, known {min(known) * 1000:.0f} ms"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waits_double_up_to_the_longest_and_are_forgotten_after_quiet():
    clock = Clock()
    rules = ThrottleRules(free=2, first_wait=1.0, longest_wait=4.0, forget_after=60.0)
    failures = FailedLogins(rules, clock)
    waits: list[float] = []
    while len(waits) < 5:
        wait = failures.begin("10.0.0.1", "alice")  # 0: let through, and counted as failed
        if wait:
            waits.append(wait)
            clock.now += wait
    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0]
    clock.now += 61
    assert failures.begin("10.0.0.1", "alice") == 0.0 and failures.begin("10.0.0.1", "alice") == 0.0


def test_a_success_forgets_the_name_but_not_the_address_and_the_tables_stay_bounded():
    clock = Clock()
    failures = FailedLogins(ThrottleRules(free=2, first_wait=1.0, capacity=3), clock)
    for name in ("a", "b"):
        failures.begin("10.0.0.1", name)
    failures.proved("10.0.0.1", "b")  # its own attempt refunded, the earlier failure kept
    failures.begin("10.0.0.1", "c")
    assert failures.begin("10.0.0.1", "d") == 1.0
    for n in range(10):
        failures.begin(f"10.0.1.{n}", f"n{n}")
    assert len(failures.addresses.entries) <= 3 and len(failures.names.entries) <= 3
    assert "10.0.0.1" not in failures.addresses.entries  # the oldest went first


def test_wrong_passcodes_over_dimse_are_throttled_like_wrong_passwords_over_http(tmp_path):
    """A DIMSE User Identity is checked by the same pool and throttle: guessing over DICOM costs
    as much as over HTTP, and the throttle one door sets holds on the other."""
    from door import PASSWORD
    from pynetdicom import AE
    from pynetdicom.pdu_primitives import UserIdentityNegotiation
    from pynetdicom.sop_class import Verification

    path, _ = users_file(tmp_path, tech=["CT1"])
    config = ServerConfig(
        http_port=0,
        dimse_port=0,
        db_path=str(tmp_path / "ups.db"),
        purge_interval=3600,
        users_file=str(path),
        password_throttle=RULES,
    )
    server = UPSServer(config).start()

    def associate(passcode: str) -> bool:
        ae = AE("CT1")
        ae.add_requested_context(Verification)
        identity = UserIdentityNegotiation()
        identity.user_identity_type = 2
        identity.primary_field, identity.secondary_field = b"tech", passcode.encode()
        assoc = ae.associate("127.0.0.1", server.dimse.port, ae_title="WORKLIST", ext_neg=[identity])
        if assoc.is_established:
            assoc.release()
            return True
        return False

    try:
        assert associate(PASSWORD)
        for _ in range(RULES.free + 1):
            assert not associate("not the password")
        assert not associate(PASSWORD)  # throttled: not even the right one is checked
        # the same address and name are held back over HTTP as well
        assert search(server, "127.0.0.1", auth=("tech", PASSWORD)).status_code == 429
    finally:
        server.stop()
