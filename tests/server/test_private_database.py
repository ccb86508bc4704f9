"""The server's database holds the day's patients: it, its -wal and -shm files and the folder
the server creates for it are its user's alone, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import httpx
import pytest
from embedded_server import start_server
from upsrs_client import DICOM_JSON, create, item

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture(params=[0o000, 0o022], ids=["umask-000", "umask-022"])
def umask(request) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_worklist_database_and_its_journal_are_private(tmp_path, umask):
    path = tmp_path / "classroom" / "worklist.db"
    server = start_server(path)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10.0, headers={"Accept": DICOM_JSON}) as http:
            create(http, item())
        for name in ("worklist.db", "worklist.db-wal", "worklist.db-shm"):
            assert mode(path.with_name(name)) == 0o600, name
        assert mode(path.parent) == 0o700
    finally:
        server.stop()


def test_an_existing_database_keeps_the_mode_it_was_given(tmp_path, umask):
    path = tmp_path / "worklist.db"
    start_server(path).stop()
    os.chmod(path, 0o640)
    server = start_server(path)
    try:
        assert mode(path) == 0o640
    finally:
        server.stop()


def test_the_folder_of_the_classroom_ca_and_its_key_is_private(tmp_path, umask):
    from app.server.tls import https_files

    files = https_files(None, None, True, str(tmp_path / "worklist.db"), "127.0.0.1")
    assert files is not None and files.ca is not None
    assert files.ca.parent == tmp_path / "tls"
    assert mode(tmp_path / "tls") == 0o700
    assert mode(files.key) == 0o600


def test_a_classroom_ca_folder_an_older_version_left_open_is_made_private(tmp_path):
    from app.server.tls import https_files

    (tmp_path / "tls").mkdir()
    os.chmod(tmp_path / "tls", 0o755)
    files = https_files(None, None, True, str(tmp_path / "worklist.db"), "127.0.0.1")
    assert files is not None
    assert mode(tmp_path / "tls") == 0o700
