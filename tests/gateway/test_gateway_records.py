"""The gateway's own files hold patients' names and the Transaction UIDs that claim their
procedures: they are opened as the local store opens its database (private, FULL sync), and
what passes through the gateway is audited beside them, read back by `worklist-console audit`."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator

import httpx
import pytest
from pydicom.uid import generate_uid
from test_ups_upstream import completed, in_progress, n_create, n_set, worklist
from upsrs_client import DICOM_JSON, change_state

from app.cli import main
from app.gateway import close_upstream, open_upstream
from app.server.audit import audit_path, read

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture(params=[0o000, 0o022], ids=["umask-000", "umask-022"])
def umask(request) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
def test_the_link_records_and_their_journal_are_private_and_synced_in_full(upstream, gateway_of, tmp_path, umask):
    db = tmp_path / "gateway" / "gateway.db"
    gateway = gateway_of(upstream.base_url, db)
    item = worklist(gateway.dimse_port, "MR1")[0]
    assert n_create(gateway.dimse_port, in_progress(item), generate_uid()).Status == 0x0000
    for name in ("gateway.db", "gateway.db-wal", "gateway.db-shm", "gateway.audit.jsonl"):
        assert mode(db.with_name(name)) == 0o600, name
    assert mode(db.parent) == 0o700
    links = gateway.upstream[1].links
    assert links._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@posix_only
def test_the_dimse_gateways_ledger_is_private_and_synced_in_full(tmp_path, umask):
    db = tmp_path / "scu" / "gateway.db"
    service, performed = open_upstream("dimse:MWL=127.0.0.1:1:RIS,POLL=3600", str(db))
    try:
        service.state.put_subscriptions([])  # a write: the journal exists
        assert mode(db) == 0o600 and mode(db.parent) == 0o700
        for name in ("gateway.db-wal", "gateway.db-shm"):
            assert not db.with_name(name).exists() or mode(db.with_name(name)) == 0o600, name
        assert service.state._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        close_upstream((service, performed))


def test_what_passes_through_the_gateway_is_audited_with_who_and_which_door(upstream, gateway_of, tmp_path, capsys):
    db = tmp_path / "gateway.db"
    gateway = gateway_of(upstream.base_url, db)
    # a modality over DIMSE MPPS: claim and completion of a scheduled step
    item = worklist(gateway.dimse_port, "MR1")[0]
    mpps = generate_uid()
    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    assert n_set(gateway.dimse_port, completed(), mpps).Status == 0x0000
    # a console over UPS-RS: claim and cancel another one
    with httpx.Client(base_url=gateway.base_url, timeout=15, headers={"Accept": DICOM_JSON}) as http:
        found = http.get("/workitems", params={"ScheduledStationNameCodeSequence.CodeValue": "CT1"}).json()
        uid = found[0]["00080018"]["Value"][0]
        tx = generate_uid()
        assert change_state(http, uid, "IN PROGRESS", tx, suffix="/CT1").status_code == 200
        assert change_state(http, uid, "CANCELED", tx).status_code == 200
        refused = change_state(http, uid, "COMPLETED", generate_uid())
        assert refused.status_code >= 400  # a refusal leaves no line

    lines = list(read(audit_path(db)))
    assert [(x["action"], x["uid"], x["door"]) for x in lines] == [
        ("mpps-create", mpps, "DIMSE MPPS"),
        ("mpps-set", mpps, "DIMSE MPPS"),
        ("claim", uid, "UPS-RS"),
        ("cancel", uid, "UPS-RS"),
    ]
    assert [(x["before"], x["after"]) for x in lines] == [
        (None, "IN PROGRESS"),
        ("IN PROGRESS", "COMPLETED"),
        ("SCHEDULED", "IN PROGRESS"),
        ("IN PROGRESS", "CANCELED"),
    ]
    assert lines[0]["ae"] == "MR1" and lines[2]["ae"] == "CT1"
    assert all(re.fullmatch(r"127\.0\.0\.1:\d+", x["peer"]) for x in lines)
    assert not any("patient_name" in x for x in lines)  # no patient without --audit-phi

    capsys.readouterr()
    assert main(["audit", "--db", str(db), "--uid", mpps]) == 0
    said = capsys.readouterr().out.splitlines()
    assert len(said) == 2 and "MR1 (from 127.0.0.1:" in said[0] and "over DIMSE MPPS) created MPPS" in said[0]
    assert said[1].endswith("(IN PROGRESS → COMPLETED)")
