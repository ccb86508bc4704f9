"""The unscheduled (emergency) patient dialog."""
from __future__ import annotations

from datetime import datetime

from pydicom.uid import generate_uid
from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget,
)

from app.domain.build import NewWorkitem
from app.domain.codes import MODALITY_CODES
from app.domain.workitem import Code, PatientName


class UnscheduledDialog(QDialog):
    """The emergency patient who is not on the worklist: minimal data, then create and start."""

    def __init__(self, station: str, modality: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unscheduled procedure")
        self.station = station
        form = QFormLayout(self)
        self.family = QLineEdit()
        self.family.setPlaceholderText("e.g. UNKNOWN")
        self.given = QLineEdit()
        self.patient_id = QLineEdit()
        self.patient_id.setPlaceholderText("leave empty to generate a temporary ID")
        self.birth = QDateEdit()
        self.birth.setDisplayFormat("yyyy-MM-dd")
        self.birth.setSpecialValueText("unknown")
        self.birth.setMinimumDate(QDate(1900, 1, 1))
        self.birth.setDate(self.birth.minimumDate())
        self.sex = QComboBox()
        self.sex.addItems(["", "F", "M", "O"])
        self.procedure = QLineEdit("Unscheduled procedure")
        self.modality = QComboBox()
        for code in MODALITY_CODES:
            self.modality.addItem(f"{code.value} – {code.meaning}", code.value)
        if modality:
            self.modality.setCurrentIndex(max(0, self.modality.findData(modality)))
        self.urgent = QCheckBox("Urgent (HIGH priority)")
        self.urgent.setChecked(True)
        for label, widget in (("Family name", self.family), ("Given name", self.given), ("Patient ID", self.patient_id),
                              ("Birth date", self.birth), ("Sex", self.sex), ("Procedure", self.procedure),
                              ("Modality", self.modality), ("", self.urgent)):
            form.addRow(label, widget)
        self.error = QLabel()
        self.error.setStyleSheet("color:#b91c1c")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create and start")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        if not self.family.text().strip():
            self.error.setText("Enter at least a family name (UNKNOWN if it is not known).")
            return
        self.accept()

    def workitem(self, now: datetime | None = None) -> NewWorkitem:
        now = now or datetime.now()
        name = f"{self.family.text().strip()}^{self.given.text().strip()}".rstrip("^")
        birth = "" if self.birth.date() == self.birth.minimumDate() else self.birth.date().toString("yyyyMMdd")
        return NewWorkitem(
            uid=generate_uid(), label=self.procedure.text().strip() or "Unscheduled procedure",
            start=now.strftime("%Y%m%d%H%M%S"), patient=PatientName(name),
            patient_id=self.patient_id.text().strip() or f"TMP{now:%y%m%d%H%M%S}", station=self.station,
            modality=self.modality.currentData(), priority="HIGH" if self.urgent.isChecked() else "MEDIUM",
            birth_date=birth, sex=self.sex.currentText(), study_uid=generate_uid(),
            requested_procedure=Code("UNSCHED", "99WLPROC", self.procedure.text().strip() or "Unscheduled procedure"),
            comments="Unscheduled: created at the modality.",
        )
