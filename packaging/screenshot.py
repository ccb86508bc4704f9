"""The README's screenshot: the demo console at 1280×800 with a procedure in progress, a
cancellation request from the RIS and an urgent order — the whole row in view.

    QT_QPA_PLATFORM=offscreen python packaging/screenshot.py resources/screenshot.png
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from app.ui.launch import open_window


def pump(app: QApplication, until, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise SystemExit("the demo console did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def main(target: str) -> int:
    app = QApplication.instance() or QApplication(["worklist-console"])
    window = open_window(["--data-dir", tempfile.mkdtemp(prefix="worklist-shot-"), "demo"])
    window.resize(1280, 800)
    pump(app, lambda: window.model.rowCount() > 0 and window.live.text() == "● live")
    window._after_start()
    item = window.selected()
    window.procedure.confirm_start = False  # the patient check is a modal dialog nobody here answers
    window.procedure.start_button.click()
    pump(
        app,
        lambda: (
            window.procedure.complete_button.isEnabled()
            and window.session.workflow.outbox.pending() == 0
            and window.statusBar().currentMessage().startswith("Started")
        ),
    )
    window.procedure.technologist.setText("Becker, Anna")
    window.procedure.percent.setValue(40)
    window.procedure.percent_text.setText("Contrast phase")
    window.procedure.add_output_series("Thorax 1 mm")
    window.procedure.add_output_series("Thorax 5 mm")
    window.demo.request_cancellation(item.station_names[0].value)
    window.demo.add_urgent_order(item.station_names[0].value)
    pump(app, lambda: window.messages.get(f"cancel:{item.uid}") is not None and window.model.rowCount() > 5)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    window.grab().save(target)
    window.close_without_asking()
    window.demo.stop()
    print(f"saved {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "resources/screenshot.png"))
