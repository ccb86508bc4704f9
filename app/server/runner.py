"""The embedded server assembled and run: store, service, HTTP front, housekeeping.

`UPSServer` binds its socket itself (so port 0 yields a free port that is known before
serving starts), then runs uvicorn either on the caller's loop (`serve`, for the command
line) or on a thread of its own with its own loop (`start`/`stop`, for the demo mode and
tests) — a busy UI must never slow the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from . import capabilities, sup246
from .audit import AuditLog, HttpActors, audit_path
from .audited import AuditedMpps, AuditedService
from .connection_limits import (
    PER_ADDRESS,
    UNAUTHENTICATED_PER_ADDRESS,
    ConnectionLimits,
    Ledger,
    connection_cap,
    open_file_limit,
)
from .guard import GuardedPerformedSteps, GuardedWorkitems
from .http import BASE_PATH, create_app, endpoint, service_base
from .http_limits import (
    KEEP_ALIVE_SECONDS,
    MAX_HEADER_BYTES,
    TLS_HANDSHAKE_SECONDS,
    WS_PING_INTERVAL_SECONDS,
    WS_PING_TIMEOUT_SECONDS,
    HeaderDeadlineProtocol,
    LimitedConfig,
    ShutdownSafeWebSocketProtocol,
)
from .http_socket import http_socket, http_url
from .mpps import MppsService
from .notifications import EventHub
from .password_checks import ThrottleRules
from .security import door_policy
from .service import UPSService
from .service_api import PerformedStepService, WorkitemService
from .store import Store, is_postgres, open_store
from .tls import https_files

log = logging.getLogger(__name__)


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("worklist-console", appauthor=False) / "worklist.db"


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    http_port: int = 8080
    db_path: str | None = None  # an SQLite file, or a postgresql:// URL (pg_store.py)
    db_password_file: str | None = None  # the PostgreSQL password alone in a file (else libpq's PGPASSFILE)
    db_pool_size: int = 16  # PostgreSQL connections of this node at most
    ae_title: str = "WORKLIST"
    seed: str = "none"
    seed_value: int = 1
    keep_final_seconds: float = 86400.0
    purge_interval: float = 60.0
    event_backlog: int = 1000
    dimse_port: int | None = None  # None: no DIMSE front; 0: a free port
    max_associations: int = 64  # a site's modalities together; pynetdicom's own default is 10
    dimse_idle_timeout: float = 15.0
    # HTTP and WebSocket together; beyond it, 503 at once. None: from the open-file limit.
    max_connections: int | None = None
    # One client address's share of them, and of those not yet authenticated (connection_limits.py);
    # behind a reverse proxy every client has the proxy's address.
    max_connections_per_address: int = PER_ADDRESS
    max_unauthenticated_per_address: int = UNAUTHENTICATED_PER_ADDRESS
    # AE title -> (host, port): subscribers that get N-EVENT-REPORTs rather than WebSocket frames
    event_peers: dict[str, tuple[str, int]] = field(default_factory=dict)
    # calling AE titles the DIMSE front accepts (empty: any); AET@ADDRESS binds one to a host
    allow_ae: tuple[str, ...] = ()
    tls_cert: str | None = None  # PEM certificate (chain) and key of the server, for HTTPS and DICOM TLS
    tls_key: str | None = None
    dimse_tls: bool = False  # the DIMSE front speaks TLS only (needs tls_cert and tls_key)
    client_ca: str | None = None  # DICOM and HL7 TLS ask clients for a certificate this CA signed (users certificate)
    audit: bool = True  # the audit file beside the database (none for an in-memory one)
    audit_phi: bool = False  # audit lines name the patient (name and ID)
    tls_self_signed: bool = False  # HTTPS with a classroom CA and certificate made beside the database
    users_file: str | None = None  # HTTP users and tokens (app/server/users.py); None: no authentication
    no_auth: bool = False  # serve beyond loopback without users, knowingly
    public_url: str | None = None  # the base URL clients use (scheme, host, port): absolute URLs and Host
    password_throttle: ThrottleRules = field(default_factory=ThrottleRules)  # wrong passwords: waits, pool
    # A WebSocket subscriber is pinged this often and closed when its pong is this late (half-open).
    ws_ping_interval: float = WS_PING_INTERVAL_SECONDS
    ws_ping_timeout: float = WS_PING_TIMEOUT_SECONDS
    hl7_port: int | None = None  # None: no HL7 door; 0: a free port
    hl7_allow: tuple[str, ...] = ()  # APP^FACILITY pairs that may send (empty: any)
    hl7_stations: dict[str, str] = field(default_factory=dict)  # modality -> station AE, for orders naming none
    hl7_timeout: float = 60.0  # a connection with no complete message this long is closed
    hl7_accession: tuple[str, ...] = ()  # where the site's RIS puts the Accession Number (empty: IHE's fields)
    hl7_tls: bool = False  # the HL7 door speaks MLLP over TLS only (needs tls_cert and tls_key)
    hl7_max_connections: int = 256  # MLLP connections at once; one address may hold three quarters


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, service: WorkitemService) -> None:
        super().__init__(config)
        self.service = service

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn has no setting for the TLS handshake's deadline, and asyncio's default is 60 s,
        # during which a connection that never sends a ClientHello holds a descriptor no cap
        # counts. uvicorn creates its listening servers with loop.create_server, whose own
        # `ssl_handshake_timeout` is filled in here for the time of the startup.
        loop = asyncio.get_running_loop()
        create_server = loop.create_server

        def bounded(*args: Any, **options: Any) -> Any:
            if options.get("ssl") is not None:
                options.setdefault("ssl_handshake_timeout", TLS_HANDSHAKE_SECONDS)
            return create_server(*args, **options)

        loop.create_server = bounded  # type: ignore[method-assign]
        try:
            await super().startup(sockets)
        finally:
            del loop.create_server  # the loop's own method again

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Event 4 GOING DOWN must reach open channels before uvicorn closes them.
        try:
            if self.service.announce("GOING DOWN"):
                await asyncio.sleep(0.2)
        except Exception:
            log.exception("Could not announce GOING DOWN")
        await super().shutdown(sockets)


class UPSServer:
    """The fronts over the local store, or, given `upstream` (a service and its MPPS service that
    forward to another system: a gateway), over that instead; the caller closes an upstream after
    `stop`."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        upstream: tuple[WorkitemService, PerformedStepService] | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        self.config = config or ServerConfig()
        local = datetime.now().astimezone().tzinfo or UTC
        db_path = self.config.db_path or str(default_db_path())
        # the door first: a server that must not open must not touch its database either
        self.policy = door_policy(
            self.config.host,
            self.config.users_file,
            no_auth=self.config.no_auth,
            public_url=self.config.public_url,
            throttle=self.config.password_throttle,
        )
        dimse_tls = self.config.dimse_tls and self.config.dimse_port is not None
        hl7_tls = self.config.hl7_tls and self.config.hl7_port is not None
        if self.config.client_ca and not (dimse_tls or hl7_tls):
            raise ValueError(
                "--client-ca asks DICOM TLS and HL7 TLS clients for a certificate: it needs --dimse-port and "
                "--dimse-tls, or --hl7-port and --hl7-tls."
            )
        if self.config.client_ca and not Path(self.config.client_ca).is_file():
            raise ValueError(f"There is no client CA file at {self.config.client_ca}.")
        # the classroom certificate beside the database file; a PostgreSQL node's in its data folder
        files_beside = str(default_db_path()) if is_postgres(db_path) else db_path
        self.tls = https_files(
            self.config.tls_cert, self.config.tls_key, self.config.tls_self_signed, files_beside, self.config.host
        )
        self.service: WorkitemService
        self.mpps: PerformedStepService
        self.store: Store | None = None  # a gateway keeps no worklist of its own
        self.local: UPSService | None = None
        self.audit: AuditLog | None = None
        if upstream is not None:
            self.service, self.mpps = upstream
            # a gateway whose nodes share a PostgreSQL database audits into its audit table
            # a gateway on PostgreSQL audits into the database its records are in (the worklist
            # service's, or the MPPS service's)
            shared = getattr(self.service, "database", None) or getattr(self.mpps, "database", None)
            self.audit = self._audit_log(db_path, shared)
            if self.audit is not None:  # what passes through a gateway is audited as what changes here
                self.service = AuditedService(self.service, self.audit, time.time)
                self.mpps = AuditedMpps(self.mpps, self.audit, time.time)
            # a gateway keeps no worklist: the access rule reads the facts from the upstream, before
            # anything is forwarded (or audited)
            self.service, self.mpps = GuardedWorkitems(self.service), GuardedPerformedSteps(self.mpps)
        else:
            self.store = open_store(
                db_path, local, password_file=self.config.db_password_file, pool_size=self.config.db_pool_size
            )
            self.audit = self._audit_log(db_path)
            self.local = UPSService(
                self.store,
                EventHub(self.config.event_backlog),
                ae_title=self.config.ae_title,
                keep_final_seconds=self.config.keep_final_seconds,
                audit=self.audit,
            )
            if is_postgres(db_path):  # events reach the subscribers of every node (pg_events.py)
                from .pg_events import SharedEvents
                from .pg_store import PgStore

                assert isinstance(self.store, PgStore)
                self.local.shared = SharedEvents(self.store, self.local.hub, self.local.clock)
            self.service, self.mpps = self.local, MppsService(self.local)
            if self.config.seed == "demo":
                from .demo import seed_demo_days, seeding_sentence

                log.info("%s", seeding_sentence(seed_demo_days(self.local, seed=self.config.seed_value)))
        self.app: Starlette = create_app(self.service, lifespan=self._lifespan, policy=self.policy)
        # Supplement 246 (MWL and MPPS over REST): two more doors onto the same service
        self.app.state.mpps = self.mpps
        self.app.router.routes[:0] = [
            *capabilities.routes(BASE_PATH, service_base, ups_rs=self.service.serves_ups_rs),
            *sup246.routes(BASE_PATH, endpoint),
        ]
        self.app.add_middleware(HttpActors)
        # given one (bound early, see http_socket.py), the door serves on it instead of config's port
        self.socket = sock if sock is not None else http_socket(self.config.host, self.config.http_port)
        self.port: int = self.socket.getsockname()[1]
        self.limits = ConnectionLimits(
            total=self.config.max_connections or connection_cap(open_file_limit()),
            per_address=self.config.max_connections_per_address,
            unauthenticated=self.config.max_unauthenticated_per_address,
        )
        self._uvicorn = _Uvicorn(
            LimitedConfig(
                self.app,
                ledger=Ledger(self.limits, credentials_required=self.policy.users is not None),
                log_config=None,
                access_log=False,
                lifespan="on",
                # the peer's own address, never an X-Forwarded-For that any loopback client may
                # write (uvicorn trusts loopback by default): logins are throttled by address
                proxy_headers=False,
                timeout_graceful_shutdown=3,
                http=HeaderDeadlineProtocol,
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                limit_concurrency=self.limits.total,
                ws=ShutdownSafeWebSocketProtocol,
                ws_ping_interval=self.config.ws_ping_interval,
                ws_ping_timeout=self.config.ws_ping_timeout,
                ssl_certfile=str(self.tls.cert) if self.tls else None,
                ssl_keyfile=str(self.tls.key) if self.tls else None,
            ),
            self.service,
        )
        self._thread: threading.Thread | None = None
        self.notifier = None
        if self.config.event_peers:
            from .dimse_events import DimseNotifier, EventPeer

            peers = [EventPeer(aet, host, port) for aet, (host, port) in self.config.event_peers.items()]
            self.notifier = DimseNotifier(peers, self.config.ae_title, self.config.event_backlog)
            self.service.divert(self.notifier.aets, self.notifier.deliver)
        self.hl7 = None
        if self.config.hl7_port is not None:
            self.hl7 = self._hl7_door()
        self.dimse = None
        if self.config.dimse_port is not None:
            from .dimse import DimseFront, tls_context
            from .dimse_door import DimsePolicy

            try:
                tls = None
                if self.config.dimse_tls:
                    # The pair HTTPS uses, the site's or the classroom's made by --tls-self-signed.
                    if self.tls is None:
                        raise ValueError(
                            "DICOM over TLS needs the server's certificate and key "
                            "(--tls-cert and --tls-key, or --tls-self-signed)."
                        )
                    try:
                        tls = tls_context(str(self.tls.cert), str(self.tls.key), self.config.client_ca)
                    except OSError as exc:  # ssl.SSLError included
                        raise ValueError(
                            f"Cannot use the certificate {self.tls.cert} with the key {self.tls.key} "
                            f"for DICOM over TLS: {exc.strerror or exc}."
                        ) from None
                self.dimse = DimseFront(
                    self.service,
                    self.mpps,
                    self.config.ae_title,
                    self.config.host,
                    self.config.dimse_port,
                    event_peers=frozenset(self.config.event_peers),
                    max_associations=self.config.max_associations,
                    idle_timeout=self.config.dimse_idle_timeout,
                    tls=tls,
                    door=DimsePolicy.from_entries(self.config.allow_ae, self.policy.users, self.policy.passwords),
                )
            except (OSError, ValueError):
                self.socket.close()
                if self.hl7 is not None:
                    self.hl7.socket.close()
                if self.audit is not None:
                    self.audit.close()
                if self.notifier is not None:
                    self.notifier.stop(0)
                raise

    def _hl7_door(self) -> Any:
        """The HL7 v2 listener of `--hl7-port` (app/server/hl7_door.py), bound now."""
        from .hl7_door import Hl7Door

        try:
            if self.local is None:
                raise ValueError(
                    "The HL7 door fills this server's own worklist: --hl7-port does not go with --upstream."
                )
            return Hl7Door(
                self.local,
                self.config.host,
                self.config.hl7_port or 0,
                ae_title=self.config.ae_title,
                allow=self.config.hl7_allow,
                users_on=self.policy.users is not None,
                stations=self.config.hl7_stations,
                timeout=self.config.hl7_timeout,
                accession_fields=self.config.hl7_accession,
                tls=self._hl7_tls(),
                users=self.policy.users,
                max_connections=self.config.hl7_max_connections,
            )
        except (OSError, ValueError):
            self.socket.close()
            if self.audit is not None:
                self.audit.close()
            if self.notifier is not None:
                self.notifier.stop(0)
            raise

    def _hl7_tls(self) -> ssl.SSLContext | None:
        """MLLP over TLS (`--hl7-tls`) with the pair HTTPS uses, asking for a client certificate
        with `--client-ca`."""
        if not self.config.hl7_tls:
            return None
        from .dimse import tls_context

        if self.tls is None:
            raise ValueError(
                "HL7 over TLS needs the server's certificate and key (--tls-cert and --tls-key, or --tls-self-signed)."
            )
        try:
            return tls_context(str(self.tls.cert), str(self.tls.key), self.config.client_ca)
        except OSError as exc:  # ssl.SSLError included
            raise ValueError(
                f"Cannot use the certificate {self.tls.cert} with the key {self.tls.key} for HL7 over TLS: "
                f"{exc.strerror or exc}."
            ) from None

    def _audit_log(self, db_path: str, store: Store | None = None) -> AuditLog | None:
        """The audit file beside the database (of the worklist, or of a gateway's records); with
        PostgreSQL, the audit table in it."""
        if not self.config.audit or db_path == ":memory:":
            return None
        if is_postgres(db_path):
            from .pg_audit import AuditTable
            from .pg_store import PgStore

            store = store or self.store
            assert isinstance(store, PgStore)
            return AuditTable(store, phi=self.config.audit_phi)
        return AuditLog(audit_path(db_path), phi=self.config.audit_phi)

    @property
    def base_url(self) -> str:
        return http_url(self.config.host, self.port, tls=bool(self.tls))

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.service.announce("RESTARTED")
        task = asyncio.create_task(self._housekeeping())
        try:
            yield
        finally:
            task.cancel()

    async def _housekeeping(self) -> None:
        if self.local is None:
            return  # an upstream keeps its own house
        while True:
            try:
                # one node of several on one database does it (an advisory lock, pg_store.py)
                if await asyncio.to_thread(self.local.store.holds, "housekeeping"):
                    await asyncio.to_thread(self.local.purge)
            except Exception:
                log.exception("Housekeeping failed; trying again later")
            await asyncio.sleep(self.config.purge_interval)

    @property
    def started(self) -> bool:
        return self._uvicorn.started

    async def serve(self) -> None:
        """Serve on the running loop until told to exit (Ctrl-C, SIGTERM, or `stop`)."""
        try:
            if self.hl7 is not None:
                await self.hl7.start()
            await self._uvicorn.serve(sockets=[self.socket])
        finally:
            self.socket.close()  # a stopped server must refuse connections, not let them hang in the backlog
            if self.hl7 is not None:
                await self.hl7.stop()
            if self.dimse is not None:
                self.dimse.stop()
            if self.notifier is not None:
                self.notifier.stop()  # after GOING DOWN was announced: it goes out first
            if self.local is not None and self.local.shared is not None:
                self.local.shared.close()
            if self.store is not None:
                self.store.close()
            if self.audit is not None:
                self.audit.close()
            if self.policy.passwords is not None:
                self.policy.passwords.close()

    def start(self, timeout: float = 15.0) -> UPSServer:
        """Serve on a thread with its own event loop; returns once the server accepts."""
        ready = threading.Event()

        def run() -> None:
            try:
                asyncio.run(self.serve())
            finally:
                ready.set()  # a server that failed to start says so now, not after the timeout

        self._thread = threading.Thread(target=run, name="ups-server", daemon=True)
        self._thread.start()
        for _ in range(int(timeout / 0.01)):
            if self._uvicorn.started or ready.is_set():
                break
            ready.wait(0.01)
        if not self._uvicorn.started:
            raise RuntimeError("The embedded UPS server did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> UPSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
