"""The mouse wheel scrolls the panel; it changes a value only in the field the keyboard is in.

A spin box, date-time or combo box under the pointer takes the wheel's notches from the
scrolling panel around it: Started moved from 2026 to 2030 while the technologist scrolled,
and the time was sent. Such a field takes the wheel only once it has the focus (a click or
Tab gives it); otherwise the notches go on to the scroll area that holds it, and the wheel
never gives it the focus.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget

VALUE_WIDGETS = (QAbstractSpinBox, QComboBox)


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(parent, VALUE_WIDGETS):
            return parent
        parent = parent.parentWidget()
    return None


class WheelGuard(QObject):
    """One filter for every value field of a panel (`guard`)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        area = _scroll_area(watched)
        if area is not None:
            QApplication.sendEvent(area.viewport(), event)
        else:
            event.ignore()  # a field outside any scroll area: the wheel goes to whatever is beneath
        return True


def guard(root: QWidget) -> WheelGuard:
    """Keep the wheel off every value field inside `root` unless the field has the focus."""
    keeper = WheelGuard(root)
    for widget in root.findChildren(QWidget):
        if isinstance(widget, VALUE_WIDGETS):
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: a wheel never hands it the keyboard
            widget.installEventFilter(keeper)
    return keeper
