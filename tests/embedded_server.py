"""Starting a real embedded server for a test: ephemeral loopback port, its own database."""

from __future__ import annotations

from datetime import date

from app.server import ServerConfig, UPSServer

# The demo day whose content tests may name (Núñez on MR1, …): the demo differs from day to day.
PINNED_DAY = date(2026, 11, 23)


def start_server(db_path, port: int = 0) -> UPSServer:
    return UPSServer(ServerConfig(http_port=port, db_path=str(db_path), purge_interval=3600)).start()
