"""MLLP over TLS (`serve --hl7-tls --client-ca`): a client certificate the users file names is that
user, and the one access rule decides what it may order, change and cancel; every other sender is
refused in a sentence — real TLS on loopback, the server's own listener."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hl7_tls import (
    END,
    VT,
    Certificates,
    certificates,
    msa,
    new_placer,
    order,
    tls_door,
    tls_exchange,
    users_with_certificates,
)

from app.domain.hl7_orders import workitem_uid
from app.server import UPSServer
from app.server.audit import audit_path, read
from app.server.hl7_door import NO_CERTIFICATE


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certificates:
    return certificates(tmp_path_factory.mktemp("hl7certs"), "ct1", "ris1")


@pytest.fixture(scope="module")
def door(tmp_path_factory, certs) -> Iterator[UPSServer]:
    folder = tmp_path_factory.mktemp("hl7tls")
    users = users_with_certificates(folder, certs, ct1=("modality", ["CT1"]), ris1=("ris", []))
    server = tls_door(folder, certs, users)
    try:
        yield server
    finally:
        server.stop()


def send(door: UPSServer, certs: Certificates, name: str | None, raw: bytes) -> tuple[str, str]:
    assert door.hl7 is not None
    return msa(tls_exchange(door.hl7.port, certs, name, raw))


def exists(door: UPSServer, application: str, placer: str) -> bool:
    assert door.store is not None
    uid = workitem_uid(application, "RADIOLOGY", placer, "SPS-1001")
    with door.store.read() as db:
        return door.store.get(db, uid) is not None


def test_a_known_certificate_orders_as_its_user(door, certs) -> None:
    placer = new_placer()
    assert send(door, certs, "ris1", order("NW", placer, "CT2"))[0] == "AA"
    assert exists(door, "RIS", placer)
    [line] = [line for line in read(audit_path(door.store.path)) if line.get("action") == "create"][-1:]
    assert (line["door"], line["user"]) == ("HL7", "ris1")


def test_a_modality_certificate_may_not_order_or_cancel_another_stations_work(door, certs) -> None:
    theirs, own = new_placer(), new_placer()
    code, text = send(door, certs, "ct1", order("NW", theirs, "CT2", application="CT1"))
    assert code in ("AE", "AR") and "This work is scheduled for CT2; ct1 may act only for CT1." in text
    assert not exists(door, "CT1", theirs)
    assert send(door, certs, "ct1", order("NW", own, "CT1", application="CT1"))[0] == "AA"
    # another station's order, placed by the RIS under the same sender: the modality may not cancel it
    assert send(door, certs, "ris1", order("NW", theirs, "CT2", application="CT1"))[0] == "AA"
    code, text = send(door, certs, "ct1", order("CA", theirs, "CT2", application="CT1"))
    assert code in ("AE", "AR") and "ct1 may act only for CT1" in text
    assert send(door, certs, "ris1", order("CA", theirs, "CT2", application="CT1"))[0] == "AA"


def test_a_certificate_sending_as_another_ae_title_is_refused(door, certs) -> None:
    code, text = send(door, certs, "ct1", order("NW", new_placer(), "CT1", application="CT2"))
    assert code == "AR" and "may not send as CT2 (MSH-3)" in text


@pytest.mark.parametrize("name", [None, "unknown"], ids=["no certificate", "a certificate of no user"])
def test_a_sender_without_a_known_certificate_is_refused_and_audited(door, certs, name) -> None:
    placer = new_placer()
    code, text = send(door, certs, name, order("NW", placer, "CT1"))
    assert (code, text) == ("AR", NO_CERTIFICATE)
    assert not exists(door, "RIS", placer)
    refused = [line for line in read(audit_path(door.store.path)) if line.get("action") == "hl7-refused"]
    assert refused and refused[-1]["reason"] == NO_CERTIFICATE


def test_a_certificate_the_client_ca_did_not_sign_gets_nowhere(door, certs) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
        send(door, certs, "stranger", order("NW", new_placer(), "CT1"))
    assert send(door, certs, "ris1", order("NW", new_placer(), "CT1"))[0] == "AA"


def test_plain_mllp_against_the_tls_port_gets_nowhere_and_the_server_goes_on(door, certs) -> None:
    placer = new_placer()
    with socket.create_connection(("127.0.0.1", door.hl7.port), timeout=10) as plain:
        plain.sendall(VT + order("NW", placer, "CT1") + END)
        answer = b""
        try:
            while chunk := plain.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    assert END not in answer and b"MSA" not in answer
    assert not exists(door, "RIS", placer)
    assert send(door, certs, "ris1", order("NW", new_placer(), "CT1"))[0] == "AA"


def test_a_silent_tls_peer_does_not_hold_the_door(door, certs) -> None:
    with socket.create_connection(("127.0.0.1", door.hl7.port), timeout=10):  # never says hello
        started = time.monotonic()
        assert send(door, certs, "ris1", order("NW", new_placer(), "CT1"))[0] == "AA"
        assert time.monotonic() - started < 4


def test_without_users_a_tls_sender_needs_no_certificate(tmp_path, certs) -> None:
    server = tls_door(tmp_path, certs, None)
    try:
        assert msa(tls_exchange(server.hl7.port, certs, None, order("NW", new_placer(), "CT1")))[0] == "AA"
    finally:
        server.stop()


# -- serve and hl7 send as an installer runs them -------------------------------------------------------
def serve(*args: str) -> tuple[subprocess.Popen, int]:
    """`serve` with its HL7 door, and that door's port once it said so."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--http-port", "0", "--dimse-port", "0", "--hl7-port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    said = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        said.append(line)
        if found := re.search(r"HL7 v2 orders \(MLLP over TLS\) on port (\d+)", line):
            return proc, int(found.group(1))
    proc.kill()
    raise AssertionError("serve never said where its HL7 door is:\n" + "".join(said))


def hl7_send(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "hl7", "send", *args], capture_output=True, text=True, timeout=60
    )


def test_serve_off_loopback_with_users_takes_hl7_over_tls_with_client_certificates(tmp_path, certs) -> None:
    users = users_with_certificates(tmp_path, certs, ris1=("ris", []))
    common = ["--db", str(tmp_path / "w.db"), "--host", "0.0.0.0", "--users", str(users)]
    tls = ["--tls-cert", str(certs.server[0]), "--tls-key", str(certs.server[1])]
    clear = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--http-port", "0", "--dimse-port", "0", "--hl7-port", "0"]
        + common
        + tls,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert clear.returncode == 2 and "--hl7-tls and --client-ca" in clear.stderr and "Traceback" not in clear.stderr
    proc, port = serve(*common, *tls, "--hl7-tls", "--client-ca", str(certs.ca))
    try:
        feed = tmp_path / "order.hl7"
        feed.write_bytes(order("NW", new_placer(), "CT1"))
        to = ["--to", f"127.0.0.1:{port}", "--tls", "--ca", str(certs.server[0])]
        ris = [*to, "--cert", str(certs.clients["ris1"][0]), "--key", str(certs.clients["ris1"][1])]
        sent = hl7_send(str(feed), *ris)
        assert sent.returncode == 0 and sent.stdout.strip().endswith("ORM^O01: AA"), sent
        anonymous = hl7_send(str(feed), *to)
        assert anonymous.returncode == 1 and "AR" in anonymous.stdout, anonymous
        untrusted = hl7_send(str(feed), "--to", f"127.0.0.1:{port}", "--tls", "--ca", str(certs.clients["ris1"][0]))
        assert untrusted.returncode == 2 and "Traceback" not in untrusted.stderr
        assert "its certificate is not one this trusts" in untrusted.stderr, untrusted.stderr
        stranger = [*to, "--cert", str(certs.clients["stranger"][0]), "--key", str(certs.clients["stranger"][1])]
        refused = hl7_send(str(feed), *stranger)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused
        assert refused.stderr.startswith(f"Cannot exchange HL7 messages with 127.0.0.1:{port}: "), refused.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert "Traceback" not in out


def test_hl7_send_says_what_is_wrong_with_its_tls_options(tmp_path, certs) -> None:
    feed = tmp_path / "order.hl7"
    feed.write_bytes(order("NW", new_placer(), "CT1"))
    alone = hl7_send(str(feed), "--to", "127.0.0.1:9", "--cert", str(certs.clients["ris1"][0]))
    assert alone.returncode == 2 and "go with --tls" in alone.stderr
    missing = hl7_send(str(feed), "--to", "127.0.0.1:9", "--tls", "--ca", str(Path(tmp_path) / "none.pem"))
    assert missing.returncode == 2 and "Cannot use the TLS files given" in missing.stderr
    assert "Traceback" not in alone.stderr + missing.stderr


def test_hl7_tls_without_a_certificate_or_with_users_but_no_client_ca_is_refused_in_a_sentence(tmp_path, certs) -> None:
    from app.server import ServerConfig

    base = {"http_port": 0, "purge_interval": 3600, "hl7_port": 0, "hl7_tls": True}
    with pytest.raises(ValueError, match="HL7 over TLS needs the server's certificate and key"):
        UPSServer(ServerConfig(db_path=str(tmp_path / "a.db"), **base))
    users = users_with_certificates(tmp_path, certs, ris1=("ris", []))
    tls = {"tls_cert": str(certs.server[0]), "tls_key": str(certs.server[1])}
    with pytest.raises(ValueError, match="give --client-ca with --hl7-tls"):
        UPSServer(ServerConfig(db_path=str(tmp_path / "b.db"), users_file=str(users), **tls, **base))
