"""Connection profiles: which worklist provider, how to reach it, who we are.

Saved as TOML in the user config folder, in a file only its user may read (0600 when the
console creates it; a mode the site set is kept across saves). Secrets stay in the file but
never in a log line or a repr.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from app import private_files
from app.domain.codes import MODALITY_CODES
from app.domain.dates import RELATIVE_CHOICES, TODAY

BACKENDS = ("upsrs", "dimse", "mpps-rs")
AUTH_KINDS = ("none", "basic", "bearer")
_SECRET = ("password", "token")
_MODALITIES = frozenset(code.value for code in MODALITY_CODES)


class ProfileError(ValueError):
    """A profile file or value that cannot be used; the message says which and why, and `field`
    names the Profile attribute at fault (empty when it is the file), so Settings can mark it."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Profile:
    name: str = "Local demo"
    backend: str = "upsrs"
    url: str = "http://127.0.0.1:8080/dicom-web"  # UPS-RS service base (…/workitems lives under it)
    ae_title: str = "CONSOLE"  # our AE title: subscriber, requester, performer
    station: str = ""  # the Scheduled Station Name we work for; empty: our AE title
    modality: str = ""  # CID 29 code of this station (CT, MR …); empty: read from the station name
    # the site's technologists ("Family, Given" each); when given, Complete accepts only these names
    staff: list[str] = field(default_factory=list)
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
    tls: bool = False  # DICOM over TLS to the MWL and MPPS peers, trusting ca_file (else the system store)
    # with tls, the certificate (PEM, its chain after it) and the key this station proves itself with,
    # for a peer that asks for one; both files or neither
    client_cert: str = ""
    client_key: str = ""
    fallback_charset: str = "ISO_IR 100"  # for SCPs that omit Specific Character Set
    # the query bar's date choice when the console opens: a site's choice, not the time of day's
    # (a console opened at 19:55 for the night shift would otherwise open on "Today" alone)
    opening_dates: str = TODAY
    # Start (F6) asks "is this the patient?" (name, birth date, patient ID) before it claims. On for
    # new profiles, and for files written before the setting existed: a wrong start is worse than a key.
    confirm_start: bool = True

    @property
    def mpps_peer(self) -> tuple[str, int, str]:
        return (self.mpps_host or self.mwl_host, self.mpps_port or self.mwl_port, self.mpps_aet or self.mwl_aet)

    @property
    def station_code(self) -> str:
        return self.station or self.ae_title

    @property
    def station_modality(self) -> str:
        """The modality of this station: as configured, else the leading letters of the station
        name when they are a CID 29 code (CT1 → CT, CT2B → CT, ROOM7 → nothing)."""
        if self.modality:
            return self.modality
        letters = re.sub(r"[^A-Za-z].*", "", self.station_code).upper()
        return letters if letters in _MODALITIES else ""

    def check(self) -> Profile:
        """The profile itself, or ProfileError naming the first field that cannot be used."""
        if not self.name.strip():
            raise ProfileError("A profile needs a name.", "name")
        if self.backend not in BACKENDS:
            raise ProfileError(
                f"Profile {self.name!r}: backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}.", "backend"
            )
        if self.auth not in AUTH_KINDS:
            raise ProfileError(
                f"Profile {self.name!r}: auth must be one of {', '.join(AUTH_KINDS)}, not {self.auth!r}.", "auth"
            )
        if not 1 <= len(self.ae_title) <= 16 or "\\" in self.ae_title:
            raise ProfileError(
                f"Profile {self.name!r}: the AE title must have 1 to 16 characters and no backslash.", "ae_title"
            )
        # any code value (CS) passes: CID 29 is longer than the list Settings offers
        if self.modality and not re.fullmatch(r"[A-Z0-9_]{1,16}", self.modality):
            raise ProfileError(
                f"Profile {self.name!r}: the modality must be a CID 29 code such as CT or MR, not {self.modality!r}.",
                "modality",
            )
        if self.opening_dates not in RELATIVE_CHOICES:
            raise ProfileError(
                f"Profile {self.name!r}: the dates on opening must be one of {', '.join(RELATIVE_CHOICES)},"
                f" not {self.opening_dates!r}.",
                "opening_dates",
            )
        if not isinstance(self.staff, list) or not all(isinstance(n, str) and n.strip() for n in self.staff):
            raise ProfileError(
                f'Profile {self.name!r}: staff must be a list of names, such as ["Becker, Anna", "Tanaka, Yui"].',
                "staff",
            )
        if self.backend in ("upsrs", "mpps-rs") and not self.url.startswith(("http://", "https://")):
            raise ProfileError(f"Profile {self.name!r}: the URL must start with http:// or https://.", "url")
        if self.backend == "dimse":
            peer = "the worklist (MWL) peer needs"
            if not self.mwl_host:
                raise ProfileError(f"Profile {self.name!r}: {peer} a host name or IP address.", "mwl_host")
            if not 0 < self.mwl_port < 65536:
                raise ProfileError(f"Profile {self.name!r}: {peer} a port from 1 to 65535.", "mwl_port")
            if not self.mwl_aet:
                raise ProfileError(f"Profile {self.name!r}: {peer} a called AE title.", "mwl_aet")
            if bool(self.client_cert) != bool(self.client_key):
                missing = "client_key" if self.client_cert else "client_cert"
                raise ProfileError(
                    f"Profile {self.name!r}: a client certificate goes with its key: give both files or neither.",
                    missing,
                )
            if self.client_cert and not self.tls:
                raise ProfileError(
                    f"Profile {self.name!r}: a client certificate is shown in a TLS handshake: turn DICOM over TLS on.",
                    "tls",
                )
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

    def put(self, profile: Profile, replacing: str | None = None) -> None:
        """Add the profile, replacing the one of the same name.

        With `replacing` (the name the profile had when it was opened; "" for a new one) a name
        that another profile already has is refused rather than overwriting that profile, and a
        renamed profile keeps its place in the list and its start-up role."""
        profile.check()
        if replacing is None:
            self.profiles = [p for p in self.profiles if p.name != profile.name] + [profile]
            return
        if profile.name != replacing and self.get(profile.name) is not None:
            raise ProfileError(f"A profile named {profile.name!r} already exists: choose another name.", "name")
        names = [p.name for p in self.profiles]
        if replacing and replacing in names:
            self.profiles[names.index(replacing)] = profile
            if self.active == replacing:
                self.active = profile.name
        else:
            self.profiles.append(profile)

    def remove(self, name: str) -> None:
        self.profiles = [p for p in self.profiles if p.name != name]
        if self.active == name:
            # cleared rather than handed to a neighbour: start-up then opens the first profile, and
            # the next profile saved in Settings becomes the start-up one, chosen by the user
            self.active = ""

    def duplicate(self, name: str) -> Profile:
        """A copy of the named profile under a name no other profile has ("Copy of X", "Copy of X (2)" …),
        added to the book."""
        original = self.get(name)
        if original is None:
            raise ProfileError(f"There is no profile named {name!r}.", "name")
        copy_name, n = f"Copy of {name}", 1
        while self.get(copy_name) is not None:
            n += 1
            copy_name = f"Copy of {name} ({n})"
        copy = replace(original, name=copy_name)
        self.profiles.append(copy)
        return copy


def default_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("worklist-console", appauthor=False) / "profiles.toml"


def load(path: Path | None = None) -> ProfileBook:
    path = path or default_path()
    if not path.exists():
        return ProfileBook()
    import tomllib  # here and in save: an ad-hoc profile (`echo --url`) reads no file

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


def save(book: ProfileBook, path: Path | None = None) -> Path:
    """Write the book; the file it replaces is kept as `<name>.bak` (one generation), so that a
    file the console could not read, or a profile saved by mistake, can still be recovered."""
    path = path or default_path()
    private_files.make_folder(path.parent)
    # tomli-w escapes what a hand-made writer missed (a password with a carriage return made the
    # whole file unreadable); the layout stays what earlier versions wrote: [profiles."Name"]
    import tomli_w

    tables = {p.name: {k: v for k, v in asdict(p).items() if k != "name"} for p in book.profiles}
    text = tomli_w.dumps({"active": book.active, "profiles": tables})
    tmp = path.with_suffix(".tmp")
    # it holds passwords and tokens: private when new, and a mode an administrator set survives the save
    private_files.write_text(tmp, text, private_files.mode_for(path))
    if path.exists():
        backup = backup_path(path)
        backup.unlink(missing_ok=True)
        path.replace(backup)
    tmp.replace(path)
    return path


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")
