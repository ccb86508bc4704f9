"""The worklist as a Qt table model, and the proxy that sorts it and applies the quick filter.

Display texts are computed once per row when the list changes, so `data()` is a lookup
and 10 000 rows scroll and sort smoothly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.domain.states import Priority, State
from app.domain.workitem import Workitem

COLUMNS = ("Time", "State", "Priority", "Patient", "Patient ID", "Born / Sex", "Accession", "Procedure", "Modality",
           "Station", "Progress")
TIME, STATE, PRIORITY, PATIENT = (COLUMNS.index(c) for c in ("Time", "State", "Priority", "Patient"))
STATE_COLORS = {
    State.SCHEDULED: "#dbeafe",
    State.IN_PROGRESS: "#fef3c7",
    State.COMPLETED: "#dcfce7",
    State.CANCELED: "#e5e7eb",
}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
WORKITEM_ROLE = Qt.ItemDataRole.UserRole


def _born(w: Workitem) -> str:
    d = w.birth_date
    date = f"{d[:4]}-{d[4:6]}-{d[6:8]}" if len(d) == 8 else d
    return " / ".join(p for p in (date, w.sex) if p)


@dataclass
class Row:
    workitem: Workitem
    texts: tuple[str, ...]
    keys: tuple[object, ...]


def make_row(w: Workitem) -> Row:
    start = w.scheduled_start()
    progress = w.progress
    today = datetime.now().date()
    when = (start.strftime("%H:%M") if start.date() == today else start.strftime("%a %d %b  %H:%M")) if start else ""
    cells: dict[str, tuple[str, object]] = {  # column: (text, sort key)
        "Time": (when, start or datetime.min),
        "State": (w.state.value if w.state else "", w.state.value if w.state else ""),
        "Priority": (w.priority.value if w.priority else "",
                     {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}.get(w.priority, 3)),  # type: ignore[arg-type]
        "Patient": (w.patient_name.display(), w.patient_name.display().upper()),
        "Patient ID": (w.patient_id, w.patient_id),
        "Born / Sex": (_born(w), _born(w)),
        "Accession": (w.accession_number, w.accession_number),
        "Procedure": (w.label or w.requested_procedure_description, w.label),
        "Modality": (", ".join(c.value for c in w.station_classes), ""),
        "Station": (", ".join(c.value for c in w.station_names), ""),
        "Progress": (f"{progress:.0f} %" if progress is not None else "", progress if progress is not None else -1.0),
    }
    texts = tuple(cells[c][0] for c in COLUMNS)
    keys = tuple(cells[c][1] if cells[c][1] != "" else cells[c][0] for c in COLUMNS)
    return Row(w, texts, keys)


class WorklistModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[column]
        if role == SORT_ROLE:
            return row.keys[column]
        if role == WORKITEM_ROLE:
            return row.workitem
        w = row.workitem
        if role == Qt.ItemDataRole.BackgroundRole and column == STATE and w.state in STATE_COLORS:
            return QBrush(QColor(STATE_COLORS[w.state]))
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
        self.beginResetModel()
        self._rows = [make_row(w) for w in workitems]
        self._index = {r.workitem.uid: i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def upsert(self, workitem: Workitem) -> None:
        """Replace the row of this workitem, or append it."""
        i = self._index.get(workitem.uid)
        if i is None:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
            self._index[workitem.uid] = len(self._rows)
            self._rows.append(make_row(workitem))
            self.endInsertRows()
            return
        self._rows[i] = make_row(workitem)
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))

    def remove(self, uid: str) -> None:
        i = self._index.get(uid)
        if i is None:
            return
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._rows[i]
        self.endRemoveRows()
        self._index = {r.workitem.uid: n for n, r in enumerate(self._rows)}

    def workitem(self, uid: str) -> Workitem | None:
        i = self._index.get(uid)
        return self._rows[i].workitem if i is not None else None

    def workitems(self) -> list[Workitem]:
        return [r.workitem for r in self._rows]


class WorklistProxy(QSortFilterProxyModel):
    """Sorts by each column's meaning (time, priority rank) and filters on any column."""

    def __init__(self) -> None:
        super().__init__()
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return a < b  # type: ignore[operator]
        except TypeError:
            return str(a) < str(b)
