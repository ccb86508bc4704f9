"""The unscheduled patient dialog (Ctrl+N) as a technologist meets it at a CT station, keyboard first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import time_machine
from PySide6.QtCore import QLocale, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QDialog, QLineEdit, QPushButton, QWidget

from app.ui.date_field import DateField
from app.ui.dialogs import UnscheduledDialog

NOW = datetime(2026, 5, 14, 9, 30)


@pytest.fixture(autouse=True)
def british_locale() -> Iterator[None]:
    """The locale's short date format is part of what is tested: pin it (dd/MM/yyyy)."""
    before = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))
    yield
    QLocale.setDefault(before)


@pytest.fixture()
def on_may_14() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def shown(qtbot, station: str = "CT1", modality: str = "CT") -> UnscheduledDialog:
    dialog = UnscheduledDialog(station, modality)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.family, timeout=3000)
    return dialog


def press(key: Qt.Key) -> None:
    """A key as the keyboard sends it: to whatever has the focus."""
    QTest.keyClick(QApplication.focusWidget(), key)


def type_(text: str) -> None:
    QTest.keyClicks(QApplication.focusWidget(), text)


def test_the_modality_is_the_stations_own(qtbot):
    dialog = shown(qtbot, "CT1", "CT")
    assert dialog.modality.currentData() == "CT" and dialog.modality.currentText().startswith("CT")


def test_without_a_station_modality_none_is_guessed_and_one_must_be_chosen(qtbot):
    dialog = shown(qtbot, "ROOM7", "")
    assert dialog.modality.currentIndex() == -1 and dialog.modality.currentData() is None
    type_("UNKNOWN")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.error.text() == "Choose the modality of the procedure."
    assert QApplication.focusWidget() is dialog.modality


def test_a_modality_outside_the_short_list_is_still_offered(qtbot):
    dialog = shown(qtbot, "OT1", "OT")
    assert dialog.modality.currentData() == "OT"


def test_the_dialog_says_which_station_it_creates_the_procedure_for(qtbot):
    dialog = shown(qtbot, "CT1", "CT")
    assert "CT1" in dialog.windowTitle() and "station <b>CT1</b>" in dialog.intro.text()


def test_tab_walks_the_fields_in_reading_order(qtbot):
    dialog = shown(qtbot)
    seen = [QApplication.focusWidget()]
    for _ in range(8):
        press(Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == [
        dialog.family,
        dialog.given,
        dialog.patient_id,
        dialog.birth.edit,
        dialog.sex,
        dialog.procedure,
        dialog.modality,
        dialog.urgent,
        dialog.create_button,
    ]


def test_keyboard_only_return_moves_on_and_return_on_the_last_field_creates(qtbot, on_may_14):
    dialog = shown(qtbot)
    type_("Becker")
    press(Qt.Key.Key_Return)  # not a half-typed patient: on to the next field
    assert dialog.isVisible() and QApplication.focusWidget() is dialog.given
    type_("Anna")
    press(Qt.Key.Key_Return)
    type_("PID-77")
    press(Qt.Key.Key_Return)
    type_("12/04/1965")
    assert dialog.birth.understood.text() == "12 April 1965"
    press(Qt.Key.Key_Return)
    assert QApplication.focusWidget() is dialog.sex
    press(Qt.Key.Key_F)
    press(Qt.Key.Key_Return)
    assert QApplication.focusWidget() is dialog.procedure
    press(Qt.Key.Key_Return)
    press(Qt.Key.Key_Return)
    assert QApplication.focusWidget() is dialog.urgent and dialog.isVisible()
    press(Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted and not dialog.isVisible()
    item = dialog.workitem(NOW)
    assert (
        item.patient.alphabetic,
        item.patient_id,
        item.birth_date,
        item.sex,
        item.modality,
        item.priority,
        item.station,
    ) == ("Becker^Anna", "PID-77", "19650412", "F", "CT", "HIGH", "CT1")


@pytest.mark.parametrize("typed", ["19650412", "1965-04-12", "12/04/1965", "12.04.1965"])
def test_the_birth_date_is_typed_into_an_empty_field_and_read_back(qtbot, on_may_14, typed):
    dialog = shown(qtbot)
    assert dialog.birth.text() == "" and dialog.birth.understood.text() == "Birth date unknown"
    dialog.birth.setFocus()
    type_(typed)
    assert dialog.birth.understood.text() == "12 April 1965" and dialog.birth.is_valid()
    dialog.family.setText("Becker")
    assert dialog.workitem(NOW).birth_date == "19650412"


def test_an_unknown_birth_date_stays_empty(qtbot):
    dialog = shown(qtbot)
    type_("UNKNOWN")
    assert dialog.workitem(NOW).birth_date == ""


def test_a_day_and_month_are_never_swapped_silently(qtbot, on_may_14):
    dialog = shown(qtbot)
    dialog.birth.setFocus()
    type_("04/12/1965")  # British order: 4 December
    assert dialog.birth.understood.text() == "4 December 1965"


def test_an_impossible_birth_date_is_said_in_red_while_typing(qtbot, on_may_14):
    dialog = shown(qtbot)
    dialog.birth.setFocus()
    type_("31.02.1965")
    assert dialog.birth.understood.text() == "31.02.1965 is not a date." and not dialog.birth.is_valid()
    assert "b91c1c" in dialog.birth.understood.styleSheet()


def test_create_and_start_refuses_an_invalid_birth_date_and_points_at_it(qtbot, on_may_14):
    dialog = shown(qtbot)
    type_("Becker")
    dialog.birth.setFocus()
    type_("15/05/2026")
    dialog.urgent.setFocus()
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.birth.understood.text() == "A birth date cannot be in the future."
    assert dialog.error.text() == "Correct the birth date, or leave it empty if it is not known."
    assert dialog.birth.is_marked() and QApplication.focusWidget() is dialog.birth.edit
    QTest.keyClick(dialog.birth.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    type_("14/05/2026")  # born today
    assert not dialog.birth.is_marked() and dialog.error.text() == ""
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.workitem(NOW).birth_date == "20260514"


def test_today_is_pythons_today(qtbot):
    with time_machine.travel(datetime(2031, 1, 2, 8), tick=False):
        field = DateField()
        qtbot.addWidget(field)
        field.setText("01/01/2031")  # in the future on any real clock before 2031
        assert field.is_valid() and field.date().isoformat() == "2031-01-01"


def test_the_family_name_typed_as_family_comma_given_is_the_whole_name(qtbot):
    dialog = shown(qtbot)
    type_("Becker, Anna")
    assert dialog.workitem(NOW).patient.alphabetic == "Becker^Anna"


def test_the_us_short_format_is_read_month_first(qtbot, on_may_14):
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    field = DateField()
    qtbot.addWidget(field)
    QTest.keyClicks(field.edit, "4/12/65")
    assert field.understood.text() == "12 April 1965"
    assert "4/12/65" in field.edit.placeholderText()


def test_every_control_has_an_accessible_name(qtbot):
    dialog = shown(qtbot)
    controls = [w for w in dialog.findChildren(QWidget) if w.isVisible() and w.focusPolicy() != Qt.FocusPolicy.NoFocus]
    assert {type(w) for w in controls} >= {QLineEdit, QComboBox, QCheckBox, QPushButton} and len(controls) >= 10
    assert [w for w in controls if not w.accessibleName()] == []
    assert dialog.birth.edit.accessibleName() == "Birth date"


def test_details_show_the_birth_date_as_the_list_does(qtbot, on_may_14):
    from app.domain.workitem import Workitem
    from app.ui.detail_pane import DetailPane

    dialog = shown(qtbot)
    type_("Becker")
    dialog.birth.setText("19650412")
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.show_workitem(Workitem(dialog.workitem(NOW).to_json()))
    assert "\nBorn\n1965-04-12\n" in pane.summary.toPlainText()
    assert "19650412" not in pane.summary.toPlainText()
