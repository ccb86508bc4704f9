"""A real PostgreSQL server for the tests of the PostgreSQL store: Debian's `postgresql` package
started in a temporary directory on a free loopback port, with password (SCRAM) logins over TCP
as the store makes them, and stopped so that nothing of it outlives the test session.

Its durable settings stay at PostgreSQL's defaults (fsync, synchronous_commit, full_page_writes
on): the store's tests check that a write the server acknowledged survives a kill -9 of our
server nodes, which holds only if PostgreSQL's commit means what it means in production.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INSTALL = Path("/usr/lib/postgresql")  # Debian's layout: one <version>/bin per installed major version
SUPERUSER = "postgres"  # the cluster's superuser, reached only through its own socket directory
OS_USER = "postgres"  # the system user Debian's package makes; initdb and postgres refuse to run as root
LOGIN = "worklist"  # the role the store logs in as, with a password, over TCP
NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # database names that need no quoting, in SQL or in a URL
TOOLS = ("initdb", "pg_ctl", "psql")
START_SECONDS = 60


def postgres_binaries() -> Path | None:
    """The bin folder of the highest PostgreSQL version installed; None when there is none."""
    found = []
    for folder in INSTALL.glob("*/bin"):
        version = folder.parent.name
        if re.fullmatch(r"\d+(\.\d+)?", version) and all((folder / tool).exists() for tool in TOOLS):
            found.append((tuple(int(part) for part in version.split(".")), folder))
    return max(found)[1] if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _alive(pid: int) -> bool:
    """Whether `pid` still runs. A zombie counts as gone: the postmaster is not our child, and the
    init of a container may never reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue  # it ended while we looked
    return children


class PostgresServer:
    """One PostgreSQL cluster: call start(), then stop() (running_postgres does both)."""

    host = "127.0.0.1"
    user = LOGIN

    def __init__(self, binaries: Path, log: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.binaries = binaries
        self.tls = tls  # certificate and key: the server then takes TCP logins over TLS only
        self.log = log  # initdb's, pg_ctl's and the server's output, kept for a failed test's reading
        self.password = secrets.token_hex(16)
        self.port = 0
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root, PostgreSQL must run as the postgres user, and runuser is missing")
            self._as_postgres = ["runuser", "-u", OS_USER, "--"]
        # The cluster and its socket live in a folder of their own under the system's temp dir,
        # not in the caller's: pytest's base temp is private to root, where the postgres user
        # could not reach it, and a socket's path must stay under 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="worklist-pg-"))
        if self._as_postgres:
            shutil.chown(self.dir, OS_USER, OS_USER)
        self.data = self.dir / "data"
        self._databases = 0
        self._stopped = False

    def start(self) -> PostgresServer:
        self._run_as_postgres(
            # --no-sync: initdb's own files need not reach the disk (nothing here survives a
            # crash of the machine); the server's commits are flushed as usual. --auth=trust said
            # outright, so that initdb does not warn of it: pg_hba.conf is replaced below.
            [str(self.binaries / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C.UTF-8"]
            + ["--auth=trust", "--no-sync", "--no-instructions"],
            "initdb",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# worklist tests\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\n"
                "max_connections = 300  # several server processes, each with a pool\n"
                "password_encryption = 'scram-sha-256'\n"
            )
        if self.tls is not None:
            for source, name in zip(self.tls, ("server.crt", "server.key")):
                shutil.copyfile(source, self.data / name)
                (self.data / name).chmod(0o600)  # PostgreSQL refuses a key others may read
                if self._as_postgres:
                    shutil.chown(self.data / name, OS_USER, OS_USER)
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write("ssl = on\n")
        # Only these two ways in: the superuser through the socket, which only this user and
        # root reach; everyone else with a password over TCP (TLS only, given a certificate), as
        # the store connects.
        tcp = "hostssl" if self.tls is not None else "host"
        (self.data / "pg_hba.conf").write_text(
            f"local all {SUPERUSER} trust\n{tcp} all all 127.0.0.1/32 scram-sha-256\n"
        )
        for _ in range(5):
            self.port = free_port()
            before = self.log.stat().st_size
            if self._pg_ctl("start", "-w", "-t", str(START_SECONDS), "-o", f"-p {self.port}"):
                break
            # another worker's server or peer took the port between free_port and the bind: the
            # postmaster has ended; any other failure is not the port's and is not retried
            with self.log.open("rb") as text:
                text.seek(before)
                if b"Address already in use" not in text.read():
                    raise RuntimeError(f"PostgreSQL did not start; see {self.log}:\n{self._log_tail()}")
        else:
            raise RuntimeError(f"PostgreSQL did not start on any of five ports; see {self.log}")
        atexit.register(self.stop)  # for a session that ends without its fixtures' teardown
        self.run_sql(f"CREATE ROLE {LOGIN} LOGIN PASSWORD '{self.password}'")
        return self

    def url(self, database: str) -> str:
        """The store's URL of `database`: without the password, which comes from PGPASSWORD or a file."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database owned by the login role; its URL."""
        if name is None:
            self._databases += 1
            name = f"worklist_{self._databases}"
        if not NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: lowercase letters, digits and _ only")
        self.run_sql(f"CREATE DATABASE {name} OWNER {LOGIN}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop `name`, closing whatever connections are left on it (a test's pool, its server)."""
        if not NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: lowercase letters, digits and _ only")
        self.run_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def run_sql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` as the superuser (through the socket) and return psql's unaligned output.
        The SQL goes on standard input, so that the password of CREATE ROLE is not on a command line."""
        done = subprocess.run(
            [str(self.binaries / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
            + ["-h", str(self.dir), "-p", str(self.port), "-U", SUPERUSER, "-d", database],
            input=sql,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def password_file(self, directory: Path) -> Path:
        """A file holding only the password (no newline), readable by its owner only."""
        path = Path(directory) / "postgres-password"
        # made with its mode: never readable by others, even briefly
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            os.fchmod(file.fileno(), 0o600)  # a file that was already there keeps its mode otherwise
            file.write(self.password)
        return path

    def env(self) -> dict[str, str]:
        """The environment for a process that connects with url(): this one's, with PGPASSWORD."""
        return {**os.environ, "PGPASSWORD": self.password}

    @property
    def pid(self) -> int | None:
        """The postmaster's process id; None when it is not running."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """SIGKILL the postmaster and its processes, and wait until they are gone."""
        pid = self.pid
        if pid is None:
            return
        victims = [pid, *_children(pid)]
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30  # monotonic: a test's moved clock must not stretch or cut it
        while any(_alive(victim) for victim in victims):
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL's processes {victims} outlived SIGKILL for 30 s")
            time.sleep(0.02)
        # its pid file would name a process id that another process may be given next
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop at once (nothing in the data outlives the tests) and remove the cluster. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            pid = self.pid
            if pid is not None and _alive(pid):
                try:
                    self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30")
                except subprocess.TimeoutExpired:
                    pass
                if _alive(pid):  # pg_ctl could not stop it: kill it
                    self.kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _pg_ctl(self, action: str, *options: str) -> bool:
        return self._run_as_postgres(
            [str(self.binaries / "pg_ctl"), action, "-D", str(self.data), *options], f"pg_ctl {action}", check=False
        )

    def _run_as_postgres(self, command: list[str], what: str, check: bool = True) -> bool:
        """Run `command` as the postgres user when we are root, its output appended to the log.
        A file, not a pipe: pg_ctl start leaves the server writing to what it was given."""
        with self.log.open("ab") as log:
            log.write(f"--- {what}\n".encode())
            log.flush()
            done = subprocess.run(
                self._as_postgres + command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,  # the postgres user may not enter the caller's working directory
                timeout=START_SECONDS + 30,
            )
        if check and done.returncode != 0:
            raise RuntimeError(f"{what} failed ({done.returncode}); see {self.log}:\n{self._log_tail()}")
        return done.returncode == 0

    def _log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_postgres(root: Path, tls: tuple[Path, Path] | None = None) -> Iterator[PostgresServer]:
    """A started server whose log is `root`/postgres.log; stopped, and its cluster removed, on exit;
    given a certificate and key, it takes logins over TLS only. Raises RuntimeError when PostgreSQL
    is not installed (check postgres_binaries() first)."""
    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError(f"PostgreSQL is not installed (no {INSTALL}/<version>/bin): apt-get install postgresql")
    root.mkdir(parents=True, exist_ok=True)
    log = root / "postgres.log"
    log.touch()
    server = PostgresServer(binaries, log, tls)
    try:
        server.start()
        yield server
    finally:
        server.stop()
