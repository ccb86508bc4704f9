"""The query panel: station, modality, date, patient, accession, state → a WorklistQuery."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.domain.codes import MODALITY_CODES
from app.domain.dates import RELATIVE_CHOICES, TODAY
from app.domain.states import State
from app.domain.worklist_query import NOT_FINISHED, WorklistQuery

from . import wheel
from .qdates import qdate, to_date

RANGE = "Range"
DATES = (*RELATIVE_CHOICES, RANGE)
STATES = {
    "Not finished": NOT_FINISHED,
    "Scheduled": (State.SCHEDULED,),
    "In progress": (State.IN_PROGRESS,),
    "Completed": (State.COMPLETED,),
    "Canceled": (State.CANCELED,),
    "Any state": (),
}


class YieldingCombo(QComboBox):
    """As wide as its longest choice where there is room; narrower (elided) where there is not."""

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), 96), hint.height())


class QueryPanel(QWidget):
    search = Signal(object)  # WorklistQuery

    def __init__(self, station: str, dates: str = TODAY) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.station = QLineEdit(station)
        self.station.setPlaceholderText("any station")
        self.station.setToolTip("Scheduled station (our AE title by default); empty: every station's work")
        self.station.setMaximumWidth(110)
        self.modality = YieldingCombo()
        self.modality.addItem("Any modality", "")
        for code in MODALITY_CODES:
            self.modality.addItem(f"{code.value} – {code.meaning}", code.value)
        self.when = YieldingCombo()
        self.when.addItems(DATES)
        self.when.setCurrentText(dates)
        self.when.setToolTip(
            "Which scheduled dates to list. Today, Tomorrow … move on at midnight by themselves."
            " Today and the next 12 hours, for night shifts: from 00:00 of the day the shift began"
            " (yesterday until noon) to 12 hours ahead"
        )
        self.date_from, self.date_to = QDateEdit(qdate(date.today())), QDateEdit(qdate(date.today()))  # Python's clock
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setVisible(False)
        self.when.currentTextChanged.connect(self._show_range)
        self.patient = QLineEdit()
        self.patient.setPlaceholderText("Patient name (e.g. MÜLLER*)")
        self.patient.setToolTip("Patient name; * and ? are wildcards, case does not matter")
        self.patient_id = QLineEdit()
        self.patient_id.setPlaceholderText("Patient ID")
        self.accession = QLineEdit()
        self.accession.setPlaceholderText("Accession")
        self.state = YieldingCombo()
        self.state.addItems(list(STATES))
        self.button = QPushButton("Search")
        self.button.setToolTip("Search the worklist (Enter in any field)")
        self.button.clicked.connect(self.submit)
        for line in (self.station, self.patient, self.patient_id, self.accession):
            line.returnPressed.connect(self.submit)
        for label, widget in (
            ("Station", self.station),
            ("", self.modality),
            ("Date", self.when),
            ("", self.date_from),
            ("", self.date_to),
            ("", self.patient),
            ("", self.patient_id),
            ("", self.accession),
            ("", self.state),
        ):
            if label:
                layout.addWidget(QLabel(label))
            layout.addWidget(widget)
        layout.addWidget(self.button)
        # every field gives way on a small screen instead of widening the window
        for line in (self.station, self.patient, self.patient_id, self.accession):
            line.setMinimumWidth(48)
        controls: tuple[tuple[QWidget, str, str], ...] = (
            (self.station, "queryStation", "Station"),
            (self.modality, "queryModality", "Modality"),
            (self.when, "queryDate", "Date"),
            (self.date_from, "queryDateFrom", "From date"),
            (self.date_to, "queryDateTo", "To date"),
            (self.patient, "queryPatientName", "Patient name"),
            (self.patient_id, "queryPatientId", "Patient ID"),
            (self.accession, "queryAccession", "Accession number"),
            (self.state, "queryState", "State"),
            (self.button, "searchButton", "Search"),
        )
        for control, name, spoken in controls:
            control.setObjectName(name)
            control.setAccessibleName(spoken)
        # a wheel notch over the Date box changed the list's dates and took the keyboard from it
        self._wheel = wheel.guard(self)

    def _show_range(self, when: str) -> None:
        for edit in (self.date_from, self.date_to):
            edit.setVisible(when == RANGE)

    def query(self) -> WorklistQuery:
        """What the bar asks for; a relative date choice stays relative (the console works it out
        again for every search, so "Today" is still today after midnight)."""
        when = self.when.currentText()
        relative = when if when != RANGE else ""
        first, last = to_date(self.date_from.date()), to_date(self.date_to.date())
        query = WorklistQuery(
            station=self.station.text().strip(),
            modality=self.modality.currentData() or "",
            date_from=first,
            date_to=last,
            patient_name=self.patient.text().strip(),
            patient_id=self.patient_id.text().strip(),
            accession=self.accession.text().strip(),
            states=STATES[self.state.currentText()],
            dates=relative,
        )
        return query.at(datetime.now())

    def include_date(self, day: date) -> None:
        """Widen the dates to take in `day` (Show on an order of another day), keeping the days
        shown now."""
        query = self.query().at(datetime.now())  # "Today" as it is now
        first, last = query.date_from or day, query.date_to or day
        if first <= day <= last:
            return
        self.when.setCurrentText("Range")
        self.date_from.setDate(qdate(min(first, day)))
        self.date_to.setDate(qdate(max(last, day)))

    def submit(self) -> None:
        self.search.emit(self.query())
