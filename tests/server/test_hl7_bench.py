"""The core of tests/benchmarks/bench_hl7.py on a tiny load, so that the benchmark cannot rot: its
orders are acknowledged AA, found by its Search and told to its subscriber, and it times them."""

from __future__ import annotations

import pytest
from benchmarks.bench_hl7 import Subscriber, measure, verdicts
from embedded_server import start_hl7_server


@pytest.mark.parametrize("connections", [1, 3])
def test_the_benchmarks_orders_are_acknowledged_searchable_and_told(tmp_path, connections) -> None:
    server = start_hl7_server(tmp_path / "ups.db", hl7_stations={"CT": "CT1"})
    subscriber = Subscriber(server.base_url)
    try:
        run = measure("127.0.0.1", server.hl7.port, server.base_url, subscriber, 12, connections, None)
    finally:
        subscriber.close()
        server.stop()
    assert (run.sent, run.done, run.refused) == (12, 12, [])
    assert (run.unsearchable, run.no_event) == (0, 0)
    assert len(run.latencies_ms) == 12 and run.rate > 0
    assert verdicts([run]) in (0, 1)  # a missed goal on a shared machine is no failure here; a lost order is
