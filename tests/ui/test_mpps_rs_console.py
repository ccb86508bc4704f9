"""The console on a DICOMweb MWL + MPPS profile (Supplement 246) against the embedded server,
pressed through its buttons; and the backend's place in Settings."""

from __future__ import annotations

import json

from conftest import answer_next_dialog, press_enter
from console_helpers import laid_out, press_start

from app.backends.profiles import Profile, ProfileBook
from app.domain.search import parse_search
from app.ui.settings_dialog import SettingsDialog


def stored(front, accession: str) -> str:
    return front.service.search_all(parse_search([("ReferencedRequestSequence.AccessionNumber", accession)]))[
        0
    ].decode()


def inspected(window) -> list[str]:
    return [window.inspector.list.item(r).text() for r in range(window.inspector.list.count())]


def test_find_start_progress_complete_through_mpps_rs(qtbot, open_console, front):
    window = open_console("--backend", "mpps-rs", "--url", front.base_url, "--ae-title", "CT1")
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=10000)
    assert window.live.text() == "● polling"
    assert "Live events are not available with DICOMweb MWL + MPPS" in window.live.toolTip()
    cancel = window.procedure.cancel_button
    assert not cancel.isEnabled() and "ask the RIS" in cancel.toolTip()  # Sup 246 has no cancellation request
    item = window.selected()
    press_start(window)
    qtbot.waitUntil(
        lambda: (
            window.procedure.progress_button.isEnabled()
            and window.session.is_mine(item.uid)
            and window.status_pending.text() == "outbox empty"
        ),
        timeout=10000,
    )
    assert '"IN PROGRESS"' in stored(front, item.accession_number)
    window.procedure.percent.setValue(40)
    window.procedure.percent_text.setText("Contrast phase")
    window.procedure.progress_button.click()
    mpps_uid = window.session.workflow.outbox.claim_of(item.uid).transaction_uid
    qtbot.waitUntil(lambda: "40 % Contrast phase" in json.dumps(front.mpps.get(mpps_uid)), timeout=10000)
    series_uid = window.procedure.add_output_series("Chest 1 mm")
    answer_next_dialog(press_enter)
    window.procedure.complete_button.click()
    qtbot.waitUntil(lambda: '"COMPLETED"' in stored(front, item.accession_number), timeout=10000)
    assert series_uid in json.dumps(front.mpps.get(mpps_uid)), json.dumps(front.mpps.get(mpps_uid))[-1500:]
    shown = inspected(window)
    assert any("POST" in line and "modality-performed-procedure-steps" in line for line in shown), shown[-6:]
    assert any("modality-scheduled-procedure-steps" in line for line in shown)


def test_discontinue_through_mpps_rs_cancels_with_the_reason(qtbot, open_console, front):
    window = open_console("--backend", "mpps-rs", "--url", front.base_url, "--ae-title", "US1")
    qtbot.waitUntil(lambda: window.model.rowCount() > 0 and window.selected() is not None, timeout=10000)
    item = window.selected()
    press_start(window)
    qtbot.waitUntil(lambda: window.procedure.discontinue_button.isEnabled(), timeout=10000)

    def choose(dialog):
        dialog.reason.setCurrentIndex(dialog.reason.findText("Patient refused to continue procedure"))
        dialog.confirm.click()

    answer_next_dialog(choose)
    window.procedure.discontinue_button.click()
    qtbot.waitUntil(lambda: '"CANCELED"' in stored(front, item.accession_number), timeout=10000)
    assert "110505" in stored(front, item.accession_number)


def test_settings_offers_dicomweb_mwl_mpps_with_url_credentials_and_refresh(qtbot):
    from PySide6.QtCore import Qt

    book = ProfileBook()
    dialog = SettingsDialog(book)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.backend.itemText(2) == "DICOMweb MWL + MPPS"
    assert not dialog.http_poll.isVisible() and dialog.dcm4chee.isVisible()
    qtbot.keyClick(dialog.backend, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.backend, Qt.Key.Key_Down)
    laid_out(qtbot, dialog)
    assert dialog.backend.currentData() == "mpps-rs"
    assert dialog.upsrs_box.isVisible() and not dialog.dimse_box.isVisible()
    assert dialog.upsrs_box.title() == "DICOMweb MWL + MPPS server (Supplement 246)"
    assert dialog.http_poll.isVisible() and not dialog.dcm4chee.isVisible()
    dialog.name.setText("Sup 246 RIS")
    dialog.ae.setText("CT1")
    dialog.url.setText("https://ris.example/dicom-web")
    dialog.http_poll.setValue(15)
    [save] = [b for b in dialog.findChildren(type(dialog.test_button)) if b.text() == "Save"]
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert book.profiles == [
        Profile(
            name="Sup 246 RIS", backend="mpps-rs", ae_title="CT1", url="https://ris.example/dicom-web", poll_seconds=15
        )
    ]
