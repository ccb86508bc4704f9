"""DCMTK's own tools at the DIMSE front's door: a wrong called AE title or a calling AE title off the
allow-list gets an A-ASSOCIATE-RJ that echoscu and findscu print as such, and echoscu +tls reaches the
TLS front when it trusts the server's certificate (DCMTK built with OpenSSL)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from certificates import make_certificate

from app.server import ServerConfig, UPSServer

pytestmark = pytest.mark.interop

DCMTK = {name: Path("/usr/bin") / name for name in ("echoscu", "findscu")}  # DCMTK's, not pynetdicom's


def dcmtk(name: str, *args: str) -> subprocess.CompletedProcess:
    if not DCMTK[name].exists():
        pytest.skip(f"DCMTK's {name} is not installed")
    return subprocess.run([str(DCMTK[name]), "-to", "10", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture()
def locked(tmp_path) -> Iterator[tuple[UPSServer, Path]]:
    cert, key = make_certificate(tmp_path)
    server = UPSServer(
        ServerConfig(
            http_port=0,
            dimse_port=0,
            db_path=str(tmp_path / "w.db"),
            ae_title="RIS_WL",
            allow_ae=("CT1",),
            dimse_tls=True,
            tls_cert=str(cert),
            tls_key=str(key),
        )
    ).start()
    try:
        yield server, cert
    finally:
        server.stop()


def test_echoscu_and_findscu_calling_a_wrong_ae_title_are_rejected(front):
    port = str(front.dimse.port)
    echo = dcmtk("echoscu", "-aet", "CT1", "-aec", "WRONG", "127.0.0.1", port)
    assert echo.returncode != 0
    assert "Called AE Title Not Recognized" in echo.stdout + echo.stderr

    find = dcmtk("findscu", "-v", "-W", "-aet", "CT1", "-aec", "WRONG", "-k", "PatientName=*", "127.0.0.1", port)
    assert find.returncode != 0
    assert "Called AE Title Not Recognized" in find.stdout + find.stderr

    right = dcmtk("echoscu", "-aet", "CT1", "-aec", "WORKLIST", "127.0.0.1", port)
    assert right.returncode == 0, right.stdout + right.stderr


def test_echoscu_over_tls_is_answered_and_turned_away_off_the_allow_list_or_without_tls(locked):
    server, cert = locked
    port = str(server.dimse.port)
    trusting = ("+tla", "+cf", str(cert))

    echo = dcmtk("echoscu", *trusting, "-aet", "CT1", "-aec", "RIS_WL", "127.0.0.1", port)
    assert echo.returncode == 0, echo.stdout + echo.stderr

    stranger = dcmtk("echoscu", *trusting, "-aet", "US9", "-aec", "RIS_WL", "127.0.0.1", port)
    assert stranger.returncode != 0
    assert "Calling AE Title Not Recognized" in stranger.stdout + stranger.stderr

    plain = dcmtk("echoscu", "-aet", "CT1", "-aec", "RIS_WL", "127.0.0.1", port)
    assert plain.returncode != 0


def test_dcmtk_user_identity_opens_a_locked_front_and_a_wrong_password_is_rejected(tmp_path):
    """DCMTK 3.6.7 sends a User Identity (username and passcode) from storescu: the right one
    opens the association (which then has no storage context to offer), a wrong one is rejected."""
    from door import PASSWORD, users_file
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    DCMTK["storescu"] = Path("/usr/bin/storescu")
    path, _ = users_file(tmp_path, ct1=["CT1"])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    image = Dataset()
    image.file_meta = meta
    image.SOPClassUID, image.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    image.PatientName, image.Modality = "Doe^Jane", "OT"
    image.save_as(tmp_path / "sc.dcm", enforce_file_format=True)
    server = UPSServer(
        ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"), users_file=str(path))
    ).start()
    try:
        port = str(server.dimse.port)
        base = ("-aet", "CT1", "-aec", "WORKLIST", "-usr", "ct1")
        wrong = dcmtk("storescu", *base, "-pwd", "not the password", "127.0.0.1", port, str(tmp_path / "sc.dcm"))
        assert "Association Rejected" in wrong.stdout + wrong.stderr
        right = dcmtk("storescu", *base, "-pwd", PASSWORD, "127.0.0.1", port, str(tmp_path / "sc.dcm"))
        said = right.stdout + right.stderr
        assert "Association Rejected" not in said and "No Acceptable Presentation Contexts" in said, said
        # without one, the association may only echo
        assert dcmtk("echoscu", "-aet", "CT1", "-aec", "WORKLIST", "127.0.0.1", port).returncode == 0
        find = dcmtk("findscu", "-v", "-W", "-aet", "CT1", "-aec", "WORKLIST", "-k", "PatientName=*", "127.0.0.1", port)
        said = find.stdout + find.stderr
        assert "Final Find Response (Failed: UnableToProcess)" in said, said
    finally:
        server.stop()


def test_echoscu_over_tls_is_answered_at_once_while_ten_connections_never_start_their_handshake(locked):
    server, cert = locked
    held = [socket.create_connection(("127.0.0.1", server.dimse.port), timeout=10) for _ in range(10)]
    try:
        began = time.monotonic()
        echo = dcmtk(
            "echoscu", "+tla", "+cf", str(cert), "-aet", "CT1", "-aec", "RIS_WL", "127.0.0.1", str(server.dimse.port)
        )
        assert echo.returncode == 0, echo.stdout + echo.stderr
        assert time.monotonic() - began < 2
    finally:
        for connection in held:
            connection.close()
