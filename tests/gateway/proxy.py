"""A small HTTP proxy between a gateway and its upstream, for what a real network does: hold a
request a while, or forward one and lose its answer (the connection closed before it came back)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


class Proxy:
    """Forwards every request to `target` (scheme://host:port). `hold(method, path)` runs before a
    request goes on (it may block); `drop(method, path)` after it came back: True loses the answer."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.hold: Callable[[str, str], None] = lambda method, path: None
        self.drop: Callable[[str, str], bool] = lambda method, path: False
        self.answered: list[tuple[str, str, int]] = []
        self.dropped: list[tuple[str, str]] = []
        self._client = httpx.Client(timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.hold(self.command, self.path)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                response = proxy._client.request(self.command, proxy.target + self.path, headers=headers, content=body)
                if proxy.drop(self.command, self.path):
                    proxy.dropped.append((self.command, self.path))
                    self.close_connection = True
                    return
                self.send_response(response.status_code)
                for key, value in response.headers.multi_items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)
                proxy.answered.append((self.command, self.path, response.status_code))

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/dicom-web") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._client.close()
