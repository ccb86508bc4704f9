"""Command-line entry points: `worklist-console serve` (the GUI and other commands follow)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from app import __version__


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the embedded UPS-RS server (HTTP and WebSocket)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--http-port", type=int, default=8080, help="HTTP port; 0 picks a free one (default 8080)")
    p.add_argument("--db", metavar="PATH", help="SQLite file of the worklist (default: in the user data folder)")
    p.add_argument("--seed", choices=("demo", "none"), default="none", help="fill today and tomorrow with a demo day")
    p.add_argument("--seed-value", type=int, default=1, help="random seed of the demo day (default 1)")
    p.add_argument("--ae-title", default="WORKLIST", help="AE title of the server (default WORKLIST)")
    p.add_argument("--keep-final", type=float, default=86400.0, metavar="SECONDS",
                   help="delete COMPLETED/CANCELED workitems without a deletion lock after this long (default: a day)")
    p.add_argument("--purge-interval", type=float, default=60.0, metavar="SECONDS",
                   help="how often housekeeping runs (default 60)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="worklist-console", description="DICOM worklist console and UPS server")
    parser.add_argument("--version", action="version", version=f"worklist-console {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command")
    _serve_parser(sub)
    return parser


def serve(args: argparse.Namespace) -> int:
    from app.server import ServerConfig, UPSServer

    config = ServerConfig(
        host=args.host, http_port=args.http_port, db_path=args.db, ae_title=args.ae_title, seed=args.seed,
        seed_value=args.seed_value, keep_final_seconds=args.keep_final, purge_interval=args.purge_interval,
    )
    try:
        server = UPSServer(config)
    except OSError as exc:
        print(f"Cannot start the server on {args.host}:{args.http_port}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            print(f"UPS-RS server ready at {server.base_url} (AE title {config.ae_title}, database {server.store.path})",
                  flush=True)
            print("Press Ctrl-C to stop.", flush=True)
        await task

    # uvicorn handles Ctrl-C/SIGTERM while it serves and re-raises the signal afterwards to
    # the handlers it found; these make that a clean exit instead of a kill or a traceback.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    asyncio.run(run())
    print("Server stopped.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return serve(args)
    parser.print_help()
    return 0
