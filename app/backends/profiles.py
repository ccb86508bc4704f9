"""Connection profiles: which worklist provider, how to reach it, who we are.

Saved as TOML in the user config folder. Secrets stay in the file (the site decides how
to protect it) but never in a log line or a repr.
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

BACKENDS = ("upsrs", "dimse")
AUTH_KINDS = ("none", "basic", "bearer")
_SECRET = ("password", "token")


class ProfileError(ValueError):
    """A profile file or value that cannot be used; the message says which and why."""


@dataclass
class Profile:
    name: str = "Local demo"
    backend: str = "upsrs"
    url: str = "http://127.0.0.1:8080/dicom-web"  # UPS-RS service base (…/workitems lives under it)
    ae_title: str = "CONSOLE"  # our AE title: subscriber, requester, performer
    station: str = ""  # the Scheduled Station Name we work for; empty: our AE title
    auth: str = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    ca_file: str = ""  # extra CA bundle; empty: the system trust store
    verify_tls: bool = True
    dcm4chee: bool = False  # send dcm4chee-arc's forms (requester AE in the path, ?workitem=, no SCHEDULED→COMPLETED)
    timeout: float = 10.0
    poll_seconds: float = 30.0
    # DIMSE (MWL + MPPS): separate peers, as sites often run them on different systems
    mwl_host: str = "127.0.0.1"
    mwl_port: int = 11112
    mwl_aet: str = "WORKLIST"
    mpps_host: str = ""  # empty: the MWL peer
    mpps_port: int = 0
    mpps_aet: str = ""
    dimse_timeout: float = 30.0
    fallback_charset: str = "ISO_IR 100"  # for SCPs that omit Specific Character Set

    @property
    def mpps_peer(self) -> tuple[str, int, str]:
        return (self.mpps_host or self.mwl_host, self.mpps_port or self.mwl_port, self.mpps_aet or self.mwl_aet)

    @property
    def station_code(self) -> str:
        return self.station or self.ae_title

    def check(self) -> "Profile":
        if self.backend not in BACKENDS:
            raise ProfileError(f"Profile {self.name!r}: backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}.")
        if self.auth not in AUTH_KINDS:
            raise ProfileError(f"Profile {self.name!r}: auth must be one of {', '.join(AUTH_KINDS)}, not {self.auth!r}.")
        if not 1 <= len(self.ae_title) <= 16 or "\\" in self.ae_title:
            raise ProfileError(f"Profile {self.name!r}: the AE title must have 1 to 16 characters and no backslash.")
        if self.backend == "upsrs" and not self.url.startswith(("http://", "https://")):
            raise ProfileError(f"Profile {self.name!r}: the URL must start with http:// or https://.")
        if self.backend == "dimse" and not (self.mwl_host and 0 < self.mwl_port < 65536 and self.mwl_aet):
            raise ProfileError(f"Profile {self.name!r}: the worklist (MWL) peer needs a host, a port and an AE title.")
        return self

    def redacted(self) -> dict[str, object]:
        """The profile as a log or an About box may show it."""
        data = asdict(self)
        for key in _SECRET:
            if data[key]:
                data[key] = "***"
        return data


@dataclass
class ProfileBook:
    profiles: list[Profile] = field(default_factory=list)
    active: str = ""

    def get(self, name: str | None = None) -> Profile | None:
        name = name or self.active
        return next((p for p in self.profiles if p.name == name), None)

    def put(self, profile: Profile) -> None:
        self.profiles = [p for p in self.profiles if p.name != profile.name] + [profile.check()]


def default_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("worklist-console", appauthor=False) / "profiles.toml"


def load(path: Path | None = None) -> ProfileBook:
    path = path or default_path()
    if not path.exists():
        return ProfileBook()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"The profile file {path} cannot be read: {exc}.") from None
    known = {f.name for f in fields(Profile)}
    book = ProfileBook(active=str(data.get("active", "")))
    for name, table in (data.get("profiles") or {}).items():
        if not isinstance(table, dict):
            continue
        values = {k: v for k, v in table.items() if k in known}
        values["name"] = name
        try:
            book.profiles.append(Profile(**values).check())
        except TypeError as exc:
            raise ProfileError(f"Profile {name!r} in {path}: {exc}.") from None
    return book


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def save(book: ProfileBook, path: Path | None = None) -> Path:
    """Write the book; the file it replaces is kept as `<name>.bak` (one generation), so that a
    file the console could not read, or a profile saved by mistake, can still be recovered."""
    path = path or default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"active = {_toml_value(book.active)}", ""]
    for profile in book.profiles:
        lines.append(f"[profiles.{_toml_value(profile.name)}]")
        for key, value in asdict(profile).items():
            if key != "name":
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    if path.exists():
        backup = backup_path(path)
        backup.unlink(missing_ok=True)
        path.replace(backup)
    tmp.replace(path)
    return path


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")
