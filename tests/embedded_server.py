"""Starting a real embedded server for a test: ephemeral loopback port, its own database."""

from __future__ import annotations

from datetime import date

from app.server import ServerConfig, UPSServer

# The demo day whose content tests may name (Núñez on MR1, …): the demo differs from day to day.
PINNED_DAY = date(2026, 11, 23)


def start_server(db_path, port: int = 0) -> UPSServer:
    return UPSServer(ServerConfig(http_port=port, db_path=str(db_path), purge_interval=3600)).start()


def start_hl7_server(db_path, **config) -> UPSServer:
    """A server with its HL7 door on a free loopback port (`server.hl7.port`)."""
    return UPSServer(ServerConfig(http_port=0, db_path=str(db_path), purge_interval=3600, hl7_port=0, **config)).start()
