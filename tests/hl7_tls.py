"""MLLP over TLS for the tests: orders of their own, client certificates a users file names, and a
server whose HL7 door asks for them (`--hl7-tls --client-ca`)."""

from __future__ import annotations

import socket
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path

import hl7
from certificates import make_certificate
from door import PASSWORD

from app.server import ServerConfig, UPSServer
from app.server.users import Users

VT, END = b"\x0b", b"\x1c\x0d"


def order(control: str, placer: str, station: str, *, application: str = "RIS", control_id: str = "") -> bytes:
    """An ORM^O01 (v2.3.1) with ORC-1 `control` for the order `placer`, scheduled for `station`."""
    control_id = control_id or uuid.uuid4().hex[:12]
    segments = [
        f"MSH|^~\\&|{application}|RADIOLOGY|WORKLIST|RADIOLOGY|20270315083000||ORM^O01|{control_id}|P|2.3.1",
        "PID|1||PAT-1001^^^RIS||Mueller^Anna||19720412|F",
        f"ORC|{control}|{placer}|F{placer}||SC||^^^20270315093000^^R",
        f"OBR|1|{placer}|F{placer}|CT-HEAD^CT Head^99RIS||||||||||||||ACC{placer}|RP-1|SPS-1001|{station}|||CT"
        "|||^^^20270315093000^^R",
    ]
    return "\r".join(segments).encode()


def new_placer() -> str:
    return "PL" + uuid.uuid4().hex[:10].upper()


@dataclass
class Certificates:
    """The server's pair and each client's (PEM files): `ca` signs every client's but `stranger`."""

    server: tuple[Path, Path]
    clients: dict[str, tuple[Path, Path]]
    ca: Path


def certificates(folder: Path, *names: str) -> Certificates:
    """Self-signed client certificates (each its own CA), all in the client CA file but `stranger`'s."""
    server = make_certificate(folder, "server")
    clients = {name: make_certificate(folder, name) for name in (*names, "unknown", "stranger")}
    ca = folder / "client-ca.pem"
    ca.write_text("".join(cert.read_text() for name, (cert, _) in clients.items() if name != "stranger"))
    return Certificates(server, clients, ca)


def users_with_certificates(folder: Path, certs: Certificates, **users: tuple[str, list[str]]) -> Path:
    """A users file: each keyword a user (its role and AE titles) whose certificate is the one of that name."""
    found = Users()
    for name, (role, aes) in users.items():
        found.add(name, PASSWORD, aes, role)
        found.add_certificate(name, ssl.PEM_cert_to_DER_cert(certs.clients[name][0].read_text()))
    path = folder / "users.toml"
    found.save(path)
    return path


def tls_door(folder: Path, certs: Certificates, users: Path | None, **config) -> UPSServer:
    """A server whose HL7 door speaks MLLP over TLS only and asks for a client certificate."""
    return UPSServer(
        ServerConfig(
            http_port=0,
            db_path=str(folder / "ups.db"),
            purge_interval=3600,
            hl7_port=0,
            hl7_tls=True,
            tls_cert=str(certs.server[0]),
            tls_key=str(certs.server[1]),
            client_ca=str(certs.ca),
            users_file=str(users) if users else None,
            **config,
        )
    ).start()


def client_context(certs: Certificates, name: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs.server[0]))
    if name is not None:
        context.load_cert_chain(*(str(part) for part in certs.clients[name]))
    return context


def tls_exchange(port: int, certs: Certificates, name: str | None, raw: bytes) -> hl7.Message:
    """The ACK to one message sent as the holder of certificate `name` (None: no certificate)."""
    plain = socket.create_connection(("127.0.0.1", port), timeout=10)
    with plain, client_context(certs, name).wrap_socket(plain, server_hostname="localhost") as peer:
        peer.sendall(VT + raw + END)
        data = b""
        while END not in data:
            chunk = peer.recv(65536)
            assert chunk, f"the server closed the connection; received {data!r}"
            data += chunk
    frame = data.partition(END)[0]
    assert frame[:1] == VT
    return hl7.parse(frame[1:].decode("utf-8", errors="replace"))


def msa(ack: hl7.Message) -> tuple[str, str]:
    """The ACK's code, and its whole text: ERR-8's when there is one (MSA-3 holds 80 characters)."""
    errors = ack.segments("ERR") if any(str(segment[0]) == "ERR" for segment in ack) else []
    said = str(errors[0].extract_field(1, 8, 1, 1, 1)) if errors else ""
    return str(ack.segment("MSA")(1)), said or str(ack.segment("MSA")(3))
