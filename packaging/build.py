"""Build the one-folder bundle of Worklist Console with PyInstaller, and check it.

    python packaging/build.py [--dist DIR] [--work DIR] [--check | --check-only] [--largest N] [--max-mib MIB]

Builds packaging/worklist-console.spec into DIR (default: dist/ in the repository, which
git ignores), prints the bundle's size and the build time, and with --check runs the built
bundle the way a site would: `--version`, `self-test`, `serve` with a demo day, and the
demo console for a few seconds (offscreen unless a display is set). Any failure exits
non-zero with a sentence saying what failed. Runs on Linux, Windows and macOS alike.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "worklist-console.spec"
NAME = "worklist-console"
APP_NAME = "Worklist Console"
GUI_SECONDS = 8.0
# on Windows, a process group of its own, so that CTRL_BREAK_EVENT stops only the bundle
NEW_GROUP = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0


class CheckFailed(Exception):
    """The built bundle did not do what it should; the message says what and shows its output."""


# -- building -----------------------------------------------------------------------------------
def build(dist: Path, work: Path) -> float:
    """Run PyInstaller on the spec; returns the seconds it took."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise SystemExit(
            'PyInstaller is not installed: pip install -e ".[package]" (or pip install pyinstaller)'
        ) from None
    began = time.monotonic()
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(SPEC),
    ]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        raise SystemExit("PyInstaller failed; its messages are above.")
    return time.monotonic() - began


def bundle_dir(dist: Path) -> Path:
    """What ships: the .app on macOS, the folder elsewhere."""
    app = dist / f"{APP_NAME}.app"
    return app if sys.platform == "darwin" and app.exists() else dist / NAME


def executable(dist: Path) -> Path:
    """The program to run for checks: on Windows the console twin, whose output and exit code
    reach the caller (the windowed one's do not; see packaging/README.md)."""
    if sys.platform == "win32":
        return dist / NAME / f"{NAME}-cli.exe"
    return dist / NAME / NAME


def size_of(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def largest(folder: Path, count: int) -> list[tuple[int, str]]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    ranked = sorted(((p.stat().st_size, str(p.relative_to(folder))) for p in files), reverse=True)
    return ranked[:count]


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


# -- checking the built bundle ------------------------------------------------------------------
def environment() -> dict[str, str]:
    env = dict(os.environ)
    if sys.platform.startswith("linux") and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"  # no display (CI): Qt draws into memory
    # the bundle must not lean on this machine's Python: none of its paths may leak in
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    return env


def log_here(work: Path) -> list[str]:
    """The bundle's log file goes to the check's folder, not to this machine's user log folder."""
    return ["--log-dir", str(work / "logs")]


def check_version(program: Path) -> str:
    from app import __version__

    done = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=60, env=environment())
    if done.returncode != 0 or done.stdout.strip() != f"worklist-console {__version__}":
        raise CheckFailed(f"--version printed {done.stdout.strip()!r} (exit {done.returncode}):\n{done.stderr}")
    return done.stdout.strip()


def check_self_test(program: Path, work: Path) -> str:
    done = subprocess.run(
        [str(program), *log_here(work), "self-test"], capture_output=True, text=True, timeout=300, env=environment()
    )
    print(done.stdout, end="", flush=True)
    if done.returncode != 0:
        raise CheckFailed(f"self-test exited {done.returncode}:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM if sys.platform != "win32" else signal.CTRL_BREAK_EVENT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def popen(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment(), creationflags=NEW_GROUP
    )


def check_serve(program: Path, work: Path) -> str:
    proc = popen(
        [
            str(program),
            *log_here(work),
            "serve",
            "--http-port",
            "0",
            "--dimse-port",
            "0",
            "--seed",
            "demo",
            "--db",
            str(work / "serve.db"),
        ]
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        base = None
        while time.monotonic() < deadline and base is None:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"ready at (http://\S+)", line)
            base = found.group(1) if found else None
        if base is None:
            raise CheckFailed("serve never said it was ready:\n" + "".join(lines))
        url = f"{base}/workitems?ScheduledStationNameCodeSequence.CodeValue=CT1"
        with urllib.request.urlopen(url, timeout=10) as answer:
            body = answer.read().decode("utf-8")
        count = body.count('"00080018"')  # one SOP Instance UID per workitem
        if count == 0:
            raise CheckFailed(f"serve answered a Search for CT1 with no workitems: {body[:200]}")
    finally:
        stop(proc)
    rest = proc.stdout.read()
    if "Traceback" in "".join(lines) + rest:
        raise CheckFailed("serve printed a traceback:\n" + "".join(lines) + rest)
    return f"serve: {count} workitems for CT1 at {base}"


@contextlib.contextmanager
def virtual_display() -> Iterator[str | None]:
    """An Xvfb X server for the duration, on Linux when Xvfb is installed: the console then runs
    on the xcb platform plugin, as on an X11 desktop, with the X libraries the bundle carries."""
    xvfb = shutil.which("Xvfb") if sys.platform.startswith("linux") else None
    if xvfb is None:
        yield None
        return
    read, write = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()  # Xvfb writes its display number once it accepts
        yield f":{number}" if number else None
    finally:
        server.terminate()
        server.wait(10)


def check_demo(program: Path, work: Path, display: str | None = None) -> str:
    """The console on its demo server, left running a few seconds: it must neither exit nor
    print a traceback, and must have started its server and its session (their files)."""
    env = environment()
    if display:
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    where = f"X11 (Xvfb {display})" if display else env.get("QT_QPA_PLATFORM", "the display")
    data = work / f"demo-{'x11' if display else 'default'}"
    log = work / f"{data.name}.log"
    with log.open("w") as out:
        # output to a file, not a pipe that nobody reads while the console runs
        # its own data and profiles folder: the check reads nothing of this machine's user
        command = [
            str(program),
            *log_here(work),
            "--data-dir",
            str(data),
            "--config",
            str(data / "profiles.toml"),
            "demo",
        ]
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, creationflags=NEW_GROUP)
        try:
            deadline = time.monotonic() + GUI_SECONDS
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
            alive = proc.poll() is None
        finally:
            stop(proc)
    output = log.read_text(errors="replace")
    if not alive:
        raise CheckFailed(
            f"the demo console on {where} exited (code {proc.returncode}) within {GUI_SECONDS:.0f} s:\n{output}"
        )
    if "Traceback" in output or "qt.qpa.plugin: Could not" in output:
        raise CheckFailed(f"the demo console on {where} printed an error:\n{output}")
    missing = [name for name in ("demo-worklist.db", "console.db") if not (data / name).exists()]
    if missing:
        raise CheckFailed(
            f"the demo console on {where} did not create {', '.join(missing)} in {GUI_SECONDS:.0f} s:\n{output}"
        )
    return f"the console ran {GUI_SECONDS:.0f} s on {where} with its demo server and session"


def check_demo_on_x11(program: Path, work: Path) -> str:
    with virtual_display() as display:
        if display is None:
            return "skipped: no Xvfb here (the offscreen run above covers the console itself)"
        return check_demo(program, work, display)


def check(dist: Path) -> None:
    program = executable(dist)
    if not program.exists():
        raise CheckFailed(f"there is no {program}")
    with tempfile.TemporaryDirectory(prefix="worklist-bundle-check-", ignore_cleanup_errors=True) as work:
        for name, run in (
            ("version", lambda: check_version(program)),
            ("self-test", lambda: check_self_test(program, Path(work))),
            ("serve", lambda: check_serve(program, Path(work))),
            ("demo", lambda: check_demo(program, Path(work))),
            ("demo on X11", lambda: check_demo_on_x11(program, Path(work))),
        ):
            began = time.monotonic()
            result = run()
            print(f"bundle check {name}: {result} [{time.monotonic() - began:.1f} s]", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build (and check) the Worklist Console bundle with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the bundle goes (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder (default: build/)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="after building, run --version, self-test, serve and the demo from the bundle",
    )
    parser.add_argument("--check-only", action="store_true", help="check a bundle built before; do not build")
    parser.add_argument("--largest", type=int, default=0, metavar="N", help="list the N largest files of the bundle")
    parser.add_argument(
        "--max-mib",
        type=float,
        metavar="MIB",
        help="fail if the bundle is larger than this (CI keeps it lean this way)",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # app.__version__ of this tree, for the --version check

    dist, work = args.dist.resolve(), args.work.resolve()
    if not args.check_only:
        if bundle_dir(dist).exists():
            shutil.rmtree(bundle_dir(dist))
        seconds = build(dist, work)
        print(f"built in {seconds:.0f} s", flush=True)
    folder = bundle_dir(dist)
    if not folder.exists():
        print(f"There is no bundle at {folder}: build it first (without --check-only).", file=sys.stderr)
        return 2
    total, count = size_of(folder)
    print(f"bundle: {folder} — {mib(total)} in {count} files", flush=True)
    for size, name in largest(folder, args.largest):
        print(f"  {mib(size):>10}  {name}")
    if args.max_mib is not None and total > args.max_mib * 2**20:
        print(
            f"The bundle is {mib(total)}, over the budget of {args.max_mib:.0f} MiB: something new came in. "
            f"List the largest files with --largest 30 and exclude what the console does not use "
            f"(packaging/worklist-console.spec, packaging/hooks/qt_lean.py), or raise the budget in .ci/run.",
            file=sys.stderr,
        )
        return 1
    if args.check or args.check_only:
        try:
            check(dist)
        except (CheckFailed, subprocess.TimeoutExpired, OSError) as exc:
            print(f"bundle check FAILED: {exc}", file=sys.stderr)
            return 1
        print("bundle check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
