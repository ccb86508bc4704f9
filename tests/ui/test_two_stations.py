"""Two consoles of one user on one machine — the trainer's setup — are two stations: a claim
belongs to the AE title that made it, the other console shows who holds it, read-only, and
what each shows stays live whatever station it looks at."""

from __future__ import annotations

from conftest import answer_next_dialog, press_enter
from console_helpers import activate, cell, live, loaded, press_start, rows, state_shown, stored_state
from embedded_server import PINNED_DAY  # noqa: F401  (the front holds today's demo day too)
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.procedure import OutputSeries, PerformedProcedure, progress_json
from app.domain.states import State
from app.domain.workitem import Code


def console(open_console, front, ae: str, station: str = "CT1"):
    return open_console("--backend", "upsrs", "--url", front.base_url, "--ae-title", ae, "--station", station)


def test_two_command_line_consoles_with_different_ae_titles_are_two_stations(qtbot, open_console, front):
    ct1 = console(open_console, front, "CT1")
    ct2 = console(open_console, front, "CT2")  # same user, same data folder, same "Command line" profile
    loaded(qtbot, ct1)
    loaded(qtbot, ct2)
    live(qtbot, ct1)
    live(qtbot, ct2)
    item = next(w for w in rows(ct1) if w.state is State.SCHEDULED)
    ct1.select(item.uid)
    press_start(ct1)
    qtbot.waitUntil(lambda: state_shown(ct2, item.uid) == "IN PROGRESS", timeout=5000)
    ct2.select(item.uid)
    panel = ct2.procedure
    assert not ct2.session.is_mine(item.uid)
    qtbot.waitUntil(lambda: "IN PROGRESS on CT1 (another station)" in panel.headline.text(), timeout=3000)
    assert not panel.complete_button.isEnabled() and not panel.discontinue_button.isEnabled()
    assert not panel.progress_button.isEnabled() and panel.cancel_button.isEnabled()
    activate(qtbot, ct2)  # the technologist at CT2 presses F8 there
    QTest.keyClick(ct2.table, Qt.Key.Key_F8)
    qtbot.wait(300)
    assert stored_state(front, item.uid) == "IN PROGRESS"
    ct1.select(item.uid)
    qtbot.waitUntil(lambda: ct1.procedure.complete_button.isEnabled(), timeout=5000)
    assert "IN PROGRESS on this station (CT1)" in ct1.procedure.headline.text()
    answer_next_dialog(press_enter)
    ct1.procedure.complete_button.click()
    qtbot.waitUntil(lambda: stored_state(front, item.uid) == "COMPLETED", timeout=5000)


def test_another_stations_procedure_shows_that_stations_data_read_only(qtbot, open_console, front):
    window = console(open_console, front, "CT1")
    loaded(qtbot, window)
    live(qtbot, window)
    item = next(w for w in rows(window) if w.state is State.SCHEDULED)
    tx = "1.2.826.0.1.3680043.8.498.77"
    front.service.change_state(item.uid, "IN PROGRESS", tx, "CT9")
    front.service.update(
        item.uid,
        tx,
        PerformedProcedure(
            Code("CT9", "99WLSTATION", "CT9"),
            start="20261123081500",
            technologist="García^Luis",
            series=(OutputSeries("1.2.826.0.1.3680043.8.498.79", "Thorax 1 mm"),),
        ).to_json(),
    )
    front.service.update(item.uid, tx, progress_json(60, "Contrast phase"))
    qtbot.waitUntil(lambda: cell(window, item.uid, "Progress") == "60 %", timeout=5000)
    window.select(item.uid)
    panel = window.procedure
    # a search answer (which carries no performed data) may land between the events: the panel asks again
    qtbot.waitUntil(lambda: "IN PROGRESS on CT9 (another station) — 60 %" in panel.headline.text(), timeout=5000)
    assert panel.form.station_label.text() == "CT9" and panel.technologist.text() == "García, Luis"
    assert panel.percent.value() == 60 and panel.percent_text.text() == "Contrast phase"
    assert not panel.technologist.isEnabled() and not panel.add_series.isEnabled()
    assert panel.series.item(0, 0).text() == "Thorax 1 mm"
    assert panel.form.started.dateTime().toPython().strftime("%H%M") == "0815"


def test_changing_the_station_keeps_my_procedure_in_progress_pinned_and_selected(qtbot, open_console, front):
    window = console(open_console, front, "CT1")
    loaded(qtbot, window)
    item = next(w for w in rows(window) if w.state is State.SCHEDULED)
    window.select(item.uid)
    press_start(window)
    qtbot.waitUntil(lambda: window.procedure.complete_button.isEnabled(), timeout=5000)
    window.query_panel.station.setText("MR1")
    QTest.keyClick(window.query_panel.station, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(w.station_names[0].value == "MR1" for w in rows(window)), timeout=5000)
    assert rows(window)[0].uid == item.uid  # pinned on top, whatever the query
    assert window.selected().uid == item.uid and window.procedure.complete_button.isEnabled()
    assert item.patient_name.display() in window.procedure.headline.text()


def test_the_list_stays_live_when_another_station_is_shown(qtbot, open_console, front):
    window = console(open_console, front, "CT1")
    loaded(qtbot, window)
    live(qtbot, window)
    window.query_panel.station.setText("US1")
    QTest.keyClick(window.query_panel.station, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: rows(window) and all(w.station_names[0].value == "US1" for w in rows(window)), timeout=5000)
    qtbot.waitUntil(lambda: window.live.text() == "● live", timeout=5000)
    other = next(w for w in rows(window) if w.state is State.SCHEDULED)
    front.service.change_state(other.uid, "IN PROGRESS", "1.2.826.0.1.3680043.8.498.78", "US1")
    qtbot.waitUntil(lambda: state_shown(window, other.uid) == "IN PROGRESS", timeout=3000)  # no F5 pressed
    window.query_panel.station.setText("")  # every station
    QTest.keyClick(window.query_panel.station, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len({w.station_names[0].value for w in rows(window)}) > 2, timeout=5000)
    qtbot.waitUntil(lambda: window.live.text() == "● live", timeout=5000)


def test_a_console_whose_ae_title_differs_from_its_station_performs_as_itself(qtbot, open_console, front):
    import json

    window = console(open_console, front, "CT7", station="CT1")  # a second device working CT1's list
    loaded(qtbot, window)
    item = next(w for w in rows(window) if w.state is State.SCHEDULED)
    window.select(item.uid)
    press_start(window)
    qtbot.waitUntil(
        lambda: window.procedure.complete_button.isEnabled() and window.session.workflow.outbox.pending() == 0,
        timeout=5000,
    )
    qtbot.waitUntil(lambda: "IN PROGRESS on this station (CT7)" in window.procedure.headline.text(), timeout=3000)
    assert window.procedure.form.station_label.text() == "CT7"
    station = lambda: json.loads(front.service.retrieve(item.uid))["00741216"]["Value"][0]["00404028"]["Value"][0]  # noqa: E731
    assert station()["00080100"]["Value"] == ["CT7"]
    summary: dict[str, str] = {}
    answer_next_dialog(
        lambda dialog: (summary.update({k: v.text() for k, v in dialog.summary.items()}), press_enter(dialog))
    )
    window.procedure.complete_button.click()
    qtbot.waitUntil(lambda: stored_state(front, item.uid) == "COMPLETED", timeout=5000)
    assert summary["Station"] == "<b>CT7</b>" and station()["00080100"]["Value"] == ["CT7"]


def test_two_consoles_on_one_list_have_titles_that_tell_them_apart(qtbot, open_console, front):
    ct1 = open_console("--backend", "upsrs", "--url", front.base_url, "--ae-title", "CT1")
    ct2 = open_console("--backend", "upsrs", "--url", front.base_url, "--ae-title", "CT2", "--station", "CT1")
    assert ct1.windowTitle() != ct2.windowTitle()
    assert "CT2 — viewing CT1" in ct2.windowTitle()
    assert "CT1" in ct1.windowTitle() and "viewing" not in ct1.windowTitle()
