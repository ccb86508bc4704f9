"""What `worklist-console ARGS` opens, read without Qt: the console's own options (a profile, an
ad-hoc one, where its files are, the demo), which the command line (`app.options`) builds its
parser from and the window's launcher (`app.ui.launch.open_window`) reads alike."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__

if TYPE_CHECKING:
    from app.backends.profiles import Profile

Commands = Callable[[Any], list[argparse.ArgumentParser]]  # the subcommands added to a parser's subparsers


def command_line(commands: Commands) -> argparse.ArgumentParser:
    """`worklist-console` with the console's options and the subcommands `commands` adds, each
    taking --verbose and --log-dir after it as well."""
    parser = argparse.ArgumentParser(
        prog="worklist-console", description="DICOM worklist console (UPS-RS or MWL/MPPS) with an embedded UPS server"
    )
    parser.add_argument("--version", action="version", version=f"worklist-console {__version__}")
    logging_arguments(parser)
    console_arguments(parser)
    for command in commands(parser.add_subparsers(dest="command")):
        logging_arguments(command, suppress=True)
    return parser


def window_command_line() -> argparse.ArgumentParser:
    """What the window opens from: the console's options and `demo`, as the command line reads them."""
    return command_line(lambda sub: [demo_command(sub)])


def demo_command(sub: Any) -> argparse.ArgumentParser:
    demo = sub.add_parser("demo", help="the console on an embedded server with a demo day, on free loopback ports")
    demo.add_argument("--seed-value", type=int, default=1, help="random seed of the demo day (default 1)")
    demo.add_argument("--station", dest="demo_station", default="CT1", help="the station this console is (default CT1)")
    demo_options = Suppressing(demo)  # what `demo` shares with the console, given after it as well
    demo_options.add_argument(
        "--ae-title", dest="console_ae", metavar="AET", help="our AE title (default: the station)"
    )
    demo_options.add_argument("--data-dir", metavar="PATH", help="where the demo's files live (default: a new folder)")
    demo_options.add_argument("--config", metavar="PATH", help="the site's profiles file, for Settings")
    return demo


def outbox_path(args: argparse.Namespace) -> Path:
    """Where the claim store lives: in --data-dir when given."""
    from app.backends.outbox import default_path  # the outbox is the window's, not the parser's

    return Path(args.data_dir) / "console.db" if getattr(args, "data_dir", None) else default_path()


def console_arguments(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    """The profile options; on a subcommand `suppress` keeps them from hiding the same options
    given before it."""
    if suppress:
        p.set_defaults()
        p = Suppressing(p)  # type: ignore[assignment]
    p.add_argument("--profile", help="use this saved profile instead of the active one")
    p.add_argument(
        "--backend",
        choices=("upsrs", "dimse", "mpps-rs"),
        help="an ad-hoc profile: the protocol (mpps-rs: DICOMweb MWL + MPPS, Supplement 246, at --url)",
    )
    p.add_argument("--url", help="an ad-hoc DICOMweb profile: the service base URL (…/dicom-web)")
    p.add_argument("--ae-title", dest="console_ae", metavar="AET", help="our AE title")
    p.add_argument("--station", help="the scheduled station we work for (default: our AE title)")
    p.add_argument("--mwl", metavar="HOST:PORT:AET", help="an ad-hoc DIMSE profile: the worklist (MWL) peer")
    p.add_argument(
        "--mpps", metavar="HOST:PORT:AET", help="an ad-hoc DIMSE profile: the MPPS peer (default: the MWL peer)"
    )
    p.add_argument("--config", metavar="PATH", help="the profiles file (default: in the user config folder)")
    p.add_argument("--data-dir", metavar="PATH", help="where the local claim store lives (default: user data folder)")


class Suppressing:
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser

    def add_argument(self, *args, **kwargs):
        kwargs["default"] = argparse.SUPPRESS
        return self.parser.add_argument(*args, **kwargs)


def logging_arguments(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    """--verbose and --log-dir, before a subcommand or after it."""
    if suppress:
        p = Suppressing(p)  # type: ignore[assignment]
    p.add_argument("--verbose", "-v", action="store_true", help="log debug detail (DIMSE and HTTP included)")
    p.add_argument("--log-dir", help="folder of the rotating log file (default: the user log folder)")


def refuse_url_credentials(option: str, url: str | None) -> None:
    """ValueError in a sentence when `url` carries user information (a user, a password): the
    command line of a process can be read by every user of the machine, and a ready line or a log
    would repeat it. The sentence never repeats the URL, whose password it would show."""
    from urllib.parse import urlsplit

    if not url:
        return
    try:
        netloc = urlsplit(url.strip()).netloc
    except ValueError:
        return  # not a URL at all: whoever reads it says so
    if "@" not in netloc:
        return
    if option == "--upstream":
        where = (
            "give the user with --upstream-user and the password alone in a file with --upstream-password-file "
            "(or a token with --upstream-token-file)"
        )
    elif option == "--url":
        where = "save the user and password in a profile (Settings) and give --profile NAME"
    else:
        where = "clients give their own user and password; the URL names only scheme, host and port"
    raise ValueError(
        f"The URL of {option} holds a user or password, which every user of this machine could read on its "
        f"command line: {where}."
    )


def peer(text: str | None) -> tuple[str, int, str] | None:
    """HOST:PORT:AET as a tuple; None when not given. ValueError says what is wrong."""
    if not text:
        return None
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT:AET (for example 10.0.0.5:104:RIS_MWL)")
    return parts[0], int(parts[1]), parts[2]


def ad_hoc_profile(args: argparse.Namespace) -> Profile | None:
    """The profile `--backend/--url/--mwl/--mpps/--ae-title/--station` describe; None when none
    of them is given. A malformed peer raises ProfileError."""
    from app.backends.profiles import Profile, ProfileError  # imported by the commands that open a profile only

    url, backend, mwl = getattr(args, "url", None), getattr(args, "backend", None), getattr(args, "mwl", None)
    if not (url or backend or mwl):
        return None
    try:
        refuse_url_credentials("--url", url)
    except ValueError as exc:
        raise ProfileError(str(exc)) from None
    profile = Profile(
        name="Command line",
        backend=backend or ("dimse" if mwl else "upsrs"),
        url=url or "",
        ae_title=getattr(args, "console_ae", None) or "CONSOLE",
        station=getattr(args, "station", None) or "",
    )
    try:
        for target, given in (("mwl", peer(mwl)), ("mpps", peer(getattr(args, "mpps", None)))):
            if given:
                setattr(profile, f"{target}_host", given[0])
                setattr(profile, f"{target}_port", given[1])
                setattr(profile, f"{target}_aet", given[2])
    except ValueError as exc:
        raise ProfileError(str(exc)) from None
    return profile.check()
