"""A locked embedded server for the tests: users from a file, optionally HTTPS with its own CA."""

from __future__ import annotations

import ssl
from pathlib import Path

from app.server import ServerConfig, UPSServer
from app.server.users import Users

PASSWORD = "correct horse battery"


def users_file(folder: Path, **aes: list[str]) -> tuple[Path, dict[str, str]]:
    """A users file with one user per keyword (its AE titles) and a bearer token for each."""
    users = Users()
    for name, titles in aes.items():
        users.add(name, PASSWORD, titles)
    tokens = {name: users.new_token(name) for name in aes}
    path = folder / "users.toml"
    users.save(path)
    return path, tokens


def locked_server(folder: Path, *, tls: bool = False, **aes: list[str]) -> tuple[UPSServer, dict[str, str]]:
    path, tokens = users_file(folder, **aes)
    config = ServerConfig(
        http_port=0, db_path=str(folder / "ups.db"), purge_interval=3600, users_file=str(path), tls_self_signed=tls
    )
    return UPSServer(config).start(), tokens


def trusting(server: UPSServer) -> ssl.SSLContext:
    """What a console with the server's CA file as its CA file trusts."""
    assert server.tls is not None and server.tls.ca is not None
    return ssl.create_default_context(cafile=str(server.tls.ca))
