"""The unscheduled (emergency) patient dialog."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from app.domain.build import MODALITIES, NewWorkitem
from app.domain.codes import MODALITY_CODES
from app.domain.identifiers import new_uid
from app.domain.typed import typed_person_name
from app.domain.workitem import Code, PatientName

from .date_field import DateField

SEXES = (("unknown", ""), ("F – female", "F"), ("M – male", "M"), ("O – other", "O"))


class UnscheduledDialog(QDialog):
    """The emergency patient who is not on the worklist: minimal data, then create and start.

    Made for the keyboard: Tab walks the fields in reading order, Return moves to the next
    field, and Return on the last field (or on the button) creates and starts.
    """

    def __init__(self, station: str, modality: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Unscheduled procedure on {station}")
        self.station = station
        form = QFormLayout(self)
        self.intro = QLabel(
            f"Creates a procedure for a patient who is not on the worklist, on station <b>{station}</b>, and starts it."
        )
        self.intro.setWordWrap(True)
        form.addRow(self.intro)
        self.family = QLineEdit()
        self.family.setPlaceholderText("e.g. UNKNOWN")
        self.given = QLineEdit()
        self.patient_id = QLineEdit()
        self.patient_id.setPlaceholderText("leave empty to generate a temporary ID")
        self.birth = DateField("Birth date")
        self.sex = QComboBox()
        for text, value in SEXES:
            self.sex.addItem(text, value)
        self.procedure = QLineEdit("Unscheduled procedure")
        self.modality = QComboBox()
        for code in MODALITY_CODES:
            self.modality.addItem(f"{code.value} – {code.meaning}", code.value)
        if modality and self.modality.findData(modality) < 0:  # a station of a modality outside CID 29's short list
            self.modality.addItem(f"{modality} – {MODALITIES.get(modality, 'this station')}", modality)
        self.modality.setPlaceholderText("choose the modality")
        self.modality.setCurrentIndex(self.modality.findData(modality) if modality else -1)
        self.urgent = QCheckBox("Urgent (HIGH priority)")
        self.urgent.setChecked(True)
        self.fields: tuple[QWidget, ...] = (
            self.family,
            self.given,
            self.patient_id,
            self.birth,
            self.sex,
            self.procedure,
            self.modality,
            self.urgent,
        )
        for label, widget in (
            ("Family name", self.family),
            ("Given name", self.given),
            ("Patient ID", self.patient_id),
            ("Birth date", self.birth),
            ("Sex", self.sex),
            ("Procedure", self.procedure),
            ("Modality", self.modality),
            ("", self.urgent),
        ):
            form.addRow(label, widget)
            if label:
                widget.setAccessibleName(label)
                caption = form.labelForField(widget)
                if isinstance(caption, QLabel):
                    caption.setBuddy(widget.focusProxy() or widget)
        self.urgent.setAccessibleName("Urgent, HIGH priority")
        self.error = QLabel()
        self.error.setStyleSheet("color:#b91c1c")
        self.error.setAccessibleName("Problem")
        self.error.setWordWrap(True)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.create_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create and start")
        self.create_button.setAccessibleName("Create and start")
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(480)
        self._blamed: QWidget | None = None
        self.family.textChanged.connect(lambda: self._edited(self.family))
        self.birth.changed.connect(lambda: self._edited(self.birth))
        self.modality.currentIndexChanged.connect(lambda: self._edited(self.modality))
        chain = [*(f.focusProxy() or f for f in self.fields), self.create_button, self.cancel_button]
        for before, after in zip(chain, chain[1:]):
            QWidget.setTabOrder(before, after)
        self.family.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Return in a field goes to the next one, so a half-typed patient is never created by a
        # reflex; on the last field (and on a button) it does what the dialog is for.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._field_of(self.focusWidget()) not in (
            None,
            self.urgent,
        ):
            self.focusNextChild()
            event.accept()
            return
        super().keyPressEvent(event)

    def _field_of(self, widget: QWidget | None) -> QWidget | None:
        for field in self.fields:
            if widget is not None and (widget is field or field.isAncestorOf(widget)):
                return field
        return None

    def _accept(self) -> None:
        problem: tuple[str, QWidget] | None = None
        if not self.family.text().strip():
            problem = "Enter at least a family name (UNKNOWN if it is not known).", self.family
        elif not self.birth.is_valid():
            self.birth.mark_invalid()
            problem = "Correct the birth date, or leave it empty if it is not known.", self.birth
        elif not self.modality.currentData():
            problem = "Choose the modality of the procedure.", self.modality
        if problem:
            self.error.setText(problem[0])
            self._blamed = problem[1]
            problem[1].setFocus()
            return
        self.error.clear()
        self.accept()

    def _edited(self, field: QWidget) -> None:
        if field is self._blamed:  # the problem said is being corrected: stop saying it
            self._blamed = None
            self.error.clear()

    def workitem(self, now: datetime | None = None) -> NewWorkitem:
        now = now or datetime.now()
        family, given = self.family.text(), self.given.text().strip()
        # "Becker, Anna" typed as the family name is the whole name
        name = f"{family.strip()}^{given}".rstrip("^") if given else typed_person_name(family)
        born = self.birth.date()
        return NewWorkitem(
            uid=new_uid(),
            label=self.procedure.text().strip() or "Unscheduled procedure",
            start=now.strftime("%Y%m%d%H%M%S"),
            patient=PatientName(name),
            patient_id=self.patient_id.text().strip() or f"TMP{now:%y%m%d%H%M%S}",
            station=self.station,
            modality=self.modality.currentData() or "",
            priority="HIGH" if self.urgent.isChecked() else "MEDIUM",
            birth_date=f"{born.year:04d}{born.month:02d}{born.day:02d}" if born else "",
            sex=self.sex.currentData(),
            study_uid=new_uid(),
            requested_procedure=Code("UNSCHED", "99WLPROC", self.procedure.text().strip() or "Unscheduled procedure"),
            comments="Unscheduled: created at the modality.",
        )
