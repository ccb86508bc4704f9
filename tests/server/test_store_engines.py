"""The store's contract on both engines, so that SQLite (the embedded default) and PostgreSQL (a
site's several nodes) cannot drift apart: what a search returns, one winner per claim among
services sharing one database, one workitem per UID, what a subscription reaches."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sql_matches_python import ZONES, expected, search_params, uid_of, workitems

from app.domain.search import parse_search
from app.domain.states import State
from app.domain.status import Status, UPSError
from app.server import schema
from app.server.notifications import EventHub
from app.server.service import UPSService
from app.server.store import Store, StoreError, open_store

# A factory of stores on one database: each call is another process's (another node's) view of it.
StoreMaker = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[StoreMaker]:
    made: list[Store] = []
    if request.param == "sqlite":
        path = str(tmp_path / "w.db")

        def make() -> Store:
            made.append(Store(path, UTC))
            return made[-1]
    else:
        url = request.getfixturevalue("pg_url")

        def make() -> Store:
            made.append(open_store(url, UTC, pool_size=8))
            return made[-1]

    try:
        yield make
    finally:
        for store in made:
            store.close()


def empty(store: Store) -> None:
    with store.write() as db:
        for table in ("item_key", "workitem", "deleted", "subscription"):
            db.execute(f"DELETE FROM {table}")


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_search_returns_exactly_what_the_query_matches_on_either_engine(engine, data):
    store = engine() if not hasattr(engine, "store") else engine.store
    engine.store = store  # one store for every example of this engine: emptied between them
    local = data.draw(st.sampled_from(ZONES))
    store.local = local
    empty(store)
    datasets = data.draw(workitems())
    with store.write() as db:
        for dataset in datasets:
            store.insert(db, dataset)
    for params in data.draw(st.lists(search_params(), min_size=1, max_size=3)):
        query = parse_search(params, local).query
        with store.read() as db:
            summaries, remaining = store.search(db, query, 0, 10_000)
        found = [uid_of(json.loads(s)) for s in summaries]
        assert remaining == 0
        assert sorted(found) == sorted(expected(datasets, query, local)), params


def test_wildcards_match_percent_and_underscore_as_themselves(engine):
    store = engine()
    service = UPSService(store, EventHub())
    labels = ["CT 100% dose", "CT 100x dose", "MR_head", "MRxhead"]
    for n, label in enumerate(labels):
        service.create(_workitem(n, label))

    def labels_of(pattern: str) -> list[str]:
        result = service.search(parse_search([("ProcedureStepLabel", pattern)]))
        return sorted(json.loads(s)["00741204"]["Value"][0] for s in result.items)

    assert labels_of("CT 100%*") == ["CT 100% dose"]
    assert labels_of("MR_*") == ["MR_head"]
    assert labels_of("MR?head") == ["MR_head", "MRxhead"]


def test_of_many_claims_through_two_services_on_one_database_exactly_one_wins(engine):
    services = [UPSService(engine(), EventHub()) for _ in range(2)]
    uid = services[0].create(_workitem(1, "CT chest")).uid
    start = threading.Barrier(16)

    def claim(n: int) -> Status | str:
        start.wait()
        try:
            return services[n % 2].change_state(uid, State.IN_PROGRESS.value, f"1.2.3.{n}", "CT1")
        except UPSError as exc:
            return exc.status.name

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(claim, range(16)))
    assert outcomes.count(Status.SUCCESS) == 1, outcomes


def test_one_uid_created_through_two_services_at_once_is_created_once(engine):
    services = [UPSService(engine(), EventHub()) for _ in range(2)]
    dataset = _workitem(7, "CT chest")
    start = threading.Barrier(8)

    def create(n: int) -> str:
        start.wait()
        try:
            return services[n % 2].create(json.loads(json.dumps(dataset))).status.name
        except UPSError as exc:
            return exc.status.name

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, range(8)))
    assert sum(1 for o in outcomes if o in ("SUCCESS", "CREATED_WITH_MODIFICATIONS")) == 1, outcomes
    assert outcomes.count("DUPLICATE_INSTANCE") == 7, outcomes


def _workitem(n: int, label: str) -> dict:
    from upsrs_client import item

    dataset = item(label=label)
    dataset["00080018"] = {"vr": "UI", "Value": [f"1.2.826.0.1.3680043.10.9999.{n}"]}
    return dataset


def test_a_postgresql_write_is_acknowledged_only_once_flushed_whatever_the_servers_default(postgres, pg_url):
    database = pg_url.rpartition("/")[2]
    postgres.run_sql(f'ALTER DATABASE "{database}" SET synchronous_commit = off')  # a site's speed-up
    store = open_store(pg_url, UTC, pool_size=1)
    try:
        with store.read() as db:
            assert db.execute("SHOW synchronous_commit").fetchone()[0] == "on"
            assert db.execute("SHOW statement_timeout").fetchone()[0] == "1min"
    finally:
        store.close()


@pytest.fixture()
def one_migration(monkeypatch) -> str:
    """A migration from the version before this one: it adds a table (and fails if run twice)."""
    monkeypatch.setitem(schema.MIGRATIONS, schema.SCHEMA_VERSION - 1, ["CREATE TABLE added_by_migration (note TEXT)"])
    return "added_by_migration"


def test_an_older_database_is_brought_up_once_when_nodes_start_together(engine, one_migration):
    engine().close()  # a database of this version …
    older = engine()
    with older.write() as db:  # … made to look as the version before made it
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(schema.SCHEMA_VERSION - 1),))
    older.close()
    with ThreadPoolExecutor(4) as pool:  # four nodes start at once: one brings it up, none fails
        stores = list(pool.map(lambda _: engine(), range(4)))
    with stores[0].read() as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
            schema.SCHEMA_VERSION
        )
        assert db.execute(f"SELECT count(*) FROM {one_migration}").fetchone()[0] == 0


def test_a_database_of_a_newer_version_is_refused_by_an_older_node(engine):
    newer = engine()
    with newer.write() as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(schema.SCHEMA_VERSION + 1),))
    newer.close()
    with pytest.raises(StoreError, match="made by a newer version"):
        engine()


def test_a_database_no_migration_leads_from_is_refused(engine):
    old = engine()
    with old.write() as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    old.close()
    with pytest.raises(StoreError, match="cannot bring schema 1 up"):
        engine()
