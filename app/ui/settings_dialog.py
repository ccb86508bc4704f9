"""Settings: the profiles of this workstation, each with Test connection.

A profile names one way to the worklist: UPS-RS (a URL, credentials, TLS) or MWL + MPPS
over DIMSE (two peers, which sites often run on different systems). Only the fields of the
chosen backend are shown; the others are kept as they were.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QListWidget, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from app.backends.errors import BackendError
from app.backends.profiles import AUTH_KINDS, Profile, ProfileBook, ProfileError
from app.backends.protocol import PeerCheck

Tester = Callable[[Profile], Awaitable[list[PeerCheck]]]
BACKEND_LABELS = {"upsrs": "UPS-RS (DICOMweb)", "dimse": "MWL + MPPS (DIMSE)"}
CHARSETS = ("ISO_IR 100", "ISO_IR 192", "ISO_IR 6", "ISO 2022 IR 87", "ISO_IR 101", "ISO_IR 144", "GB18030")


class PeerFields(QWidget):
    """Host, port and called AE title of one DIMSE peer, on one line."""

    def __init__(self, same_as: str = "") -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.host, self.aet = QLineEdit(), QLineEdit()
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setMinimumWidth(80)
        self.host.setMinimumWidth(170)
        self.host.setPlaceholderText(same_as or "host name or IP address")
        self.aet.setPlaceholderText("same" if same_as else "called AE title")
        self.aet.setMaxLength(16)
        self.aet.setMinimumWidth(120)
        if same_as:
            self.port.setSpecialValueText("same")
        for widget, stretch in ((self.host, 3), (QLabel("port"), 0), (self.port, 0), (QLabel("AE"), 0), (self.aet, 1)):
            row.addWidget(widget, stretch)

    def set(self, host: str, port: int, aet: str) -> None:
        self.host.setText(host)
        self.port.setValue(port)
        self.aet.setText(aet)

    def value(self) -> tuple[str, int, str]:
        return self.host.text().strip(), self.port.value(), self.aet.text().strip()


class SettingsDialog(QDialog):
    """Profiles: name, backend, who we are, and how to reach the worklist; Test connection."""

    def __init__(self, book: ProfileBook, tester: Tester | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.book = book
        self.tester = tester
        self._shown = Profile()
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.names = QListWidget()
        self.names.setMaximumWidth(200)
        self.names.addItems([p.name for p in book.profiles])
        add = QPushButton("New profile")
        add.clicked.connect(self._new)
        left.addWidget(self.names)
        left.addWidget(add)
        layout.addLayout(left)
        right = QVBoxLayout()
        layout.addLayout(right, 1)

        general = QFormLayout()
        self.name, self.ae, self.station = QLineEdit(), QLineEdit(), QLineEdit()
        self.ae.setMaxLength(16)
        self.station.setPlaceholderText("same as our AE title")
        self.backend = QComboBox()
        for key, label in BACKEND_LABELS.items():
            self.backend.addItem(label, key)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1, 120)
        self.timeout.setSuffix(" s")
        self.timeout.setToolTip("How long to wait for a connection or an association")
        for label, widget in (("Name", self.name), ("Backend", self.backend), ("Our AE title", self.ae),
                              ("Station", self.station), ("Connection timeout", self.timeout)):
            general.addRow(label, widget)
        right.addLayout(general)

        self.upsrs_box = QGroupBox("UPS-RS server")
        form = QFormLayout(self.upsrs_box)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://ris.example/dicom-web")
        self.auth = QComboBox()
        self.auth.addItems(list(AUTH_KINDS))
        self.username, self.password, self.token, self.ca_file = QLineEdit(), QLineEdit(), QLineEdit(), QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file.setPlaceholderText("empty: the system's trusted certificates")
        self.verify = QCheckBox("Verify the server's certificate")
        self.dcm4chee = QCheckBox("dcm4chee-arc compatibility")
        for label, widget in (("URL", self.url), ("Authentication", self.auth), ("User", self.username),
                              ("Password", self.password), ("Bearer token", self.token), ("CA file", self.ca_file),
                              ("", self.verify), ("", self.dcm4chee)):
            form.addRow(label, widget)
        right.addWidget(self.upsrs_box)

        self.dimse_box = QGroupBox("Worklist (MWL) and procedure step (MPPS) peers")
        form = QFormLayout(self.dimse_box)
        self.mwl = PeerFields()
        self.mpps = PeerFields("same as worklist")
        self.dimse_timeout = QDoubleSpinBox()
        self.dimse_timeout.setRange(1, 600)
        self.dimse_timeout.setSuffix(" s")
        self.dimse_timeout.setToolTip("How long to wait for each DIMSE answer")
        self.poll = QDoubleSpinBox()
        self.poll.setRange(5, 3600)
        self.poll.setSuffix(" s")
        self.poll.setToolTip("DIMSE has no live events: the worklist is queried again at this interval")
        self.charset = QComboBox()
        self.charset.setEditable(True)
        self.charset.addItems(list(CHARSETS))
        self.charset.setToolTip("Used for answers that do not say their Specific Character Set")
        for label, widget in (("Worklist", self.mwl), ("MPPS", self.mpps), ("Answer timeout", self.dimse_timeout),
                              ("Refresh every", self.poll), ("Fallback character set", self.charset)):
            form.addRow(label, widget)
        right.addWidget(self.dimse_box)

        test_row = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self._test)
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        right.addLayout(test_row)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setObjectName("testResult")
        right.addWidget(self.result)
        right.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        right.addWidget(buttons)

        self.backend.currentIndexChanged.connect(self._show_backend)
        self.names.currentTextChanged.connect(self._show)
        if book.profiles:
            active = book.get() or book.profiles[0]
            self.names.setCurrentRow([p.name for p in book.profiles].index(active.name))
        else:
            self._show_profile(Profile(name="New profile", ae_title="", url=""))

    def _show_backend(self) -> None:
        dimse = self.backend.currentData() == "dimse"
        self.dimse_box.setVisible(dimse)
        self.upsrs_box.setVisible(not dimse)
        self.result.clear()

    def _show(self, name: str) -> None:
        profile = self.book.get(name)
        if profile:
            self._show_profile(profile)

    def _show_profile(self, p: Profile) -> None:
        self._shown = p
        self.name.setText(p.name)
        self.backend.setCurrentIndex(max(0, self.backend.findData(p.backend)))
        self.ae.setText(p.ae_title)
        self.station.setText(p.station)
        self.timeout.setValue(p.timeout)
        self.url.setText(p.url)
        self.auth.setCurrentText(p.auth)
        self.username.setText(p.username)
        self.password.setText(p.password)
        self.token.setText(p.token)
        self.ca_file.setText(p.ca_file)
        self.verify.setChecked(p.verify_tls)
        self.dcm4chee.setChecked(p.dcm4chee)
        self.mwl.set(p.mwl_host, p.mwl_port, p.mwl_aet)
        self.mpps.set(p.mpps_host, p.mpps_port, p.mpps_aet)
        self.dimse_timeout.setValue(p.dimse_timeout)
        self.poll.setValue(p.poll_seconds)
        self.charset.setCurrentText(p.fallback_charset)
        self._show_backend()

    def profile(self) -> Profile:
        mwl_host, mwl_port, mwl_aet = self.mwl.value()
        mpps_host, mpps_port, mpps_aet = self.mpps.value()
        return Profile(
            name=self.name.text().strip() or "Unnamed", backend=self.backend.currentData(),
            ae_title=self.ae.text().strip(), station=self.station.text().strip(), timeout=self.timeout.value(),
            url=self.url.text().strip(), auth=self.auth.currentText(), username=self.username.text(),
            password=self.password.text(), token=self.token.text(), ca_file=self.ca_file.text().strip(),
            verify_tls=self.verify.isChecked(), dcm4chee=self.dcm4chee.isChecked(),
            mwl_host=mwl_host, mwl_port=mwl_port, mwl_aet=mwl_aet, mpps_host=mpps_host, mpps_port=mpps_port,
            mpps_aet=mpps_aet, dimse_timeout=self.dimse_timeout.value(), poll_seconds=self.poll.value(),
            fallback_charset=self.charset.currentText().strip() or "ISO_IR 100",
        )

    def _new(self) -> None:
        self.names.clearSelection()
        self._show_profile(Profile(name=f"Profile {len(self.book.profiles) + 1}", ae_title="", url=""))

    def _checked_profile(self) -> Profile | None:
        """The profile as entered, or None after saying in the dialog what is wrong with it."""
        try:
            return self.profile().check()
        except ProfileError as exc:
            self.result.setText(f"✗ {exc}")
            return None

    def _test(self) -> None:
        profile = self._checked_profile()
        if profile is None or self.tester is None:
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
        profile = self._checked_profile()
        if profile is None:
            return
        self.book.put(profile)
        self.book.active = profile.name
        self.accept()
