"""How a gateway proves itself to its upstream, and whom it trusts there: `serve
--upstream-user` with `--upstream-password-file`, or `--upstream-token-file`, and `--upstream-ca`
(an HTTP upstream); for a DIMSE RIS the user and password as a User Identity and, with `TLS=1`,
`--upstream-ca` and `--upstream-cert` with `--upstream-key` (DICOM TLS).
Secrets come from files (never the command line, where any user of the machine may read them)
and stay out of every log and sentence."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.backends.profiles import Profile


@dataclass(frozen=True)
class UpstreamAccess:
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    ca_file: str = ""
    cert_file: str = ""  # a client certificate (PEM) for DICOM TLS to a RIS, with its key
    key_file: str = ""

    @property
    def given(self) -> bool:
        return bool(self.user or self.password or self.token or self.ca_file or self.cert_file)

    def apply(self, profile: Profile) -> Profile:
        """The upstream client's profile with these credentials (basic or bearer), CA file and client certificate."""
        if self.token:
            profile = replace(profile, auth="bearer", token=self.token)
        elif self.user:
            profile = replace(profile, auth="basic", username=self.user, password=self.password)
        if self.cert_file:
            profile = replace(profile, client_cert=self.cert_file, client_key=self.key_file)
        return replace(profile, ca_file=self.ca_file) if self.ca_file else profile

    def apply_dimse(self, profile: Profile) -> Profile:
        """`apply` for a DIMSE RIS, whose TLS material is read here once: ValueError in a sentence,
        before anything opens, when it does not go with the upstream's TLS= or cannot be used."""
        if not profile.tls and (self.ca_file or self.cert_file):
            given = "--upstream-ca" if self.ca_file else "--upstream-cert"
            raise ValueError(f"{given} is for DICOM over TLS to the RIS: add TLS=1 to the dimse: upstream.")
        profile = self.apply(profile)
        if profile.tls:
            from app.backends.dimse_tls import client_tls

            try:
                client_tls(replace(profile, client_cert="", client_key=""))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(
                    f"The upstream CA file {self.ca_file} holds no CA certificate this gateway can read ({_why(exc)})."
                ) from None
            try:
                client_tls(profile)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(
                    f"The upstream client certificate {self.cert_file} and key {self.key_file} cannot be used "
                    f"({_why(exc)}): give the certificate (PEM) and its own key, without a passphrase."
                ) from None
        return profile

    @classmethod
    def from_files(
        cls,
        user: str | None,
        password_file: str | None,
        token_file: str | None,
        ca_file: str | None,
        cert_file: str | None = None,
        key_file: str | None = None,
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
        if bool(cert_file) != bool(key_file):
            raise ValueError(
                "--upstream-cert and --upstream-key go together: the client certificate and its private key, "
                "each in a file."
            )
        for given, path in (("client certificate", cert_file), ("client key", key_file)):
            if path and not Path(path).is_file():
                raise ValueError(f"The upstream {given} file {path} does not exist.")
        return cls(
            user=user or "",
            password=_secret(password_file, "password") if password_file else "",
            token=_secret(token_file, "token") if token_file else "",
            ca_file=str(Path(ca_file).resolve()) if ca_file else "",
            cert_file=str(Path(cert_file).resolve()) if cert_file else "",
            key_file=str(Path(key_file).resolve()) if key_file else "",
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


def _why(exc: OSError) -> str:
    """What OpenSSL or the file system said, without the error numbers."""
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    return exc.strerror or str(exc)
