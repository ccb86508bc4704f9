"""The procedure panel: the selected procedure named by patient, what can be done with it,
and what was performed.

Start (F6) claims a SCHEDULED procedure. Progress (F7), Complete (F8) and Discontinue (F9)
act only on a procedure this station started and has not already ended; Complete shows a
summary confirmed with Enter, Discontinue asks for a reason. Documenting a procedure that
was never started is its own explicit action ("Complete without starting…"). Another
station's procedure is shown with that station's data, read-only; we may only ask it to
stop (Shift+F9). A key that cannot act on the selected procedure says why in the status bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.console import why_not
from app.console.orders import put_back_refusal, series_recorded
from app.domain.draft import ProcedureDraft
from app.domain.states import State
from app.domain.workitem import Code, Workitem

from . import wheel
from .performed_form import PerformedForm
from .procedure_dialogs import CompleteDialog, PutBackDialog, ReasonDialog, StartDialog
from .rich_text import plain

HEADLINE_LINES = 3
DRAFT_DELAY_MS = 400  # typing pauses this long before the draft is written to the local store
WAITING_WORDS = {
    "complete": ("COMPLETED", "the completion"),
    "discontinue": ("CANCELED", "the discontinuation"),
    "put_back": ("PUT BACK", "the return to the worklist"),
}


def _button(text: str, shortcut: str, tip: str, name: str, role: str = "") -> QPushButton:
    """The key is the panel's (`_keys`), not the button's: a disabled button's key does nothing,
    and the technologist must hear why."""
    button = QPushButton(f"{text}  ({shortcut})")
    button.setToolTip(f"{tip} — {shortcut}")
    button.setObjectName(name)
    button.setAccessibleName(text)
    if role:
        button.setProperty("role", role)
    return button


def _emphasize(button: QPushButton, on: bool, role: str = "primary") -> None:
    """The next action stands out; the others stay quiet."""
    button.setProperty("role", role if on else "")
    button.style().unpolish(button)
    button.style().polish(button)


@dataclass(frozen=True)
class PanelState:
    """What the console knows about the shown procedure beyond the worklist entry."""

    mine: bool = False  # this station holds the claim
    claimed_at: float | None = None
    waiting: str | None = None  # "complete" or "discontinue" waits to be sent
    draft: ProcedureDraft | None = None
    cancel_requested: Code | None = None  # the reason a cancellation request gave
    # the backend can ask the performing station to stop (UPS-RS can; MWL/MPPS has no such message)
    can_request_cancellation: bool = True
    # a put-back creates the order's replacement (UPS-RS); else the RIS keeps the order (MWL/MPPS)
    put_back_replaces: bool = True


class ProcedurePanel(QWidget):
    start = Signal(object)
    progress = Signal(object, float, str)
    complete = Signal(object, object)  # Workitem, PerformedProcedure: the summary was confirmed
    complete_unstarted = Signal(object, object)  # the same, for a procedure documented after the fact
    discontinue = Signal(object, object, str)
    cancel_request = Signal(object, object, str)
    put_back = Signal(object, str)  # Workitem, details: the start was a mistake
    refused = Signal(str)  # why an action asked for (a key) does nothing now, for the status bar
    actions_changed = Signal()  # what may be done with the shown procedure changed
    draft_changed = Signal(str, object)  # uid, ProcedureDraft
    focus_left = Signal()  # the keyboard was in a field that no longer takes input: the window places it
    refused = Signal(str)  # a key pressed for an action not possible now, and why (for the status bar)

    def __init__(self, station: str, device: str | None = None, staff: Sequence[str] = ()) -> None:
        super().__init__()
        self.setObjectName("procedurePanel")
        self.station = station  # whose worklist this console works (the scheduled station)
        self.device = device or station  # who we are: the station that performs (our AE title)
        self.staff = tuple(staff)  # the site's technologists, when the profile lists them
        self.confirm_start = True  # Start asks "is this the patient?" first (the profile's confirm_start)
        self.workitem: Workitem | None = None
        self.state = PanelState()
        self._title: tuple[str, str, str] | None = None  # patient, procedure, state line: the headline
        self._percent_edited = False
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.headline = QLabel("No procedure selected.")
        self.headline.setWordWrap(True)
        self.headline.setObjectName("procedureTitle")
        self.headline.setAccessibleName("Selected procedure")
        self.headline.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # three lines whatever it says, so the buttons beneath never move between selections
        self.headline.ensurePolished()  # measured in the font the style gives it
        self.headline.setText("<br>".join(["<b>X</b>"] * HEADLINE_LINES))
        self.headline.setFixedHeight(self.headline.heightForWidth(400))
        layout.addWidget(self.headline)

        starts = QVBoxLayout()
        self.start_button = _button("Start", "F6", "Claim this procedure for this station", "claimButton", "primary")
        self.start_button.clicked.connect(self._emit_start)
        self.unstarted_button = QPushButton("Complete without starting…")
        self.unstarted_button.setObjectName("completeUnstartedButton")
        self.unstarted_button.setAccessibleName("Complete without starting")
        self.unstarted_button.setToolTip("Document a procedure that was performed without the console: asks first")
        self.unstarted_button.clicked.connect(self.ask_complete_unstarted)
        self.put_back_button = QPushButton("Put back on the worklist…")
        self.put_back_button.setObjectName("putBackButton")
        self.put_back_button.setAccessibleName("Put back on the worklist")
        self.put_back_button.clicked.connect(self.ask_put_back)
        starts.addWidget(self.start_button)
        starts.addWidget(self.unstarted_button, 0, Qt.AlignmentFlag.AlignLeft)
        starts.addWidget(self.put_back_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(starts)

        finish = QGridLayout()
        self.complete_button = _button(
            "Complete", "F8", "Finish: review what was performed, then complete", "completeButton", "primary"
        )
        self.complete_button.clicked.connect(self._emit_complete)
        self.discontinue_button = _button(
            "Discontinue", "F9", "Stop this procedure with a reason", "discontinueButton", "danger"
        )
        self.discontinue_button.clicked.connect(self._emit_discontinue)
        self.cancel_button = _button(
            "Request cancellation", "Shift+F9", "Ask the station that has it to stop it", "requestCancelButton"
        )
        self.cancel_button.clicked.connect(self._emit_cancel_request)
        finish.addWidget(self.complete_button, 0, 0)
        finish.addWidget(self.discontinue_button, 0, 1)
        finish.addWidget(self.cancel_button, 1, 0, 1, 2)
        layout.addLayout(finish)
        progress_row = QHBoxLayout()
        self.percent = QSpinBox()
        self.percent.setObjectName("progressSpin")
        self.percent.setAccessibleName("Progress in percent")
        self.percent.setRange(0, 100)
        self.percent.setSuffix(" %")
        self.percent_text = QLineEdit()
        self.percent_text.setObjectName("progressDescription")
        self.percent_text.setAccessibleName("Progress description")
        self.percent_text.setPlaceholderText("What is happening (e.g. contrast phase)")
        self.progress_button = _button(
            "Report progress", "F7", "Send the progress to the worklist server", "reportProgressButton"
        )
        self.progress_button.clicked.connect(self._emit_progress)
        progress_row.addWidget(self.percent)
        progress_row.addWidget(self.progress_button)
        progress_row.addStretch(1)
        layout.addLayout(progress_row)
        layout.addWidget(self.percent_text)  # a row of its own: what is typed stays readable on a narrow panel

        self.form = PerformedForm(self.device)
        # the actions stay in view; what was performed scrolls beneath them when room is short
        self.form_scroll = QScrollArea()
        self.form_scroll.setObjectName("performedScroll")
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.form_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.form_scroll.setWidget(self.form)
        layout.addWidget(self.form_scroll, 1)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._show_focused)

        self.form.edited.connect(self._draft_timer.start)
        self.form.edited.connect(self._enable_put_back)  # a series added or removed decides it
        self.percent_text.textEdited.connect(lambda *_: self._draft_timer.start())
        self.percent.valueChanged.connect(self._percent_changed)
        self._wheel = wheel.guard(self)
        self._keys()
        self.set_workitem(None)

    def _keys(self) -> None:
        """F6 to F9 and Shift+F9 act when their button can, and otherwise say why nothing happened."""
        for sequence, action, button in (
            ("F6", "start", self.start_button),
            ("F7", "progress", self.progress_button),
            ("F8", "complete", self.complete_button),
            ("F9", "discontinue", self.discontinue_button),
            ("Shift+F9", "cancel", self.cancel_button),
        ):
            key = QShortcut(QKeySequence(sequence), self)
            key.setContext(Qt.ShortcutContext.WindowShortcut)
            key.activated.connect(lambda a=action, b=button: self._pressed(a, b))

    def _pressed(self, action: str, button: QPushButton) -> None:
        if button.isEnabled():
            button.animateClick()
            return
        s = self.state
        self.refused.emit(
            why_not(
                action,
                self.workitem,
                mine=s.mine,
                waiting=s.waiting,
                holder=self.holder(),
                can_request_cancellation=s.can_request_cancellation,
            )
        )

    # -- compatibility with the form's fields, which tests and the window reach -----------------------
    @property
    def technologist(self) -> QLineEdit:
        return self.form.technologist

    @property
    def series(self):
        return self.form.series

    @property
    def add_series(self) -> QPushButton:
        return self.form.add_series

    def add_output_series(self, description: str, instances: tuple[str, ...] = ()) -> str:
        return self.form.add_output_series(description, instances)

    def performed(self):
        return self.form.performed()

    # -- showing a workitem --------------------------------------------------------------------
    def active(self) -> bool:
        """A procedure this station performs and has not ended: the one reports go to."""
        w = self.workitem
        return (
            w is not None
            and self.state.mine
            and self.state.waiting is None
            and w.state in (State.IN_PROGRESS, State.SCHEDULED)
        )  # SCHEDULED: our start waits to be sent

    def holder(self) -> str:
        """The station performing the shown procedure, as its performed data says."""
        performed = self.workitem.performed if self.workitem else None
        return performed.station.value if performed and performed.station else ""

    def set_workitem(self, w: Workitem | None, state: PanelState | None = None) -> None:
        state = state or PanelState()
        new = w is None or self.workitem is None or w.uid != self.workitem.uid
        editable_before = self._editable()
        claimed_now = not new and state.mine and not self.state.mine
        if new:
            self.save_draft()  # what was typed for the previous procedure is kept, not lost
        focus = QApplication.focusWidget()
        held = focus if focus is not None and self.isAncestorOf(focus) else None  # the keyboard is here
        self.workitem, self.state = w, state
        self._show_title()
        editable = self._editable()
        if new or editable != editable_before or not editable:
            self.form.show_workitem(w, state.draft, state.claimed_at, editable, own=state.mine)
            self._load_progress(w, state.draft if editable or state.mine else None)
        elif claimed_now:
            self.form.started_at(state.claimed_at)
        self._enable()
        if held is not None and not (
            isValid(held) and held.isEnabled() and held.isVisible() and QApplication.focusWidget() is held
        ):
            self.focus_left.emit()  # the field the keyboard was in took its last input (Complete, Discontinue)
        if new:
            self.form_scroll.verticalScrollBar().setValue(0)  # the next patient's form from its top

    def _show_focused(self, _old: QWidget | None, new: QWidget | None) -> None:
        """A field reached with Tab is scrolled into view, from wherever the keyboard came."""
        if new is not None and isValid(self) and self.form.isAncestorOf(new):
            self.form_scroll.ensureWidgetVisible(new)

    def _editable(self) -> bool:
        """Only a procedure this station performs takes what was performed: typed before Start,
        it would become the record of whoever starts it (a stray "4" as the technologist)."""
        return self.active()

    def _load_progress(self, w: Workitem | None, draft: ProcedureDraft | None) -> None:
        self.percent.blockSignals(True)
        self.percent.setValue(
            draft.percent if draft and draft.percent is not None else int(w.progress or 0) if w else 0
        )
        self.percent.blockSignals(False)
        self._percent_edited = bool(draft and draft.percent is not None)
        self.percent_text.setText(
            draft.progress_text
            if draft and draft.progress_text
            else w.progress_description
            if w and not self.state.mine and w.state is State.IN_PROGRESS
            else ""
        )

    def _show_title(self) -> None:
        w, s = self.workitem, self.state
        if w is None:
            self._title = None
            self.headline.setText("No procedure selected.")
            self.headline.setToolTip("")
            self.setAccessibleDescription("")
            return
        state = w.state.value if w.state else ""
        stations = [c.value for c in w.station_names]
        if s.waiting:
            final, what = WAITING_WORDS[s.waiting]
            line = f"{final} on this station — {what} is waiting to be sent"
        elif w.state is State.IN_PROGRESS and s.mine:
            line = f"IN PROGRESS on this station ({plain(self.device)})"
        elif w.state is State.SCHEDULED and s.mine:
            line = f"IN PROGRESS on this station ({plain(self.device)}) — the start is waiting to be sent"
        elif w.state is State.IN_PROGRESS:
            holder = self.holder()
            progress = f" — {w.progress:.0f} %" if w.progress is not None else ""
            line = (
                f"IN PROGRESS on {plain(holder)} (another station){progress}"
                if holder
                else f"IN PROGRESS on another station{progress}"
            )
        elif w.state is State.SCHEDULED:
            start = w.scheduled_start()
            when = f" at {start:%H:%M}" if start else ""
            whose = ", ".join(stations) or "any station"
            other = "" if not stations or self.station in stations else " (another station's worklist)"
            line = f"SCHEDULED for {plain(whose)}{when}{other}"
        else:
            line = state
        if s.cancel_requested is not None and w.state is State.IN_PROGRESS:
            line += "<br><span style='color:#b91c1c'><b>Cancellation requested</b></span>"
        self._title = (w.patient_name.display(), w.label, line)
        self._fit_title()
        self.setAccessibleDescription(f"<b>{plain(w.patient_name.display())}</b> — {plain(w.label)}<br>{line}")

    def _fit_title(self) -> None:
        """Patient and procedure on as many lines as the headline's fixed height leaves them; a
        longer name is cut with an ellipsis to one line (the whole of it in the tooltip)."""
        if self._title is None:
            return
        name, label, line = self._title
        headline = self.headline
        headline.setText(f"<b>{plain(name)}</b> — {plain(label)}<br>{line}")
        headline.setToolTip(f"{name} — {label}")
        if headline.heightForWidth(headline.width()) > headline.height():
            bold = QFont(headline.font())
            bold.setBold(True)
            room = headline.contentsRect().width() - 12  # the rich text's own margins
            cut = QFontMetrics(bold).elidedText(f"{name} — {label}", Qt.TextElideMode.ElideRight, room)
            headline.setText(f"<b>{plain(cut)}</b><br>{line}")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_title()

    def _enable(self) -> None:
        w, s = self.workitem, self.state
        state = w.state if w else None
        active = self.active()
        scheduled = state is State.SCHEDULED and not s.mine and s.waiting is None
        self.start_button.setEnabled(scheduled)
        self.unstarted_button.setVisible(scheduled)
        for widget in (self.percent, self.percent_text, self.progress_button):
            widget.setEnabled(active)
        self.complete_button.setEnabled(active)
        self.discontinue_button.setEnabled(active)
        self.cancel_button.setEnabled(
            s.can_request_cancellation
            and s.waiting is None
            and (scheduled or (state is State.IN_PROGRESS and not s.mine))
        )
        self.cancel_button.setToolTip(
            "Ask the station that has it to stop it"
            if s.can_request_cancellation
            else "MWL/MPPS has no cancellation request: ask the RIS to cancel the order"
        )
        _emphasize(self.start_button, scheduled)
        _emphasize(self.complete_button, active)
        _emphasize(self.discontinue_button, active, "danger")
        self._enable_put_back()

    def _enable_put_back(self) -> None:
        why = self.put_back_refusal()
        self.put_back_button.setVisible(self.active())
        self.put_back_button.setEnabled(why is None)
        self.put_back_button.setToolTip(
            why or "The start was a mistake: the order goes back on the worklist (no series recorded) — Shift+F6"
        )
        self.actions_changed.emit()

    def put_back_refusal(self) -> str | None:
        """Why the shown procedure cannot go back on the worklist now; None when it can."""
        w = self.workitem
        series = max(series_recorded(w), self.form.series.rowCount() if self.state.mine else 0) if w else 0
        return put_back_refusal(w, self.active(), self.state.waiting, series)

    # -- drafts -----------------------------------------------------------------------------------
    def _percent_changed(self) -> None:
        self._percent_edited = True
        self._draft_timer.start()

    def draft(self) -> ProcedureDraft:
        return replace(
            self.form.draft(),
            percent=self.percent.value() if self._percent_edited else None,
            progress_text=self.percent_text.text().strip(),
        )

    def save_draft(self) -> None:
        """Hand what is typed for the shown procedure to the window, which keeps it in the store."""
        self._draft_timer.stop()
        if self.workitem is not None and self._editable():
            self.draft_changed.emit(self.workitem.uid, self.draft())

    def progress_sent(self, uid: str) -> None:
        """The progress report went out: its text is no longer a draft."""
        if self.workitem is not None and self.workitem.uid == uid:
            self.percent_text.clear()
            self._percent_edited = False
            self.save_draft()

    # -- asking, then emitting -------------------------------------------------------------------------
    def _emit_start(self) -> None:
        if self.workitem is None or not self.start_button.isEnabled():
            return
        w = self.workitem
        if not self.confirm_start or self._confirm(StartDialog(w, parent=self)):
            self.start.emit(w)

    def ask_put_back(self) -> None:
        """Put a start made by mistake back on the worklist, after saying what becomes of the order;
        where it cannot be, say why (the key was pressed, or the menu chosen, on purpose)."""
        why = self.put_back_refusal()
        if why is not None:
            self.refused.emit(why)
            return
        w = self.workitem
        assert w is not None  # put_back_refusal() says there is one
        dialog = PutBackDialog(w, self.state.put_back_replaces, parent=self)
        if self._confirm(dialog):
            self.put_back.emit(w, dialog.text.text().strip())

    def _emit_progress(self) -> None:
        if self.workitem is not None and self.active():
            self.progress.emit(self.workitem, float(self.percent.value()), self.percent_text.text().strip())

    def _emit_complete(self) -> None:
        if self.workitem is None or not self.active():
            return
        w, performed = self.workitem, self.form.performed()
        dialog = CompleteDialog(w, performed, self.station, parent=self, staff=self.staff)
        problems = dialog.problems
        if self._confirm(dialog):
            self.complete.emit(w, performed)
        elif problems:  # "Go back and fix it": to the first field at fault
            self.form.field(problems[0].field).setFocus(Qt.FocusReason.OtherFocusReason)

    def can_complete_unstarted(self) -> bool:
        w = self.workitem
        return w is not None and w.state is State.SCHEDULED and not self.state.mine and self.state.waiting is None

    def ask_complete_unstarted(self) -> None:
        if not self.can_complete_unstarted():
            return
        w = self.workitem
        assert w is not None  # can_complete_unstarted() says there is one
        dialog = CompleteDialog(w, self.form.performed(), self.station, unstarted=True, parent=self, staff=self.staff)
        if self._confirm(dialog):
            self.complete_unstarted.emit(w, dialog.performed())

    def _emit_discontinue(self) -> None:
        if self.workitem is None or not self.active():
            return
        w = self.workitem
        dialog = ReasonDialog(
            "discontinue", w, preset=self.state.cancel_requested, parent=self, replaces=self.state.put_back_replaces
        )
        if self._confirm(dialog):
            self.discontinue.emit(w, dialog.code(), dialog.text.text().strip())

    def _emit_cancel_request(self) -> None:
        if self.workitem is None or not self.cancel_button.isEnabled():
            return
        w = self.workitem
        holder = self.holder() if w.state is State.IN_PROGRESS else ""
        dialog = ReasonDialog(
            "cancel", w, holder=holder or ("another station" if w.state is State.IN_PROGRESS else ""), parent=self
        )
        if self._confirm(dialog):
            self.cancel_request.emit(w, dialog.code(), dialog.text.text().strip())

    def _confirm(self, dialog: QDialog) -> bool:
        self.save_draft()
        focus = QApplication.focusWidget()
        if focus is not None and focus.window() is not self.window():
            focus = None
        try:
            return dialog.exec() == QDialog.DialogCode.Accepted
        finally:
            dialog.deleteLater()
            # the keyboard goes back where it was, so the next F-key reaches this window
            self.window().activateWindow()
            if focus is not None and isValid(focus):
                focus.setFocus(Qt.FocusReason.OtherFocusReason)

    def focus_first(self) -> None:
        """Where the keyboard goes when the technologist picks a procedure (Enter on the list)."""
        for widget in (self.start_button, self.progress_button, self.complete_button, self.cancel_button):
            if widget.isEnabled():
                widget.setFocus(Qt.FocusReason.OtherFocusReason)
                return
