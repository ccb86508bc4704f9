"""From parsed arguments to a window: which profile, which session, demo or not."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from app.console import profiles as profile_store
from app.console.opening import ad_hoc_profile, outbox_path, window_command_line
from app.console.profiles import Profile, ProfileBook, ProfileError
from app.resources import STYLE_SHEET, WINDOW_ICON, resource

from .demo import DemoController
from .loop import ensure_loop
from .main_window import MainWindow
from .session import Session
from .startup_marks import WINDOW, mark_when_shown
from .welcome import WelcomeWindow

log = logging.getLogger(__name__)


def apply_style(app: QApplication) -> None:
    style, icon = resource(STYLE_SHEET), resource(WINDOW_ICON)
    if style.exists():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    else:
        log.warning("The style sheet %s is missing: the console looks plain.", style)
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))


def window_for(args: argparse.Namespace) -> QWidget:
    """What `worklist-console ARGS` opens: the console, or on a first run the welcome window."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_style(app)
    config = Path(args.config) if args.config else profile_store.default_path()
    ad_hoc = ad_hoc_profile(args)
    book, problem = ProfileBook(), ""
    if ad_hoc is None:
        try:
            book = profile_store.load(config)
        except ProfileError as exc:
            log.error("%s", exc)
            problem = str(exc)
    if args.command == "demo":
        return _demo_window(args, book, config)
    if args.command is None and ad_hoc is None and not book.profiles:
        welcome = WelcomeWindow(
            lambda: _demo_window(args, book, config, first_run=True),
            lambda chosen: _site_window(chosen.get() or chosen.profiles[0], chosen, args, config),
            book,
            config,
            problem,
        )
        welcome.show()
        return welcome
    if ad_hoc is not None:
        return _site_window(ad_hoc, ProfileBook([ad_hoc], ad_hoc.name), args, config)
    return _site_window(book.get(args.profile) or book.profiles[0], book, args, config)


def _demo_window(args: argparse.Namespace, book: ProfileBook, config: Path, first_run: bool = False) -> MainWindow:
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="worklist-demo-"))
    # the server's door is reserved now and the server started behind the window, once it is painted:
    # its first search waits in the door's backlog until the server serves
    demo = DemoController(data_dir, seed=getattr(args, "seed_value", 1))
    station = getattr(args, "demo_station", None) or args.station or "CT1"
    profile = demo.profile(station, args.console_ae or station)
    # the demo's own profile (an ephemeral port) is never saved: the book holds the site's profiles
    window = MainWindow(demo.session(profile), book, demo=demo, config_path=config)
    demo.windows.append(window)
    if first_run:
        window.messages.show_message(
            "demo",
            "This is the <b>demo</b>, on a server inside this program. Use Settings… to configure your site's server.",
            "info",
            "Settings…",
            window.open_settings,
        )
    window.show()
    mark_when_shown(WINDOW)
    demo.start_behind(window)
    return window


def _site_window(profile: Profile, book: ProfileBook, args: argparse.Namespace, config: Path) -> MainWindow:
    profile.check()
    window = MainWindow(Session(profile, outbox_path(args)), book, config)
    window.show()
    mark_when_shown(WINDOW)
    return window


def application() -> QApplication:
    """The process's QApplication: pytest-qt's under the tests, else a new one."""
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication(["worklist-console"])


def run_gui(args: argparse.Namespace) -> int:
    app = application()
    app.setApplicationName("Worklist Console")
    ensure_loop(app)
    try:
        # held until the event loop ends: a top-level widget nothing refers to is collected
        # by Python and vanishes (the welcome window of a first run did)
        window = window_for(args)
    except ProfileError as exc:
        print(f"Cannot open the console: {exc}")
        return 2
    code = app.exec()
    del window
    return code


def open_window(args: list[str]) -> QWidget:
    """Build what `worklist-console ARGS` shows, without entering the event loop."""
    ensure_loop(application())
    return window_for(window_command_line().parse_args(args))
