"""The event log and protocol inspector as a trainer uses them: the newest message in view
unless someone is reading an older one, and DICOM JSON with each tag's keyword."""

from __future__ import annotations

import json
from datetime import datetime

from console_helpers import laid_out, loaded, press_start
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QListWidget

from app.backends.protocol import Exchange
from app.domain.events import EventType, WorkitemEvent
from app.ui.inspector import EventLog, Inspector, pretty

WHEN = datetime(2026, 5, 14, 9, 30)
WORKITEM = {
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Becker^Anna"}]},
    "00404025": {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["CT1"]}}]},
    "00291010": {"vr": "OB"},
}


def exchange(n: int, body: str = "") -> Exchange:
    return Exchange(WHEN, "←", f"200 OK #{n}", (("Content-Type", "application/dicom+json"),), body, 3.0)


def inspector_shown(qtbot) -> Inspector:
    inspector = Inspector()
    qtbot.addWidget(inspector)
    inspector.resize(900, 220)  # a few lines tall: the list has to scroll
    inspector.show()
    qtbot.waitExposed(inspector)
    return inspector


def wheel(view: QListWidget, notches: int) -> None:
    """The mouse wheel over the list: positive notches scroll up."""
    at = QPointF(view.viewport().rect().center())
    event = QWheelEvent(
        at,
        QPointF(view.viewport().mapToGlobal(at)),
        QPoint(),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def newest_in_view(view: QListWidget) -> bool:
    last = view.visualItemRect(view.item(view.count() - 1))
    return view.viewport().rect().contains(last)


def test_the_list_follows_the_newest_message(qtbot):
    inspector = inspector_shown(qtbot)
    for n in range(60):
        inspector.add(exchange(n))
    qtbot.waitUntil(lambda: newest_in_view(inspector.list), timeout=3000)
    for n in range(60, 65):
        inspector.add(exchange(n))
    qtbot.waitUntil(lambda: newest_in_view(inspector.list), timeout=3000)


def test_scrolling_up_to_read_stops_the_following_and_scrolling_back_down_resumes_it(qtbot):
    inspector = inspector_shown(qtbot)
    view = inspector.list
    for n in range(60):
        inspector.add(exchange(n))
    qtbot.waitUntil(lambda: newest_in_view(view), timeout=3000)
    wheel(view, 3)
    reading = view.verticalScrollBar().value()
    assert reading < view.verticalScrollBar().maximum()
    for n in range(60, 70):
        inspector.add(exchange(n))
    laid_out(qtbot, view)
    assert view.verticalScrollBar().value() == reading and not newest_in_view(view)
    for _ in range(10):  # back to the end, a few turns of the wheel
        wheel(view, -3)
    inspector.add(exchange(70))
    qtbot.waitUntil(lambda: newest_in_view(view), timeout=3000)


def test_selecting_an_older_message_keeps_it_in_view_while_messages_arrive(qtbot):
    inspector = inspector_shown(qtbot)
    view = inspector.list
    for n in range(60):
        inspector.add(exchange(n))
    qtbot.waitUntil(lambda: newest_in_view(view), timeout=3000)
    older = view.item(view.count() - 3)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualItemRect(older).center())
    assert view.currentItem() is older and "200 OK #57" in inspector.detail.toPlainText()
    for n in range(60, 80):
        inspector.add(exchange(n))
    laid_out(qtbot, view)
    assert view.viewport().rect().contains(view.visualItemRect(older)) and not newest_in_view(view)
    assert "200 OK #57" in inspector.detail.toPlainText()


def test_messages_that_arrived_while_hidden_are_followed_when_shown(qtbot):
    inspector = Inspector()
    qtbot.addWidget(inspector)
    inspector.resize(900, 220)
    for n in range(60):
        inspector.add(exchange(n))
    inspector.show()
    qtbot.waitExposed(inspector)
    qtbot.waitUntil(lambda: newest_in_view(inspector.list), timeout=3000)


def test_clear_empties_the_list_and_follows_again(qtbot):
    inspector = inspector_shown(qtbot)
    for n in range(60):
        inspector.add(exchange(n))
    inspector.list.setCurrentRow(0)
    qtbot.mouseClick(inspector.clear_button, Qt.MouseButton.LeftButton)
    assert inspector.list.count() == 0 and inspector.detail.toPlainText() == ""
    for n in range(60):
        inspector.add(exchange(n))
    qtbot.waitUntil(lambda: newest_in_view(inspector.list), timeout=3000)


def test_pause_stops_adding_messages(qtbot):
    inspector = inspector_shown(qtbot)
    inspector.add(exchange(1))
    qtbot.mouseClick(inspector.pause, Qt.MouseButton.LeftButton)
    inspector.add(exchange(2))
    assert inspector.list.count() == 1


def test_dicom_json_is_shown_with_each_tags_keyword(qtbot):
    inspector = inspector_shown(qtbot)
    inspector.add(exchange(1, json.dumps([WORKITEM])))
    inspector.list.setCurrentRow(0)
    lines = inspector.detail.toPlainText().splitlines()
    assert '    "00100010": {  // PatientName' in lines
    assert '    "00404025": {  // ScheduledStationNameCodeSequence' in lines
    assert '          "00080100": {  // CodeValue' in lines
    assert '    "00291010": {' in lines  # a private tag has no keyword


def test_a_body_that_is_not_json_is_shown_as_it_came():
    assert pretty("(0010,0010) Patient's Name  PN: 'Becker^Anna'") == "(0010,0010) Patient's Name  PN: 'Becker^Anna'"
    assert pretty("") == ""


def test_a_value_that_looks_like_a_tag_gets_no_keyword():
    shown = pretty(json.dumps({"00081030": {"vr": "LO", "Value": ['00100010": x']}}))
    assert shown.count("//") == 1 and "// StudyDescription" in shown


def test_names_for_people_and_for_tests(qtbot):
    inspector = Inspector()
    log = EventLog()
    qtbot.addWidget(inspector)
    qtbot.addWidget(log)
    assert inspector.objectName() == "inspector" and log.objectName() == "eventLog"
    assert inspector.pause.accessibleName() == "Pause" and inspector.clear_button.accessibleName() == "Clear"
    assert log.accessibleName() == "Event log" and inspector.list.accessibleName() == "Messages"


def test_the_event_log_follows_the_newest_event(qtbot):
    log = EventLog()
    qtbot.addWidget(log)
    log.resize(600, 120)
    log.show()
    qtbot.waitExposed(log)
    for n in range(40):
        log.add(
            f"09:30:{n:02d}",
            WorkitemEvent(EventType.STATE_REPORT, f"1.2.{n}", state="IN PROGRESS"),
            f"Becker, Anna — CT chest #{n}",
        )
    qtbot.waitUntil(lambda: newest_in_view(log), timeout=3000)
    assert log.item(39).text() == "09:30:39  State IN PROGRESS — Becker, Anna — CT chest #39"
    assert log.item(39).toolTip() == "1.2.39"


def test_the_claim_shows_its_path_in_the_list_and_the_whole_url_when_selected(qtbot, open_console):
    window = open_console("demo")
    window.resize(1024, 768)
    loaded(qtbot, window)
    item = window.selected()
    press_start(window, key=True)
    claim = f"PUT /dicom-web/workitems/{item.uid}/state"
    lines = window.inspector.list
    qtbot.waitUntil(lambda: any(claim in lines.item(r).text() for r in range(lines.count())), timeout=5000)
    row = next(r for r in range(lines.count()) if claim in lines.item(r).text())
    assert "://" not in lines.item(row).text()  # the server is named once, in the status bar
    lines.setCurrentRow(row)
    assert f"{window.demo.server.base_url}/workitems/{item.uid}/state" in window.inspector.detail.toPlainText()
