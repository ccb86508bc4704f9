"""Where the console writes its log, how much, and what never goes into it.

One rotating file in the user log folder (five files of 2 MiB at most, so a busy week of
DEBUG fits and a forgotten `--verbose` cannot fill a disk), plus the terminal. Every line
passes a filter that masks credentials, whatever logger wrote it: the Authorization header,
passwords and tokens, and user:password in URLs.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

APP_NAME = "worklist-console"
LOG_FILE = f"{APP_NAME}.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 4
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s]: %(message)s"

_SECRETS = [
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)?\s*[^'\"\s,}]+"),
        lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}***",
    ),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), lambda m: f"{m.group(1)} ***"),
    (
        re.compile(r"(?i)((?:password|passwd|token|secret)['\"]?\s*[:=]\s*)(['\"]?)[^'\"\s,}&]*\2"),
        lambda m: f"{m.group(1)}{m.group(2)}***{m.group(2)}",
    ),
    (re.compile(r"(?i)((?:https?|wss?)://[^/\s:@]+:)[^/\s@]+@"), lambda m: f"{m.group(1)}***@"),
]

_directory: Path | None = None


def redact(text: str) -> str:
    """`text` with every credential it holds replaced by ***."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactCredentials(logging.Filter):
    """Masks credentials in the formatted message, so no handler ever sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_text is None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_PACKAGE = __name__.partition(".")[0]


class OwnLinesOnly(logging.Filter):
    """Lets through the console's own lines only: a library's (pynetdicom's "Association request
    failed…") says in its words what the console's sentence already said in a technologist's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.partition(".")[0] == _PACKAGE


def default_directory() -> Path:
    from platformdirs import user_log_path

    return user_log_path(APP_NAME, appauthor=False)


def log_directory() -> Path:
    """The folder the log file is written to (Help → Open log folder)."""
    return _directory or default_directory()


def configure(
    verbose: bool = False,
    directory: Path | None = None,
    terminal_level: int = logging.INFO,
    libraries_on_terminal: bool = True,
) -> Path | None:
    """Log to the rotating file (DEBUG with `verbose`, else INFO) and to the terminal.

    Without `libraries_on_terminal` the terminal shows only the console's own lines; the file
    still gets every library's.

    Returns the log file, or None if the folder cannot be written: the console still runs,
    and says so on the terminal.
    """
    global _directory
    detach()
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    redactor = RedactCredentials()
    terminal = logging.StreamHandler()
    terminal.setLevel(logging.DEBUG if verbose else terminal_level)
    if not libraries_on_terminal:
        terminal.addFilter(OwnLinesOnly())
    handlers: list[logging.Handler] = [terminal]
    _directory = directory or default_directory()
    path: Path | None = _directory / LOG_FILE
    try:
        _directory.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                _directory / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
            )
        )
    except OSError as exc:
        path = None
        problem = f"Cannot write the log in {_directory}: {exc.strerror or exc}. Logging to the terminal only."
    else:
        problem = ""
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(redactor)
        handler._worklist_console = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # one line per request, or a whole dataset per DIMSE message: the inspector shows them
    for chatty in ("httpx", "pynetdicom", "uvicorn.error", "uvicorn.access"):  # "connection open" per WebSocket
        logging.getLogger(chatty).setLevel(logging.NOTSET if verbose else logging.WARNING)
    if problem:
        logging.getLogger(__name__).warning("%s", problem)
    return path


def detach() -> None:
    """Remove and close the handlers `configure` added."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_worklist_console", False):
            root.removeHandler(handler)
            handler.close()
