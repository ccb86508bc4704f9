"""The log file: written where Help → Open log folder points, DEBUG on request, and never a
credential in it, whichever library wrote the line."""

from __future__ import annotations

import base64
import logging

import pytest

from app import logs
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.worklist_query import WorklistQuery


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
