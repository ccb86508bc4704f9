"""The log file: written where Help → Open log folder points, DEBUG on request, and never a
credential in it, whichever library wrote the line."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import random
import socket
import stat
import time

import pytest

from app import logs
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.worklist_query import WorklistQuery
from app.server import ServerConfig, UPSServer


@pytest.fixture()
def log_dir(tmp_path):
    directory = tmp_path / "logs"
    yield directory
    logs.detach()


def read(directory) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (directory / logs.LOG_FILE).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "line, secret",
    [
        ("request headers {'Authorization': 'Basic dGVjaDpzM2NyZXQ='}", "dGVjaDpzM2NyZXQ="),
        ("Authorization: Bearer eyJhbGciOi.J9.abc", "eyJhbGciOi"),
        ("profile password='pa ss' token=abc123", "abc123"),
        ("connecting to https://tech:s3cret@ris.example/dicom-web", "s3cret"),
        ('{"password": "hunter2", "url": "x"}', "hunter2"),
    ],
)
def test_credentials_are_masked(line, secret):
    cleaned = logs.redact(line)
    assert secret not in cleaned and "***" in cleaned


def test_plain_lines_are_left_alone():
    line = "C-FIND MWL to WORKLIST@10.0.0.5:104: 12 answers for CT1 (token of the day: none)"
    assert logs.redact(line) == line


async def test_a_verbose_session_logs_the_traffic_but_not_the_password(server, log_dir):
    path = logs.configure(verbose=True, directory=log_dir)
    assert path == log_dir / logs.LOG_FILE and logs.log_directory() == log_dir
    backend = UpsRsBackend(
        Profile(url=server.base_url, ae_title="CT1", auth="basic", username="tech", password="s3cret-Pw")
    )
    try:
        await backend.search(WorklistQuery.today("CT1"))
    finally:
        await backend.close()
    logging.getLogger("app.test").debug(
        "headers were %s", {"authorization": "Basic " + base64.b64encode(b"tech:s3cret-Pw").decode()}
    )
    text = read(log_dir)
    assert "HTTP Request: GET" in text and "DEBUG" in text  # the traffic, at DEBUG
    assert "s3cret-Pw" not in text and base64.b64encode(b"tech:s3cret-Pw").decode() not in text


def test_without_verbose_the_file_holds_info_and_up(log_dir):
    logs.configure(verbose=False, directory=log_dir)
    logging.getLogger("app.test").debug("detail nobody asked for")
    logging.getLogger("app.test").info("claimed 1.2.3 as CT1")
    text = read(log_dir)
    assert "claimed 1.2.3 as CT1" in text and "detail nobody asked for" not in text


def test_an_unwritable_log_folder_is_said_and_the_app_goes_on(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    try:
        with caplog.at_level(logging.WARNING):
            assert logs.configure(directory=blocked / "logs") is None
        assert "Cannot write the log in" in caplog.text
    finally:
        logs.detach()


def test_a_quiet_terminal_shows_the_consoles_lines_only_and_the_file_keeps_the_libraries(log_dir, capsys):
    logs.configure(directory=log_dir, terminal_level=logging.WARNING, libraries_on_terminal=False)
    logging.getLogger("pynetdicom.transport").error("Association request failed: unable to connect to remote")
    logging.getLogger("app.backends.dimse").warning("The MPPS peer refused the association")
    terminal = capsys.readouterr().err
    assert "The MPPS peer refused the association" in terminal and "Association request failed" not in terminal
    text = read(log_dir)
    assert "Association request failed" in text and "The MPPS peer refused the association" in text


def file_size(directory) -> int:
    for handler in logging.getLogger().handlers:
        handler.flush()
    path = directory / logs.LOG_FILE
    return path.stat().st_size if path.exists() else 0


def test_a_huge_message_is_cut_and_says_how_much_was_left_out(log_dir):
    logs.configure(directory=log_dir)
    logging.getLogger("app.test").warning("dataset: %s", "x" * 100_000)
    lines = read(log_dir).splitlines()
    assert len(lines) == 1
    assert len(lines[0].encode()) < 2 * 1024 + 200
    assert lines[0].endswith(f"({100_000 + len('dataset: ') - logs.MAX_MESSAGE} bytes more)")


def test_a_line_said_over_and_over_is_written_a_few_times_then_counted(log_dir, monkeypatch):
    monkeypatch.setattr(logs, "REPEAT_WINDOW_SECONDS", 0.5)
    logs.configure(directory=log_dir)
    log = logging.getLogger("app.test")
    for _ in range(50):
        log.error("The peer sent something that is not DICOM")
    log.info("claimed 1.2.3 as CT1")
    log.info("claimed 1.2.4 as CT1")  # the console's own lines count only when identical
    time.sleep(0.6)
    log.info("the day goes on")
    text = read(log_dir)
    assert text.count("The peer sent something that is not DICOM") == logs.REPEATS_SHOWN + 1
    assert f"repeated {50 - logs.REPEATS_SHOWN} more times" in text
    assert "claimed 1.2.3 as CT1" in text and "claimed 1.2.4 as CT1" in text
    assert text.rstrip().endswith("the day goes on")


def _wait_until_quiet(directory, seconds: float = 0.7, limit: float = 20.0) -> None:
    """Until the server has written everything the last connections made it write."""
    deadline, size, since = time.monotonic() + limit, -1, time.monotonic()
    while time.monotonic() < deadline:
        now = file_size(directory)
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
        time.sleep(0.1)


def test_a_hundred_malformed_associations_cannot_flood_the_log(log_dir, tmp_path):
    logs.configure(directory=log_dir)
    logging.getLogger("app.test").info("the first line, from before")
    server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"))).start()
    try:
        before = file_size(log_dir)
        garbage = random.Random(7)
        for n in range(100):
            # an HTTP request to the DIMSE port, an A-ASSOCIATE-RQ of noise, a P-DATA of noise
            head = [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x01\x00\x00\x00\x10\x00", b"\x04\x00\x00\x00\x10\x00"][
                n % 3
            ]
            with socket.create_connection(("127.0.0.1", server.dimse.port), timeout=5) as peer:
                peer.sendall(head + garbage.randbytes(4096))
                peer.shutdown(socket.SHUT_WR)
                peer.settimeout(1.0)
                with contextlib.suppress(OSError):
                    while peer.recv(65536):
                        pass
        _wait_until_quiet(log_dir)
        written = file_size(log_dir) - before
    finally:
        server.stop()
    assert written < 40 * 1024, f"{written} bytes for 100 malformed associations"
    assert not (log_dir / f"{logs.LOG_FILE}.1").exists()
    assert "the first line, from before" in read(log_dir).splitlines()[0]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mask", [0o000, 0o022], ids=["umask-000", "umask-022"])
def test_the_log_folder_and_file_are_private(tmp_path, mask):
    previous = os.umask(mask)
    try:
        directory = tmp_path / "state" / "logs"
        logs.configure(directory=directory)
        logging.getLogger("app.test").info("claimed 1.2.3 for Doe^Jane")
        read(directory)
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(directory.parent).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(directory / logs.LOG_FILE).st_mode) == 0o600
    finally:
        os.umask(previous)
        logs.detach()
