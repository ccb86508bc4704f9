"""What was performed: station, technologist, procedure codes, times and output series.

Editable for a procedure this station performs; read-only, with the holder's own data, for
another station's; read-only and marked "for when you start" before Start, since whatever is
typed then would become the record of whoever starts it. Everything typed is a draft the
window keeps in the local store, so a click on another patient, or a restart, loses none of it.
"""

from __future__ import annotations

import re
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.build import STATION_SCHEME
from app.domain.codes import SECONDARY_CAPTURE, STORAGE_CLASSES
from app.domain.draft import ProcedureDraft, SeriesDraft
from app.domain.identifiers import new_uid
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.states import State
from app.domain.typed import typed_person_name
from app.domain.workitem import Code, Workitem

from .procedure_dialogs import CodeDialog
from .qdates import qdatetime, to_datetime

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*\Z")
DT = "%Y%m%d%H%M%S"


def _dt(text: str) -> datetime | None:
    try:
        return datetime.strptime(text[:14], DT) if len(text) >= 14 else None
    except ValueError:
        return None


def _typed_name(pn: str) -> str:
    """A PN as a technologist types it: Becker^Anna → Becker, Anna."""
    family, _, given = pn.partition("^")
    return f"{family}, {given.replace('^', ' ').strip()}" if given.strip("^ ") else family


def _code_text(code: Code) -> str:
    return f"{code.value} ({code.scheme}) {code.meaning}"


class PerformedForm(QGroupBox):
    edited = Signal()  # the technologist changed something: the draft is worth saving

    def __init__(self, station: str) -> None:
        super().__init__("Performed")
        self.station = station
        self.workitem: Workitem | None = None
        self._loading = False
        self._started_edited = False
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 6, 4, 6)  # its width fits the panel beside the list at 960 px
        self.before_start = QLabel("For when you start: what was performed is entered after Start (F6).")
        self.before_start.setObjectName("performedBeforeStart")
        self.before_start.setWordWrap(True)
        self.before_start.setStyleSheet("color:#475569")
        self.before_start.hide()
        self.station_label = QLabel(station)
        self.station_label.setAccessibleName("Performed station")
        self.technologist = QLineEdit()
        self.technologist.setObjectName("performerName")
        self.technologist.setAccessibleName("Technologist")
        self.technologist.setPlaceholderText("Family, Given")
        self.technologist.setToolTip("The technologist who performs it: Family, Given (or Family^Given)")

        self.procedures = QListWidget()
        self.procedures.setAccessibleName("Performed procedure codes")
        self.procedures.setMaximumHeight(64)
        self.add_code = QPushButton("Add code…")
        self.add_code.setAccessibleName("Add a performed procedure code")
        self.remove_code = QPushButton("Remove code")
        self.remove_code.setAccessibleName("Remove the selected procedure code")
        codes = QWidget()
        codes_row = QHBoxLayout(codes)
        codes_row.setContentsMargins(0, 0, 0, 0)
        codes_row.addWidget(self.procedures, 1)
        buttons = QWidget()
        buttons_col = QGridLayout(buttons)
        buttons_col.setContentsMargins(0, 0, 0, 0)
        buttons_col.addWidget(self.add_code, 0, 0)
        buttons_col.addWidget(self.remove_code, 1, 0)
        codes_row.addWidget(buttons)

        self.started = QDateTimeEdit()
        self.started.setAccessibleName("Started")
        self.ended = QDateTimeEdit()
        self.ended.setAccessibleName("Ended")
        for edit in (self.started, self.ended):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
            edit.setCalendarPopup(True)
            edit.setMinimumDateTime(qdatetime(datetime(1900, 1, 1)))
            edit.setSpecialValueText("not known")  # shown at the minimum: nobody reported it
        self.ended_at_completion = QCheckBox("at completion")
        self.ended_at_completion.setAccessibleName("Ended at the moment of completion")
        self.ended_at_completion.setToolTip("The end time is the moment Complete is confirmed; untick to enter it")
        ended = QWidget()
        ended_row = QVBoxLayout(ended)
        ended_row.setContentsMargins(0, 0, 0, 0)
        ended_row.setSpacing(2)
        ended_row.addWidget(self.ended_at_completion)
        ended_row.addWidget(self.ended)

        self.series = QTableWidget(0, 3)
        self.series.setAccessibleName("Output series")
        self.series.setHorizontalHeaderLabels(
            ["Series description", "Series Instance UID", "Instance UIDs (optional, separated by spaces)"]
        )
        self.series.horizontalHeader().setStretchLastSection(True)
        self.series.setColumnWidth(0, 150)
        self.series.setColumnWidth(1, 190)
        self.series.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.series.verticalHeader().setVisible(False)
        self.series.setMinimumHeight(150)  # four series in view, not one
        self.series.setTabKeyNavigation(False)
        self.add_series = QPushButton("Add series")
        self.add_series.setObjectName("addSeriesButton")
        self.add_series.setAccessibleName("Add an output series")
        self.add_series.setToolTip("Add an output series; its Series Instance UID is generated")
        self.remove_series = QPushButton("Remove series")
        self.remove_series.setObjectName("removeSeriesButton")
        self.remove_series.setAccessibleName("Remove the selected output series")
        series_buttons = QWidget()
        series_row = QHBoxLayout(series_buttons)
        series_row.setContentsMargins(0, 0, 0, 0)
        series_row.addWidget(self.add_series)
        series_row.addWidget(self.remove_series)
        series_row.addStretch(1)

        grid.addWidget(self.before_start, 0, 0, 1, 2)
        # narrow enough for the panel beside the list at 960 px (two consoles on one screen): the
        # lists and their buttons take whole rows, their captions above them
        wide = (codes, self.series, series_buttons)
        row = 1  # under the before-start note
        for label, widget in (
            ("Station", self.station_label),
            ("Technologist", self.technologist),
            ("Procedure codes", codes),
            ("Started", self.started),
            ("Ended", ended),
            ("Output series", self.series),
            ("", series_buttons),
        ):
            if widget not in wide:
                grid.addWidget(QLabel(label), row, 0, Qt.AlignmentFlag.AlignTop)
                grid.addWidget(widget, row, 1)
            else:
                if label:
                    grid.addWidget(QLabel(label), row, 0, 1, 2)
                    row += 1
                grid.addWidget(widget, row, 0, 1, 2)
            row += 1
        grid.setColumnStretch(1, 1)

        self.add_code.clicked.connect(self._add_code)
        self.remove_code.clicked.connect(self._remove_code)
        self.add_series.clicked.connect(lambda: self.add_output_series(""))
        self.remove_series.clicked.connect(self._remove_series)
        self.technologist.textEdited.connect(lambda *_: self._edited())
        self.started.dateTimeChanged.connect(lambda *_: self._started_changed())
        self.ended.dateTimeChanged.connect(lambda *_: self._edited())
        self.ended_at_completion.toggled.connect(self._ended_toggled)
        self.series.itemChanged.connect(lambda *_: self._edited())
        self._editable: list[QWidget] = [
            self.technologist,
            self.procedures,
            self.add_code,
            self.remove_code,
            self.started,
            self.ended_at_completion,
            self.series,
            self.add_series,
            self.remove_series,
        ]

    # -- showing ------------------------------------------------------------------------------
    def show_workitem(
        self,
        w: Workitem | None,
        draft: ProcedureDraft | None,
        claimed_at: float | None,
        editable: bool,
        own: bool = False,
    ) -> None:
        """Our own (or a SCHEDULED) procedure: the draft, else what is known — read-only once its
        end waits to be sent; another station's: what that station reported, read-only."""
        self._loading = True
        try:
            self.workitem = w
            self.procedures.clear()
            self.series.setRowCount(0)
            self.technologist.clear()
            self._started_edited = False
            performed = w.performed if w else None
            before_start = w is not None and w.state is State.SCHEDULED and not (editable or own)
            self.before_start.setVisible(before_start)
            self.started.setSpecialValueText("not started yet" if before_start else "not known")
            if w is None:
                self.station_label.setText(self.station)
                self._set_times(None, None, known=False)
            elif editable or own:
                self._show_own(w, draft, claimed_at)
            elif before_start:
                self._show_scheduled(w)
            else:
                self.station_label.setText(performed.station.value if performed and performed.station else "–")
                self.technologist.setText(", ".join(_typed_name(p) for p in performed.performers) if performed else "")
                for code in performed.procedures if performed else ():
                    self._append_code(code)
                if performed:
                    descriptions = performed.series_descriptions or ("",) * len(performed.series_uids)
                    for uid, description in zip(performed.series_uids, descriptions):
                        self._append_series(SeriesDraft(uid, description))
                self._set_times(
                    _dt(performed.start) if performed else None,
                    _dt(performed.end) if performed else None,
                    known=bool(performed and performed.start),
                )
            for widget in self._editable:
                widget.setEnabled(editable and w is not None)
            self.ended.setEnabled(editable and w is not None and not self.ended_at_completion.isChecked())
        finally:
            self._loading = False

    def _show_scheduled(self, w: Workitem) -> None:
        """What a start would begin with — the scheduled technologist and codes — and no time:
        it has not started."""
        self.station_label.setText(self.station)
        performers = w.human_performers
        self.technologist.setText(_typed_name(performers[0]) if performers else "")
        for code in w.workitem_codes:
            self._append_code(code)
        self._set_times(None, None, known=False)

    def _show_own(self, w: Workitem, draft: ProcedureDraft | None, claimed_at: float | None) -> None:
        self.station_label.setText(self.station)
        draft = draft or ProcedureDraft()
        performers = w.human_performers
        self.technologist.setText(draft.technologist or (_typed_name(performers[0]) if performers else ""))
        for code in draft.procedures if draft.procedures is not None else w.workitem_codes:
            self._append_code(code)
        for series in draft.series:
            self._append_series(series)
        performed = w.performed
        # the moment of the claim, kept with it: not "now" read again at every selection
        start = (
            _dt(draft.started)
            or (datetime.fromtimestamp(claimed_at) if claimed_at else None)
            or (_dt(performed.start) if performed else None)
            or datetime.now()
        )
        self._set_times(start, _dt(draft.ended))
        self._started_edited = bool(draft.started)

    def started_at(self, claimed_at: float | None) -> None:
        """The procedure was just started: it started then, unless the technologist said otherwise."""
        if claimed_at and not self._started_edited:
            self._loading = True
            self.started.setDateTime(qdatetime(datetime.fromtimestamp(claimed_at)))
            self._loading = False

    def _set_times(self, start: datetime | None, end: datetime | None, known: bool = True) -> None:
        """`known` False: nothing says when it started (another station's, not reported yet)."""
        self.started.setDateTime(
            qdatetime(start) if start else self.started.minimumDateTime() if not known else qdatetime(datetime.now())
        )
        self.ended_at_completion.setChecked(end is None)
        self.ended.setDateTime(qdatetime(end or datetime.now()))
        self.ended.setVisible(end is not None)

    def _append_code(self, code: Code) -> None:
        item = QListWidgetItem(_code_text(code))
        item.setData(Qt.ItemDataRole.UserRole, code)
        self.procedures.addItem(item)

    def _append_series(self, s: SeriesDraft) -> None:
        row = self.series.rowCount()
        self.series.insertRow(row)
        self.series.setItem(row, 0, QTableWidgetItem(s.description))
        uid_item = QTableWidgetItem(s.series_uid)
        uid_item.setFlags(uid_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        self.series.setItem(row, 1, uid_item)
        self.series.setItem(row, 2, QTableWidgetItem(s.instances))

    # -- editing ------------------------------------------------------------------------------
    def _edited(self) -> None:
        if not self._loading:
            self.edited.emit()

    def _started_changed(self) -> None:
        if not self._loading:
            self._started_edited = True
            self.edited.emit()

    def _ended_toggled(self, at_completion: bool) -> None:
        # while it ends "at completion" no time is shown: a time of the panel's loading would
        # read as an end before the start
        self.ended.setVisible(not at_completion)
        self.ended.setEnabled(not at_completion and self.ended_at_completion.isEnabled())
        if not at_completion and not self._loading:
            self.ended.setDateTime(qdatetime(datetime.now()))
        self._edited()

    def add_output_series(self, description: str, instances: tuple[str, ...] = ()) -> str:
        uid = new_uid()
        self._append_series(
            SeriesDraft(uid, description or f"Series {self.series.rowCount() + 1}", " ".join(instances))
        )
        self.series.setCurrentCell(self.series.rowCount() - 1, 0)
        self._edited()
        return uid

    def _remove_series(self) -> None:
        row = self.series.currentRow()
        if row >= 0:
            self.series.removeRow(row)
            self._edited()

    def _add_code(self) -> None:
        w = self.workitem
        offered = list(dict.fromkeys((w.workitem_codes + w.requested_procedure_codes) if w else []))
        dialog = CodeDialog(offered, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._append_code(dialog.code())
            self._edited()

    def _remove_code(self) -> None:
        row = self.procedures.currentRow()
        if row >= 0:
            self.procedures.takeItem(row)
            self._edited()

    # -- reading ------------------------------------------------------------------------------
    def field(self, name: str) -> QWidget:
        """The field a completion problem names ("technologist", "started", "ended")."""
        if name == "technologist":
            return self.technologist
        if name == "ended" and self.ended.isVisible():
            return self.ended
        return self.started

    def codes(self) -> list[Code]:
        return [self.procedures.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.procedures.count())]

    def _series_drafts(self) -> list[SeriesDraft]:
        out = []
        for row in range(self.series.rowCount()):
            cells = [self.series.item(row, c) for c in range(3)]
            out.append(
                SeriesDraft(
                    cells[1].text() if cells[1] else "",
                    cells[0].text() if cells[0] else "",
                    cells[2].text() if cells[2] else "",
                )
            )
        return out

    def draft(self) -> ProcedureDraft:
        """What is typed here, as the local store keeps it."""
        w = self.workitem
        codes = tuple(self.codes())
        return ProcedureDraft(
            technologist=self.technologist.text().strip(),
            procedures=None if w is not None and list(codes) == w.workitem_codes else codes,
            series=tuple(self._series_drafts()),
            started=to_datetime(self.started.dateTime()).strftime(DT) if self._started_edited else "",
            ended="" if self.ended_at_completion.isChecked() else to_datetime(self.ended.dateTime()).strftime(DT),
        )

    def _instances(self, text: str) -> tuple[tuple[str, str], ...]:
        """(SOP Class, SOP Instance) references typed into a series row; odd text is left out."""
        uids = [u for u in text.replace(",", " ").split() if _UID.match(u) and len(u) <= 64]
        w = self.workitem
        modality = w.station_classes[0].value if w and w.station_classes else ""
        sop_class = STORAGE_CLASSES.get(modality, SECONDARY_CAPTURE)
        return tuple((sop_class, u) for u in uids)

    def performed(self) -> PerformedProcedure:
        w = self.workitem
        codes = self.codes()
        if not codes and w is not None:
            codes = [Code(w.label[:16] or "PROC", "99WLPROC", w.label or "Procedure")]
        end = datetime.now() if self.ended_at_completion.isChecked() else to_datetime(self.ended.dateTime())
        return PerformedProcedure(
            station=Code(self.station, STATION_SCHEME, self.station),
            start=to_datetime(self.started.dateTime()).strftime(DT),
            end=end.strftime(DT),
            procedures=tuple(codes),
            technologist=typed_person_name(self.technologist.text()),
            series=tuple(
                OutputSeries(
                    s.series_uid,
                    s.description,
                    study_uid=w.study_uid if w else "",
                    instances=self._instances(s.instances),
                )
                for s in self._series_drafts()
            ),
        )
