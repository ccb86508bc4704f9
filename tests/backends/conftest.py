"""Peers for the backend tests that the embedded server cannot play."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind, Verification


def _abort_echo(event) -> int:
    event.assoc.abort()
    return 0x0000


def _abort_find(event) -> Iterator[tuple[int, Dataset | None]]:
    event.assoc.abort()
    yield 0xFF00, None  # never sent: the association is gone


def _abort_n_create(event) -> tuple[int, Dataset | None]:
    event.assoc.abort()
    return 0x0110, None


@pytest.fixture(scope="module")
def aborting_peer() -> Iterator[int]:
    """An SCP that accepts Verification, MWL and MPPS, then aborts whatever is asked."""
    ae = AE("ABORTER")
    for context in (Verification, ModalityWorklistInformationFind, ModalityPerformedProcedureStep):
        ae.add_supported_context(context)
    server = ae.start_server(
        ("127.0.0.1", 0),
        block=False,
        evt_handlers=[
            (evt.EVT_C_ECHO, _abort_echo),
            (evt.EVT_C_FIND, _abort_find),
            (evt.EVT_N_CREATE, _abort_n_create),
        ],
    )
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture()
def mwl_peer() -> Iterator[Callable[[list[Dataset]], int]]:
    """Starts an MWL SCP that answers every query with the given items, as a RIS would send
    them (their text as raw bytes, with or without a Specific Character Set); returns its port."""
    servers = []

    def serve(answers: list[Dataset]) -> int:
        def on_find(event) -> Iterator[tuple[int, Dataset | None]]:
            for answer in answers:
                yield 0xFF00, answer

        ae = AE("MWLPEER")
        ae.add_supported_context(Verification)
        ae.add_supported_context(ModalityWorklistInformationFind)
        server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find)])
        servers.append(server)
        return server.server_address[1]

    yield serve
    for server in servers:
        server.shutdown()
