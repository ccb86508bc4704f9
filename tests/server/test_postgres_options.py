"""`serve --db postgresql://…` as an installer types it: where the password may come from and where
not, and every refusal a sentence with exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from benchmarks.served import serve_process
from certificates import make_certificate
from dimse_peers import free_port
from postgres_server import postgres_binaries, running_postgres

pytestmark = pytest.mark.interop


def serve(*options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A serve that is expected to refuse: it must end by itself."""
    return subprocess.run(
        [sys.executable, "-m", "app", "serve", "--http-port", "0", "--dimse-port", "0", *options],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def without_password(monkeypatch) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.delenv("PGPASSFILE", raising=False)


def refused(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


def test_a_password_in_the_url_is_refused(postgres, pg_url):
    with_password = pg_url.replace("worklist@", f"worklist:{postgres.password}@")
    refused(serve("--db", with_password), "never in the --db URL")


def test_the_password_file_opens_the_database_and_a_wrong_one_is_said(postgres, pg_url, tmp_path, monkeypatch):
    without_password(monkeypatch)
    with serve_process(
        "--db", pg_url, "--dimse-port", "0", "--db-password-file", str(postgres.password_file(tmp_path))
    ):
        pass  # it started: it printed "ready at"
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    refused(serve("--db", pg_url, "--db-password-file", str(wrong)), "Cannot open the worklist database", "password")
    refused(serve("--db", pg_url, "--db-password-file", str(tmp_path / "absent")), "Cannot read the database password")


def test_libpq_s_own_password_file_is_heeded(postgres, pg_url, tmp_path, monkeypatch):
    without_password(monkeypatch)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{postgres.port}:*:worklist:{postgres.password}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with serve_process("--db", pg_url, "--dimse-port", "0"):
        pass


def test_a_password_file_without_postgresql_is_refused(tmp_path):
    (tmp_path / "pw").write_text("secret")
    refused(serve("--db", str(tmp_path / "w.db"), "--db-password-file", str(tmp_path / "pw")), "goes with a PostgreSQL")


def test_a_database_made_by_another_schema_version_is_refused_by_every_node(postgres, pg_url):
    with serve_process("--db", pg_url, "--dimse-port", "0"):
        pass  # made the schema
    with psycopg.connect(pg_url, password=postgres.password, autocommit=True) as db:
        db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    refused(serve("--db", pg_url), "a newer version of Worklist Console", "schema 999")


def test_an_unreachable_server_is_said_in_a_sentence():
    url = f"postgresql://worklist@127.0.0.1:{free_port()}/worklist"  # nothing listens there
    refused(serve("--db", url), "Cannot use the PostgreSQL database", "127.0.0.1")


def test_the_audit_command_on_a_database_that_recorded_nothing(pg_url):
    proc = subprocess.run(
        [sys.executable, "-m", "app", "audit", "--db", pg_url], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "records no change yet" in proc.stderr, proc.stderr


def test_schema_file_paths_are_not_made_for_a_url(pg_url, tmp_path, monkeypatch):
    """A PostgreSQL --db is not a path: nothing named after it appears in the folder it runs in."""
    monkeypatch.chdir(tmp_path)
    with serve_process("--db", pg_url, "--dimse-port", "0"):
        pass
    assert list(Path(tmp_path).iterdir()) == []


def test_tls_options_ride_in_the_url_to_a_server_that_takes_tls_only(tmp_path, monkeypatch):
    if postgres_binaries() is None:
        pytest.skip("PostgreSQL is not installed")
    cert, key = make_certificate(tmp_path)
    with running_postgres(tmp_path / "tls", tls=(cert, key)) as server:
        monkeypatch.setenv("PGPASSWORD", server.password)
        url = server.create_database()
        verified = f"{url}?sslmode=verify-full&sslrootcert={cert}"
        with serve_process("--db", verified, "--dimse-port", "0") as node:
            ready = next(line for line in node.lines if "ready at" in line)
            assert f"database {url})" in ready  # the database said, not the URL's options
        with psycopg.connect(verified) as db:  # and the connection really is TLS
            assert db.pgconn.ssl_in_use
        refused(serve("--db", f"{url}?sslmode=disable"), "Cannot open the worklist database", "no encryption")
        other, _ = make_certificate(tmp_path, "other")
        refused(serve("--db", f"{url}?sslmode=verify-full&sslrootcert={other}"), "Cannot open the worklist database")
