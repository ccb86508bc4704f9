"""Benchmark: the console's worklist view at 10 000 rows (offscreen Qt).

    python tests/benchmarks/bench_console.py [--rows 10000]

Prints the time to load N workitems into the table (reset, sort by time, first paint), to
apply the quick filter the first time, and to sort by patient. The promise: a 10 000-row
worklist loaded into the view in at most 300 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, timedelta

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402

from app.domain.workitem import Workitem  # noqa: E402
from app.server.demo import demo_workitems  # noqa: E402
from app.ui.worklist_model import COLUMNS, WorklistModel, WorklistProxy  # noqa: E402


def measure(app: QApplication, action) -> float:
    start = time.perf_counter()
    action()
    app.processEvents()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = QApplication([])
    days = args.rows // 30 + 1
    items = [Workitem(w.to_json()) for d in range(days) for w in demo_workitems(date.today() + timedelta(d))][:args.rows]
    load, filtering, sorting = [], [], []
    for _ in range(args.repeat):
        model, proxy, view = WorklistModel(), WorklistProxy(), QTableView()
        proxy.setSourceModel(model)
        view.setModel(proxy)
        view.setSortingEnabled(True)
        view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        view.resize(1400, 800)
        view.show()
        load.append(measure(app, lambda: model.set_workitems(items)))
        filtering.append(measure(app, lambda: proxy.setFilterFixedString("müller")))
        proxy.setFilterFixedString("")
        sorting.append(measure(app, lambda: view.sortByColumn(COLUMNS.index("Patient"), Qt.SortOrder.DescendingOrder)))
        view.close()
    median = statistics.median
    print(f"{len(items)} rows, median of {args.repeat}:")
    print(f"  load into the view (reset + sort by time + paint): {median(load):7.1f} ms   promise <= 300 ms: "
          f"{'PASS' if median(load) <= 300 else 'MISS'}")
    print(f"  first quick filter:                                {median(filtering):7.1f} ms")
    print(f"  sort by patient:                                   {median(sorting):7.1f} ms")


if __name__ == "__main__":
    main()
