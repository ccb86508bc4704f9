"""Command-line entry points: the console (default), `demo`, `serve`, and `self-test`."""

from __future__ import annotations

import argparse
import atexit
import gc
import sys

# what one command needs is imported inside it: `--version`, `echo` and `find` start cold in a
# fraction of a second only when the parser and the module level import next to nothing
from app.options import build_parser


def serve(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import sqlite3

    from app.server import ServerConfig, UPSServer

    config = ServerConfig(
        host=args.host,
        http_port=args.http_port,
        db_path=args.db,
        db_password_file=args.db_password_file,
        db_pool_size=args.db_pool,
        ae_title=args.ae_title,
        seed=args.seed,
        seed_value=args.seed_value,
        keep_final_seconds=args.keep_final,
        purge_interval=args.purge_interval,
        max_associations=args.max_associations,
        dimse_idle_timeout=args.dimse_idle_timeout,
        dimse_port=args.dimse_port or None,
        event_peers=dict(args.event_peer),
        allow_ae=tuple(args.allow_ae),
        dimse_tls=args.dimse_tls,
        audit_phi=args.audit_phi,
        hl7_port=args.hl7_port,
        hl7_allow=tuple(args.hl7_allow),
        hl7_stations=dict(args.hl7_station),
        hl7_accession=args.hl7_accession or (),
        hl7_tls=args.hl7_tls,
        hl7_max_connections=args.hl7_max_connections,
        hl7_timeout=args.hl7_timeout,
    )
    config.tls_cert = args.tls_cert  # HTTPS and DICOM TLS share the pair
    config.tls_key = args.tls_key
    config.tls_self_signed = args.tls_self_signed
    config.users_file = args.users
    config.client_ca = args.client_ca
    config.no_auth = args.no_auth
    config.public_url = args.public_url
    from app.server.http_limits import raise_file_limit
    from app.server.store import StoreError

    raise_file_limit()  # many connections must exhaust the server's limits, not the process's
    upstream = None
    try:
        from app.console.opening import refuse_url_credentials

        refuse_url_credentials("--upstream", (args.upstream or "").partition(":")[2])
        refuse_url_credentials("--public-url", args.public_url)
        if args.upstream_secret_in_clear is not None:
            raise ValueError(
                "A password or token on the command line can be read by every user of this machine: put it alone "
                "in a file and give --upstream-password-file FILE or --upstream-token-file FILE."
            )
        if args.upstream:
            upstream = gateway_upstream(args)
        elif any(getattr(args, f"upstream_{name}") for name in UPSTREAM_ACCESS):
            raise ValueError(
                "--upstream-user, --upstream-password-file, --upstream-token-file, --upstream-ca, --upstream-cert "
                "and --upstream-key go with --upstream."
            )
        server = UPSServer(config, upstream=upstream)
    except OSError as exc:
        close_gateway(upstream)
        print(
            f"Cannot start the server on {args.host} (HTTP port {args.http_port}, DIMSE port {args.dimse_port}"
            f"{f', HL7 port {args.hl7_port}' if args.hl7_port is not None else ''}): "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    except (StoreError, sqlite3.Error) as exc:
        close_gateway(upstream)
        print(f"Cannot open the worklist database: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        close_gateway(upstream)
        print(f"Cannot start the server: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            dimse = f", DIMSE (MWL, MPPS, UPS) on port {server.dimse.port}" if server.dimse else ""
            where = f"database {database_name(server.store)}" if server.store else f"gateway to {args.upstream}"
            print(f"UPS-RS server ready at {server.base_url} (AE title {config.ae_title}{dimse}, {where})", flush=True)
            if server.hl7 is not None:
                mllp = "MLLP over TLS" if server.hl7.tls is not None else "MLLP"
                print(f"HL7 v2 orders ({mllp}) on port {server.hl7.port}", flush=True)
            for line in door_sentences(server):
                print(line, flush=True)
            print("Press Ctrl-C to stop.", flush=True)
        await task

    # uvicorn handles Ctrl-C/SIGTERM while it serves and re-raises the signal afterwards to
    # the handlers it found; these make that a clean exit instead of a kill or a traceback.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    try:
        asyncio.run(run())
    finally:
        close_gateway(upstream)
    print("Server stopped.", flush=True)
    return 0


# the options that say how a gateway reaches its upstream: meaningless without --upstream
UPSTREAM_ACCESS = ("user", "password_file", "token_file", "ca", "cert", "key")


def gateway_upstream(args: argparse.Namespace):
    """The services of `serve --upstream SPEC`; ValueError in a sentence when they cannot be made."""
    from app.gateway import UpstreamAccess, open_upstream
    from app.server import default_db_path
    from app.server.store import is_postgres

    if args.seed != "none":
        raise ValueError("A gateway serves its upstream's worklist: --seed does not go with --upstream.")
    access = UpstreamAccess.from_files(
        args.upstream_user,
        args.upstream_password_file,
        args.upstream_token_file,
        args.upstream_ca,
        args.upstream_cert,
        args.upstream_key,
    )
    db_path = args.db or str(default_db_path())
    if not is_postgres(db_path):
        return open_upstream(args.upstream, db_path, trace=args.trace, access=access)
    # several gateway nodes on one database: the gateway's records (the DIMSE gateway's steps,
    # polling and events; the MPPS links of the HTTP kinds) are shared in it
    from datetime import datetime

    from app.server.store import open_store

    local = datetime.now().astimezone().tzinfo
    assert local is not None
    store = open_store(db_path, local, password_file=args.db_password_file, pool_size=args.db_pool)
    try:
        return open_upstream(args.upstream, store, trace=args.trace, access=access)
    except BaseException:
        store.close()
        raise


def close_gateway(upstream) -> None:
    if upstream is not None:
        from app.gateway import close_upstream

        close_upstream(upstream)


def audit(args: argparse.Namespace) -> int:
    """Print the audit records of a server's database (of one workitem with --uid), oldest first."""
    import json

    from app.server import default_db_path
    from app.server.audit import audit_path, read, sentence
    from app.server.store import is_postgres

    if is_postgres(args.db):
        return audit_table(args)
    path = audit_path(args.db or default_db_path())
    if not path.exists():
        print(f"There is no audit file at {path}: the server has recorded no change there yet.", file=sys.stderr)
        return 1
    found = 0
    for line in read(path, args.uid):
        found += 1
        print(json.dumps(line, ensure_ascii=False) if args.json else sentence(line))
    if not found and args.uid:
        print(f"The audit file {path} records no change of workitem {args.uid}.", file=sys.stderr)
        return 1
    return 0


def audit_table(args: argparse.Namespace) -> int:
    """`audit` of a server on PostgreSQL: the records of its audit table."""
    import json
    from datetime import UTC

    from app.server.audit import sentence
    from app.server.store import StoreError, open_store

    try:
        store = open_store(args.db, UTC, password_file=args.db_password_file, pool_size=1)
    except StoreError as exc:
        print(f"Cannot open the worklist database: {exc}", file=sys.stderr)
        return 2
    from app.server.pg_audit import read_table

    try:
        found = 0
        for line in read_table(store, args.uid):  # type: ignore[arg-type]
            found += 1
            print(json.dumps(line, ensure_ascii=False) if args.json else sentence(line))
    finally:
        store.close()
    if not found:
        what = f"no change of workitem {args.uid}" if args.uid else "no change yet"
        print(f"The audit table of {args.db} records {what}.", file=sys.stderr)
        return 1
    return 0


def database_name(store) -> str:
    """The SQLite file, or the PostgreSQL database without the URL's options (certificate paths)."""
    where = getattr(store, "where", None)
    return f"postgresql://{where}" if where else str(store.path)


def door_sentences(server) -> list[str]:
    """What the trainer must know about who can reach the server and how consoles trust it."""
    from app.server.security import is_loopback
    from app.server.tls import fingerprint

    lines = []
    if server.tls is not None and server.tls.ca is not None:
        lines.append(
            f"HTTPS with the classroom CA {server.tls.ca} (SHA-256 {fingerprint(server.tls.ca)}): "
            "give each console this file as its CA file."
        )
    if server.policy.users is None and not is_loopback(server.config.host):
        lines.append(
            f"WARNING: no authentication on {server.config.host}: anyone who reaches this machine can read and "
            "change the worklist. Use it on a closed classroom network only."
        )
    return lines


def leave_collection_to_the_system() -> None:
    """CPython's finalization runs full garbage collections over every object still alive before the
    process ends: 150-250 ms once httpx, pydicom or pynetdicom are loaded, more than a shell command's
    own exchange takes. `gc.freeze()` in an exit handler (it runs as the process ends, not when main
    returns to a caller in the same process) leaves that memory to the operating system. The exit
    handlers registered before it still run (logging's closes the log file) and standard output and
    error are still flushed; only finalizers of objects left in reference cycles do not run, which
    Python does not promise at exit anyway."""
    atexit.unregister(gc.freeze)  # once, however often main runs in one process
    atexit.register(gc.freeze)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import logging
    from pathlib import Path

    from app import logs

    quiet = args.command in ("find", "echo", "self-test", "audit", "hl7")  # their output is the answer, not log lines
    logs.configure(
        args.verbose,
        Path(args.log_dir) if args.log_dir else None,
        terminal_level=logging.WARNING if quiet else logging.INFO,
        libraries_on_terminal=args.verbose or not quiet,
    )
    if args.command == "serve":
        return serve(args)
    if args.command == "users":
        from app import user_admin

        return user_admin.main(args)
    if args.command in ("find", "echo"):
        from app import shell

        leave_collection_to_the_system()
        return shell.find(args) if args.command == "find" else shell.echo(args)
    if args.command == "audit":
        return audit(args)
    if args.command == "hl7":
        from app import hl7_send

        return hl7_send.send(args)
    if args.command == "self-test":
        from app import selftest

        return selftest.main(args)
    from app.ui.launch import run_gui  # Qt is loaded only for the GUI commands

    return run_gui(args)
