"""From parsed arguments to a window: which profile, which session, demo or not."""
from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMainWindow

from app.backends import profiles as profile_store
from app.backends.outbox import default_path as default_outbox_path
from app.backends.profiles import Profile, ProfileBook, ProfileError

from .main_window import MainWindow
from .session import Session

log = logging.getLogger(__name__)
STYLE = Path(__file__).resolve().parents[2] / "resources" / "style.qss"


def apply_style(app: QApplication) -> None:
    for candidate in (STYLE, Path(__file__).resolve().parent / "style.qss"):
        if candidate.exists():
            app.setStyleSheet(candidate.read_text(encoding="utf-8"))
            return


def outbox_path(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) / "console.db" if getattr(args, "data_dir", None) else default_outbox_path()


def window_for(args: argparse.Namespace) -> QMainWindow:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_style(app)
    if args.command == "demo":
        from .demo import DemoController

        data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="worklist-demo-"))
        demo = DemoController.start(data_dir, seed=args.seed_value)
        profile = demo.profile(args.demo_station, args.console_ae or args.demo_station)
        window = MainWindow(Session(profile, data_dir / f"console-{profile.ae_title}.db"), demo=demo)
        demo.windows.append(window)
        window.show()
        return window
    config = Path(args.config) if args.config else None
    if args.url or args.backend:
        profile = Profile(name="Command line", backend=args.backend or "upsrs", url=args.url or "",
                          ae_title=args.console_ae or "CONSOLE", station=args.station or "")
        book = ProfileBook([profile], profile.name)
    else:
        try:
            book = profile_store.load(config)
        except ProfileError as exc:
            log.error("%s", exc)
            book = ProfileBook()
        profile = book.get(args.profile) or (book.profiles[0] if book.profiles else Profile())
    profile.check()
    window = MainWindow(Session(profile, outbox_path(args)), book, config or profile_store.default_path())
    window.show()
    return window


def run_gui(args: argparse.Namespace) -> int:
    from .main_window import ensure_loop

    app = QApplication.instance() or QApplication(["worklist-console"])
    app.setApplicationName("Worklist Console")
    ensure_loop(app)  # type: ignore[arg-type]
    try:
        window_for(args)
    except ProfileError as exc:
        print(f"Cannot open the console: {exc}")
        return 2
    return app.exec()  # type: ignore[union-attr]
