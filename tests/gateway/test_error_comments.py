"""A modality reads a gateway's refusal in the DIMSE Error Comment, 64 characters: the gateway
says it in a complete sentence that fits, and keeps the whole one, with the UIDs and the
upstream's own words, in its log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from dimse_peers import free_port
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import UnifiedProcedureStepPull
from test_ups_upstream import completed, in_progress, n_create, n_set, worklist
from test_upstream_access import c_find_status

from app.domain.status import ERROR_COMMENT_LENGTH
from app.gateway import close_upstream, open_upstream
from app.server import ServerConfig, UPSServer

LONG_UID = "1.2.826.0.1.3680043.8.498." + "1234567890" * 3 + ".12345"  # 62 characters


def a_sentence(comment: str) -> bool:
    return len(comment) <= ERROR_COMMENT_LENGTH and comment.endswith(".") and not comment.endswith("...")


@pytest.fixture()
def ris_away(tmp_path) -> Iterator[UPSServer]:
    """A DIMSE gateway whose RIS (MWL and MPPS) is not listening."""
    port = free_port()
    spec = f"dimse:MWL=127.0.0.1:{port}:RIS_MWL,MPPS=127.0.0.1:{port}:RIS_MPPS,POLL=3600,TIMEOUT=5"
    upstream = open_upstream(spec, str(tmp_path / "gw.db"))
    server = UPSServer(
        ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "gw.db"), purge_interval=3600),
        upstream=upstream,
    ).start()
    assert server.dimse is not None
    yield server
    server.stop()
    close_upstream(upstream)


def test_a_ris_that_cannot_be_reached_is_named_in_a_whole_sentence(ris_away, caplog):
    assert ris_away.dimse is not None
    with caplog.at_level(logging.INFO):
        status = c_find_status(ris_away.dimse.port)
    assert status.Status == 0xC000
    assert status.ErrorComment == "The worklist server RIS_MWL cannot be reached."
    # the whole sentence, with where the RIS was looked for, is in the log
    assert any("Upstream the worklist server RIS_MWL at 127.0.0.1:" in r.getMessage() for r in caplog.records), (
        caplog.text
    )


def test_an_unknown_mpps_is_refused_in_a_sentence_and_its_uid_is_in_the_log(ris_away, caplog):
    assert ris_away.dimse is not None
    with caplog.at_level(logging.INFO):
        status = n_set(ris_away.dimse.port, completed(), LONG_UID)
    assert status.Status == 0x0112
    assert status.ErrorComment == "There is no MPPS with this UID."
    assert f"There is no MPPS {LONG_UID}." in caplog.text


def test_a_step_already_started_upstream_is_refused_in_a_sentence_that_fits(upstream, gateway_of, caplog):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    assert n_create(gateway.dimse_port, in_progress(item), generate_uid()).Status == 0x0000
    with caplog.at_level(logging.INFO):
        status = n_create(gateway.dimse_port, in_progress(item), generate_uid())
    assert status.Status == 0x0110
    assert a_sentence(status.ErrorComment), status.ErrorComment
    assert "already in progress" in status.ErrorComment
    assert "The scheduled step is already in progress; it cannot be started again." in caplog.text


def test_an_upstream_that_went_away_is_named_in_a_sentence_that_fits(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    mpps = generate_uid()
    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    port = upstream.port
    upstream.stop()
    status = n_set(gateway.dimse_port, completed(), mpps)
    assert status.Status == 0x0110
    assert status.ErrorComment == f"Upstream 127.0.0.1:{port} is unreachable; nothing changed."


def test_a_ups_c_find_with_the_ris_away_is_unable_to_process_as_the_mwl_c_find_is(ris_away):
    # one translation of failures for every C-FIND of the front (app/server/dimse_failures.py)
    assert ris_away.dimse is not None
    ae = AE("CT1")
    ae.add_requested_context(UnifiedProcedureStepPull)
    assoc = ae.associate("127.0.0.1", ris_away.dimse.port, ae_title="WORKLIST")
    assert assoc.is_established
    try:
        query = Dataset()
        query.ProcedureStepState = "SCHEDULED"
        query.SOPInstanceUID = ""
        statuses = [status for status, _ in assoc.send_c_find(query, UnifiedProcedureStepPull)]
    finally:
        assoc.release()
    assert statuses[-1].Status == 0xC000
    assert statuses[-1].ErrorComment == "The worklist server RIS_MWL cannot be reached."
