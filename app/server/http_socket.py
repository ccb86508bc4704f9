"""The HTTP door's socket, bound before the server is built: a caller that must name the server's
address early (the demo console, whose window opens before its server has started) reserves it
here and hands it to `UPSServer`. Light on purpose: only the standard library."""

from __future__ import annotations

import socket

BASE_PATH = "/dicom-web"


def http_socket(host: str, port: int, *, listen: bool = False) -> socket.socket:
    """A TCP socket bound to (host, port); port 0 takes a free one. With `listen`, it accepts at
    once: a client that connects before the server serves waits in the backlog instead of being
    refused, until the server takes the socket (or closes it, and the client is told)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it Nagle holds a small answer's body back ~40 ms behind its headers.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(socket.SOMAXCONN)
    except BaseException:
        sock.close()
        raise
    return sock


def http_url(host: str, port: int, tls: bool = False) -> str:
    """The DICOMweb base URL of a server serving on (host, port)."""
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}{BASE_PATH}"
