"""The same console on a DIMSE profile (MWL + MPPS) against the embedded server's DIMSE front."""

from __future__ import annotations

from conftest import answer_next_dialog, press_enter
from console_helpers import press_start


def test_dimse_profile_lists_claims_and_completes(qtbot, open_console, front):
    window = open_console("--backend", "dimse", "--mwl", f"127.0.0.1:{front.dimse.port}:WORKLIST", "--ae-title", "US1")
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=10000)
    assert window.live.text() == "● polling" and "not available with MWL/MPPS" in window.live.toolTip()
    item = window.selected()
    cancel = window.procedure.cancel_button
    assert not cancel.isEnabled() and "ask the RIS" in cancel.toolTip()  # MWL/MPPS cannot ask a station
    press_start(window)
    qtbot.waitUntil(
        lambda: (
            window.procedure.complete_button.isEnabled()
            and window.session.is_mine(item.uid)
            and window.status_pending.text() == "outbox empty"
        ),
        timeout=10000,
    )
    from app.domain.search import parse_search

    def stored() -> str:
        return front.service.search_all(
            parse_search([("ReferencedRequestSequence.AccessionNumber", item.accession_number)])
        )[0].decode()

    assert '"IN PROGRESS"' in stored()
    window.procedure.add_output_series("Liver")
    answer_next_dialog(press_enter)
    window.procedure.complete_button.click()
    qtbot.waitUntil(lambda: '"COMPLETED"' in stored(), timeout=10000)
