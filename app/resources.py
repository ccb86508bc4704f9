"""Where the files of `resources/` are: beside the `app` package in the source tree, and in a
PyInstaller bundle too (its modules live under sys._MEIPASS, the resources collected beside)."""

from __future__ import annotations

from pathlib import Path

STYLE_SHEET = "style.qss"
WINDOW_ICON = "worklist-console.png"


def resources_dir() -> Path:
    import app

    return Path(app.__file__).resolve().parent.parent / "resources"


def resource(name: str) -> Path:
    return resources_dir() / name
