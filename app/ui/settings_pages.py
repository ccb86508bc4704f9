"""Settings, one page per backend: UPS-RS (also DICOMweb MWL + MPPS, Supplement 246, at a URL)
and MWL + MPPS over DIMSE, and what each shows for the backend, the authentication and TLS
chosen. The pages share the profile's one user, password and CA file: each shows what the
other typed."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QWidget,
)

from .settings_widgets import (
    ANSWER_HINT,
    AUTH_LABELS,
    CHARSETS,
    DIMSE_TLS_HINT,
    DIMSE_USER_HINT,
    POLL_HINT,
    PeerFields,
    hint,
    named,
)


class BackendPages(QDialog):
    """The backends' pages of the Settings dialog, built into it."""

    backend: QComboBox
    test_result: QLabel
    pages: QStackedWidget  # the dialog's stack of these pages, so that it keeps its size
    upsrs_box: QGroupBox
    dimse_box: QGroupBox

    def _upsrs_box(self) -> QGroupBox:
        box = QGroupBox("UPS-RS server")
        form = QFormLayout(box)
        self.url = named(QLineEdit(), "UPS-RS server URL")
        self.url.setPlaceholderText("https://ris.example/dicom-web")
        self.auth = named(QComboBox(), "Authentication")
        for key, label in AUTH_LABELS.items():
            self.auth.addItem(label, key)
        self.username = named(QLineEdit(), "User")
        self.password = named(QLineEdit(), "Password")
        self.token = named(QLineEdit(), "Bearer token")
        self.ca_file = named(QLineEdit(), "CA file")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file.setPlaceholderText("empty: the system's trusted certificates")
        self.verify = named(QCheckBox("Verify the server's certificate"), "Verify the server's certificate")
        self.dcm4chee = named(QCheckBox("dcm4chee-arc compatibility"), "dcm4chee-arc compatibility")
        self.http_poll = named(QDoubleSpinBox(), "Refresh every")
        self.http_poll.setRange(5, 3600)
        self.http_poll.setSuffix(" s")
        self.http_poll.setToolTip(POLL_HINT)
        for label, widget in (
            ("URL", self.url),
            ("Authentication", self.auth),
            ("User", self.username),
            ("Password", self.password),
            ("Bearer token", self.token),
            ("CA file", self.ca_file),
            ("", self.verify),
            ("", self.dcm4chee),
            ("Refresh every", self.http_poll),
        ):
            form.addRow(label, widget)
        self._upsrs_form = form
        return box

    def _dimse_box(self) -> QGroupBox:
        box = QGroupBox("Worklist (MWL) and procedure step (MPPS) peers")
        form = QFormLayout(box)
        self.mwl = PeerFields(role="Worklist server")
        self.mpps = PeerFields("same as worklist", role="MPPS server")
        # created in the order shown, so that Tab follows the form
        self.dimse_tls = named(QCheckBox("DICOM over TLS"), "DICOM over TLS", DIMSE_TLS_HINT)
        self.dimse_tls.setObjectName("dimseTlsCheck")
        self.dimse_tls.setToolTip(DIMSE_TLS_HINT)
        self.dimse_ca_file = named(QLineEdit(), "CA file for TLS")
        self.dimse_ca_file.setObjectName("dimseCaFile")
        self.dimse_ca_file.setPlaceholderText("empty: the system's certificates")
        self.dimse_tls.toggled.connect(self._show_dimse_tls)
        # one line, as the peers above: the page fits a 768-pixel screen without squeezing its hints
        tls_row = QWidget()
        row = QHBoxLayout(tls_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.dimse_ca_label = QLabel("CA file")
        self.dimse_ca_label.setBuddy(self.dimse_ca_file)
        row.addWidget(self.dimse_tls)
        row.addWidget(self.dimse_ca_label)
        row.addWidget(self.dimse_ca_file, 1)
        # the profile has one CA file: typed on either page, the other shows it when the backend changes
        self.dimse_ca_file.textEdited.connect(self.ca_file.setText)
        self.ca_file.textEdited.connect(self.dimse_ca_file.setText)
        user_row = self._dimse_user_row()
        self.dimse_timeout = named(QDoubleSpinBox(), "Answer timeout", ANSWER_HINT)
        self.dimse_timeout.setRange(1, 600)
        self.dimse_timeout.setSuffix(" s")
        self.dimse_timeout_hint = hint(ANSWER_HINT)
        self.poll = named(QDoubleSpinBox(), "Refresh every")
        self.poll.setRange(5, 3600)
        self.poll.setSuffix(" s")
        self.poll.setToolTip(POLL_HINT)
        self.charset = named(QComboBox(), "Fallback character set")
        self.charset.setEditable(True)
        self.charset.addItems(list(CHARSETS))
        self.charset.setToolTip("Used for answers that do not say their Specific Character Set")
        for label, widget in (
            ("Worklist", self.mwl),
            ("MPPS", self.mpps),
            ("TLS", tls_row),
            ("User", user_row),
            ("Answer timeout", self.dimse_timeout),
            ("", self.dimse_timeout_hint),
            ("Refresh every", self.poll),
            ("Fallback character set", self.charset),
        ):
            form.addRow(label, widget)
        return box

    def _dimse_user_row(self) -> QWidget:
        """User and password on one line: the profile's own `username` and `password`, which the UPS-RS
        page edits too (each page shows what the other typed)."""
        self.dimse_username = named(QLineEdit(), "DIMSE user", DIMSE_USER_HINT)
        self.dimse_username.setObjectName("dimseUser")
        self.dimse_username.setPlaceholderText("none")
        self.dimse_username.setToolTip(DIMSE_USER_HINT)
        self.dimse_password = named(QLineEdit(), "DIMSE password")
        self.dimse_password.setObjectName("dimsePassword")
        self.dimse_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.dimse_username.textEdited.connect(self._dimse_user_typed)
        self.dimse_password.textEdited.connect(self.password.setText)
        self.username.textEdited.connect(self.dimse_username.setText)
        self.password.textEdited.connect(self.dimse_password.setText)
        row_widget = QWidget()
        row = QHBoxLayout(row_widget)
        row.setContentsMargins(0, 0, 0, 0)
        password_label = QLabel("Password")
        password_label.setBuddy(self.dimse_password)
        row.addWidget(self.dimse_username, 1)
        row.addWidget(password_label)
        row.addWidget(self.dimse_password, 1)
        return row_widget

    def _dimse_user_typed(self, text: str) -> None:
        """A user given on the DIMSE page is a basic login (sent as a User Identity), none once cleared:
        the UPS-RS page shows the same if the backend changes."""
        self.username.setText(text)
        kind = "basic" if text.strip() else "none"
        if self.auth.currentData() != kind:
            self.auth.setCurrentIndex(self.auth.findData(kind))

    def _show_backend(self) -> None:
        backend = self.backend.currentData()
        self.pages.setCurrentWidget(self.dimse_box if backend == "dimse" else self.upsrs_box)
        # the same URL, credentials and TLS; Supplement 246 has no events (polled) and no dcm4chee forms
        sup246 = backend == "mpps-rs"
        self.upsrs_box.setTitle("DICOMweb MWL + MPPS server (Supplement 246)" if sup246 else "UPS-RS server")
        self.url.setAccessibleName("DICOMweb server URL" if sup246 else "UPS-RS server URL")
        for widget, shown in ((self.dcm4chee, not sup246), (self.http_poll, sup246)):
            widget.setVisible(shown)
            label = self._upsrs_form.labelForField(widget)
            if label is not None:
                label.setVisible(shown)
        self.test_result.clear()

    def _show_auth(self) -> None:
        kind = self.auth.currentData()
        for widget, on in (
            (self.username, kind == "basic"),
            (self.password, kind == "basic"),
            (self.token, kind == "bearer"),
        ):
            widget.setEnabled(on)
            label = self._upsrs_form.labelForField(widget)
            if label is not None:
                label.setEnabled(on)

    def _show_dimse_tls(self) -> None:
        on = self.dimse_tls.isChecked()
        self.dimse_ca_file.setEnabled(on)
        self.dimse_ca_label.setEnabled(on)
