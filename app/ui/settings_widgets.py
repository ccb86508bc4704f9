"""The pieces every page of Settings is made of: the labels and hints it shows, a control named
for screen readers, and a DIMSE peer's host, port and AE title on one line."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

W = TypeVar("W", bound=QWidget)
BACKEND_LABELS = {"upsrs": "UPS-RS (DICOMweb)", "dimse": "MWL + MPPS (DIMSE)", "mpps-rs": "DICOMweb MWL + MPPS"}
POLL_HINT = "There are no live events: the worklist is queried again at this interval"
AUTH_LABELS = {"none": "None", "basic": "Basic: user and password", "bearer": "Bearer token"}
CHARSETS = ("ISO_IR 100", "ISO_IR 192", "ISO_IR 6", "ISO 2022 IR 87", "ISO_IR 101", "ISO_IR 144", "GB18030")
FROM_STATION = "From the station name"
CONNECT_HINT = "How long to wait to connect (TCP, TLS, DICOM association) and for each HTTP answer."
ANSWER_HINT = "Once connected, how long to wait for each DIMSE answer: a long worklist query may need more."
OPENING_DATES_HINT = (
    "The dates the worklist shows when the console opens; a night shift's station chooses Today and the next 12 hours"
)
FAILED_STYLE = "color:#b91c1c"  # a failed Test connection, as the other errors of the console
DIMSE_TLS_HINT = "Both peers are called over TLS; the CA file says whose certificates to trust"
DIMSE_USER_HINT = (
    "Sent to both peers as a DICOM User Identity (username and passcode) on every association; "
    "empty: none (a server with users then lets this station only echo)"
)


def named(widget: W, name: str, description: str = "") -> W:
    """The widget, with the name a screen reader says for it."""
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    return widget


def hint(text: str) -> QLabel:
    """A grey line under a field that says what it is for."""
    label = QLabel(text)
    label.setObjectName("fieldHint")
    label.setWordWrap(True)
    return label


class PeerFields(QWidget):
    """Host, port and called AE title of one DIMSE peer, on one line."""

    def __init__(self, same_as: str = "", role: str = "Peer") -> None:
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
        named(self.host, f"{role} host")
        named(self.port, f"{role} port")
        named(self.aet, f"{role} called AE title")
        for widget, stretch in ((self.host, 3), (QLabel("port"), 0), (self.port, 0), (QLabel("AE"), 0), (self.aet, 1)):
            row.addWidget(widget, stretch)

    def set(self, host: str, port: int, aet: str) -> None:
        self.host.setText(host)
        self.port.setValue(port)
        self.aet.setText(aet)

    def value(self) -> tuple[str, int, str]:
        return self.host.text().strip(), self.port.value(), self.aet.text().strip()
