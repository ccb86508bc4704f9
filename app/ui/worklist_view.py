"""The worklist as the technologist handles it: the quick filter, a sentence when the list is
empty, and the table — arrows move between patients, Tab leaves, and the selection changes
only when the technologist changes it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.workitem import Workitem

from .worklist_model import COLUMNS, TIME, WIDTHS, WORKITEM_ROLE, WorklistModel, WorklistProxy, widest_times


class WorklistView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.model = WorklistModel()
        self.proxy = WorklistProxy()
        self.proxy.setSourceModel(self.model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.filter = QLineEdit()
        self.filter.installEventFilter(self)
        self.filter.setObjectName("quickFilter")
        self.filter.setAccessibleName("Filter the list")
        self.filter.setPlaceholderText("Filter the list (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        layout.addWidget(self.filter)
        self.empty_note = QLabel()
        self.empty_note.setObjectName("emptyNote")
        self.empty_note.setWordWrap(True)
        self.empty_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.empty_note.hide()
        layout.addWidget(self.empty_note)
        self.table = table = QTableView()
        table.setObjectName("worklistTable")
        table.setAccessibleName("Worklist")
        table.setModel(self.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move between patients
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(26)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.horizontalHeader().setStretchLastSection(True)
        for column, name in enumerate(COLUMNS):
            table.setColumnWidth(column, WIDTHS[name])
        table.setAlternatingRowColors(True)
        table.setMinimumWidth(240)
        layout.addWidget(table)
        self.fit_time_column()

    def fit_time_column(self) -> None:
        """The Time column as wide as its widest text, once: another day's date and time are never
        elided, and rows of another day arriving at midnight shift no column under the pointer."""
        bold = QFont(self.table.font())
        bold.setBold(True)  # the rows of my procedures in progress are bold
        metrics = QFontMetrics(bold)
        margin = 2 * (self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.table) + 1)
        widest = max(metrics.horizontalAdvance(text) for text in ["00:00", *widest_times()])
        self.table.setColumnWidth(TIME, max(WIDTHS["Time"], widest + margin + 6))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The filter field from the keyboard: Escape empties it, Down or Enter goes to the list."""
        if watched is self.filter and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key == Qt.Key.Key_Escape and self.filter.text():
                self.filter.clear()
                return True
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.table.setFocus(Qt.FocusReason.OtherFocusReason)
                if not self.table.currentIndex().isValid() and self.first_uid():
                    self.select(self.first_uid())
                return True
        return super().eventFilter(watched, event)

    def show_empty(self, sentence: str) -> None:
        """Say why the list is empty: nothing matches, or the server does not answer."""
        self.empty_note.setText(sentence)
        self.empty_note.setVisible(bool(sentence) and self.model.rowCount() == 0)

    def selected(self) -> Workitem | None:
        index = self.table.currentIndex()
        return index.data(WORKITEM_ROLE) if index.isValid() else None

    def first_uid(self) -> str:
        return self.proxy.index(0, 0).data(WORKITEM_ROLE).uid if self.proxy.rowCount() else ""

    def select(self, uid: str) -> bool:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(WORKITEM_ROLE).uid == uid:
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                )
                self.table.scrollTo(index)
                return True
        return False

    def clear_selection(self) -> None:
        self.table.clearSelection()
        self.table.setCurrentIndex(self.proxy.index(-1, -1))
