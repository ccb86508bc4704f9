"""First run: nothing is configured on this workstation yet, so say so and offer the two ways on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QDialog, QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from app.console import profiles as profile_store
from app.console.profiles import ProfileBook

from .settings_dialog import SettingsDialog


class Choice(QPushButton):
    """One of the ways on. Return and Enter press the focused choice, and the focused choice is
    the one drawn as the default, so the highlighted button is always what Return does."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setAutoDefault(True)  # outside a dialog Qt would leave Return to the window, which ignores it
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # macOS gives buttons no Tab focus by default

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        for other in self.window().findChildren(Choice):
            other.setDefault(other is self)


class WelcomeWindow(QWidget):
    """ "Start the demo" or "Configure a server": whichever is pressed opens the console and
    closes this window; `next_window` is the console it opened."""

    def __init__(
        self,
        start_demo: Callable[[], QWidget],
        open_console: Callable[[ProfileBook], QWidget],
        book: ProfileBook,
        config_path: Path,
        problem: str = "",
    ) -> None:
        super().__init__()
        self.setObjectName("welcome")
        self.setWindowTitle("Worklist Console")
        self.setAccessibleName("Welcome to Worklist Console")
        self._start_demo, self._open_console = start_demo, open_console
        self.book, self.config_path = book, config_path
        self.next_window: QWidget | None = None
        self.settings: SettingsDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(12)
        title = QLabel("Welcome to Worklist Console")
        title.setObjectName("welcomeTitle")
        intro = QLabel("No worklist server is configured on this workstation yet.")
        intro.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(intro)
        self.problem = QLabel()
        self.problem.setObjectName("welcomeProblem")
        self.problem.setWordWrap(True)
        self.problem.setVisible(bool(problem))
        if problem:
            intro.setText("The profiles of this workstation could not be read, so none is used.")
            self.problem.setText(
                f"{problem} Saving a new profile keeps that file as {profile_store.backup_path(config_path).name}."
            )
        layout.addWidget(self.problem)
        layout.addSpacing(6)
        self.demo_button = self._choice(
            layout,
            "Start the demo",
            "A realistic day of procedures on a server inside this program. Nothing else "
            "is needed and nothing leaves this computer: for training and trying out.",
        )
        self.configure_button = self._choice(
            layout,
            "Configure a server…",
            "Enter your site's worklist: a UPS-RS server, or the MWL and MPPS peers "
            "of your RIS. Test the connection, then save the profile.",
        )
        self.demo_button.clicked.connect(self.choose_demo)
        self.configure_button.clicked.connect(self.choose_configure)
        self.demo_button.setDefault(True)
        self.demo_button.setFocus()  # the first choice: Return right away starts the demo
        layout.addStretch(1)

    def _choice(self, layout: QVBoxLayout, text: str, explanation: str) -> QPushButton:
        frame = QFrame()
        frame.setObjectName("welcomeChoice")
        inner = QVBoxLayout(frame)
        button = Choice(text)
        button.setAccessibleName(text.rstrip("…"))
        button.setAccessibleDescription(explanation)
        button.setProperty("role", "choice")
        button.setMinimumHeight(40)
        label = QLabel(explanation)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        inner.addWidget(button)
        inner.addWidget(label)
        layout.addWidget(frame)
        return button

    def choose_demo(self) -> None:
        self._go(self._start_demo())

    def choose_configure(self) -> None:
        self.settings = SettingsDialog(self.book, profile_store.check_profile, self)
        self.settings.setWindowModality(Qt.WindowModality.WindowModal)
        self.settings.finished.connect(self._configured)
        self.settings.open()

    def _configured(self, result: int) -> None:
        if result != QDialog.DialogCode.Accepted or not self.book.profiles:
            return  # back to the two choices
        profile_store.save(self.book, self.config_path)
        self._go(self._open_console(self.book))

    def _go(self, window: QWidget) -> None:
        self.next_window = window
        self.close()
        self.deleteLater()
