"""The PostgreSQL fixtures (tests/postgres_server.py, tests/conftest.py) that the PostgreSQL store
is tested against: password logins over TCP through psycopg, a fresh database per test, durable
commits, and a server that leaves nothing running once stopped."""

from __future__ import annotations

import socket
import stat
import subprocess

import postgres_server
import psycopg
import pytest
from postgres_server import _alive, postgres_binaries, running_postgres

SEEN_URLS: set[str] = set()


def public_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").fetchall()
    return [row[0] for row in rows]


def test_the_login_role_writes_and_reads_back_over_tcp(postgres, pg_url):
    assert pg_url.startswith(f"postgresql://worklist@127.0.0.1:{postgres.port}/")
    assert postgres.password not in pg_url  # the password comes from PGPASSWORD or a file
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE items (uid text PRIMARY KEY, body jsonb NOT NULL)")
        conn.execute("INSERT INTO items VALUES (%s, %s)", ("1.2.3", '{"state": "SCHEDULED"}'))
    # the block committed it: another connection sees it
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT uid, body->>'state', current_user FROM items").fetchall() == [
            ("1.2.3", "SCHEDULED", "worklist")
        ]


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_gets_a_database_of_its_own_and_empty(pg_url, turn):
    # whichever of the two runs second would find the other's table if they shared a database
    assert pg_url not in SEEN_URLS
    SEEN_URLS.add(pg_url)
    assert public_tables(pg_url) == []
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE leftover (n int)")


def test_create_database_makes_another_empty_database(postgres, pg_url):
    other = postgres.create_database()
    try:
        assert other != pg_url
        with psycopg.connect(pg_url) as conn:
            conn.execute("CREATE TABLE only_here (n int)")
        assert public_tables(pg_url) == ["only_here"]
        assert public_tables(other) == []
    finally:
        postgres.drop_database(other.rpartition("/")[2])


def test_a_wrong_or_missing_password_is_refused(pg_url, monkeypatch, tmp_path):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg_url, password="not-the-password")
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))  # nor from a ~/.pgpass
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(pg_url)


def test_commits_are_flushed_as_in_production(pg_url):
    with psycopg.connect(pg_url) as conn:
        shown = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("fsync", "synchronous_commit", "full_page_writes", "password_encryption")
        }
        max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
    assert shown == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "password_encryption": "scram-sha-256",
    }
    assert max_connections >= 300  # several server processes, each with a pool


def test_the_password_file_and_env_let_others_connect(postgres, pg_url, monkeypatch, tmp_path):
    monkeypatch.delenv("PGPASSWORD")
    path = postgres.password_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == postgres.password
    with psycopg.connect(pg_url, password=path.read_text()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # a process started with env(): psql, as a stand-in for a `serve --db` of the tests
    psql = postgres_binaries() / "psql"
    done = subprocess.run(
        [str(psql), "-X", "-A", "-t", "-d", pg_url, "-c", "SELECT current_user"],
        env=postgres.env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "worklist"), done.stderr


@pytest.mark.parametrize("ending", ["stop", "kill"])
def test_nothing_is_left_running(postgres, tmp_path, ending):
    # `postgres` only so that the test skips (or fails in CI) as the others do without PostgreSQL
    with running_postgres(tmp_path) as server:
        assert server.port != postgres.port
        conn = psycopg.connect(server.create_database(), password=server.password)
        backend = conn.info.backend_pid
        postmaster = server.pid
        assert postmaster is not None and _alive(postmaster) and _alive(backend)
        if ending == "kill":
            server.kill()
            assert not _alive(postmaster) and not _alive(backend) and server.pid is None
    conn.close()
    assert not _alive(postmaster) and not _alive(backend)
    assert not server.dir.exists()
    assert (tmp_path / "postgres.log").stat().st_size > 0  # kept for reading after a failure


def test_a_port_taken_before_the_server_binds_it_is_given_up_for_another(postgres, tmp_path, monkeypatch):
    # as when another worker's server or peer binds the port between free_port and the start
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        real_free_port = postgres_server.free_port
        monkeypatch.setattr(postgres_server, "free_port", lambda: next(ports, None) or real_free_port())
        with running_postgres(tmp_path) as server:
            assert server.port != taken.getsockname()[1]
            assert "Address already in use" in (tmp_path / "postgres.log").read_text()
            with psycopg.connect(server.create_database(), password=server.password) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
