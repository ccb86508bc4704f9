"""A date typed as text, with what was understood said beside it as the user types.

A spin-box date editor steps through sections with the keyboard and silently keeps a
section it could not read; typing the whole date and seeing it read back catches a
day-month swap before it is stored.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QLocale, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from app.domain.typed import EXAMPLE, TypedDateError, format_date, parse_typed_date, spoken_date

UNDERSTOOD_STYLE = "color:#475569"
ERROR_STYLE = "color:#b91c1c"
INVALID_EDIT_STYLE = "QLineEdit { border: 2px solid #dc2626; border-radius: 3px; padding: 2px; }"


class DateField(QWidget):
    """A birth date: empty is unknown; `date()` is what was understood, `is_valid()` whether
    the text can be used (empty can)."""

    changed = Signal()

    def __init__(self, name: str = "Birth date", locale: QLocale | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.locale_format = (locale or QLocale()).dateFormat(QLocale.FormatType.ShortFormat)
        self.edit = QLineEdit()
        example = format_date(EXAMPLE, self.locale_format)
        self.edit.setPlaceholderText(f"unknown — or e.g. {EXAMPLE:%Y%m%d} or {example}")
        self.edit.setAccessibleName(name)
        self.understood = QLabel()
        self.understood.setAccessibleName(f"{name} as understood")
        self.understood.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.edit)
        layout.addWidget(self.understood)
        self.setFocusProxy(self.edit)
        self.name = name
        self._date: date | None = None
        self._error = ""
        self._marked = False
        self.edit.textChanged.connect(self._read)
        self._read(self.edit.text())

    def date(self) -> date | None:
        return self._date

    def is_valid(self) -> bool:
        return not self._error

    def error(self) -> str:
        return self._error

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def mark_invalid(self) -> None:
        """Draw the field as refused until its text is a date (the dialog's submit found it wrong)."""
        self._marked = True
        self.edit.setStyleSheet(INVALID_EDIT_STYLE)

    def is_marked(self) -> bool:
        return self._marked

    def _read(self, text: str) -> None:
        # Python's clock, not Qt's: "today" must move with the rest of the program (and its tests)
        try:
            self._date, self._error = parse_typed_date(text, date.today(), self.locale_format), ""
        except TypedDateError as exc:
            self._date, self._error = None, str(exc)
        if self._marked and not self._error:
            self._marked = False
            self.edit.setStyleSheet("")
        if self._error:
            said, style = self._error, ERROR_STYLE
        elif self._date is None:
            said, style = f"{self.name} unknown", UNDERSTOOD_STYLE
        else:
            said, style = spoken_date(self._date), UNDERSTOOD_STYLE
        self.understood.setText(said)
        self.understood.setStyleSheet(style)
        self.edit.setAccessibleDescription(said)
        self.changed.emit()
