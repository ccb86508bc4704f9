"""The questions the procedure panel asks before it changes a record: a reason to stop
(discontinue, or ask another station to), the completion summary confirmed with Enter, and
a procedure code to add. Each names the patient and the procedure it is about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.console.orders import discontinue_outcome, put_back_outcome
from app.domain.codes import DISCONTINUATION_REASONS
from app.domain.completion import Problem, completion_problems
from app.domain.procedure import PerformedProcedure
from app.domain.typed import format_da
from app.domain.workitem import Code, Workitem

from .qdates import qdatetime, to_datetime
from .rich_text import plain

CHOOSE = "Choose a reason…"
PROBLEM_STYLE = "color:#b91c1c"


def what(w: Workitem) -> str:
    """The procedure and the patient, as every question names them (HTML)."""
    return f"<b>{plain(w.label or 'the procedure')}</b> for <b>{plain(w.patient_name.display())}</b>"


def _intro(layout: QVBoxLayout, heading: str, note: str) -> None:
    """The question in bold, and below it, quieter, what answering it does."""
    for text, name in ((heading, "dialogHeading"), (note, "fieldHint")):
        label = QLabel(text)
        label.setWordWrap(True)
        label.setObjectName(name)
        layout.addWidget(label)


class ReasonDialog(QDialog):
    """Why a procedure stops: a CID 9300 reason (chosen on purpose: Enter alone does nothing)
    and free text. Discontinue ends our own procedure; a cancellation request asks."""

    def __init__(
        self,
        kind: str,
        workitem: Workitem,
        holder: str = "",
        preset: Code | None = None,
        parent: QWidget | None = None,
        replaces: bool = True,
    ) -> None:
        super().__init__(parent)
        self.kind = kind
        self.replaces = replaces  # the protocol's answer to "what becomes of the order" (UPS-RS or MPPS)
        layout = QVBoxLayout(self)
        if kind == "discontinue":
            self.setWindowTitle("Discontinue the procedure")
            self.setObjectName("discontinueDialog")
            heading = f"Discontinue {what(workitem)}, which this station started?"
            explanation = (
                "The procedure ends here, with this reason. The worklist shows a discontinued "
                "procedure as <b>CANCELED</b>; what was performed so far stays recorded."
            )
            confirm = "Discontinue"
        else:
            self.setWindowTitle("Request cancellation")
            self.setObjectName("cancelRequestDialog")
            if holder:
                heading = f"Ask <b>{plain(holder)}</b>, the station performing it, to stop {what(workitem)}?"
                explanation = (
                    "That station decides: the procedure stays IN PROGRESS until its technologist discontinues it."
                )
            else:
                heading = f"Cancel {what(workitem)}, which no station has started?"
                explanation = "The worklist server cancels a procedure nobody has started at once (CANCELED)."
            confirm = "Request cancellation"
        _intro(layout, heading, explanation)
        form = QFormLayout()
        self.reason = QComboBox()
        self.reason.setAccessibleName("Reason")
        self.reason.addItem(CHOOSE, None)
        for code in DISCONTINUATION_REASONS:
            self.reason.addItem(code.meaning, code)
        if preset is not None:
            index = next((i for i in range(self.reason.count()) if self.reason.itemData(i) == preset), -1)
            if index < 0:  # a reason outside CID 9300, as the requester sent it
                self.reason.addItem(preset.meaning or preset.value, preset)
                index = self.reason.count() - 1
            self.reason.setCurrentIndex(index)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Optional details")
        self.text.setAccessibleName("Details")
        form.addRow("Reason", self.reason)
        form.addRow("Details", self.text)
        layout.addLayout(form)
        # what becomes of the order, said for the reason chosen, before it is sent
        self.outcome = QLabel()
        self.outcome.setObjectName("reasonOutcome")
        self.outcome.setWordWrap(True)
        self.outcome.setVisible(kind == "discontinue")
        layout.addWidget(self.outcome)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.confirm = QPushButton(confirm)
        self.confirm.setAccessibleName(confirm)
        self.confirm.setProperty("role", "danger")
        self.buttons.addButton(self.confirm, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.reason.currentIndexChanged.connect(self._enable)
        self._enable()
        self.reason.setFocus()

    def _enable(self) -> None:
        self.confirm.setEnabled(self.reason.currentData() is not None)
        self.outcome.setText(plain(discontinue_outcome(self.reason.currentData(), self.replaces)))
        self.outcome.setAccessibleName(self.outcome.text())

    def code(self) -> Code:
        return self.reason.currentData()


def _duration(start: str, end: str) -> str:
    first, last = _parse(start), _parse(end)
    if first is None or last is None:
        return ""
    seconds = int((last - first).total_seconds())
    if seconds < 0:
        return "ends before it starts — check the times"
    minutes = seconds // 60
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes} min {seconds % 60:02d} s" if minutes else f"{seconds} s"


def _moment(dt: str) -> str:
    try:
        return datetime.strptime(dt[:14], "%Y%m%d%H%M%S").strftime("%H:%M")
    except ValueError:
        return dt


class CompleteDialog(QDialog):
    """What will be sent, in one glance, confirmed with Enter. Completing a procedure this
    console never started says so, and names the station it was scheduled for. What cannot be
    (an impossible time, a technologist that is not a name) is said, Complete is disabled and
    Enter goes back to fix it."""

    def __init__(
        self,
        workitem: Workitem,
        performed: PerformedProcedure,
        our_station: str,
        unstarted: bool = False,
        parent: QWidget | None = None,
        staff: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("completeDialog")
        layout = QVBoxLayout(self)
        scheduled_for = ", ".join(c.value for c in workitem.station_names)
        if unstarted:
            self.setWindowTitle("Complete without starting")
            heading = f"Complete {what(workitem)} without starting it on this console?"
            elsewhere = scheduled_for and our_station not in scheduled_for.split(", ")
            note = (
                (f"It is scheduled for <b>{plain(scheduled_for)}</b>, another station. " if elsewhere else "")
                + f"It is recorded as performed on <b>{plain(performed.station.value)}</b>, for a procedure done "
                "without the console: check when it started and ended."
            )
        else:
            self.setWindowTitle("Complete the procedure")
            heading = f"Complete {what(workitem)}?"
            note = "The worklist server records it as COMPLETED with what was performed."
        _intro(layout, heading, note)
        series = len(performed.series)
        rows = (
            ("Patient", workitem.patient_name.display()),
            ("Procedure", ", ".join(c.meaning or c.value for c in performed.procedures) or workitem.label),
            ("Station", performed.station.value),
            ("Technologist", performed.technologist.replace("^", ", ") or "not given"),
            ("Series", f"{series} series" if series else "none recorded"),
            (
                "Time",
                f"{_moment(performed.start)} – {_moment(performed.end)}  ({_duration(performed.start, performed.end)})",
            ),
        )
        form = QFormLayout()
        self.summary: dict[str, QLabel] = {}
        self._performed = performed
        self.started: QDateTimeEdit | None = None
        self.ended: QDateTimeEdit | None = None
        for label, value in rows:
            if unstarted and label == "Time":
                self._time_fields(form, workitem, performed)
                continue
            shown = QLabel(f"<b>{plain(value)}</b>")
            shown.setAccessibleName(f"{label}: {value}")
            self.summary[label] = shown
            form.addRow(label, shown)
        layout.addLayout(form)
        # what cannot be sent as it stands: said here, and Enter then goes back to fix it
        self.problem = QLabel()
        self.problem.setObjectName("completionProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(PROBLEM_STYLE)
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.back = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.confirm = QPushButton("Complete")
        self.confirm.setAccessibleName("Complete")
        self.confirm.setProperty("role", "primary")
        self.buttons.addButton(self.confirm, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._staff = tuple(staff)
        self.problems: list[Problem] = []
        self._check()
        (self.back if self.problems else self.confirm).setFocus()
        for edit in (self.started, self.ended):
            if edit is not None:
                edit.dateTimeChanged.connect(self._check)

    def _check(self) -> None:
        """Confirmable only when what would be sent can be: otherwise the default is to go back."""
        self.problems = completion_problems(self.performed(), datetime.now(), self._staff)
        wrong = bool(self.problems)
        self.problem.setText("<br>".join(plain(p.sentence) for p in self.problems))
        self.problem.setAccessibleName(" ".join(p.sentence for p in self.problems))
        self.problem.setVisible(wrong)
        self.confirm.setEnabled(not wrong)
        self.confirm.setDefault(not wrong)
        self.confirm.setAutoDefault(not wrong)
        self.back.setText("Go back and fix it" if wrong else "Cancel")
        self.back.setAccessibleName(self.back.text())
        self.back.setDefault(wrong)
        self.back.setAutoDefault(wrong)
        if "Time" in self.summary:
            self.summary["Time"].setStyleSheet(
                PROBLEM_STYLE if any(p.field != "technologist" for p in self.problems) else ""
            )
        if "Technologist" in self.summary:
            self.summary["Technologist"].setStyleSheet(
                PROBLEM_STYLE if any(p.field == "technologist" for p in self.problems) else ""
            )

    def _time_fields(self, form: QFormLayout, workitem: Workitem, performed: PerformedProcedure) -> None:
        """Documented after the fact, the times are the technologist's to say: it started when
        it was scheduled, unless that is still ahead, and ended now — both editable here."""
        now = datetime.now()
        scheduled = workitem.scheduled_start()
        start = scheduled if scheduled is not None and scheduled < now else now
        self.started, self.ended = started, ended = QDateTimeEdit(qdatetime(start)), QDateTimeEdit(qdatetime(now))
        for edit, name in ((started, "Started"), (ended, "Ended")):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setCalendarPopup(True)
            edit.setAccessibleName(name)
            form.addRow(name, edit)

    def performed(self) -> PerformedProcedure:
        """What will be sent: the summary's procedure, with the times entered here."""
        if self.started is None or self.ended is None:
            return self._performed
        start = to_datetime(self.started.dateTime()).strftime("%Y%m%d%H%M%S")
        end = to_datetime(self.ended.dateTime()).strftime("%Y%m%d%H%M%S")
        return replace(self._performed, start=start, end=end)


def _parse(dt: str) -> datetime | None:
    try:
        return datetime.strptime(dt[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None


class CodeDialog(QDialog):
    """A procedure code that was performed: one of the scheduled or requested codes, or typed."""

    def __init__(self, offered: list[Code], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a performed procedure code")
        form = QFormLayout(self)
        self.known = QComboBox()
        self.known.setAccessibleName("Known codes")
        self.known.addItem("Type a code…", None)
        for code in offered:
            self.known.addItem(f"{code.value} ({code.scheme}) {code.meaning}", code)
        self.value, self.scheme, self.meaning = QLineEdit(), QLineEdit("99WLPROC"), QLineEdit()
        for field, name in ((self.value, "Code value"), (self.scheme, "Coding scheme"), (self.meaning, "Meaning")):
            field.setAccessibleName(name)
        self.value.setMaxLength(16)
        self.scheme.setMaxLength(16)
        self.meaning.setMaxLength(64)
        form.addRow("Known codes", self.known)
        form.addRow("Code value", self.value)
        form.addRow("Coding scheme", self.scheme)
        form.addRow("Meaning", self.meaning)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.known.currentIndexChanged.connect(self._fill)

    def _fill(self) -> None:
        code = self.known.currentData()
        if code is not None:
            self.value.setText(code.value)
            self.scheme.setText(code.scheme)
            self.meaning.setText(code.meaning)

    def _accept(self) -> None:
        if not (self.value.text().strip() and self.scheme.text().strip() and self.meaning.text().strip()):
            self.error.setText("A code needs a value, a coding scheme and a meaning.")
            return
        self.accept()

    def code(self) -> Code:
        return Code(self.value.text().strip(), self.scheme.text().strip(), self.meaning.text().strip())


def _confirmed_by_enter(dialog: QDialog, layout: QVBoxLayout, confirm: str, role: str) -> QPushButton:
    """Cancel (Esc) and the confirming button, which Enter presses."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    button = QPushButton(confirm)
    button.setAccessibleName(confirm)
    button.setProperty("role", role)
    buttons.addButton(button, QDialogButtonBox.ButtonRole.AcceptRole)
    button.setDefault(True)
    button.setAutoDefault(True)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    button.setFocus()
    return button


class StartDialog(QDialog):
    """Is this the patient on the table? Asked before Start where the profile wants it
    (`confirm_start`): the name, birth date and patient ID, confirmed with Enter, Esc to go back."""

    def __init__(self, workitem: Workitem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startConfirmDialog")
        self.setWindowTitle("Start the procedure")
        layout = QVBoxLayout(self)
        _intro(layout, f"Start {what(workitem)}?", "Check that this is the patient in front of you.")
        form = QFormLayout()
        self.summary: dict[str, QLabel] = {}
        for label, value in (
            ("Patient", workitem.patient_name.display()),
            ("Born", format_da(workitem.birth_date) or "not given"),
            ("Patient ID", workitem.patient_id or "not given"),
        ):
            shown = QLabel(f"<b>{plain(value)}</b>")
            shown.setAccessibleName(f"{label}: {value}")
            self.summary[label] = shown
            form.addRow(label, shown)
        layout.addLayout(form)
        self.confirm = _confirmed_by_enter(self, layout, "Start", "primary")


class PutBackDialog(QDialog):
    """A start made by mistake, undone: says what becomes of the order in this protocol."""

    def __init__(self, workitem: Workitem, replaces: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("putBackDialog")
        self.setWindowTitle("Put back on the worklist")
        layout = QVBoxLayout(self)
        _intro(
            layout,
            f"Put {what(workitem)} back on the worklist?",
            f"{put_back_outcome(replaces)} The reason sent is <i>Incorrect worklist entry selected</i>.",
        )
        form = QFormLayout()
        self.text = QLineEdit()
        self.text.setPlaceholderText("Optional details")
        self.text.setAccessibleName("Details")
        form.addRow("Details", self.text)
        layout.addLayout(form)
        self.confirm = _confirmed_by_enter(self, layout, "Put back", "primary")
