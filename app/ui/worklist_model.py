"""The worklist as a Qt table model, and the proxy that sorts it and applies the quick filter.

A row's display texts are computed the first time the view asks for them and kept, so
loading 10 000 workitems costs almost nothing and scrolling and sorting stay a lookup.
The default sort, by scheduled time, reads the raw DT text and needs no row at all.

Whatever the sort, the procedures this console has in progress stay on top (pinned), and
urgent orders not yet started come next; an item that arrives or changes takes its place
in that order at once instead of landing at the bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.domain import tags as t
from app.domain.states import Priority, State
from app.domain.typed import format_da
from app.domain.workitem import Workitem

# What identifies the right patient comes first, so it fits a 1024-pixel screen beside the panel.
COLUMNS = (
    "Time",
    "State",
    "Priority",
    "Patient",
    "Accession",
    "Procedure",
    "Patient ID",
    "Born / Sex",
    "Modality",
    "Station",
    "Progress",
)
WIDTHS = {
    "Time": 56,  # at least: the view widens it for another day's date (WorklistView.fit_time_column)
    "State": 112,
    "Priority": 70,
    "Patient": 128,
    "Accession": 110,
    "Procedure": 134,
    "Patient ID": 84,
    "Born / Sex": 110,
    "Modality": 66,
    "Station": 64,
    "Progress": 64,
}
TIME, STATE, PRIORITY, PATIENT = (COLUMNS.index(c) for c in ("Time", "State", "Priority", "Patient"))
STATE_COLORS = {
    State.SCHEDULED: "#dbeafe",
    State.IN_PROGRESS: "#fef3c7",
    State.COMPLETED: "#dcfce7",
    State.CANCELED: "#e5e7eb",
}
MARK_COLOR = "#fecaca"
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
WORKITEM_ROLE = Qt.ItemDataRole.UserRole


def _born(w: Workitem) -> str:
    return " / ".join(p for p in (format_da(w.birth_date), w.sex) if p)


def is_urgent(w: Workitem) -> bool:
    """An urgent order nobody has started: it must not wait at the bottom of the list."""
    return w.text(t.PRIORITY) == "HIGH" and w.text(t.PROCEDURE_STEP_STATE) == "SCHEDULED"


@dataclass
class Row:
    workitem: Workitem
    texts: tuple[str, ...]


def scheduled_time(start: datetime | None, today: date) -> str:
    """Today's time alone; another day's date compactly ("8 Dec 00:02"), its time whole."""
    if start is None:
        return ""
    return f"{start:%H:%M}" if start.date() == today else f"{start.day} {start:%b %H:%M}"


def widest_times() -> list[str]:
    """The widest Time texts of another day, in every month's name (the locale's)."""
    return [scheduled_time(datetime(2000, month, 28), date(2000, 1, 1)) for month in range(1, 13)]


def make_row(w: Workitem, today: date | None = None) -> Row:
    start = w.scheduled_start(datetime.now().astimezone().tzinfo or UTC)
    progress = w.progress
    when = scheduled_time(start, today or date.today())
    cells = {
        "Time": when,
        "State": w.state.value if w.state else "",
        "Priority": w.priority.value if w.priority else "",
        "Patient": w.patient_name.display(),
        "Patient ID": w.patient_id,
        "Born / Sex": _born(w),
        "Accession": w.accession_number,
        "Procedure": w.label or w.requested_procedure_description,
        "Modality": ", ".join(c.value for c in w.station_classes),
        "Station": ", ".join(c.value for c in w.station_names),
        "Progress": f"{progress:.0f} %" if progress is not None else "",
    }
    return Row(w, tuple(cells[c] for c in COLUMNS))


_RANK = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
# Sort keys read straight from the DICOM JSON: sorting 10 000 rows must not format them all.
SORT_KEYS: dict[str, Callable[[Workitem], object]] = {
    "Time": lambda w: w.text(t.SPS_START_DATETIME),
    "State": lambda w: w.text(t.PROCEDURE_STEP_STATE),
    "Priority": lambda w: _RANK.get(w.text(t.PRIORITY), 3),
    "Patient": lambda w: w.patient_name.alphabetic.upper(),
    "Patient ID": lambda w: w.patient_id,
    "Born / Sex": lambda w: w.birth_date + w.sex,
    "Accession": lambda w: w.accession_number,
    "Procedure": lambda w: w.label.upper(),
    "Modality": lambda w: ",".join(c.value for c in w.station_classes),
    "Station": lambda w: ",".join(c.value for c in w.station_names),
    "Progress": lambda w: w.progress if w.progress is not None else -1.0,
}
_SORT_KEYS = tuple(SORT_KEYS[c] for c in COLUMNS)


class WorklistModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.pinned: set[str] = set()  # procedures this console has in progress
        self.marks: dict[str, tuple[str, str]] = {}  # uid -> (state text to show, why: the tooltip)
        self._items: list[Workitem] = []
        self._today = date.today()  # the day the rows' Time texts were made on
        self._rows: list[Row | None] = []
        self._search: list[str | None] = []
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self._index: dict[str, int] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    # -- sorting: in Python, over a key list, instead of a Qt comparison per pair ----------------
    def sort_key(self, i: int, column: int) -> object:
        return _SORT_KEYS[column](self._items[i])

    def is_pinned(self, i: int) -> bool:
        return self._items[i].uid in self.pinned

    def group(self, w: Workitem) -> int:
        """0: mine in progress, 1: urgent and not started, 2: the rest — in every sort order."""
        return 0 if w.uid in self.pinned else 1 if is_urgent(w) else 2

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        if column < 0 or not self._items:
            return
        self.layoutAboutToBeChanged.emit()
        self._reorder(column, order)
        self.layoutChanged.emit()

    def resort(self) -> None:
        """Put rows back in order after one changed (a claim pins it; an urgent order arrives)."""
        if self._sort[0] >= 0:
            self.sort(*self._sort)

    def set_pinned(self, uids: set[str]) -> None:
        if uids != self.pinned:
            changed = uids ^ self.pinned
            self.pinned = set(uids)
            self._changed_rows([self._index.get(u) for u in changed])
            self.resort()

    def set_marks(self, marks: dict[str, tuple[str, str]]) -> None:
        if marks != self.marks:
            changed = set(marks) | set(self.marks)
            self.marks = dict(marks)
            self._changed_rows([self._index.get(u) for u in changed])

    def _changed_rows(self, rows) -> None:
        for i in rows:
            if i is not None:
                self._rows[i] = None
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))

    def _reorder(self, column: int, order: Qt.SortOrder) -> None:
        def key(i: int) -> tuple:
            value = self.sort_key(i, column)
            return (0, value) if isinstance(value, (int, float)) else (1, str(value))

        indices = sorted(range(len(self._items)), key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        groups = [self.group(w) for w in self._items]
        indices.sort(key=groups.__getitem__)  # stable: the chosen order within each group
        self._items = [self._items[i] for i in indices]
        self._rows = [self._rows[i] for i in indices]
        self._search = [self._search[i] for i in indices]
        self._index = {w.uid: n for n, w in enumerate(self._items)}
        persistent = self.persistentIndexList()  # the selection and the current row follow their items
        if persistent:
            position = {old: new for new, old in enumerate(indices)}
            self.changePersistentIndexList(
                persistent, [self.index(position.get(p.row(), p.row()), p.column()) for p in persistent]
            )

    def search_text(self, i: int) -> str:
        """What the quick filter looks in: the identifying texts, without formatting a whole row."""
        if self._search[i] is None:
            w = self._items[i]
            name = w.patient_name
            self._search[i] = " ".join(
                (
                    name.display(),
                    name.alphabetic,
                    name.ideographic,
                    w.patient_id,
                    w.accession_number,
                    w.label,
                    w.text(t.PROCEDURE_STEP_STATE),
                    w.text(t.PRIORITY),
                )
            ).casefold()
        return self._search[i]  # type: ignore[return-value]

    def row(self, i: int) -> Row:
        today = date.today()
        if today != self._today:  # midnight: yesterday's times need their date now
            self._today = today
            self._rows = [None] * len(self._items)
        row = self._rows[i]
        if row is None:
            row = self._rows[i] = make_row(self._items[i], today)
        return row

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        column = index.column()
        if role == WORKITEM_ROLE:
            return self._items[index.row()]
        if role == SORT_ROLE:
            return self.sort_key(index.row(), column)
        row = self.row(index.row())
        w = row.workitem
        mark = self.marks.get(w.uid)
        if role == Qt.ItemDataRole.DisplayRole:
            if mark and column == STATE and mark[0]:
                return mark[0]
            if mark and column == PATIENT:
                return f"⚠ {row.texts[column]}"
            return row.texts[column]
        if role == Qt.ItemDataRole.ToolTipRole and mark:
            return mark[1]
        if w.state is State.IN_PROGRESS and w.uid not in self.pinned:
            holder = (
                (w.performed.station.value if w.performed and w.performed.station else "")
                if column in (STATE, PATIENT)
                else ""
            )
            if role == Qt.ItemDataRole.ToolTipRole and column in (STATE, PATIENT):
                return f"In progress on {holder or 'another station'}"
            if role == Qt.ItemDataRole.FontRole and column == STATE:
                return self._italic
        if role == Qt.ItemDataRole.BackgroundRole and column == STATE and mark:
            return QBrush(QColor(MARK_COLOR))
        if role == Qt.ItemDataRole.BackgroundRole and column == STATE and w.state in STATE_COLORS:
            return QBrush(QColor(STATE_COLORS[w.state]))
        if role == Qt.ItemDataRole.FontRole and w.uid in self.pinned:
            return self._bold
        if w.priority is Priority.HIGH and column in (PATIENT, PRIORITY):
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor("#b91c1c"))
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
        if role == Qt.ItemDataRole.FontRole and column == STATE:
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole and column == STATE:
            return Qt.AlignmentFlag.AlignCenter
        if role == Qt.ItemDataRole.ToolTipRole and column == PATIENT and w.patient_name.ideographic:
            return f"{w.patient_name.alphabetic} = {w.patient_name.ideographic}"
        return None

    # -- changing the list ---------------------------------------------------------------
    def set_workitems(self, workitems: list[Workitem]) -> None:
        known = self._index
        self.beginResetModel()
        self._items = [w.keeping_performed_of(self._items[known[w.uid]]) if w.uid in known else w for w in workitems]
        self._rows = [None] * len(self._items)
        self._search = [None] * len(self._items)
        self._index = {w.uid: i for i, w in enumerate(self._items)}
        if self._sort[0] >= 0:
            self._reorder(*self._sort)
        self.endResetModel()

    def upsert(self, workitem: Workitem) -> None:
        """Replace the row of this workitem, or add it; either way it takes its place in the order."""
        i = self._index.get(workitem.uid)
        if i is None:
            self.beginInsertRows(QModelIndex(), len(self._items), len(self._items))
            self._index[workitem.uid] = len(self._items)
            self._items.append(workitem)
            self._rows.append(None)
            self._search.append(None)
            self.endInsertRows()
        else:
            self._items[i], self._rows[i], self._search[i] = workitem, None, None
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
        self.resort()

    def remove(self, uid: str) -> None:
        i = self._index.get(uid)
        if i is None:
            return
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._items[i]
        del self._rows[i]
        del self._search[i]
        self.endRemoveRows()
        self._index = {w.uid: n for n, w in enumerate(self._items)}

    def workitem(self, uid: str) -> Workitem | None:
        i = self._index.get(uid)
        return self._items[i] if i is not None else None

    def workitems(self) -> list[Workitem]:
        return list(self._items)


class WorklistProxy(QSortFilterProxyModel):
    """Filters on any column's text; sorting is passed to the source model, which sorts a
    Python key list (one Qt comparison per pair through Python would take seconds at 10 000)."""

    def __init__(self) -> None:
        super().__init__()
        self._needle = ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if isinstance(source, WorklistModel):
            source.sort(column, order)

    def setFilterFixedString(self, pattern: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+
            self.beginFilterChange()
            self._needle = pattern.casefold().strip()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._needle = pattern.casefold().strip()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self._needle:
            return True
        source = self.sourceModel()
        if not isinstance(source, WorklistModel):
            return False
        # a procedure in progress here stays in view whatever is typed: it is pinned
        return self._needle in source.search_text(source_row) or source.is_pinned(source_row)
