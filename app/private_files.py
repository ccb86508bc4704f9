"""Files and folders that only their user may read: profiles (passwords, tokens), the local claim
store, the server's and the gateway's databases and the log.

On POSIX a folder the program creates is 0700 and a file it creates is 0600, whatever the umask.
A file or folder that already exists keeps its mode: an administrator who set it knows better,
and a file that is rewritten (a save through a temporary file) takes over the mode of the one it
replaces. Elsewhere (Windows) the user's profile folder is already private, and nothing is changed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by open_database: the log and the profiles need no SQLite
    import sqlite3

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_POSIX = os.name == "posix"


def make_folder(path: Path) -> Path:
    """Create `path` and any missing parents, each private to the user; existing ones are left alone."""
    missing: list[Path] = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # another process made it meanwhile: its mode stands
            continue
        if _POSIX:
            os.chmod(folder, FOLDER_MODE)  # mkdir's mode passes through the umask
    return path


def create_file(path: Path) -> Path:
    """Create `path` empty and private to the user if it does not exist (its folder too); an
    existing file keeps its content and mode. SQLite gives a database's -wal and -shm files the
    mode of the database, so creating the database this way first makes them private as well."""
    make_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    try:
        if _POSIX:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def mode_for(path: Path) -> int:
    """The mode a new file replacing `path` gets: that of `path` if it exists, else private."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return FILE_MODE


def write_text(path: Path, text: str, mode: int = FILE_MODE) -> None:
    """Write `text` (UTF-8) to `path` with exactly `mode` on POSIX, whatever the file had before."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        if _POSIX:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            fd = -1
            stream.write(text)
    finally:
        if fd >= 0:
            os.close(fd)


def open_database(path: str | Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection to the SQLite database at `path` as every database of the program is opened:
    the file (and so its -wal and -shm) private to the user, WAL, and `synchronous=FULL` — a commit
    is on disk before it is acknowledged (NORMAL can lose the last commits of a WAL database on a
    power cut). Autocommit (`isolation_level=None`): callers say BEGIN themselves. ":memory:" is a
    private database already, without a file or a journal."""
    import sqlite3

    memory = str(path) == ":memory:"
    if not memory:
        create_file(Path(path))
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=timeout)
    if not memory:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db
