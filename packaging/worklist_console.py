"""The bundle's entry point: `app.cli.main`, with a usable stdout even in the windowed build.

A windowed ("GUI subsystem") Windows executable starts without a console, so Python's
sys.stdout and sys.stderr are None and `--version` or `self-test` would print nothing.
When such a build is given arguments and was started from a console (cmd, PowerShell),
it attaches to that console and prints there. Scripts that need the exit code use
`worklist-console-cli.exe` instead (see packaging/README.md): a GUI executable is not
waited for by cmd, so its exit code is lost there.
"""

from __future__ import annotations

import sys


def attach_parent_console() -> None:
    """On Windows, without a console of our own: print to the one we were started from, if any."""
    if sys.platform != "win32" or sys.stdout is not None or len(sys.argv) < 2:
        return
    import ctypes

    ATTACH_PARENT_PROCESS = -1
    if not ctypes.windll.kernel32.AttachConsole(ATTACH_PARENT_PROCESS):
        return  # started from Explorer or a shortcut: there is no console to print to
    # line-buffered, so each self-test step shows as it finishes
    sys.stdout = open("CONOUT$", "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
    sys.stderr = open("CONOUT$", "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
    print(file=sys.stdout)  # the shell has already printed its prompt: start below it


if __name__ == "__main__":
    attach_parent_console()
    from app.cli import main

    sys.exit(main())
