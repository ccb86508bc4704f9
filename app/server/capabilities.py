"""Retrieve Capabilities (PS3.18 8.9): what the server offers, answered to OPTIONS on the base and
on each resource, as a WADL document (the standard's default) or as JSON when asked for.

One table says what each resource accepts; the WADL and the JSON are written from it, so a
client can discover UPS-RS, the Sup 246 search and MPPS without probing.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

WADL = "application/vnd.sun.wadl+xml"
WADL_NS = "http://wadl.dev.java.net/2009/02"
MEDIA_TYPES = ("application/dicom+json", "application/dicom+xml")
SEARCH_MEDIA_TYPES = (
    *MEDIA_TYPES,
    'multipart/related; type="application/dicom+json"',
    'multipart/related; type="application/dicom+xml"',
)
# How the Sup 246 Search reads its keys and what it returns (the rule is `domain.mwl_keys`)
MWL_SEARCH_NOTES = (
    "A worklist entry has exactly one Scheduled Procedure Step item, so a key of that item given "
    "without its sequence (ScheduledStationAETitle, Modality, 00400001) is matched inside it, as "
    "00400100.00400001. A key with a value that this server cannot match is refused with 400, "
    "naming it. Every return key of type 1 and 2 of PS3.4 Table K.6-1 is in each answer, empty when "
    "unknown; the other attributes of the table are in it when known, and empty when unknown if "
    "includefield (all, or naming them) or a key asks for them."
)


@dataclass(frozen=True)
class Method:
    name: str  # the HTTP method
    transaction: str
    accepts: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    notes: str = ""  # what a client cannot guess from the standard: how this server reads it


@dataclass(frozen=True)
class Resource:
    service: str
    path: str  # under the base
    methods: tuple[Method, ...]


UPS_RS = "UPS-RS"
MWL_RS = "Modality Scheduled Procedure Step (Sup 246 search)"
MPPS_RS = "Modality Performed Procedure Step (Sup 246 MPPS)"

RESOURCES = (
    Resource(
        UPS_RS,
        "/workitems",
        (
            Method("GET", "Search", answers=MEDIA_TYPES),
            Method("POST", "Create", accepts=MEDIA_TYPES),
        ),
    ),
    Resource(
        UPS_RS,
        "/workitems/{uid}",
        (
            Method("GET", "Retrieve", answers=MEDIA_TYPES),
            Method("POST", "Update", accepts=MEDIA_TYPES),
        ),
    ),
    Resource(UPS_RS, "/workitems/{uid}/state", (Method("PUT", "Change State", accepts=MEDIA_TYPES),)),
    Resource(UPS_RS, "/workitems/{uid}/cancelrequest", (Method("POST", "Request Cancellation", accepts=MEDIA_TYPES),)),
    Resource(
        UPS_RS,
        "/workitems/{uid}/subscribers/{aet}",
        (Method("POST", "Subscribe"), Method("DELETE", "Unsubscribe")),
    ),
    Resource(
        UPS_RS,
        "/workitems/1.2.840.10008.5.1.4.34.5/subscribers/{aet}/suspend",
        (Method("POST", "Suspend Global Subscription"),),
    ),
    Resource(UPS_RS, "/ws/subscribers/{aet}", (Method("GET", "Open Notification Connection (WebSocket)"),)),
    Resource(
        MWL_RS,
        "/modality-scheduled-procedure-steps",
        (Method("GET", "Search", answers=SEARCH_MEDIA_TYPES, notes=MWL_SEARCH_NOTES),),
    ),
    Resource(
        MPPS_RS,
        "/modality-performed-procedure-steps/{uid}",
        (
            Method("POST", "Create", accepts=MEDIA_TYPES),
            Method("POST", "Update (?update)", accepts=MEDIA_TYPES),
            Method("GET", "Retrieve", answers=MEDIA_TYPES),
        ),
    ),
    Resource(
        MPPS_RS, "/modality-performed-procedure-steps/{uid}/update", (Method("POST", "Update", accepts=MEDIA_TYPES),)
    ),
)


def _offered(resources: tuple[Resource, ...]) -> dict[str, object]:
    return {
        "services": sorted({r.service for r in resources}),
        "resources": [
            {
                "service": r.service,
                "path": r.path,
                "methods": [
                    {
                        "method": m.name,
                        "transaction": m.transaction,
                        "accepts": list(m.accepts),
                        "answers": list(m.answers),
                        **({"notes": m.notes} if m.notes else {}),
                    }
                    for m in r.methods
                ],
            }
            for r in resources
        ],
    }


def as_json(base: str, resources: tuple[Resource, ...] = RESOURCES) -> bytes:
    return json.dumps({"base": base, **_offered(resources)}, indent=1).encode()


def as_wadl(base: str, resources: tuple[Resource, ...] = RESOURCES) -> bytes:
    ET.register_namespace("", WADL_NS)
    application = ET.Element(f"{{{WADL_NS}}}application")
    root = ET.SubElement(application, f"{{{WADL_NS}}}resources", base=base)
    for r in resources:
        resource = ET.SubElement(root, f"{{{WADL_NS}}}resource", path=r.path.lstrip("/"))
        ET.SubElement(resource, f"{{{WADL_NS}}}doc", title=r.service)
        for m in r.methods:
            method = ET.SubElement(resource, f"{{{WADL_NS}}}method", name=m.name, id=_id(r, m))
            ET.SubElement(method, f"{{{WADL_NS}}}doc", title=m.transaction).text = m.notes or None
            if m.accepts:
                request = ET.SubElement(method, f"{{{WADL_NS}}}request")
                for kind in m.accepts:
                    ET.SubElement(request, f"{{{WADL_NS}}}representation", mediaType=kind)
            if m.answers:
                response = ET.SubElement(method, f"{{{WADL_NS}}}response")
                for kind in m.answers:
                    ET.SubElement(response, f"{{{WADL_NS}}}representation", mediaType=kind)
    return ET.tostring(application, encoding="utf-8", xml_declaration=True)


def _id(resource: Resource, method: Method) -> str:
    words = f"{resource.service} {method.transaction}".replace("(", " ").replace(")", " ").replace("?", " ")
    return "".join(w.capitalize() for w in words.split() if w.isalnum())


def _under(path: str, resource: Resource) -> bool:
    """Does the request path name this resource (or, for the base, any)?"""
    pattern, given = resource.path.strip("/").split("/"), path.strip("/").split("/")
    return len(pattern) == len(given) and all(p.startswith("{") or p == g for p, g in zip(pattern, given))


def routes(base_path: str, public_base: Callable[[Request], str], *, ups_rs: bool = True) -> list[Route]:
    """OPTIONS on the base and on every resource (without UPS-RS's when the service has none)."""
    offered = tuple(r for r in RESOURCES if ups_rs or r.service != UPS_RS)

    async def options(request: Request) -> Response:
        below = request.url.path[len(base_path) :]
        chosen = offered if below.strip("/") == "" else tuple(r for r in offered if _under(below, r))
        methods = sorted({m.name for r in chosen for m in r.methods} | {"OPTIONS"})
        headers = {"Allow": ", ".join(methods)}
        accept = request.headers.get("accept", "").lower()
        base = public_base(request)
        if "json" in accept and "wadl" not in accept:
            return Response(as_json(base, chosen), media_type="application/json", headers=headers)
        return Response(as_wadl(base, chosen), media_type=WADL, headers=headers)

    paths = {base_path, base_path + "/", *(base_path + r.path for r in RESOURCES)}
    return [Route(path, options, methods=["OPTIONS"]) for path in sorted(paths)]
