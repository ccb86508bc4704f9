"""The demo's HL7 tab: each message the simulated RIS sent to the server's HL7 door, and its ACK,
so a trainer can show an order's whole path — the RIS's message, the door's answer, the row."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QListWidgetItem, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from app.domain.hl7_ris import SentMessage

from .inspector import FollowingList

NOT_ACCEPTED = QColor("#b91c1c")


def segments(text: str) -> str:
    """An HL7 message one segment a line (HL7 ends segments with CR)."""
    return "\n".join(line for line in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if line)


def line(sent: SentMessage) -> str:
    """Time, the ACK's code (first: it is what a trainer looks for), the message's type and control ID."""
    return f"{sent.when:%H:%M:%S.%f}"[:-3] + f"  {sent.code:<2}  {sent.kind:<7}  {sent.control_id}"


def detail(sent: SentMessage) -> str:
    head = f"{sent.kind} {sent.control_id}, sent {sent.when:%H:%M:%S} to the demo server's HL7 door (MLLP):"
    if sent.ack is None:
        answer = f"No ACK came back. {sent.failure}".strip()
    else:
        said = "; ".join(part for part in (sent.ack.text, sent.ack.error) if part)
        answer = f"ACK {sent.ack.code}" + (f": {said}" if said else "") + "\n" + segments(sent.answer)
    return f"{head}\n{segments(sent.message)}\n\n{answer}"


class Hl7Inspector(QWidget):
    """The list of messages and ACKs; the selected one's message and ACK beside it."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("hl7Inspector")
        self.setAccessibleName("HL7 messages")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        hint = QLabel("What the demo's RIS sent to the server's HL7 door, and the ACK of each (Simulate → RIS).")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.list = FollowingList()
        self.list.setObjectName("hl7Log")
        self.list.setAccessibleName("HL7 messages and their ACKs")
        self.detail = QPlainTextEdit()
        self.detail.setObjectName("hl7Detail")
        self.detail.setAccessibleName("Selected HL7 message and its ACK")
        self.detail.setReadOnly(True)
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # a segment is one line, as HL7 has it
        split.addWidget(self.list)
        split.addWidget(self.detail)
        split.setSizes([360, 660])
        layout.addWidget(split, 1)
        self.list.currentItemChanged.connect(self._show)

    def add(self, sent: SentMessage) -> None:
        item = QListWidgetItem(line(sent))
        item.setData(Qt.ItemDataRole.UserRole, sent)
        item.setToolTip(sent.failure or (sent.ack.text if sent.ack else ""))
        if sent.code != "AA":
            item.setForeground(QBrush(NOT_ACCEPTED))
        self.list.append(item)

    def _show(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.detail.setPlainText(detail(item.data(Qt.ItemDataRole.UserRole)))
