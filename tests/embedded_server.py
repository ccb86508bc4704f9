"""Starting a real embedded server for a test: ephemeral loopback port, its own database."""
from __future__ import annotations

from app.server import ServerConfig, UPSServer


def start_server(db_path, port: int = 0) -> UPSServer:
    return UPSServer(ServerConfig(http_port=port, db_path=str(db_path), purge_interval=3600)).start()
