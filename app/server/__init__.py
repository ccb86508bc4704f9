"""The embedded UPS server: a UPS service over SQLite, with an HTTP (UPS-RS) front.

What the layers above use: `UPSServer` and `ServerConfig` to run it, `UPSService` to
drive it in-process (tests, seeding).

Its names load on first use (PEP 562): the demo console reserves its server's socket
(`app.server.http_socket`) before its window opens, without Starlette, uvicorn and the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.lazy_names import lazy_attributes

if TYPE_CHECKING:
    from .runner import ServerConfig, UPSServer, default_db_path
    from .service import UPSService

_MODULE_OF = {
    "ServerConfig": ".runner",
    "UPSServer": ".runner",
    "default_db_path": ".runner",
    "UPSService": ".service",
}

__getattr__ = lazy_attributes(__name__, globals(), _MODULE_OF)

__all__ = ["ServerConfig", "UPSServer", "UPSService", "default_db_path"]
