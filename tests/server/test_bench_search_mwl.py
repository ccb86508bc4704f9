"""The cores of tests/benchmarks/bench_search.py and bench_mwl.py on tiny loads, so that the
benchmarks cannot rot: their answers are checked against the fill, their clocks give figures."""

from __future__ import annotations

import argparse

import pytest
from benchmarks import bench_mwl, bench_search


def test_bench_search_finds_every_planned_answer_and_times_search_and_create(monkeypatch) -> None:
    monkeypatch.setattr(bench_search, "SEARCH_REQUESTS", 20)
    monkeypatch.setattr(bench_search, "WARMUP_REQUESTS", 2)
    monkeypatch.setattr(bench_search, "CREATE_REQUESTS", 24)
    args = argparse.Namespace(order="scattered", fill="service", max_service_fill=60.0, explain=True)
    result = bench_search.run_size(600, args)  # raises when a count differs from the plan or a create fails
    search = result["search"]
    assert (search["matches_min"], search["matches_max"]) == (100, 100)
    assert 0 < search["p50"] <= search["p99"] and 0 < search["client_ms"] < search["p50"]
    assert result["create"]["rate"] > 0 and result["many"]["rate"] > 0
    floor = result["floor"]  # the same answer size from the bare stack, for the ratio
    assert floor["bytes"] == round(search["bytes_mean"]) > 100 * 1000 and 0 < floor["p50"] <= floor["p99"]


@pytest.mark.interop
def test_bench_mwl_gets_the_same_answers_from_both_servers_on_one_association(tmp_path) -> None:
    figures = bench_mwl.measure(600, 4, tmp_path)  # raises when the servers' answers differ
    assert len(figures.ours) == len(figures.theirs) == 4
    assert figures.answers == {50} and figures.ratio > 0
