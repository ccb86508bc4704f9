"""Connections that never ask for an association do not lock modalities out of the DIMSE front:
the association limit is a site's, and a silent connection is closed within seconds."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

ECHOSCU = "/usr/bin/echoscu" if Path("/usr/bin/echoscu").exists() else None  # DCMTK's, not pynetdicom's


def test_twenty_bare_connections_do_not_stop_echoscu_and_are_closed_soon(front):
    if ECHOSCU is None:
        pytest.skip("DCMTK's echoscu is not installed")
    bare = [socket.create_connection(("127.0.0.1", front.dimse.port), timeout=20) for _ in range(20)]
    try:
        echo = subprocess.run(
            [ECHOSCU, "-aec", "WORKLIST", "-to", "10", "127.0.0.1", str(front.dimse.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert echo.returncode == 0, echo.stdout + echo.stderr
        began = time.monotonic()
        assert bare[0].recv(1) == b""  # the server closed it: it never asked for an association
        assert time.monotonic() - began < 15
    finally:
        for connection in bare:
            connection.close()
