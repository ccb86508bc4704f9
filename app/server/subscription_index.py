"""Who hears of a change to a workitem: its own subscriptions, and the global and filtered ones
kept in memory beside the store, so that a write finds its recipients by set union rather than a
loop over thousands of subscriptions (PS3.4 CC.2.3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import tzinfo

from app.domain.dicomjson import JsonDataset
from app.domain.query import Query
from app.domain.search import SubscriptionFilter

from .store import Connection, Row, Store, Subscription


@dataclass
class _GlobalIndex:
    """The global subscriptions, and the filtered ones grouped by their filter; beside them, the
    AE titles of those not suspended, as sets."""

    everything: list[Subscription] = field(default_factory=list)
    filtered: dict[str, list[Subscription]] = field(default_factory=dict)
    everyone: frozenset[str] = frozenset()
    by_filter: dict[str, frozenset[str]] = field(default_factory=dict)
    suspended: list[Subscription] = field(default_factory=list)  # global or filtered

    def seal(self) -> _GlobalIndex:
        self.everyone = frozenset(s.aet for s in self.everything if s.suspended_after is None)
        self.by_filter = {
            text: frozenset(s.aet for s in subs if s.suspended_after is None) for text, subs in self.filtered.items()
        }
        self.suspended = [
            s
            for s in [*self.everything, *(s for subs in self.filtered.values() for s in subs)]
            if s.suspended_after is not None
        ]
        return self


class SubscriptionIndex:
    """The subscriptions that cover a workitem, read inside the store's write transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._filters: dict[str, Query] = {}
        self._index: _GlobalIndex | None = None
        self._version: str | None = None  # the store's subscriptions_version the index was built at

    @property
    def local(self) -> tzinfo:
        return self.store.local

    def filter(self, text: str) -> Query:
        """The query of a filtered subscription, parsed once per distinct filter."""
        query = self._filters.get(text)
        if query is None:
            query = self._filters[text] = SubscriptionFilter.from_text(text).query(self.local)
        return query

    def _matches(self, text: str, row: Row, before: JsonDataset | None) -> bool:
        query = self.filter(text)
        return query.matches(row.dataset, self.local) or (before is not None and query.matches(before, self.local))

    def covering(self, db: Connection, row: Row, before: JsonDataset | None = None) -> list[Subscription]:
        """The subscriptions that cover a workitem (a filter counts if it matched before or after).

        The workitem's own rows come from the store's index on the target; the global and
        filtered ones from the index in memory, where each distinct filter is matched once."""
        own = self.store.subscriptions_of(db, row.uid)
        excluded = {s.aet for s in own if s.kind == "excluded"}
        out = [s for s in own if s.kind == "item"]

        def active(s: Subscription) -> bool:
            return s.aet not in excluded and (s.suspended_after is None or row.id <= s.suspended_after)

        index = self._global_index(db)
        out += [s for s in index.everything if active(s)]
        for text, subs in index.filtered.items():
            if self._matches(text, row, before):
                out += [s for s in subs if active(s)]
        return out

    def recipients(self, db: Connection, row: Row, before: JsonDataset | None = None) -> set[str]:
        """The AE titles a change of the workitem reaches: what `covering` finds, by set union."""
        own = self.store.subscriptions_of(db, row.uid)
        index = self._global_index(db)
        aets = set(index.everyone)
        matched = set()
        for text in index.by_filter:
            if self._matches(text, row, before):
                aets |= index.by_filter[text]
                matched.add(text)
        aets |= {
            s.aet
            for s in index.suspended
            if row.id <= (s.suspended_after or 0) and (s.kind == "global" or s.filter in matched)
        }
        aets -= {s.aet for s in own if s.kind == "excluded"}
        return aets | {s.aet for s in own if s.kind == "item"}

    def _global_index(self, db: Connection) -> _GlobalIndex:
        # Built inside a write transaction (every caller holds the writer), from what it sees; again
        # when another node changed the subscriptions since
        version = self.store.subscriptions_version(db)
        if version != self._version:
            self._index, self._version = None, version
        if self._index is None:
            index = _GlobalIndex()
            for s in self.store.subscriptions(db):
                if s.kind == "global":
                    index.everything.append(s)
                elif s.kind == "filtered" and s.filter:
                    index.filtered.setdefault(s.filter, []).append(s)
            self._index = index.seal()
        return self._index

    @contextmanager
    def changing(self) -> Iterator[Connection]:
        """A write that changes subscriptions: the in-memory index is rebuilt after it, whether
        it committed or rolled back."""
        self._index = None
        try:
            with self.store.write() as db:
                self.store.subscriptions_changed(db)
                yield db
        finally:
            self._index = None
