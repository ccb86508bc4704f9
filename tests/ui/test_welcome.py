"""The first-run window with the keyboard alone: Return takes the focused way on."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from app.backends.profiles import ProfileBook
from app.ui.welcome import WelcomeWindow


class Consoles:
    """Stands in for the consoles the welcome window opens: records which way was taken."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.opened: list[str] = []

    def demo(self) -> QWidget:
        return self._window("demo")

    def site(self, book: ProfileBook) -> QWidget:
        return self._window("site")

    def _window(self, kind: str) -> QWidget:
        self.opened.append(kind)
        window = QWidget()
        self.qtbot.addWidget(window)
        return window


@pytest.fixture()
def consoles(qtbot) -> Consoles:
    return Consoles(qtbot)


@pytest.fixture()
def welcome(qtbot, consoles, tmp_path: Path) -> WelcomeWindow:
    window = WelcomeWindow(consoles.demo, consoles.site, ProfileBook(), tmp_path / "profiles.toml")
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    return window


def press(key: Qt.Key) -> None:
    """A key as the keyboard sends it: to whatever has the focus."""
    QTest.keyClick(QApplication.focusWidget(), key)


def test_focus_starts_on_start_the_demo(welcome):
    assert QApplication.focusWidget() is welcome.demo_button


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter])
def test_return_or_enter_starts_the_demo(welcome, consoles, key):
    press(key)
    assert consoles.opened == ["demo"] and welcome.next_window is not None


def test_tab_then_return_opens_settings(qtbot, welcome, consoles):
    press(Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is welcome.configure_button
    assert welcome.configure_button.isDefault() and not welcome.demo_button.isDefault()  # drawn as what Return does
    press(Qt.Key.Key_Return)
    assert welcome.settings is not None
    qtbot.waitUntil(welcome.settings.isVisible, timeout=3000)
    assert consoles.opened == []
    welcome.settings.reject()  # changed their mind: back to the two choices
    assert welcome.isVisible() and welcome.next_window is None


def test_every_choice_has_an_accessible_name(welcome):
    assert welcome.demo_button.accessibleName() == "Start the demo"
    assert welcome.configure_button.accessibleName() == "Configure a server"
    assert "Nothing else is needed" in welcome.demo_button.accessibleDescription()
