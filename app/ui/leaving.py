"""Before the console closes or switches profile: what would be left behind, said, and asked
about once — Enter keeps the console open. Nothing is lost either way; the question is there
so that nobody walks away from a procedure without knowing."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QMessageBox, QWidget

from app.console import plural

from .rich_text import plain
from .session import Session


def leave_question(session: Session, cancel_requests_for: list[str], verb: str = "quit") -> str:
    """Procedures in progress, cancellation requests open, reports waiting — '' when nothing.
    Switching profile leaves only this station's behind; quitting, every profile's."""
    running = session.resume_offer().running
    lines = [
        f"In progress on this station: {plain(c.what())}, started "
        f"{datetime.fromtimestamp(c.claimed_at):%H:%M}; it stays claimed by this station."
        for c in running
    ]
    lines += [f"Cancellation requested for {plain(what)}." for what in cancel_requests_for]
    lines += [
        f"Waiting to be sent: {plain(report.lower())} of {plain(what)}." for report, what in session.waiting_to_send()
    ]
    if verb == "quit":
        lines += [
            f"Waiting to be sent: {plural(w.count, 'report')} of {plain(w.where())}."
            for w in session.waiting_elsewhere()
        ]
    if not lines:
        return ""
    kept = []
    if running:
        kept.append("the procedures in progress are offered for resuming")
    if len(lines) > len(running):
        kept.append("what waits is sent " + ("at the next start" if verb == "quit" else "when this profile is open"))
    return "<br>".join(lines) + "<br><br>It is all kept on this computer: " + " and ".join(kept) + "."


def ask_to_leave(parent: QWidget, question: str, verb: str = "quit") -> bool:
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Quit Worklist Console?" if verb == "quit" else "Switch profile?",
        question,
        parent=parent,
    )
    box.setObjectName("quitQuestion")
    go = box.addButton("Quit" if verb == "quit" else "Switch", QMessageBox.ButtonRole.AcceptRole)
    stay = box.addButton("Keep working", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(stay)  # Enter keeps the console open
    box.setEscapeButton(stay)
    box.exec()
    return box.clickedButton() is go
