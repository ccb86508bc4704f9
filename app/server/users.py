"""The users file of the HTTP front: users with scrypt-hashed passwords, bearer tokens kept as
hashes, each optionally bound to AE titles.

TOML, written with mode 0600:

    [users.alice]
    password = "scrypt$16384$8$1$<salt>$<hash>"
    role = "modality"               # modality, ris or admin (app/domain/access.py)
    aes = ["CT1"]                   # empty or absent: any AE title
    certificates = ["<sha256>"]     # DICOM TLS client certificates that are this user (optional)

    [tokens.3f9a0c1d2e4b]
    user = "alice"
    hash = "sha256$<hash>"
    aes = []                        # empty: the user's

A token is `<id>.<secret>`; only the hash of the secret is stored, so the file holds nothing
that opens the door. Tokens are long random strings, so one SHA-256 suffices for them;
passwords are what people choose, so they get scrypt.

A file written before roles existed has none: a user bound to AE titles is then a `modality`,
one bound to none a `ris` (it could already do anything).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from app.domain.access import ROLES, Identity, Role

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 8


class UsersFileError(Exception):
    """The users file cannot be read or does not say what it must; the message is a sentence."""


# Who a request comes from: the domain's identity, named as the HTTP front has always named it.
Principal = Identity


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# a hash of no password, with today's parameters: an unknown name costs what a known one does
_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"


def certificate_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _token_hash(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class User:
    password: str = ""  # the scrypt hash
    aes: list[str] = field(default_factory=list)
    role: str = Role.MODALITY.value
    certificates: list[str] = field(default_factory=list)  # SHA-256 fingerprints (hex) of client certificates


def _role(entry: dict, aes: list[str], where: str) -> str:
    role = str(entry.get("role") or (Role.MODALITY.value if aes else Role.RIS.value))
    if role not in ROLES:
        raise UsersFileError(f"{where}: the role {role!r} is not one of {', '.join(ROLES)}.")
    return role


@dataclass
class Token:
    user: str
    hash: str
    aes: list[str] = field(default_factory=list)


class Users:
    """The users and tokens of one file. Verifying a password costs scrypt's time, so a
    verified pair is remembered (as a keyed hash) for the life of the process."""

    def __init__(self, users: dict[str, User] | None = None, tokens: dict[str, Token] | None = None) -> None:
        self.users = users or {}
        self.tokens = tokens or {}
        self._key = secrets.token_bytes(32)
        self._verified: set[bytes] = set()
        self._lock = threading.Lock()

    # -- the file ----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Users:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsersFileError(f"There is no users file at {path}.") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsersFileError(f"Cannot read the users file {path}: {exc}") from None
        try:
            users = {}
            for name, entry in data.get("users", {}).items():
                aes = [str(a) for a in entry.get("aes", [])]
                users[str(name)] = User(
                    str(entry["password"]),
                    aes,
                    _role(entry, aes, f"The user {name} in {path}"),
                    [str(c).lower() for c in entry.get("certificates", [])],
                )
            tokens = {
                str(tid): Token(str(entry["user"]), str(entry["hash"]), [str(a) for a in entry.get("aes", [])])
                for tid, entry in data.get("tokens", {}).items()
            }
        except (KeyError, TypeError, AttributeError) as exc:
            raise UsersFileError(f"The users file {path} is not in the expected form (missing {exc}).") from None
        return cls(users, tokens)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "users": {
                name: {"password": u.password, "role": u.role, "aes": u.aes}
                | ({"certificates": u.certificates} if u.certificates else {})
                for name, u in sorted(self.users.items())
            },
            "tokens": {tid: {"user": t.user, "hash": t.hash, "aes": t.aes} for tid, t in sorted(self.tokens.items())},
        }
        temporary = path.with_name(path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            tomli_w.dump(data, out)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)

    # -- changes -------------------------------------------------------------------------------
    def add(self, name: str, password: str, aes: list[str] | None = None, role: str | None = None) -> None:
        """Add or replace a user. No role: a `modality` when bound to AE titles, else a `ris`."""
        role = role or (Role.MODALITY.value if aes else Role.RIS.value)
        if not name or ":" in name or not name.isprintable():
            raise UsersFileError(f"{name!r} cannot be a user name (printable, no colon).")
        if len(password) < MIN_PASSWORD:
            raise UsersFileError(f"A password needs at least {MIN_PASSWORD} characters.")
        if role not in ROLES:
            raise UsersFileError(f"The role {role!r} is not one of {', '.join(ROLES)}.")
        if role == Role.MODALITY and not aes:
            raise UsersFileError(f"A modality user acts as its AE titles: give {name} at least one (--ae CT1).")
        self.users[name] = User(hash_password(password), list(aes or []), role)

    def remove(self, name: str) -> None:
        if name not in self.users:
            raise UsersFileError(f"There is no user {name!r}.")
        del self.users[name]
        self.tokens = {tid: tok for tid, tok in self.tokens.items() if tok.user != name}

    def add_certificate(self, name: str, der: bytes) -> str:
        """Make the holder of this (DER) client certificate the user `name`; its fingerprint."""
        if name not in self.users:
            raise UsersFileError(f"There is no user {name!r}; add it first.")
        fingerprint = certificate_fingerprint(der)
        for other, user in self.users.items():
            if fingerprint in user.certificates and other != name:
                raise UsersFileError(f"That certificate is already the user {other}'s.")
        if fingerprint not in self.users[name].certificates:
            self.users[name].certificates.append(fingerprint)
        return fingerprint

    def new_token(self, name: str, aes: list[str] | None = None) -> str:
        """A new bearer token for the user; the only time it is shown."""
        if name not in self.users:
            raise UsersFileError(f"There is no user {name!r}; add it first.")
        tid, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        self.tokens[tid] = Token(name, _token_hash(secret), list(aes or []))
        return f"{tid}.{secret}"

    # -- checks --------------------------------------------------------------------------------
    def by_password(self, name: str, password: str) -> Identity | None:
        user = self.users.get(name)
        if user is None:
            check_password(password, _DUMMY_HASH)  # as long as a wrong password: names do not leak by timing
            return None
        if not self.remembered(name, password):
            if not check_password(password, user.password):
                return None
            with self._lock:
                self._verified.add(self._pair_key(name, password, user.password))
        return Identity(name, Role(user.role), frozenset(user.aes))

    def remembered(self, name: str, password: str) -> bool:
        """Whether this pair was verified before, so that `by_password` answers without scrypt."""
        user = self.users.get(name)
        if user is None:
            return False
        key = self._pair_key(name, password, user.password)
        with self._lock:
            return key in self._verified

    def _pair_key(self, name: str, password: str, stored: str) -> bytes:
        return hmac.new(self._key, f"{name}\0{password}\0{stored}".encode(), "sha256").digest()

    def by_certificate(self, der: bytes) -> Identity | None:
        """The user a verified client certificate stands for, if the file names it."""
        fingerprint = certificate_fingerprint(der)
        for name, user in self.users.items():
            if fingerprint in user.certificates:
                return Identity(name, Role(user.role), frozenset(user.aes))
        return None

    def by_token(self, text: str) -> Identity | None:
        tid, _, secret = text.partition(".")
        token = self.tokens.get(tid)
        if token is None or not secret or not hmac.compare_digest(_token_hash(secret), token.hash):
            return None
        user = self.users.get(token.user)
        if user is None:
            return None
        return Identity(token.user, Role(user.role), frozenset(token.aes or user.aes))
