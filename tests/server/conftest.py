"""An HTTP client for the module's real server (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from upsrs_client import DICOM_JSON


@pytest.fixture()
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10.0, headers={"Accept": DICOM_JSON}) as client:
        yield client
