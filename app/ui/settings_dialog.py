"""Settings: the profiles of this workstation, each with Test connection.

A profile names one way to the worklist: UPS-RS (a URL, credentials, TLS), MWL + MPPS
over DIMSE (two peers, which sites often run on different systems, and a user sent as a DICOM
User Identity), or MWL + MPPS over DICOMweb (Supplement 246: a URL like UPS-RS, polled like
DIMSE). Only the fields of the chosen backend are shown; the others are kept as they were.

The dialog edits a copy of the book: New, Duplicate and Delete show at once in the list, and
Save hands the whole copy back, so Cancel undoes a deletion too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.console import BackendError, PeerCheck
from app.console.profiles import Profile, ProfileBook, ProfileError
from app.domain.codes import MODALITY_CODES
from app.domain.dates import RELATIVE_CHOICES

from .settings_marks import FieldMarks
from .settings_pages import BackendPages
from .settings_widgets import BACKEND_LABELS, CONNECT_HINT, FAILED_STYLE, FROM_STATION, OPENING_DATES_HINT, hint, named

Tester = Callable[[Profile], Awaitable[list[PeerCheck]]]


class SettingsDialog(BackendPages, FieldMarks):
    """Profiles: name, backend, who we are, and how to reach the worklist; Test connection."""

    confirming = Signal(QMessageBox)  # a question is about to be asked (tests answer it with its real buttons)

    def __init__(self, book: ProfileBook, tester: Tester | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.book = book
        self.tester = tester
        self._working = ProfileBook(list(book.profiles), book.active)
        self._shown_name = ""  # the name the shown profile has in the book; "" while it is new
        self._staff: list[str] = []  # the shown profile's staff list: edited in the file, kept here
        layout = QHBoxLayout(self)
        layout.addLayout(self._profile_list())
        right = QVBoxLayout()
        layout.addLayout(right, 1)
        right.addLayout(self._general_form())
        self.upsrs_box = self._upsrs_box()
        self.dimse_box = self._dimse_box()
        # one page per backend in a stack, so the dialog keeps its size when the backend changes
        self.pages = QStackedWidget()
        self.pages.addWidget(self.upsrs_box)
        self.pages.addWidget(self.dimse_box)
        right.addWidget(self.pages)

        test_row = QHBoxLayout()
        self.test_button = named(QPushButton("Test connection"), "Test connection")
        self.test_button.clicked.connect(self._test)
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        right.addLayout(test_row)
        self.test_result = named(QLabel(), "Test result")
        self.test_result.setWordWrap(True)
        self.test_result.setObjectName("testResult")
        right.addWidget(self.test_result)
        right.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        named(buttons.button(QDialogButtonBox.StandardButton.Save), "Save")
        named(buttons.button(QDialogButtonBox.StandardButton.Cancel), "Cancel")
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        right.addWidget(buttons)

        self._fields = self._field_widgets()
        for widgets in self._fields.values():
            for widget in widgets:
                self._edited(widget).connect(partial(self._unmark, widget))
        self.backend.currentIndexChanged.connect(self._show_backend)
        self.auth.currentIndexChanged.connect(self._show_auth)
        self.ae.textChanged.connect(self._show_station_modality)
        self.station.textChanged.connect(self._show_station_modality)
        self.names.currentTextChanged.connect(self._show)
        if book.profiles:
            self._refresh_names((book.get() or book.profiles[0]).name)
        else:
            self._show_profile(Profile(name="New profile", ae_title="", url=""))

    # -- building ------------------------------------------------------------------------------------
    def _profile_list(self) -> QVBoxLayout:
        left = QVBoxLayout()
        self.names = named(QListWidget(), "Profiles")
        self.names.setMaximumWidth(200)
        left.addWidget(self.names)
        self.new_button = self._profile_button("new", "New profile", "New profile", "An empty profile to fill in")
        self.new_button.clicked.connect(self._new)
        self.duplicate_button = self._profile_button(
            "duplicate", "Duplicate", "Duplicate profile", "A copy of this profile, to change what differs"
        )
        self.duplicate_button.clicked.connect(self._duplicate)
        self.delete_button = self._profile_button(
            "delete", "Delete…", "Delete profile", "Remove this profile from this workstation (asks first)"
        )
        self.delete_button.clicked.connect(self._delete)
        for button in (self.new_button, self.duplicate_button, self.delete_button):
            left.addWidget(button)
        self.delete_button.setProperty("role", "danger")
        return left

    @staticmethod
    def _profile_button(role: str, text: str, name: str, tip: str) -> QPushButton:
        button = named(QPushButton(text), name)
        button.setObjectName(f"{role}ProfileButton")
        button.setToolTip(tip)
        return button

    def _general_form(self) -> QFormLayout:
        general = QFormLayout()
        self.name = named(QLineEdit(), "Profile name")
        self.ae = named(QLineEdit(), "Our AE title")
        self.station = named(QLineEdit(), "Station")
        self.ae.setMaxLength(16)
        self.station.setPlaceholderText("same as our AE title")
        self.backend = named(QComboBox(), "Backend")
        for key, label in BACKEND_LABELS.items():
            self.backend.addItem(label, key)
        self.modality = named(QComboBox(), "Modality", "The modality offered first for an unscheduled patient")
        self.modality.addItem(FROM_STATION, "")
        for code in MODALITY_CODES:
            self.modality.addItem(f"{code.value} — {code.meaning}", code.value)
        self.opening_dates = named(QComboBox(), "Dates on opening", OPENING_DATES_HINT)
        self.opening_dates.setObjectName("openingDates")
        self.opening_dates.addItems(RELATIVE_CHOICES)
        self.opening_dates.setToolTip(OPENING_DATES_HINT)
        self.timeout = named(QDoubleSpinBox(), "Connection timeout", CONNECT_HINT)
        self.timeout.setRange(1, 120)
        self.timeout.setSuffix(" s")
        self.timeout_hint = hint(CONNECT_HINT)
        self.startup = named(QCheckBox("Open this profile at start-up"), "Open this profile at start-up")
        self.startup.setObjectName("startupCheck")
        self.confirm_start = named(
            QCheckBox("Ask before Start (F6): name, birth date and patient ID"),
            "Ask before Start",
            "Start shows the patient's name, birth date and ID first; Enter starts, Esc goes back",
        )
        self.confirm_start.setObjectName("confirmStartCheck")
        self.confirm_start.setToolTip("A wrong start can be put back, but a question costs one key: Enter")
        for label, widget in (
            ("Name", self.name),
            ("Backend", self.backend),
            ("Our AE title", self.ae),
            ("Station", self.station),
            ("Modality", self.modality),
            ("Dates on opening", self.opening_dates),
            ("Connection timeout", self.timeout),
            ("", self.timeout_hint),
            ("", self.startup),
            ("", self.confirm_start),
        ):
            general.addRow(label, widget)
        return general

    def _field_widgets(self) -> dict[str, list[QWidget]]:
        """Each Profile attribute and the widget(s) that edit it, for marking what a check blames."""
        return {
            "name": [self.name],
            "backend": [self.backend],
            "ae_title": [self.ae],
            "station": [self.station],
            "modality": [self.modality],
            "opening_dates": [self.opening_dates],
            "timeout": [self.timeout],
            "url": [self.url],
            "auth": [self.auth],
            "username": [self.username, self.dimse_username],
            "password": [self.password, self.dimse_password],
            "token": [self.token],
            "ca_file": [self.ca_file, self.dimse_ca_file],
            "mwl_host": [self.mwl.host],
            "mwl_port": [self.mwl.port],
            "mwl_aet": [self.mwl.aet],
            "mpps_host": [self.mpps.host],
            "mpps_port": [self.mpps.port],
            "mpps_aet": [self.mpps.aet],
            "dimse_timeout": [self.dimse_timeout],
            "poll_seconds": [self.poll, self.http_poll],
            "fallback_charset": [self.charset],
        }

    # -- showing -------------------------------------------------------------------------------------
    def _refresh_names(self, select: str = "") -> None:
        names = [p.name for p in self._working.profiles]
        self.names.blockSignals(True)
        self.names.clear()
        self.names.addItems(names)
        startup = self.names.findItems(self._working.active, Qt.MatchFlag.MatchExactly) if self._working.active else []
        for item in startup:
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            item.setToolTip("Opens at start-up")
        self.names.setCurrentRow(names.index(select) if select in names else -1)
        self.names.blockSignals(False)
        if select in names:
            self._show(select)

    def _show_station_modality(self) -> None:
        found = Profile(ae_title=self.ae.text().strip(), station=self.station.text().strip()).station_modality
        self.modality.setItemText(0, f"{FROM_STATION} ({found})" if found else f"{FROM_STATION} (not recognised)")

    def _show_startup(self) -> None:
        none_yet = self._working.get() is None
        is_startup = none_yet or (bool(self._shown_name) and self._working.active == self._shown_name)
        self.startup.setChecked(is_startup)
        # ticked and locked: the start-up profile changes by ticking the box of another one
        self.startup.setEnabled(not is_startup)
        self.startup.setToolTip(
            "The first profile saved opens at start-up"
            if none_yet
            else "This profile opens at start-up; to start with another one, tick its box"
            if is_startup
            else "Tick to open this profile, instead of the current one, when the console starts"
        )

    def _show(self, name: str) -> None:
        profile = self._working.get(name) if name else None
        if profile:
            self._shown_name = profile.name
            self._show_profile(profile)

    def _show_profile(self, p: Profile) -> None:
        self._staff = list(p.staff)
        self.name.setText(p.name)
        self.backend.setCurrentIndex(max(0, self.backend.findData(p.backend)))
        self.ae.setText(p.ae_title)
        self.station.setText(p.station)
        if p.modality and self.modality.findData(p.modality) < 0:
            self.modality.addItem(p.modality, p.modality)  # a CID 29 code the list does not offer
        self.modality.setCurrentIndex(max(0, self.modality.findData(p.modality)))
        self.opening_dates.setCurrentText(p.opening_dates)
        self.timeout.setValue(p.timeout)
        self.url.setText(p.url)
        self.auth.setCurrentIndex(max(0, self.auth.findData(p.auth)))
        self.username.setText(p.username)
        self.password.setText(p.password)
        self.dimse_username.setText(p.username)
        self.dimse_password.setText(p.password)
        self.token.setText(p.token)
        self.ca_file.setText(p.ca_file)
        self.dimse_ca_file.setText(p.ca_file)
        self.dimse_tls.setChecked(p.tls)
        self.verify.setChecked(p.verify_tls)
        self.dcm4chee.setChecked(p.dcm4chee)
        self.confirm_start.setChecked(p.confirm_start)
        self.mwl.set(p.mwl_host, p.mwl_port, p.mwl_aet)
        self.mpps.set(p.mpps_host, p.mpps_port, p.mpps_aet)
        self.dimse_timeout.setValue(p.dimse_timeout)
        self.poll.setValue(p.poll_seconds)
        self.http_poll.setValue(p.poll_seconds)
        self.charset.setCurrentText(p.fallback_charset)
        self._show_backend()
        self._show_auth()
        self._show_dimse_tls()
        self._show_station_modality()
        self._show_startup()
        self.duplicate_button.setEnabled(bool(self._shown_name))
        self.delete_button.setEnabled(bool(self._shown_name))
        for widgets in self._fields.values():
            for widget in widgets:
                self._unmark(widget)

    def profile(self) -> Profile:
        mwl_host, mwl_port, mwl_aet = self.mwl.value()
        mpps_host, mpps_port, mpps_aet = self.mpps.value()
        dimse = self.backend.currentData() == "dimse"
        # DIMSE has one way to say who we are: a user (sent as a User Identity), or none
        dimse_user = self.dimse_username.text().strip()
        auth = ("basic" if dimse_user else "none") if dimse else self.auth.currentData()
        return Profile(
            name=self.name.text().strip(),
            backend=self.backend.currentData(),
            ae_title=self.ae.text().strip(),
            station=self.station.text().strip(),
            modality=self.modality.currentData() or "",
            opening_dates=self.opening_dates.currentText(),
            staff=list(self._staff),
            timeout=self.timeout.value(),
            url=self.url.text().strip(),
            auth=auth,
            username=dimse_user if dimse else self.username.text(),
            password=(self.dimse_password if dimse else self.password).text(),
            token=self.token.text(),
            # one CA file per profile, typed on the page of its backend
            ca_file=(self.dimse_ca_file if dimse else self.ca_file).text().strip(),
            verify_tls=self.verify.isChecked(),
            dcm4chee=self.dcm4chee.isChecked(),
            mwl_host=mwl_host,
            mwl_port=mwl_port,
            mwl_aet=mwl_aet,
            mpps_host=mpps_host,
            mpps_port=mpps_port,
            mpps_aet=mpps_aet,
            dimse_timeout=self.dimse_timeout.value(),
            tls=self.dimse_tls.isChecked(),
            poll_seconds=(self.http_poll if self.backend.currentData() == "mpps-rs" else self.poll).value(),
            fallback_charset=self.charset.currentText().strip() or "ISO_IR 100",
            confirm_start=self.confirm_start.isChecked(),
        )

    # -- actions -------------------------------------------------------------------------------------
    def _unique(self, stem: str) -> str:
        name, n = stem, 1
        while self._working.get(name) is not None:
            n += 1
            name = f"{stem} {n}"
        return name

    def _new(self) -> None:
        self._refresh_names()
        self._shown_name = ""
        self._show_profile(
            Profile(name=self._unique(f"Profile {len(self._working.profiles) + 1}"), ae_title="", url="")
        )
        self.name.setFocus()
        self.name.selectAll()

    def _duplicate(self) -> None:
        if not self._shown_name:
            return
        source = self._shown_name
        copy = self._working.duplicate(source)
        self._refresh_names(copy.name)
        self.test_result.setText(f"“{copy.name}” is a copy of “{source}”: rename it, change what differs, then Save.")
        self.name.setFocus()
        self.name.selectAll()

    def confirm_delete(self, name: str) -> bool:
        """Ask once, naming the profile; Cancel is the default, so a stray Enter deletes nothing."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Delete profile",
            f"Delete the profile “{name}”?",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("confirmDelete")
        box.setInformativeText(
            "Its server, AE title and credentials are forgotten on this workstation when you save the settings."
        )
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        named(delete, "Delete profile")
        named(cancel, "Cancel")
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        self.confirming.emit(box)
        box.exec()
        clicked: QAbstractButton | None = box.clickedButton()
        box.deleteLater()
        return clicked is delete

    def _delete(self) -> None:
        name = self._shown_name
        if not name or not self.confirm_delete(name):
            return
        self._working.remove(name)
        remaining = [p.name for p in self._working.profiles]
        if remaining:
            self._refresh_names(remaining[0])
            self.test_result.setText(f"“{name}” is deleted when you press Save; Cancel keeps it.")
        else:
            self._new()
            self.test_result.setText(f"“{name}” is deleted when you save a new profile; Cancel keeps it.")

    def _test(self) -> None:
        profile = self._checked_profile()
        tester = self.tester
        if profile is None or tester is None:
            return
        self._show_test_result("Testing…", failed=False)
        self.test_button.setEnabled(False)

        async def run() -> None:
            try:
                checks = await tester(profile)
                lines = "\n".join(check.line() for check in checks)
                self._show_test_result(lines, failed=not all(check.ok for check in checks))
            except BackendError as exc:
                self._show_test_result(f"✗ {exc.sentence}", failed=True)
            finally:
                self.test_button.setEnabled(True)

        # held: the event loop keeps only a weak reference to a task
        self._test_task = asyncio.ensure_future(run())

    def _show_test_result(self, text: str, *, failed: bool) -> None:
        """A failed test in red (a refused AE title above all: it passes for a working server)."""
        self.test_result.setText(text)
        self.test_result.setProperty("failed", failed)
        self.test_result.setStyleSheet(FAILED_STYLE if failed else "")

    def _save(self) -> None:
        profile = self._checked_profile()
        if profile is None:
            return
        try:
            self._working.put(profile, replacing=self._shown_name)
        except ProfileError as exc:
            self._fail(exc)
            return
        # saving is not choosing the start-up profile, unless there is none yet (a first run)
        if self.startup.isChecked() or self._working.get() is None:
            self._working.active = profile.name
        self.book.profiles, self.book.active = self._working.profiles, self._working.active
        self.accept()
