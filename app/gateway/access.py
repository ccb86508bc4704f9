"""How a gateway proves itself to its upstream, and whom it trusts there: `serve
--upstream-user` with `--upstream-password-file`, or `--upstream-token-file`, and `--upstream-ca`
(an HTTP upstream); the user and password alone for a DIMSE RIS, sent as a User Identity.
Secrets come from files (never the command line, where any user of the machine may read them)
and stay out of every log and sentence."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from app.backends.profiles import Profile


@dataclass(frozen=True)
class UpstreamAccess:
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    ca_file: str = ""

    @property
    def given(self) -> bool:
        return bool(self.user or self.password or self.token or self.ca_file)

    def apply(self, profile: Profile) -> Profile:
        """The upstream client's profile with these credentials (basic or bearer) and CA file."""
        if self.token:
            profile = replace(profile, auth="bearer", token=self.token)
        elif self.user:
            profile = replace(profile, auth="basic", username=self.user, password=self.password)
        return replace(profile, ca_file=self.ca_file) if self.ca_file else profile

    @classmethod
    def from_files(
        cls, user: str | None, password_file: str | None, token_file: str | None, ca_file: str | None
    ) -> UpstreamAccess:
        """ValueError in a sentence when the options do not go together or a file cannot be read."""
        if token_file and (user or password_file):
            raise ValueError("Give the upstream either a user (with --upstream-password-file) or a token, not both.")
        if password_file and not user:
            raise ValueError("--upstream-password-file needs --upstream-user: whose password is it?")
        if user and not password_file:
            raise ValueError("--upstream-user needs --upstream-password-file (the password, alone in a file).")
        if ca_file and not Path(ca_file).is_file():
            raise ValueError(f"The upstream CA file {ca_file} does not exist.")
        return cls(
            user=user or "",
            password=_secret(password_file, "password") if password_file else "",
            token=_secret(token_file, "token") if token_file else "",
            ca_file=str(Path(ca_file).resolve()) if ca_file else "",
        )


def _secret(path: str, what: str) -> str:
    """The first line of the file, without its line end; the secret itself is never said."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"Cannot read the upstream {what} file {path}: {getattr(exc, 'strerror', None) or exc}."
        ) from None
    secret = text.splitlines()[0].strip() if text.strip() else ""
    if not secret:
        raise ValueError(f"The upstream {what} file {path} is empty.")
    return secret
