"""Nothing typed or queued is lost: drafts survive a click elsewhere and a restart, quitting
asks when work is in progress or waiting, and what waits under another profile is said."""

from __future__ import annotations

from conftest import answer_next_dialog, press_enter, press_escape
from console_helpers import loaded, rows, start_selected
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.backends import profiles as profile_store
from app.backends.claim_store import ClaimStore, owner_key
from app.backends.profiles import Profile, ProfileBook


def type_into(widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    QTest.keyClicks(widget, text)


TYPED_TECHNOLOGIST = "Quispe, Rosa"  # a name the demo never schedules, so no other item shows it


def test_what_was_typed_survives_another_selection_and_a_restart(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    panel = window.procedure
    type_into(panel.technologist, TYPED_TECHNOLOGIST)
    type_into(panel.percent_text, "Contrast phase")
    panel.percent.setValue(35)
    qtbot.mouseClick(panel.add_series, Qt.MouseButton.LeftButton)
    series_uid = panel.series.item(0, 1).text()
    other = next(w for w in rows(window) if w.uid != item.uid)
    window.select(other.uid)
    assert panel.technologist.text() != TYPED_TECHNOLOGIST
    window.select(item.uid)
    assert panel.technologist.text() == TYPED_TECHNOLOGIST and panel.percent_text.text() == "Contrast phase"
    assert panel.percent.value() == 35 and panel.series.rowCount() == 1 and panel.series.item(0, 1).text() == series_uid
    window.close_without_asking()
    window.demo.stop()
    again = open_console("demo")  # the same data folder: the local store kept the draft
    loaded(qtbot, again)
    again.select(item.uid)
    qtbot.waitUntil(lambda: again.procedure.technologist.text() == TYPED_TECHNOLOGIST, timeout=5000)
    assert again.procedure.series.item(0, 1).text() == series_uid
    assert again.procedure.percent_text.text() == "Contrast phase"


def test_the_technologist_is_the_scheduled_one_and_family_comma_given_is_sent_as_a_person_name(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    assigned = next((w for w in rows(window) if w.human_performers), None)
    if assigned is not None:  # the demo day of today may assign nobody on CT1
        window.select(assigned.uid)
        family, _, given = assigned.human_performers[0].partition("^")
        assert window.procedure.technologist.text() == f"{family}, {given}"
    window.select(rows(window)[0].uid)
    item = start_selected(qtbot, window)
    type_into(window.procedure.technologist, "Tanaka, Yui")
    answer_next_dialog(press_enter)
    window.procedure.complete_button.click()
    qtbot.waitUntil(lambda: '"COMPLETED"' in window.demo.server.service.retrieve(item.uid), timeout=5000)
    assert '"Alphabetic": "Tanaka^Yui"' in window.demo.server.service.retrieve(item.uid).replace('":"', '": "')


def test_quit_asks_listing_the_procedure_in_progress_and_enter_keeps_working(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window, sent=True)
    texts: list[str] = []
    answer_next_dialog(lambda box: (texts.append(box.text()), press_enter(box)))
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(texts), timeout=3000)
    assert "In progress on this station" in texts[0] and item.patient_name.display() in texts[0]
    assert "offered for resuming" in texts[0] and "Waiting to be sent" not in texts[0]  # nothing waits
    assert window.isVisible()  # Enter kept the console open
    answer_next_dialog(press_escape)
    window.quit_action.trigger()
    assert window.isVisible()
    answer_next_dialog(lambda box: next(b for b in box.buttons() if b.text() == "Quit").click())
    window.quit_action.trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)


def test_closing_the_second_consoles_window_asks_too(qtbot, open_console):
    first = open_console("demo")
    loaded(qtbot, first)
    second = first.demo.open_second_console(first)
    loaded(qtbot, second)
    start_selected(qtbot, second)
    asked: list[str] = []
    answer_next_dialog(lambda box: (asked.append(box.text()), press_escape(box)))
    second.close()
    assert asked and second.isVisible()


def test_reports_waiting_under_another_profile_are_counted_and_offered(qtbot, open_console, front, tmp_path):
    config = tmp_path / "profiles.toml"
    away = Profile(name="Old RIS", url="http://127.0.0.1:9/dicom-web", ae_title="CT1")
    here = Profile(name="Site RIS", url=front.base_url, ae_title="CT1")
    profile_store.save(ProfileBook([away, here], active="Site RIS"), config)
    store = ClaimStore(tmp_path / "console.db", owner_key(away), away.name, "CT1 at http://127.0.0.1:9/dicom-web")
    store.add_claim("1.2.826.0.1.3680043.8.498.5", "1.2.826.0.1.3680043.8.498.6", "Weiß, Günther", "CT chest")
    store.close()
    window = open_console("--config", str(config))
    loaded(qtbot, window)
    assert window.session.profile.name == "Site RIS"
    qtbot.waitUntil(lambda: "1 waiting for profile 'Old RIS'" in window.status_pending.text(), timeout=3000)
    offer = window.messages.get("elsewhere")
    assert offer is not None and "Old RIS" in offer.text.text() and offer.action.text() == "Open Old RIS"
    before = config.read_bytes()
    offer.action.click()  # nothing in progress here: the switch asks nothing
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
    assert config.read_bytes() == before  # opening a profile does not make it the start-up one


def test_the_demo_shows_only_its_profile_and_leaves_the_site_profiles_alone(qtbot, open_console, tmp_path):
    config = tmp_path / "profiles.toml"
    profile_store.save(
        ProfileBook([Profile(name="Site RIS", url="http://ris.example/dicom-web", ae_title="CT1")], active="Site RIS"),
        config,
    )
    before = config.read_bytes()
    window = open_console("--config", str(config), "demo")
    loaded(qtbot, window)
    names = [window.profile_box.itemText(i) for i in range(window.profile_box.count())]
    assert names == ["Demo CT1"] and window.session.profile.url.startswith("http://127.0.0.1:")
    window.close_without_asking()
    assert config.read_bytes() == before
