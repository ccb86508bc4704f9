"""From parsed arguments to a window: which profile, which session, demo or not."""
from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMainWindow

from app.backends import profiles as profile_store
from app.backends.outbox import default_path as default_outbox_path
from app.backends.profiles import ProfileBook, ProfileError

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
    from app.options import ad_hoc_profile

    config = Path(args.config) if args.config else None
    ad_hoc = ad_hoc_profile(args)
    book = ProfileBook()
    if ad_hoc is None:
        try:
            book = profile_store.load(config)
        except ProfileError as exc:
            log.error("%s", exc)
    first_run = args.command is None and ad_hoc is None and not book.profiles
    if args.command == "demo" or first_run:
        # With nothing configured, the console opens on the demo: it needs nothing else.
        from .demo import DemoController

        data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="worklist-demo-"))
        demo = DemoController.start(data_dir, seed=getattr(args, "seed_value", 1))
        station = getattr(args, "demo_station", None) or args.station or "CT1"
        profile = demo.profile(station, args.console_ae or station)
        # the demo's own profile (an ephemeral port) is never saved: the book holds the site's profiles
        window = MainWindow(Session(profile, data_dir / f"console-{profile.ae_title}.db"), book, demo=demo,
                            config_path=config or profile_store.default_path())
        demo.windows.append(window)
        if first_run:
            window.notice.show_message("No worklist server is configured, so this is the <b>demo</b> on an embedded "
                                       "server. Use Settings… to configure your site's server.",
                                       "Settings…", window.open_settings, kind="info")
        window.show()
        return window
    if ad_hoc is not None:
        profile = ad_hoc
        book = ProfileBook([profile], profile.name)
    else:
        profile = book.get(args.profile) or book.profiles[0]
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
