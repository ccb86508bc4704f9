"""TLS for the HTTP front: a site's certificate, or a classroom's own certificate authority.

`--tls-self-signed` makes a small CA and a server certificate signed by it, in a folder beside
the database, and reuses them while they cover the server's names and are not near expiry.
Consoles trust the CA file (a profile's CA file), not the server certificate, so a new server
certificate does not mean visiting every trainee again.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app import private_files

if TYPE_CHECKING:  # cryptography is loaded only by a server that makes or shows certificates
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

CA_FILE, CA_KEY = "ca.pem", "ca-key.pem"
CERT_FILE, KEY_FILE = "server.pem", "server-key.pem"
CA_DAYS, CERT_DAYS = 3650, 397
RENEW_BEFORE = dt.timedelta(days=30)
# valid from well before now: a trainee's laptop whose clock lags still accepts the certificates
BACKDATE = dt.timedelta(days=730)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path | None = None  # what consoles should trust, when we made it


def fingerprint(cert_path: Path) -> str:
    """SHA-256 of a certificate, as browsers and `openssl x509 -fingerprint -sha256` show it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def server_names(bind_host: str) -> list[str]:
    """What the server certificate must cover: loopback, this machine's names, the bound address."""
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname(), socket.getfqdn()]
    if bind_host not in ("0.0.0.0", "::", ""):
        names.append(bind_host)
    seen: list[str] = []
    for name in names:
        if name and name.lower() not in seen:
            seen.append(name.lower())
    return seen


def self_signed(folder: Path, names: list[str]) -> TlsFiles:
    """The classroom CA and a server certificate for `names` in `folder`, made when missing,
    expiring or not covering `names`; reused otherwise."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private_files.make_folder(folder)  # it holds the CA's key: 0700 whatever the umask
    if os.name == "posix" and folder.stat().st_mode & 0o077:
        # one an older version made 0755: the folder is ours alone, so it is made private now
        os.chmod(folder, 0o700)
    ca_path, ca_key_path = folder / CA_FILE, folder / CA_KEY
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    now = dt.datetime.now(dt.UTC)
    if ca_path.exists() and ca_key_path.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if ca_cert.not_valid_after_utc - now < RENEW_BEFORE or not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            ca_cert, ca_key = _new_ca(ca_path, ca_key_path, now)
    else:
        ca_cert, ca_key = _new_ca(ca_path, ca_key_path, now)
    if not _still_good(cert_path, key_path, ca_cert, names, now):
        _new_server_cert(cert_path, key_path, ca_cert, ca_key, names, now)
    return TlsFiles(cert_path, key_path, ca_path)


def _write(path: Path, data: bytes, private: bool) -> None:
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _new_ca(ca_path: Path, key_path: Path, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"Worklist Console classroom CA ({socket.gethostname()})"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Worklist Console"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(ca_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return cert, key


def _alt_names(names: list[str]) -> list[x509.GeneralName]:
    from cryptography import x509

    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            alt.append(x509.DNSName(name))
    return alt


def _still_good(cert_path: Path, key_path: Path, ca: x509.Certificate, names: list[str], now: dt.datetime) -> bool:
    from cryptography import x509

    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        covered = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    return (
        cert.issuer == ca.subject
        and cert.not_valid_after_utc - now >= RENEW_BEFORE
        and all(n in list(covered) for n in _alt_names(names))
    )


def _new_server_cert(
    cert_path: Path,
    key_path: Path,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: list[str],
    now: dt.datetime,
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(_alt_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    # the chain: clients that trust the CA verify the server certificate through it
    _write(
        cert_path,
        cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM),
        private=False,
    )


def https_files(cert: str | None, key: str | None, self_made: bool, db_path: str, bind_host: str) -> TlsFiles | None:
    """The certificate and key HTTPS uses, or None for plain HTTP. ValueError says what is wrong."""
    if self_made:
        if cert or key:
            raise ValueError("Give either --tls-self-signed or --tls-cert and --tls-key, not both.")
        folder = (Path.cwd() if db_path == ":memory:" else Path(db_path).resolve().parent) / "tls"
        return self_signed(folder, server_names(bind_host))
    if not cert and not key:
        return None
    if not (cert and key):
        raise ValueError("HTTPS needs both the certificate (--tls-cert) and its key (--tls-key).")
    for path in (cert, key):
        if not Path(path).is_file():
            raise ValueError(f"There is no file {path} for TLS.")
    return TlsFiles(Path(cert), Path(key))
