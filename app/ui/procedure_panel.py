"""The procedure panel: Start, progress, what was performed, Complete, Discontinue, and
Request cancellation for items another station owns. Buttons enable by state and owner,
so the next action is the one that stands out.
"""
from __future__ import annotations

import re
from datetime import datetime

from pydicom.uid import generate_uid
from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDateTimeEdit, QDialog, QDialogButtonBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QListWidget, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.domain.build import STATION_SCHEME
from app.domain.codes import DISCONTINUATION_REASONS, SECONDARY_CAPTURE, STORAGE_CLASSES
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.states import State
from app.domain.workitem import Code, Workitem


_UID = re.compile(r"^[0-9]+(\.[0-9]+)*\Z")


def _button(text: str, shortcut: str, tip: str, role: str = "") -> QPushButton:
    button = QPushButton(f"{text}  ({shortcut})")
    button.setShortcut(QKeySequence(shortcut))
    button.setToolTip(f"{tip} — {shortcut}")
    if role:
        button.setProperty("role", role)
    return button


def _emphasize(button: QPushButton, on: bool) -> None:
    """The next action stands out; the others stay quiet."""
    button.setProperty("role", "primary" if on else "")
    button.style().unpolish(button)
    button.style().polish(button)


class ReasonDialog(QDialog):
    """Why a procedure stops: a CID 9300 reason and free text."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        form = QFormLayout(self)
        self.reason = QComboBox()
        for code in DISCONTINUATION_REASONS:
            self.reason.addItem(code.meaning, code)
        self.reason.setCurrentIndex(13)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Optional details")
        form.addRow("Reason", self.reason)
        form.addRow("Details", self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def code(self) -> Code:
        return self.reason.currentData()


class ProcedurePanel(QGroupBox):
    start = Signal(object)
    progress = Signal(object, float, str)
    complete = Signal(object, object)  # Workitem, PerformedProcedure
    discontinue = Signal(object, object, str)
    cancel_request = Signal(object, object, str)

    def __init__(self, station: str) -> None:
        super().__init__("Procedure")
        self.station = station
        self.workitem: Workitem | None = None
        self.mine = False
        layout = QVBoxLayout(self)
        self.title = QLabel("No procedure selected.")
        self.title.setWordWrap(True)
        self.title.setObjectName("procedureTitle")
        layout.addWidget(self.title)

        self.start_button = _button("Start", "F6", "Claim this procedure for this station", "primary")
        self.start_button.clicked.connect(lambda: self.workitem and self.start.emit(self.workitem))
        layout.addWidget(self.start_button)

        progress_row = QHBoxLayout()
        self.percent = QSpinBox()
        self.percent.setRange(0, 100)
        self.percent.setSuffix(" %")
        self.percent_text = QLineEdit()
        self.percent_text.setPlaceholderText("What is happening (e.g. contrast phase)")
        self.progress_button = _button("Report progress", "F7", "Send the progress to the worklist server")
        self.progress_button.clicked.connect(self._emit_progress)
        progress_row.addWidget(self.percent)
        progress_row.addWidget(self.percent_text, 1)
        progress_row.addWidget(self.progress_button)
        layout.addLayout(progress_row)

        performed = QGroupBox("Performed")
        grid = QGridLayout(performed)
        self.station_label = QLabel(station)
        self.technologist = QLineEdit()
        self.technologist.setPlaceholderText("Family^Given")
        self.procedures = QListWidget()
        self.procedures.setMaximumHeight(60)
        self.started = QDateTimeEdit()
        self.ended = QDateTimeEdit()
        for edit in (self.started, self.ended):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
            edit.setCalendarPopup(True)
        self.ended_auto = True
        self.ended.dateTimeChanged.connect(lambda *_: setattr(self, "ended_auto", False))
        self.series = QTableWidget(0, 3)
        self.series.setHorizontalHeaderLabels(["Series description", "Series Instance UID",
                                               "Instance UIDs (optional, separated by spaces)"])
        self.series.horizontalHeader().setStretchLastSection(True)
        self.series.setColumnWidth(0, 160)
        self.series.setColumnWidth(1, 260)
        self.series.setMaximumHeight(110)
        self.add_series = QPushButton("Add series")
        self.add_series.setToolTip("Add an output series; its Series Instance UID is generated")
        self.add_series.clicked.connect(lambda: self.add_output_series(""))
        for row, (label, widget) in enumerate((("Station", self.station_label), ("Technologist", self.technologist),
                                               ("Procedure codes", self.procedures), ("Started", self.started),
                                               ("Ended", self.ended), ("Output series", self.series))):
            grid.addWidget(QLabel(label), row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(widget, row, 1)
        grid.addWidget(self.add_series, 6, 1, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(performed)

        finish = QHBoxLayout()
        self.complete_button = _button("Complete", "F8", "Finish: send what was performed and complete", "primary")
        self.complete_button.clicked.connect(self._emit_complete)
        self.discontinue_button = _button("Discontinue", "F9", "Stop this procedure with a reason", "danger")
        self.discontinue_button.clicked.connect(self._emit_discontinue)
        self.cancel_button = _button("Request cancellation", "Shift+F9", "Ask the station that owns it to cancel it")
        self.cancel_button.clicked.connect(self._emit_cancel_request)
        for b in (self.complete_button, self.discontinue_button, self.cancel_button):
            finish.addWidget(b)
        layout.addLayout(finish)
        self.set_workitem(None, False)

    # -- showing a workitem --------------------------------------------------------------------
    def set_workitem(self, w: Workitem | None, mine: bool, claimed_at: float | None = None) -> None:
        changed = w is None or self.workitem is None or w.uid != self.workitem.uid
        self.workitem, self.mine = w, mine
        state = w.state if w else None
        if w is None:
            self.title.setText("No procedure selected.")
        else:
            owner = "this station" if mine else "another station" if state is State.IN_PROGRESS else ""
            self.title.setText(f"<b>{w.label}</b> — {w.patient_name.display()}<br>"
                               f"{state.value if state else ''}{' on ' + owner if owner else ''}")
        if changed:
            self._reset(w, claimed_at)
        active = state is State.IN_PROGRESS and mine
        self.start_button.setEnabled(state is State.SCHEDULED)
        for widget in (self.percent, self.percent_text, self.progress_button):
            widget.setEnabled(active)
        self.complete_button.setEnabled(state is State.SCHEDULED or active)
        _emphasize(self.start_button, state is State.SCHEDULED)
        _emphasize(self.complete_button, active)
        self.discontinue_button.setEnabled(active)
        self.cancel_button.setEnabled(state is State.SCHEDULED or (state is State.IN_PROGRESS and not mine))
        for widget in (self.technologist, self.procedures, self.started, self.ended, self.series, self.add_series):
            widget.setEnabled(state is State.SCHEDULED or active)

    def _reset(self, w: Workitem | None, claimed_at: float | None) -> None:
        self.procedures.clear()
        self.series.setRowCount(0)
        self.percent.setValue(int(w.progress or 0) if w else 0)
        self.percent_text.clear()
        if w is None:
            return
        for code in w.workitem_codes or []:
            self.procedures.addItem(f"{code.value} ({code.scheme}) {code.meaning}")
            self.procedures.item(self.procedures.count() - 1).setData(Qt.ItemDataRole.UserRole, code)
        start = datetime.fromtimestamp(claimed_at) if claimed_at else datetime.now()
        performed = w.performed
        if performed and performed.start:
            try:
                start = datetime.strptime(performed.start[:14], "%Y%m%d%H%M%S")
            except ValueError:
                pass
        self.started.setDateTime(QDateTime(start))
        self.ended.blockSignals(True)
        self.ended.setDateTime(QDateTime.currentDateTime())
        self.ended.blockSignals(False)
        self.ended_auto = True

    def add_output_series(self, description: str, instances: tuple[str, ...] = ()) -> str:
        uid = generate_uid()
        row = self.series.rowCount()
        self.series.insertRow(row)
        self.series.setItem(row, 0, QTableWidgetItem(description or f"Series {row + 1}"))
        uid_item = QTableWidgetItem(uid)
        uid_item.setFlags(uid_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        self.series.setItem(row, 1, uid_item)
        self.series.setItem(row, 2, QTableWidgetItem(" ".join(instances)))
        return uid

    def _instances(self, row: int) -> tuple[tuple[str, str], ...]:
        """(SOP Class, SOP Instance) references typed into a series row; odd text is left out."""
        cell = self.series.item(row, 2)
        uids = [u for u in (cell.text().replace(",", " ").split() if cell else []) if _UID.match(u) and len(u) <= 64]
        modality = self.workitem.station_classes[0].value if self.workitem and self.workitem.station_classes else ""
        sop_class = STORAGE_CLASSES.get(modality, SECONDARY_CAPTURE)
        return tuple((sop_class, u) for u in uids)

    # -- what was performed ---------------------------------------------------------------------
    def performed(self) -> PerformedProcedure:
        w = self.workitem
        codes = [self.procedures.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.procedures.count())]
        if not codes and w is not None:
            codes = [Code(w.label[:16] or "PROC", "99WLPROC", w.label or "Procedure")]
        end = datetime.now() if self.ended_auto else self.ended.dateTime().toPython()
        series = []
        for row in range(self.series.rowCount()):
            description = self.series.item(row, 0).text() if self.series.item(row, 0) else ""
            series.append(OutputSeries(self.series.item(row, 1).text(), description, study_uid=w.study_uid if w else "",
                                       instances=self._instances(row)))
        return PerformedProcedure(
            station=Code(self.station, STATION_SCHEME, self.station),
            start=self.started.dateTime().toPython().strftime("%Y%m%d%H%M%S"),
            end=end.strftime("%Y%m%d%H%M%S"),  # type: ignore[union-attr]
            procedures=tuple(codes),
            technologist=self.technologist.text().strip(),
            series=tuple(series),
        )

    def _emit_progress(self) -> None:
        if self.workitem:
            self.progress.emit(self.workitem, float(self.percent.value()), self.percent_text.text().strip())

    def _emit_complete(self) -> None:
        if self.workitem:
            self.complete.emit(self.workitem, self.performed())

    def _emit_discontinue(self) -> None:
        if self.workitem:
            dialog = ReasonDialog("Discontinue the procedure", self)
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self.discontinue.emit(self.workitem, dialog.code(), dialog.text.text().strip())

    def _emit_cancel_request(self) -> None:
        if self.workitem:
            dialog = ReasonDialog("Request cancellation", self)
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self.cancel_request.emit(self.workitem, dialog.code(), dialog.text.text().strip())
