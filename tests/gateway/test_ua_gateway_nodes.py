"""Two SCP / User-Agent gateway nodes (`serve --upstream upsrs:URL --db postgresql://…`) in front of
one UPS-RS worklist, sharing their MPPS links in one PostgreSQL database: an MPPS a modality created
through one node is completed through the other, and one MPPS created through both at once claims
its workitem once."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from benchmarks.served import Running, serve_process
from dimse_peers import free_port
from pydicom.uid import generate_uid
from test_ups_upstream import STATE, by_accession, completed, in_progress, n_create, n_set, value, worklist

from app.server import UPSServer

pytestmark = pytest.mark.interop


@contextlib.contextmanager
def gateway_nodes(pg_url: str, upstream: UPSServer, count: int = 2) -> Iterator[list[int]]:
    """The DIMSE ports of `count` gateway nodes on one database."""
    with contextlib.ExitStack() as stack:
        running: list[Running] = [
            stack.enter_context(
                serve_process(
                    "--upstream", f"upsrs:{upstream.base_url}", "--db", pg_url, "--dimse-port", str(free_port())
                )
            )
            for _ in range(count)
        ]
        yield [int(re.search(r"DIMSE \(MWL, MPPS, UPS\) on port (\d+)", "".join(n.lines)).group(1)) for n in running]


def test_an_mpps_created_through_one_node_is_completed_through_the_other(pg_url, upstream):
    with gateway_nodes(pg_url, upstream) as (a, b):
        item = worklist(a, "MR1")[0]
        mpps = generate_uid()
        assert n_create(a, in_progress(item), mpps).Status == 0x0000
        assert value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "IN PROGRESS"
        assert n_set(b, completed(), mpps).Status == 0x0000  # the other node knows its Transaction UID
        assert value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "COMPLETED"


def test_one_mpps_created_through_both_nodes_at_once_claims_its_workitem_once(pg_url, upstream):
    with gateway_nodes(pg_url, upstream) as ports:
        item = worklist(ports[0], "MR1")[1]
        mpps = generate_uid()
        start = threading.Barrier(8)

        def create(n: int) -> int:
            start.wait()
            return int(n_create(ports[n % 2], in_progress(item), mpps).Status)

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(create, range(8)))
        # one N-CREATE of the MPPS is done; those sent meanwhile wait for it and are duplicates
        assert sorted(statuses) == [0x0000] + [0x0111] * 7, [hex(s) for s in statuses]
        assert value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "IN PROGRESS"
        # one MPPS, with the claim's Transaction UID, whichever node is asked
        assert n_set(ports[1], completed(), mpps).Status == 0x0000
        assert value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "COMPLETED"


def test_a_sup246_gateway_runs_on_a_postgresql_database_too(pg_url, upstream):
    """It keeps no records: the database holds its nodes' audit."""
    with contextlib.ExitStack() as stack:
        node = stack.enter_context(
            serve_process("--upstream", f"sup246:{upstream.base_url}", "--db", pg_url, "--dimse-port", str(free_port()))
        )
        port = int(re.search(r"DIMSE \(MWL, MPPS, UPS\) on port (\d+)", "".join(node.lines)).group(1))
        item = worklist(port, "MR1")[0]
        assert n_create(port, in_progress(item), generate_uid()).Status == 0x0000
        assert value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "IN PROGRESS"
