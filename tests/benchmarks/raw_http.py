"""A benchmark's HTTP/1.1 client on a raw keep-alive socket: its own cost per request is tens of
microseconds, where httpx adds about 3 ms to every Search (issue 21: honest clocks).

It sends prepared request bytes and reads the answer by its Content-Length, nothing more: the
server's answers here always carry one (Starlette's Response). `cost_ms` is what this client spent
of its own thread's CPU per request, printed beside the figures it takes.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit


class RawHttp:
    """One keep-alive connection to `base_url` (http only)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http":
            raise ValueError(f"RawHttp speaks plain http, not {parts.scheme}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()
        self._cpu = 0.0
        self.requests = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def cost_ms(self) -> float:
        """This client's own CPU per request so far (its thread's), in milliseconds."""
        return self._cpu / max(1, self.requests) * 1000

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body) of one request; `path` goes after the base URL's path."""
        began = time.thread_time()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"{method} {self.prefix}{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.headers}{extra}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode("latin-1") + body)
        status, length = self._head()
        while len(self._buffer) < length:
            self._recv()
        answer = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._cpu += time.thread_time() - began
        self.requests += 1
        return status, answer

    def _head(self) -> tuple[int, int]:
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._recv()
        lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "transfer-encoding":
                raise RuntimeError("RawHttp reads answers with a Content-Length only")
        return status, length

    def _recv(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk
