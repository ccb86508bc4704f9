"""A stand-in web server of the standard library on a loopback port, for a peer whose answers a
test writes itself (a server that is not DICOMweb, one that fails, a minimal UPS-RS)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def stub_http_server(handler: type[BaseHTTPRequestHandler], path: str = "/dicom-web") -> Iterator[str]:
    """`handler` serving on a free loopback port; yields its base URL ending in `path`."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    finally:
        httpd.shutdown()
        httpd.server_close()
