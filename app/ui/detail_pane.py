"""The selected workitem: patient, order, scheduled step, and every attribute as a tree."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QTextBrowser, QTreeWidget, QTreeWidgetItem

from app.domain.typed import format_da
from app.domain.workitem import Workitem

from .rich_text import plain


def _field(label: str, value: str) -> str:
    return (
        f"<tr><td style='color:#555;padding-right:12px'>{plain(label)}</td><td><b>{plain(value or '–')}</b></td></tr>"
    )


def summary_html(w: Workitem) -> str:
    start = w.scheduled_start()
    comments = w.comments
    inputs = w.input_references
    sections = [
        (
            "Patient",
            [
                ("Name", w.patient_name.display()),
                ("ID", w.patient_id),
                ("Born", format_da(w.birth_date)),
                ("Sex", w.sex),
            ],
        ),
        (
            "Order",
            [
                ("Accession", w.accession_number),
                ("Requested procedure", w.requested_procedure_description),
                ("Requested procedure ID", w.requested_procedure_id),
                ("Study UID", w.study_uid),
            ],
        ),
        (
            "Scheduled step",
            [
                ("Procedure", w.label),
                ("Start", start.strftime("%Y-%m-%d %H:%M") if start else ""),
                ("Station", ", ".join(c.value for c in w.station_names)),
                ("Modality", ", ".join(f"{c.value} ({c.meaning})" for c in w.station_classes)),
                ("Location", ", ".join(c.meaning for c in w.station_locations)),
                ("Priority", w.priority.value if w.priority else ""),
                ("Performers", ", ".join(w.human_performers)),
                ("State", w.state.value if w.state else ""),
                ("Progress", f"{w.progress:.0f} % {w.progress_description}" if w.progress is not None else ""),
            ],
        ),
        (
            "Input and comments",
            [("Input information", f"{inputs} reference(s)" if inputs else "none"), ("Comments", comments)],
        ),
    ]
    out = []
    for title, rows in sections:
        out.append(f"<h3 style='margin:8px 0 2px 0'>{plain(title)}</h3><table>")
        out.extend(_field(label, value) for label, value in rows)
        out.append("</table>")
    return "".join(out)


class DetailPane(QTabWidget):
    def __init__(self) -> None:
        super().__init__()
        self.summary = QTextBrowser()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Tag", "Keyword", "VR", "Value"])
        self.tree.setAccessibleName("All attributes of the selected procedure")
        self.summary.setAccessibleName("Summary of the selected procedure")
        self.tree.setColumnWidth(0, 110)
        self.tree.setColumnWidth(1, 230)
        self.tree.setColumnWidth(2, 40)
        self.addTab(self.summary, "Details")
        self.addTab(self.tree, "All attributes")
        self.show_workitem(None)

    def show_workitem(self, w: Workitem | None) -> None:
        self.tree.clear()
        if w is None:
            self.summary.setHtml("<p style='color:#666'>Select a procedure in the worklist.</p>")
            return
        self.summary.setHtml(summary_html(w))
        self._fill(self.tree.invisibleRootItem(), w.dataset)

    def _fill(self, parent: QTreeWidgetItem, dataset) -> None:
        for element in dataset:
            tag = f"({element.tag.group:04X},{element.tag.element:04X})"
            if element.VR == "SQ":
                node = QTreeWidgetItem(parent, [tag, element.keyword, "SQ", f"{len(element.value)} item(s)"])
                for n, item in enumerate(element.value, 1):
                    child = QTreeWidgetItem(node, ["", f"Item {n}", "", ""])
                    self._fill(child, item)
                node.setExpanded(True)
            else:
                QTreeWidgetItem(parent, [tag, element.keyword, str(element.VR), str(element.value)[:300]])
