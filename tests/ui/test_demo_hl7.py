"""The demo's Simulate → RIS goes through the server's HL7 door, as a site's RIS does: its order,
cancellation and merge arrive over MLLP, and the HL7 tab shows each message and its ACK."""

from __future__ import annotations

from console_helpers import live, loaded, rows, start_selected
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QListWidget, QPlainTextEdit

from app.domain.states import State


def press(window, text: str) -> None:
    """The Simulate menu's action whose text begins with `text`, triggered as a click on it does."""
    simulate = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Simulate")
    action = next(a for a in simulate.actions() if a.text().startswith(text))
    assert action.isEnabled()
    action.trigger()


def hl7_log(window) -> QListWidget:
    return window.findChild(QListWidget, "hl7Log")


def hl7_lines(window) -> list[str]:
    log = hl7_log(window)
    return [log.item(r).text() for r in range(log.count())]


def test_an_urgent_order_comes_over_hl7_and_the_hl7_tab_shows_it_and_its_ack(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    before = {w.uid for w in rows(window)}
    press(window, "RIS: add an urgent order")
    qtbot.waitUntil(
        lambda: any(w.uid not in before and w.patient_id.startswith("STAT") for w in rows(window)), timeout=5000
    )
    new = next(w for w in rows(window) if w.uid not in before)
    assert new.priority.value == "HIGH" and new.state is State.SCHEDULED and new.placer_order.startswith("STAT")
    qtbot.waitUntil(lambda: len(hl7_lines(window)) == 1, timeout=3000)
    line = hl7_lines(window)[0]
    assert line.split()[1:3] == ["AA", "ORM^O01"] and line.split()[3].startswith("ORM-"), line
    window.inspector_action.trigger()  # View → Event log and protocol inspector
    window.dock_tabs.setCurrentWidget(window.findChild(QObject, "hl7Inspector"))
    hl7_log(window).setCurrentRow(0)
    shown = window.findChild(QPlainTextEdit, "hl7Detail").toPlainText().splitlines()
    assert any(s.startswith("ORC|NW|STAT") for s in shown) and any(s.startswith("OBR|1|STAT") for s in shown)
    assert any(s.startswith("MSA|AA|ORM-") for s in shown), shown  # the ACK, one segment a line


def test_a_cancellation_over_hl7_of_my_procedure_in_progress_brings_the_banner(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    item = start_selected(qtbot, window)
    press(window, "RIS: request cancellation")
    qtbot.waitUntil(lambda: window.messages.get(f"cancel:{item.uid}") is not None, timeout=5000)
    banner = window.messages.get(f"cancel:{item.uid}")
    assert banner.objectName() == "cancelRequestBanner"
    assert "by <b>RIS</b>" in banner.text.text() and "Duplicate order (110510)" in banner.text.text()
    qtbot.waitUntil(lambda: len(hl7_lines(window)) == 1, timeout=3000)
    assert hl7_lines(window)[0].split()[1:3] == ["AA", "ORM^O01"]


def test_a_merge_over_hl7_of_my_patient_brings_the_merge_banner_with_the_new_id(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    item = start_selected(qtbot, window)
    press(window, "RIS: merge the patient")
    qtbot.waitUntil(lambda: window.messages.get(f"merge:{item.uid}") is not None, timeout=5000)
    banner = window.messages.get(f"merge:{item.uid}")
    assert banner.objectName() == "mergeBanner"
    qtbot.waitUntil(lambda: window.model.workitem(item.uid).patient_id != item.patient_id, timeout=3000)
    survivor = window.model.workitem(item.uid).patient_id
    assert f"<b>{survivor}</b>" in banner.text.text()
    qtbot.waitUntil(lambda: len(hl7_lines(window)) == 1, timeout=3000)
    assert hl7_lines(window)[0].split()[1:3] == ["AA", "ADT^A40"]
    log = hl7_log(window)
    sent = log.item(0).data(Qt.ItemDataRole.UserRole)
    assert f"MRG|{item.patient_id}" in sent.message and f"PID|1||{survivor}|" in sent.message


def test_a_name_correction_over_hl7_renames_the_patient_on_the_list(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    item = window.selected()
    press(window, "RIS: correct the patient's name")
    qtbot.waitUntil(lambda: len(hl7_lines(window)) == 1, timeout=5000)
    assert hl7_lines(window)[0].split()[1:3] == ["AA", "ADT^A08"]
    # the server restates the state for a new name: the list shows it without a search
    qtbot.waitUntil(lambda: window.model.workitem(item.uid).patient_name.alphabetic.endswith("^A."), timeout=5000)
    assert window.model.workitem(item.uid).patient_id == item.patient_id
