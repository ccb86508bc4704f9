"""Settings marks the fields a profile's check blames, and says why to screen readers too, until
the field is edited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from app.console.profiles import Profile, ProfileError


class FieldMarks(QDialog):
    """What the Settings dialog marks as wrong, and the check that finds it."""

    _fields: dict[str, list[QWidget]]  # each Profile attribute and the widget(s) that edit it
    test_result: QLabel

    if TYPE_CHECKING:

        def profile(self) -> Profile: ...

    @staticmethod
    def _edited(widget: QWidget) -> SignalInstance:
        if isinstance(widget, QLineEdit):
            return widget.textChanged
        if isinstance(widget, QComboBox):
            return widget.editTextChanged if widget.isEditable() else widget.currentIndexChanged
        if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            return widget.valueChanged
        raise TypeError(f"no edit signal known for {type(widget).__name__}")

    def invalid_widgets(self) -> list[QWidget]:
        return [w for widgets in self._fields.values() for w in widgets if w.property("invalid")]

    def _mark(self, widget: QWidget, why: str) -> None:
        widget.setProperty("invalid", True)
        widget.setAccessibleDescription(why)
        self._repolish(widget)

    def _unmark(self, widget: QWidget, *_: object) -> None:
        if widget.property("invalid"):
            widget.setProperty("invalid", False)
            widget.setAccessibleDescription("")
            self._repolish(widget)

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        # a dynamic property changes the style sheet's match only once the style polishes again
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        widget.update()

    def _fail(self, exc: ProfileError) -> None:
        self.test_result.setText(f"✗ {exc}")
        widgets = self._fields.get(exc.field, [])
        for widget in widgets:
            self._mark(widget, str(exc))
        if widgets:
            widgets[0].setFocus()

    def _checked_profile(self) -> Profile | None:
        """The profile as entered, or None after saying in the dialog what is wrong with it."""
        try:
            return self.profile().check()
        except ProfileError as exc:
            self._fail(exc)
            return None
