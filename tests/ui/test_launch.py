"""`run_gui` as `worklist-console` runs it, in a process of its own: what it opens must stay
open while the event loop runs (the tests' open_window holds its window; run_gui must too)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOOK_THEN_QUIT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.options import build_parser
from app.ui.launch import run_gui

app = QApplication(["worklist-console"])

def look():
    print("visible:", sorted(type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible()), flush=True)
    app.quit()

QTimer.singleShot(500, look)
sys.exit(run_gui(build_parser().parse_args(sys.argv[1:])))
"""


def test_the_first_run_welcome_window_stays_open_while_the_console_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", LOOK_THEN_QUIT, "--config", str(tmp_path / "profiles.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "visible: ['WelcomeWindow']" in proc.stdout, proc.stdout + proc.stderr
