"""What the console keeps on disk is its user's alone: the profiles (passwords and tokens) and
the local claim store, whatever the umask, and a mode the site set survives every save."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest

from app.backends import profiles as profile_store
from app.backends.claim_store import ClaimStore
from app.backends.profiles import Profile, ProfileBook

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


def book(password: str) -> ProfileBook:
    profile = Profile(
        name="RIS",
        backend="upsrs",
        url="http://ris.example/dicom-web",
        auth="basic",
        username="tech",
        password=password,
    )
    return ProfileBook(active="RIS", profiles=[profile])


def test_a_new_profile_file_and_its_folders_are_private(tmp_path, umask):
    path = tmp_path / "config" / "worklist-console" / "profiles.toml"
    profile_store.save(book("s3cret"), path)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700
    assert profile_store.load(path).profiles[0].password == "s3cret"


def test_saving_again_keeps_the_mode_an_administrator_set(tmp_path, umask):
    path = tmp_path / "profiles.toml"
    profile_store.save(book("first"), path)
    os.chmod(path, 0o400)
    profile_store.save(book("second"), path)
    assert mode(path) == 0o400
    os.chmod(path, 0o640)  # shared with a group on purpose
    profile_store.save(book("third"), path)
    assert mode(path) == 0o640
    assert profile_store.load(path).profiles[0].password == "third"
    assert mode(profile_store.backup_path(path)) == 0o640  # the previous generation, as it was


def test_an_existing_profile_folder_keeps_its_mode(tmp_path, umask):
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o750)
    profile_store.save(book("s3cret"), folder / "profiles.toml")
    assert mode(folder) == 0o750
    assert mode(folder / "profiles.toml") == 0o600


def test_the_claim_store_and_its_journal_are_private(tmp_path, umask):
    path = tmp_path / "data" / "console.db"
    store = ClaimStore(path, owner="CT1")
    try:
        assert path.with_name("console.db-wal").exists()
        for name in ("console.db", "console.db-wal", "console.db-shm"):
            assert mode(path.with_name(name)) == 0o600, name
        assert mode(path.parent) == 0o700
    finally:
        store.close()


def test_an_existing_claim_store_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "console.db"
    ClaimStore(path, owner="CT1").close()
    os.chmod(path, 0o640)
    store = ClaimStore(path, owner="CT1")
    try:
        assert mode(path) == 0o640
    finally:
        store.close()
