"""Where the console writes its log, how much, and what never goes into it.

One rotating file in the user log folder (five files of 2 MiB at most, so a busy week of
DEBUG fits and a forgotten `--verbose` cannot fill a disk), plus the terminal. Every line
passes a filter that masks credentials, whatever logger wrote it: the Authorization header,
passwords and tokens, and user:password in URLs. No record can flood it either: a message is
cut at 2 KiB, and a line said over and over is written a few times and then counted.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from io import TextIOWrapper
from pathlib import Path

from app import private_files

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

# What one record, and one line said over and over, may cost in the file (FloodGuard).
MAX_MESSAGE = 2048
MAX_TRACEBACK = 8192
REPEAT_WINDOW_SECONDS = 60.0
REPEATS_SHOWN = 3
MAX_TRACKED = 1024
_VARYING = re.compile(r"0[xX][0-9A-Fa-f]+|\b[0-9A-Fa-f]{2}\b|\d+")

_directory: Path | None = None


# A word each pattern of _SECRETS needs, lower-cased: a line without any (most lines) is not
# run through the four patterns, which were a third of a logged line's cost.
_SECRET_WORDS = ("authorization", "bearer", "password", "passwd", "token", "secret", "://")


def redact(text: str) -> str:
    """`text` with every credential it holds replaced by ***."""
    lowered = text.lower()
    if not any(word in lowered for word in _SECRET_WORDS):
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactCredentials(logging.Filter):
    """Masks credentials in the formatted message, so no handler ever sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):  # every handler gets the same record: clean it once
            return True
        record._redacted = True
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


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Each log file it starts is the user's alone: lines name patients and AE titles."""

    def _open(self) -> TextIOWrapper:
        private_files.create_file(Path(self.baseFilename))
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:
        """RotatingFileHandler.emit, through `append`: it formats the record twice and stat()s the
        file twice a line; an HL7 order or a DIMSE request logs a line each."""
        try:
            self.append(self.format(record))
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 -- logging's own rule: a failing handler says so on stderr
            self.handleError(record)

    def append(self, text: str) -> None:
        """`text` as one line, rotating first when it would take the file past maxBytes, as
        RotatingFileHandler does, the file stat()ed only then. Raises OSError."""
        line = text + self.terminator
        with self.lock:  # type: ignore[union-attr]  # made by Handler.createLock
            if self.stream is None:
                self.stream = self._open()
            if self.maxBytes > 0:
                self.stream.seek(0, 2)
                # bpo-45401, as shouldRollover: never roll over anything but a regular file
                if self.stream.tell() + len(line) >= self.maxBytes and (
                    not os.path.exists(self.baseFilename) or os.path.isfile(self.baseFilename)
                ):
                    self.doRollover()
                    if self.stream is None:
                        self.stream = self._open()
            self.stream.write(line)
            self.stream.flush()


class FloodGuard(logging.Filter):
    """Keeps one handler's output bounded, whoever floods it.

    A record's message is cut at MAX_MESSAGE characters and its traceback at MAX_TRACEBACK
    (the end, where the error is, is kept). The same line from one logger at one level is
    written REPEATS_SHOWN times per REPEAT_WINDOW_SECONDS and then counted; the count is
    written as one line once the window is over. A library's lines count as the same when
    they differ only in numbers and hex bytes: pynetdicom writes one line per garbage byte
    pair of a malformed association, so one bad peer would otherwise rotate the history away.
    """

    def __init__(self, handler: logging.Handler, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._handler = handler
        self._clock = clock
        self._window = REPEAT_WINDOW_SECONDS
        self._runs: OrderedDict[tuple[str, int, str], _Run] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_flood_summary", False):
            return True
        message = _capped(record)
        key = (record.name, record.levelno, message if _is_own(record) else _VARYING.sub("#", message))
        now = self._clock()
        with self._lock:
            over = self._expire(now)
            run = self._runs.get(key)
            if run is None:
                run = self._runs[key] = _Run(now, record.name, record.levelno, message)
                if len(self._runs) > MAX_TRACKED:
                    over.append(self._runs.popitem(last=False)[1])
            run.count += 1
            shown = run.count <= REPEATS_SHOWN
        for ended in over:
            if ended.count > REPEATS_SHOWN:
                self._handler.handle(ended.summary(self._window))
        return shown

    def _expire(self, now: float) -> list[_Run]:
        ended: list[_Run] = []
        while self._runs:
            first = next(iter(self._runs.values()))
            if now - first.start < self._window:
                break
            ended.append(self._runs.popitem(last=False)[1])
        return ended


class _Run:
    """One line's occurrences within the current window."""

    def __init__(self, start: float, name: str, level: int, message: str) -> None:
        self.start, self.name, self.level, self.message = start, name, level, message
        self.count = 0

    def summary(self, window: float) -> logging.LogRecord:
        excerpt = self.message if len(self.message) <= 200 else self.message[:200] + "…"
        record = logging.LogRecord(
            self.name,
            self.level,
            "",
            0,
            "The last message repeated %d more times within %.0f s (lines like it included): %s",
            (self.count - REPEATS_SHOWN, window, excerpt),
            None,
        )
        record._flood_summary = True
        return record


def _is_own(record: logging.LogRecord) -> bool:
    return record.name.partition(".")[0] == _PACKAGE


def _capped(record: logging.LogRecord) -> str:
    """The record's message, cut at MAX_MESSAGE characters (the record changed to match), and
    its traceback cut to its last MAX_TRACEBACK characters."""
    message = record.getMessage()
    if len(message) > MAX_MESSAGE and not getattr(record, "_capped", False):
        record._capped = True  # every handler gets the same record: cut it once
        rest = len(message[MAX_MESSAGE:].encode("utf-8", "replace"))
        message = f"{message[:MAX_MESSAGE]} … ({rest} bytes more)"
        record.msg, record.args = message, None
    if record.exc_info and record.exc_text is None:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text and len(record.exc_text) > MAX_TRACEBACK:
        cut = len(record.exc_text[:-MAX_TRACEBACK].encode("utf-8", "replace"))
        record.exc_text = f"… ({cut} bytes before)\n{record.exc_text[-MAX_TRACEBACK:]}"
    return message


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
        private_files.make_folder(_directory)
        handlers.append(
            PrivateRotatingFileHandler(
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
        handler.addFilter(FloodGuard(handler))
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
