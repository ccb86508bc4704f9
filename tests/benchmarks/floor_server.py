"""The floor of the HTTP stack `serve` is built on: Starlette on uvicorn with h11, one endpoint that
answers every GET with the same prepared bytes, no door, no database, no thread hop.

    python tests/benchmarks/floor_server.py SIZE      (prints `ready at http://127.0.0.1:PORT`)

`bench_search.py` times it beside a real Search with an answer of the same size and the same
client: the floor is what the fixed choices cost before any work of ours, and what is above it is
ours (issue 21: a goal is judged against what the stack allows on the machine).
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def app_answering(size: int) -> Starlette:
    body = b'["' + b"x" * max(0, size - 4) + b'"]'  # JSON of exactly `size` bytes (from 4)

    async def answer(request: Request) -> Response:
        return Response(body, media_type="application/dicom+json")

    return Starlette(routes=[Route("/{path:path}", answer)])


def main() -> None:
    size = int(sys.argv[1])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    config = uvicorn.Config(app_answering(size), http="h11", log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    print(f"ready at http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
