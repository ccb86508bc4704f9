"""The embedded UPS server: a UPS service over SQLite, with an HTTP (UPS-RS) front.

What the layers above use: `UPSServer` and `ServerConfig` to run it, `UPSService` to
drive it in-process (tests, seeding).
"""

from .runner import ServerConfig, UPSServer, default_db_path
from .service import UPSService

__all__ = ["ServerConfig", "UPSServer", "UPSService", "default_db_path"]
