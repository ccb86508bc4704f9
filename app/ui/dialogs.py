"""Small dialogs: the unscheduled (emergency) patient, and the settings with profiles."""
from __future__ import annotations

import asyncio
from datetime import datetime

from pydicom.uid import generate_uid
from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit, QListWidget, QPushButton, QVBoxLayout, QWidget,
)

from app.backends.errors import BackendError
from app.backends.profiles import AUTH_KINDS, BACKENDS, Profile, ProfileBook, ProfileError
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


class SettingsDialog(QDialog):
    """Profiles: name, backend, URL, AE title, station, auth, TLS, compatibility; Test connection."""

    def __init__(self, book: ProfileBook, tester=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.book = book
        self.tester = tester  # async (Profile) -> list[PeerCheck], one per configured peer
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.names = QListWidget()
        self.names.addItems([p.name for p in book.profiles])
        add = QPushButton("New profile")
        add.clicked.connect(self._new)
        left.addWidget(self.names)
        left.addWidget(add)
        layout.addLayout(left)
        form = QFormLayout()
        self.name, self.url, self.ae, self.station = QLineEdit(), QLineEdit(), QLineEdit(), QLineEdit()
        self.backend = QComboBox()
        self.backend.addItems(list(BACKENDS))
        self.auth = QComboBox()
        self.auth.addItems(list(AUTH_KINDS))
        self.username, self.password, self.token, self.ca_file = QLineEdit(), QLineEdit(), QLineEdit(), QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.verify = QCheckBox("Verify the server's certificate")
        self.dcm4chee = QCheckBox("dcm4chee-arc compatibility")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1, 120)
        self.timeout.setSuffix(" s")
        for label, widget in (("Name", self.name), ("Backend", self.backend), ("UPS-RS URL", self.url),
                              ("Our AE title", self.ae), ("Station", self.station), ("Authentication", self.auth),
                              ("User", self.username), ("Password", self.password), ("Bearer token", self.token),
                              ("CA file", self.ca_file), ("", self.verify), ("", self.dcm4chee), ("Timeout", self.timeout)):
            form.addRow(label, widget)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self._test)
        self.result = QLabel()
        self.result.setWordWrap(True)
        form.addRow(self.test_button, self.result)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        layout.addLayout(form, 1)
        self.names.currentTextChanged.connect(self._show)
        if book.profiles:
            active = book.get() or book.profiles[0]
            self.names.setCurrentRow([p.name for p in book.profiles].index(active.name))
        else:
            self._show_profile(Profile(name="New profile"))

    def _show(self, name: str) -> None:
        profile = self.book.get(name)
        if profile:
            self._show_profile(profile)

    def _show_profile(self, p: Profile) -> None:
        self.name.setText(p.name)
        self.backend.setCurrentText(p.backend)
        self.url.setText(p.url)
        self.ae.setText(p.ae_title)
        self.station.setText(p.station)
        self.auth.setCurrentText(p.auth)
        self.username.setText(p.username)
        self.password.setText(p.password)
        self.token.setText(p.token)
        self.ca_file.setText(p.ca_file)
        self.verify.setChecked(p.verify_tls)
        self.dcm4chee.setChecked(p.dcm4chee)
        self.timeout.setValue(p.timeout)
        self.result.clear()

    def profile(self) -> Profile:
        return Profile(
            name=self.name.text().strip() or "Unnamed", backend=self.backend.currentText(), url=self.url.text().strip(),
            ae_title=self.ae.text().strip(), station=self.station.text().strip(), auth=self.auth.currentText(),
            username=self.username.text(), password=self.password.text(), token=self.token.text(),
            ca_file=self.ca_file.text().strip(), verify_tls=self.verify.isChecked(), dcm4chee=self.dcm4chee.isChecked(),
            timeout=self.timeout.value(),
        )

    def _new(self) -> None:
        self.names.clearSelection()
        self._show_profile(Profile(name=f"Profile {len(self.book.profiles) + 1}"))

    def _test(self) -> None:
        try:
            profile = self.profile().check()
        except ProfileError as exc:
            self.result.setText(f"✗ {exc}")
            return
        self.result.setText("Testing…")
        self.test_button.setEnabled(False)

        async def run() -> None:
            try:
                checks = await self.tester(profile)
                self.result.setText("\n".join(check.line() for check in checks))
            except BackendError as exc:
                self.result.setText(f"✗ {exc.sentence}")
            finally:
                self.test_button.setEnabled(True)

        self._test_task = asyncio.ensure_future(run())

    def _save(self) -> None:
        try:
            profile = self.profile().check()
        except ProfileError as exc:
            self.result.setText(f"✗ {exc}")
            return
        self.book.put(profile)
        self.book.active = profile.name
        self.accept()
