"""DICOMweb Modality Procedure Step Services (Supplement 246) on the same store: MWL over REST
(Search on /modality-scheduled-procedure-steps) and MPPS over REST (Create, Update, Retrieve on
/modality-performed-procedure-steps/{uid}).

Two thin doors: the Search answers what the MWL C-FIND front answers (mwl_search), the MPPS
transactions are the DIMSE MPPS front's (the PerformedStepService), so an MPPS created over
DIMSE can be updated here and the other way round. Where the supplement's text and its
examples disagree, both forms are accepted (reference/sup246.md §1).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.domain import tags as t
from app.domain.dicomjson import JsonDataset
from app.domain.identifiers import check_uid
from app.domain.mapping import SPS_SEQ, SPS_STATUS
from app.domain.mwl_keys import answer, search_keys
from app.domain.search import CONTROL_PARAMETERS, parse_path, parse_search
from app.domain.status import Status, UPSError

from . import http as front
from . import media
from .mwl_search import scheduled_steps
from .security import acting_ae
from .service_api import MppsOutcome, PerformedStepService, WorkitemService

MWL_PATH = "/modality-scheduled-procedure-steps"
MPPS_PATH = "/modality-performed-procedure-steps"
# A search that would answer more than this without a limit is refused (413): page or narrow it.
MAX_ANSWERS = 1000
SEARCH_PARAMETERS = CONTROL_PARAMETERS | {"includefield"}
STATUS_KEY = f"{SPS_SEQ}.{SPS_STATUS}"

# MPPS outcomes as HTTP codes (reference/sup246.md: 409 for a UID in use and for a change the
# MPPS rules refuse, 404 unknown, 400 for bad attributes).
MPPS_HTTP = {
    Status.SUCCESS: 200,
    Status.INVALID_ATTRIBUTE_VALUE: 400,
    Status.MISSING_ATTRIBUTE: 400,
    Status.MISSING_ATTRIBUTE_VALUE: 400,
    Status.NO_SUCH_ATTRIBUTE: 400,
    Status.DUPLICATE_INSTANCE: 409,
    Status.PROCESSING_FAILURE: 409,
    Status.NO_SUCH_SOP_INSTANCE: 404,
    Status.NOT_AUTHORIZED: 403,
}


async def search(request: Request, service: WorkitemService) -> Response:
    form = front.check_accept(request, many=True)
    pairs = front.query_pairs(request, SEARCH_PARAMETERS)
    # an attribute key names its place in the entry (an SPS key given un-nested is the one inside
    # the item), and one with a value this server cannot match is refused: never widened
    keys = search_keys(
        [(name, value) for name, value in pairs if name not in CONTROL_PARAMETERS or name == "includefield"]
    )
    wanted = [(name, value) for name, value in pairs if name in CONTROL_PARAMETERS and name != "includefield"]
    wanted += list(keys.matches)
    if not any(name == STATUS_KEY for name, _ in wanted):
        wanted.append((STATUS_KEY, "SCHEDULED"))  # the worklist: steps still to be done
    request_ = parse_search(wanted, service.local)
    limit = request_.limit

    def run() -> tuple[list[JsonDataset], bool]:
        steps = scheduled_steps(service, request_.query)
        page = list(itertools.islice(steps, request_.offset, request_.offset + (limit or MAX_ANSWERS) + 1))
        return page[: limit or MAX_ANSWERS], len(page) > (limit or MAX_ANSWERS)

    items, more = await run_in_threadpool(run)
    warnings = list(request_.warnings)
    if keys.ignored:
        warnings.append(f"Not attributes of a worklist entry, ignored: {', '.join(keys.ignored)}")
    if more and limit is None:
        return front.refuse(
            request, 413, f"More than {MAX_ANSWERS} scheduled steps match: narrow the query or page it with limit."
        )
    if more:
        warnings.append("There are additional results that can be requested")
    if not items:
        return front.answer(request, 204, warnings=warnings)
    return _datasets(request, form, [answer(item, keys) for item in items], many=True, warnings=warnings)


def _datasets(
    request: Request,
    form: media.Form,
    datasets: list[JsonDataset],
    *,
    many: bool,
    warnings: tuple[str, ...] | list[str] = (),
) -> Response:
    body, content_type = media.write(datasets, form, many=many)
    response = front.answer(request, 200, body, warnings)
    response.headers["content-type"] = content_type
    return response


def _mpps_answer(request: Request, outcome: MppsOutcome, success: int) -> Response:
    if outcome.status == Status.SUCCESS:
        return front.answer(request, success)
    code = outcome.http_status or (410 if outcome.gone else MPPS_HTTP.get(Status(outcome.status), 400))
    return front.refuse(request, code, outcome.comment or Status(outcome.status).text)


def _performing_ae(request: Request, dataset: JsonDataset) -> str:
    """The AE that performs it: the Performed Station AE Title the MPPS names, else the client's
    calling AE title. Either must be one the user may act as (the server's one access rule)."""
    values = (dataset.get("00400241") or {}).get("Value") or []
    named = str(values[0]) if values and values[0] else None
    return acting_ae(request.scope, named) or "MPPS-RS"


async def mpps_create(request: Request, service: WorkitemService) -> Response:
    if _is_update(request):
        return await mpps_update(request, service)
    uid = check_uid(request.path_params["uid"])
    dataset = front.one_dataset(await front.read_datasets(request))
    mpps: PerformedStepService = request.app.state.mpps
    outcome = await run_in_threadpool(mpps.create, uid, dataset, _performing_ae(request, dataset))
    return _mpps_answer(request, outcome, 201)


def _is_update(request: Request) -> bool:
    return any(name.lower() == "update" for name, _ in front.query_pairs(request))


async def mpps_update(request: Request, service: WorkitemService) -> Response:
    uid = check_uid(request.path_params["uid"])
    dataset = front.one_dataset(await front.read_datasets(request))
    mpps: PerformedStepService = request.app.state.mpps
    outcome = await run_in_threadpool(mpps.set, uid, dataset)
    return _mpps_answer(request, outcome, 200)


async def mpps_retrieve(request: Request, service: WorkitemService) -> Response:
    form = front.check_accept(request)
    uid = check_uid(request.path_params["uid"])
    mpps: PerformedStepService = request.app.state.mpps
    dataset = await run_in_threadpool(mpps.get, uid)
    if dataset is None:
        raise UPSError(Status.NO_SUCH_SOP_INSTANCE, f"There is no MPPS {uid}.")
    include = {
        tag
        for name, value in front.query_pairs(request, frozenset({"includefield"}))
        if name == "includefield"
        for item in value.split(",")
        if item.strip() and item.strip() != "all"
        for tag in [parse_path(item.strip())[0]]
    }
    if include:
        dataset = {tag: element for tag, element in dataset.items() if tag in include or tag == t.SOP_INSTANCE_UID}
    dataset = {**dataset, t.SOP_INSTANCE_UID: {"vr": "UI", "Value": [uid]}}
    return _datasets(request, form, [dataset], many=False)


Handler = Callable[[Request, WorkitemService], Awaitable[Response]]


def routes(base: str, endpoint: Callable[..., Callable[[Request], Awaitable[Response]]]) -> list[Route]:
    """The Sup 246 resources under `base`, each wrapped by the front's `endpoint`."""
    mpps_statuses = {**front.HTTP_STATUS, Status.NO_SUCH_SOP_INSTANCE: 404}
    return [
        Route(base + MWL_PATH, endpoint(search), methods=["GET"]),
        Route(base + MPPS_PATH + "/{uid}", endpoint(mpps_create, mpps_statuses), methods=["POST"]),
        Route(base + MPPS_PATH + "/{uid}", endpoint(mpps_retrieve, mpps_statuses), methods=["GET"]),
        Route(base + MPPS_PATH + "/{uid}/update", endpoint(mpps_update, mpps_statuses), methods=["POST"]),
    ]
