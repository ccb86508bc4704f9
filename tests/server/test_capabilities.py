"""Retrieve Capabilities (PS3.18 8.9): OPTIONS on the base and on each resource says what the
server offers, so a client can discover UPS-RS and the Sup 246 services without probing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

WADL_NS = "{http://wadl.dev.java.net/2009/02}"


@pytest.fixture()
def http(server):
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def test_options_on_the_base_describes_every_service_as_wadl(http, server):
    answer = http.request("OPTIONS", "")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/vnd.sun.wadl+xml")
    document = ET.fromstring(answer.content)
    resources = document.find(f"{WADL_NS}resources")
    assert resources is not None and resources.get("base") == server.base_url
    paths = {r.get("path") for r in resources.findall(f"{WADL_NS}resource")}
    assert {"workitems", "modality-scheduled-procedure-steps", "modality-performed-procedure-steps/{uid}"} <= paths


def test_options_on_a_resource_names_its_methods_and_answers_json_when_asked(http):
    answer = http.request("OPTIONS", "/workitems", headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "POST", "OPTIONS"}
    offered = answer.json()
    assert offered["services"] == ["UPS-RS"]
    mpps = http.request("OPTIONS", "/modality-performed-procedure-steps/1.2.3", headers={"Accept": "application/json"})
    assert mpps.json()["services"] == ["Modality Performed Procedure Step (Sup 246 MPPS)"]
    everything = http.request("OPTIONS", "", headers={"Accept": "application/json"}).json()["services"]
    assert len(everything) == 3
