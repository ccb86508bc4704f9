"""`worklist-console users`: roles are given, listed and checked from the shell."""

from __future__ import annotations

import subprocess
import sys

from door import PASSWORD

from app.domain.access import Role
from app.server.users import Users


def users(folder, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", "users", "--file", str(folder / "users.toml"), *args],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_role_is_given_listed_and_kept_and_a_modality_needs_an_ae_title(tmp_path):
    assert users(tmp_path, "add", "ct1", "--ae", "CT1", "--password-stdin").returncode == 0
    added = users(tmp_path, "add", "ris", "--role", "ris", "--password-stdin")
    assert added.returncode == 0 and "(ris)" in added.stdout
    refused = users(tmp_path, "add", "lost", "--role", "modality", "--password-stdin")
    assert refused.returncode == 2 and "at least one (--ae CT1)" in refused.stderr
    assert users(tmp_path, "add", "boss", "--role", "boss", "--password-stdin").returncode == 2
    listed = users(tmp_path, "list").stdout
    assert "ct1: modality, CT1" in listed and "ris: ris, any AE title" in listed
    loaded = Users.load(tmp_path / "users.toml")
    assert loaded.by_password("ct1", PASSWORD).role is Role.MODALITY
    assert loaded.by_password("ris", PASSWORD).role is Role.RIS


def test_a_file_written_before_roles_reads_as_modality_when_bound_and_ris_when_not(tmp_path):
    plain = Users()
    plain.add("ct1", PASSWORD, ["CT1"])
    plain.add("ris", PASSWORD, [])
    plain.save(tmp_path / "users.toml")
    text = (tmp_path / "users.toml").read_text().replace('role = "modality"\n', "").replace('role = "ris"\n', "")
    assert "role" not in text
    (tmp_path / "users.toml").write_text(text)
    loaded = Users.load(tmp_path / "users.toml")
    assert loaded.users["ct1"].role == "modality" and loaded.users["ris"].role == "ris"


def test_a_client_certificate_is_given_to_a_user_and_a_file_without_one_is_refused(tmp_path):
    from certificates import make_certificate

    cert, _ = make_certificate(tmp_path, "ct1")
    assert users(tmp_path, "add", "ct1", "--ae", "CT1", "--password-stdin").returncode == 0
    given = users(tmp_path, "certificate", "ct1", str(cert))
    assert given.returncode == 0 and "is now ct1 over DICOM TLS" in given.stdout
    (tmp_path / "not.pem").write_text("hello")
    refused = users(tmp_path, "certificate", "ct1", str(tmp_path / "not.pem"))
    assert refused.returncode == 2 and "holds no PEM certificate" in refused.stderr
    assert users(tmp_path, "certificate", "nobody", str(cert)).returncode == 2
    import ssl

    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert Users.load(tmp_path / "users.toml").by_certificate(der).name == "ct1"
