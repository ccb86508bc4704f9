"""The HTTP front: UPS-RS (PS3.18 chapter 11) over the UPS service, as a Starlette app.

Handlers are thin: they read the request, call the service in a worker thread, and map a
UPSError to an HTTP status with a `Warning: 299` header that says what was wrong. Any
other failure is logged and answered with a 500 that still says something useful — no
client input should ever get there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.domain import tags as t
from app.domain.dicomjson import DicomJsonError, JsonDataset, first_value
from app.domain.identifiers import check_ae_title
from app.domain.search import CONTROL_PARAMETERS, SubscriptionFilter, parse_search
from app.domain.status import InvalidRequest, Status, UPSError
from app.domain.values import describe
from app.domain.writable import may_hold_non_finite, strict_json

from . import media
from .http_socket import BASE_PATH
from .media import NotAcceptable, UnsupportedMediaType
from .security import Door, Forbidden, Policy, acting_ae
from .service_api import JsonText, UpstreamError, WorkitemService
from .store import StoreUnavailable

log = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"
MAX_BODY = 4 * 1024 * 1024
SEND_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 30.0  # a whole request body, however slowly it comes  # a notification the subscriber has not taken by then drops its connection

# PS3.18 Tables 11.x-1 for each status (standard.md §2 and §10 where they leave a choice).
HTTP_STATUS: dict[Status, int] = {
    Status.NO_SUCH_UPS: 404,
    Status.UNKNOWN_RECEIVING_AE: 404,
    Status.DUPLICATE_INSTANCE: 409,
    Status.ALREADY_IN_PROGRESS: 409,
    Status.FINAL_STATE_NOT_MET: 409,
    Status.NOT_IN_PROGRESS: 409,
    Status.MAY_NO_LONGER_BE_UPDATED: 409,
    Status.ALREADY_COMPLETED_NO_CANCEL: 409,
    Status.PERFORMER_UNREACHABLE: 409,
    Status.PERFORMER_REFUSES_CANCEL: 409,
    Status.ACTION_NOT_APPROPRIATE: 409,
    Status.NO_EVENT_REPORTS: 403,
    Status.NOT_AUTHORIZED: 403,
}
# Update (11.6.2): a final-state workitem "may no longer be updated" is a 400, not a 409.
UPDATE_STATUS = {**HTTP_STATUS, Status.MAY_NO_LONGER_BE_UPDATED: 400}


class BodyTimeout(Exception):
    pass


class RequestTooLarge(Exception):
    pass


def _header_text(text: str) -> str:
    """Header-safe text: one line, printable ASCII (a Warning must never break the response)."""
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text.replace("\r", " ").replace("\n", " "))


def authority(request: Request) -> str:
    """`host:port` for the absolute URLs we hand out: the host the client named, and always the port
    we listen on. Some clients (dicomweb-client) send `Host` without the port, which would
    otherwise make every URL point at port 80."""
    server = request.scope.get("server")
    host = request.url.hostname or (server[0] if server else "localhost")
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = server[1] if server and server[1] else request.url.port
    return f"{host}:{port}" if port else host


def origin_of(request: Request) -> str:
    """`scheme://host:port` of the absolute URLs we hand out: the configured public URL, else the
    request's (its Host was checked at the door)."""
    public: str | None = getattr(request.app.state, "public_base", None)
    return public or f"{request.url.scheme}://{authority(request)}"


def service_base(request: Request) -> str:
    return f"{origin_of(request)}{BASE_PATH}"


def warning(request: Request, text: str) -> str:
    return f"299 {_header_text(service_base(request))}: {_header_text(text)}"


def answer(
    request: Request,
    status: int,
    body: str | bytes | None = None,
    warnings: list[str] | tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    response = Response(body, status_code=status, media_type=DICOM_JSON if body is not None else None, headers=headers)
    for text in warnings:
        response.headers.append("Warning", warning(request, text))
    return response


def refuse(request: Request, status: int, text: str) -> Response:
    return answer(request, status, warnings=[text])


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise RequestTooLarge()
    try:
        return await asyncio.wait_for(_read_body(request, limit), BODY_TIMEOUT_SECONDS)
    except TimeoutError:
        # a Content-Length that lies, or a client that stalls: the connection is not held for ever
        raise BodyTimeout() from None


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def read_datasets(request: Request, *, optional: bool = False) -> list[JsonDataset]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request)
    if not body.strip():
        if optional:
            return []
        raise InvalidRequest("The request has no payload; a DICOM JSON or XML dataset is required.")
    if not content_type:
        # a body without a media type is what a web page may send to any site unasked
        raise UnsupportedMediaType("(none given)")
    try:
        return media.read(body, request.headers.get("content-type", ""))
    except DicomJsonError as exc:
        raise InvalidRequest(str(exc)) from None


def check_accept(request: Request, *, many: bool = False) -> media.Form:
    """The form the answer is written in (DICOM JSON or XML, single or multipart); a client that
    accepts none of them gets a 406."""
    return media.choose(request.headers.get("accept", ""), many=many)


def answer_datasets(
    request: Request,
    form: media.Form,
    texts: Sequence[JsonText],
    *,
    many: bool,
    warnings: list[str] | tuple[str, ...] = (),
) -> Response:
    """200 with stored DICOM JSON texts in the chosen form (JSON is sent as stored, unparsed)."""
    if form == media.JSON:
        utf8 = [text if isinstance(text, bytes) else text.encode() for text in texts]
        body = b"[" + b",".join(utf8) + b"]"
        if may_hold_non_finite(body):  # rare: only then is each text looked at on its own
            body = ("[" + ",".join(strict(text) for text in texts) + "]").encode()
        return answer(request, 200, body, warnings)
    body, content_type = media.write([json.loads(strict(text)) for text in texts], form, many=many)
    response = answer(request, 200, body, warnings)
    response.headers["content-type"] = content_type
    return response


# The names of a transaction's own query parameters are case-insensitive (clients write
# `Transaction-UID`, `transaction-uid`, `Limit`); attribute keywords in a search keep their case.
CREATE_PARAMETERS = frozenset({"workitem", "affectedsopinstanceuid"})
UPDATE_PARAMETERS = frozenset({"transaction", "transaction-uid"})
REQUESTER_PARAMETERS = frozenset({"requester"})
SEARCH_PARAMETERS = CONTROL_PARAMETERS | {"includefield"}
SUBSCRIBE_PARAMETERS = frozenset({"deletionlock", "filter"})


def query_pairs(request: Request, names: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """The query's (name, value) pairs, with the parameter `names` of the transaction in lower case."""
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    return [(name.lower() if name.lower() in names else name, value) for name, value in pairs]


def bare_uid(pairs: list[tuple[str, str]]) -> str | None:
    """The `?{uid}` form of PS3.18 2024e: a query string that is just a UID."""
    for name, value in pairs:
        if value == "" and name and name[0].isdigit():
            return name
    return None


def requester_of(request: Request) -> str | None:
    """The requesting AE title, from the path (`/state/{aet}`) or `?requester=`, checked like any
    other AE title: it is stored with the workitem and sent to subscribers."""
    aet = request.path_params.get("aet") or dict(query_pairs(request, REQUESTER_PARAMETERS)).get("requester")
    return check_ae_title(aet) if aet else None


def strict(text: JsonText) -> str:
    """A stored workitem as JSON every client parses: a value stored as NaN or Infinity (by an
    older version, or behind the checks' back) costs its attribute, not the page."""
    cleaned, faults = strict_json(text.decode() if isinstance(text, bytes) else text)
    if faults:
        uid = first_value(json.loads(cleaned), t.SOP_INSTANCE_UID)
        log.warning(
            "Workitem %s: stored values that JSON cannot carry sent empty: %s", uid, "; ".join(map(describe, faults))
        )
    return cleaned


def one_dataset(datasets: list[JsonDataset]) -> JsonDataset:
    if len(datasets) != 1:
        raise InvalidRequest(f"The payload must hold exactly one dataset, not {len(datasets)}.")
    return datasets[0]


Handler = Callable[[Request, WorkitemService], Awaitable[Response]]


def endpoint(handler: Handler, statuses: dict[Status, int] = HTTP_STATUS) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler so that every refusal becomes a status and a Warning, never a traceback."""

    async def run(request: Request) -> Response:
        service: WorkitemService = request.app.state.service
        try:
            return await handler(request, service)
        except UpstreamError as exc:
            return refuse(request, exc.http_status, exc.message)
        except UPSError as exc:
            code = 410 if exc.gone else statuses.get(exc.status, 400)
            return refuse(request, code, exc.message)
        except BodyTimeout:
            return refuse(request, 408, f"The request body did not arrive within {BODY_TIMEOUT_SECONDS:.0f} s.")
        except RequestTooLarge:
            return refuse(
                request, 413, f"The payload is larger than the {MAX_BODY // (1024 * 1024)} MiB this server accepts."
            )
        except NotAcceptable as exc:
            return refuse(
                request,
                406,
                f"Cannot answer in {str(exc)[:200]}; this server answers in application/dicom+json, "
                "application/dicom+xml and their multipart/related forms.",
            )
        except UnsupportedMediaType as exc:
            return refuse(
                request,
                415,
                f"The media type {str(exc)[:200]} is not supported; send application/dicom+json or application/dicom+xml.",
            )
        except Forbidden as exc:
            return refuse(request, 403, str(exc))
        except StoreUnavailable as exc:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
            return refuse(request, 503, str(exc))
        except Exception:
            log.exception("Unexpected failure answering %s %s", request.method, request.url.path)
            return refuse(request, 500, "The server failed unexpectedly; the details are in its log.")

    return run


# -- transactions -------------------------------------------------------------------------------
async def create(request: Request, service: WorkitemService) -> Response:
    pairs = query_pairs(request, CREATE_PARAMETERS)
    params = dict(pairs)
    uid = bare_uid(pairs) or params.get("workitem") or params.get("affectedsopinstanceuid")
    dataset = one_dataset(await read_datasets(request))
    created = await run_in_threadpool(service.create, dataset, uid)
    location = f"{service_base(request)}/workitems/{created.uid}"
    warnings = [created.status.text] if created.status is not Status.SUCCESS else []
    return answer(request, 201, warnings=warnings, headers={"Location": location, "Content-Location": location})


async def retrieve(request: Request, service: WorkitemService) -> Response:
    form = check_accept(request)
    text = await run_in_threadpool(service.retrieve, request.path_params["uid"])
    return answer_datasets(request, form, [text], many=False)


async def update(request: Request, service: WorkitemService) -> Response:
    pairs = query_pairs(request, UPDATE_PARAMETERS)
    transaction = bare_uid(pairs) or dict(pairs).get("transaction") or dict(pairs).get("transaction-uid")
    acting_ae(request.scope, requester_of(request))
    changes = one_dataset(await read_datasets(request))
    status = await run_in_threadpool(service.update, request.path_params["uid"], transaction, changes)
    return answer(request, 200, warnings=[status.text] if status.is_warning else [])


async def change_state(request: Request, service: WorkitemService) -> Response:
    dataset = one_dataset(await read_datasets(request))
    requester = acting_ae(request.scope, requester_of(request))
    status = await run_in_threadpool(
        service.change_state,
        request.path_params["uid"],
        first_value(dataset, t.PROCEDURE_STEP_STATE),
        first_value(dataset, t.TRANSACTION_UID),
        requester,
    )
    return answer(request, 200, warnings=[status.text] if status.is_warning else [])


async def cancel_request(request: Request, service: WorkitemService) -> Response:
    datasets = await read_datasets(request, optional=True)
    payload = one_dataset(datasets) if datasets else {}
    requester = acting_ae(request.scope, requester_of(request))
    status = await run_in_threadpool(service.request_cancellation, request.path_params["uid"], requester, payload)
    return answer(request, 202, warnings=[status.text] if status.is_warning else [])


async def search(request: Request, service: WorkitemService) -> Response:
    form = check_accept(request, many=True)
    search_request = parse_search(query_pairs(request, SEARCH_PARAMETERS), service.local)
    result = await run_in_threadpool(service.search, search_request)
    warnings = list(result.warnings)
    if result.remaining:
        warnings.append(f"There are {result.remaining} additional results that can be requested")
    if not result.items:
        return answer(request, 204, warnings=warnings)
    return answer_datasets(request, form, result.items, many=True, warnings=warnings)


def notification_url(request: Request, aet: str) -> str:
    scheme, _, rest = origin_of(request).partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{BASE_PATH}/ws/subscribers/{quote(aet)}"


async def subscribe(request: Request, service: WorkitemService) -> Response:
    aet = check_ae_title(request.path_params["aet"])
    acting_ae(request.scope, aet)
    target = request.path_params["uid"]
    pairs = query_pairs(request, SUBSCRIBE_PARAMETERS)
    params = dict(pairs)
    lock = params.get("deletionlock", "false").lower() == "true"
    filter_text = params.get("filter")
    if target == t.FILTERED_SUBSCRIPTION_UID and filter_text is None:
        # PS3.18 2017d: the filter came as plain matching parameters
        legacy = [(n, v) for n, v in pairs if n not in ("deletionlock",)]
        filter_text = ",".join(f"{n}={v}" for n, v in legacy) or None
    criteria = SubscriptionFilter.from_text(filter_text) if filter_text is not None else None
    status = await run_in_threadpool(service.subscribe, aet, target, lock, criteria)
    url = notification_url(request, aet)
    return answer(
        request,
        201,
        warnings=[status.text] if status.is_warning else [],
        headers={"Content-Location": url, "Location": url},
    )


async def unsubscribe(request: Request, service: WorkitemService) -> Response:
    aet = check_ae_title(request.path_params["aet"])
    acting_ae(request.scope, aet)
    await run_in_threadpool(service.unsubscribe, aet, request.path_params["uid"])
    return answer(request, 200)


async def suspend(request: Request, service: WorkitemService) -> Response:
    aet = check_ae_title(request.path_params["aet"])
    acting_ae(request.scope, aet)
    await run_in_threadpool(service.suspend, aet, request.path_params["uid"])
    return answer(request, 200)


async def notifications(websocket: WebSocket) -> None:
    """Open Notification Connection (PS3.18 8.10.4): one text frame per event report."""
    service: WorkitemService = websocket.app.state.service
    try:
        aet = check_ae_title(websocket.path_params["aet"])
        acting_ae(websocket.scope, aet)
    except (InvalidRequest, Forbidden) as exc:
        # refused before the upgrade: the client sees a 403, nothing is registered for the name
        log.info("Notification connection refused: %s", exc.message if isinstance(exc, UPSError) else exc)
        await websocket.close(code=1008)
        return
    await websocket.accept()
    channel = service.connect(aet)
    listen = asyncio.ensure_future(_drain_client(websocket))
    dropped = asyncio.ensure_future(channel.dropped.wait())
    unsent: str | None = None
    try:
        while not (listen.done() or dropped.done()):
            # a burst is sent without a task and a wait per event: only an empty queue is waited on
            unsent = channel.ready()
            if unsent is None:
                getter = asyncio.ensure_future(channel.next())
                done, _ = await asyncio.wait({getter, listen, dropped}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                unsent = getter.result()
            # a subscriber that stops reading blocks the send: it is dropped, its events kept
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await websocket.send_text(unsent)
            unsent = None
    except (WebSocketDisconnect, RuntimeError, OSError, TimeoutError):
        pass
    finally:
        listen.cancel()
        channel.close([unsent] if unsent is not None else [])
        if dropped.done() or unsent is not None:
            # 1013 Try Again Later: the events wait in the backlog for the reconnect
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(code=1013), 1.0)
        dropped.cancel()


async def _drain_client(websocket: WebSocket) -> None:
    """Clients send nothing meaningful; read until they close so a close is noticed at once."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return


async def root(request: Request) -> Response:
    return Response(
        f"Worklist Console UPS-RS origin server. Service base: {service_base(request)}\n",
        media_type="text/plain",
    )


def routes() -> list:
    w = BASE_PATH + "/workitems"
    return [
        Route("/", root, methods=["GET"]),
        Route(BASE_PATH, root, methods=["GET"]),
        Route(w, endpoint(search), methods=["GET"]),
        Route(w, endpoint(create), methods=["POST"]),
        Route(w + "/{uid}", endpoint(retrieve), methods=["GET"]),
        Route(w + "/{uid}", endpoint(update, UPDATE_STATUS), methods=["POST"]),
        Route(w + "/{uid}/state", endpoint(change_state), methods=["PUT"]),
        Route(w + "/{uid}/state/{aet}", endpoint(change_state), methods=["PUT"]),
        Route(w + "/{uid}/cancelrequest", endpoint(cancel_request), methods=["POST"]),
        Route(w + "/{uid}/cancelrequest/{aet}", endpoint(cancel_request), methods=["POST"]),
        Route(w + "/{uid}/subscribers/{aet}", endpoint(subscribe), methods=["POST"]),
        Route(w + "/{uid}/subscribers/{aet}", endpoint(unsubscribe), methods=["DELETE"]),
        Route(w + "/{uid}/subscribers/{aet}/suspend", endpoint(suspend), methods=["POST"]),
        WebSocketRoute(BASE_PATH + "/ws/subscribers/{aet}", notifications),
    ]


def create_app(service: WorkitemService, lifespan=None, policy: Policy | None = None) -> Starlette:
    """The UPS-RS app behind the door that checks Host, Origin, media type and credentials
    (without a `policy`: loopback names only, no users)."""
    policy = policy or Policy(frozenset({"localhost"}))
    app = Starlette(routes=routes(), lifespan=lifespan, middleware=[Middleware(Door, policy=policy)])
    app.state.service = service
    app.state.public_base = policy.public_base
    return app
