"""A domain Query compiled to SQL over the store's indexed columns.

Keys the indexes can answer exactly become WHERE terms. The rest (attributes without a
column, combined date-time pairs, sequences nested in sequences) become a residual Query
that the store applies in Python to the rows the SQL lets through — so results are always
exactly what `Query.matches` says, and the common worklist queries never leave SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from app.domain import tags as t
from app.domain.dates import sortable
from app.domain.query import Key, KeyMatch, MatchKind, Query, SequenceMatch, glob_pattern

from .schema import COLUMNS, INDEXED_SEQUENCES, PN_COLUMNS


@dataclass
class CompiledQuery:
    where: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)
    residual: list[Key] = field(default_factory=list)

    @property
    def sql(self) -> str:
        return " AND ".join(self.where) if self.where else "1 = 1"

    @property
    def residual_query(self) -> Query | None:
        return Query(tuple(self.residual)) if self.residual else None


def like_pattern(text: str) -> str:
    """A DICOM wildcard value as a LIKE pattern with `\\` escaping (PostgreSQL has no GLOB)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _condition(column: str, key: KeyMatch, dialect: str = "sqlite") -> tuple[str, list[object]] | None:
    """An SQL test of `column` for one key, or None when SQL cannot decide it exactly."""
    if key.kind is MatchKind.SINGLE:
        return f"{column} = ?", [key.value]
    if key.kind is MatchKind.UID_LIST:
        uids = sorted(key.uids)
        return f"{column} IN ({','.join('?' * len(uids))})", list(uids)
    if key.kind is MatchKind.WILDCARD:
        if dialect == "postgresql":  # LIKE is case-sensitive there, as GLOB is in SQLite
            return f"{column} LIKE ?", [like_pattern(key.value)]
        return f"{column} GLOB ?", [glob_pattern(key.value)]
    if key.kind is MatchKind.RANGE and key.interval is not None:
        return f"{column} BETWEEN ? AND ?", [sortable(key.interval[0]), sortable(key.interval[1])]
    return None


def compile_query(query: Query, local: tzinfo, dialect: str = "sqlite") -> CompiledQuery:
    """`query` as WHERE terms in the SQL of `dialect` ("sqlite" or "postgresql") and its residual."""
    out = CompiledQuery()
    start = next(
        (
            k
            for k in query.matching_keys
            if isinstance(k, KeyMatch)
            and k.tag == t.SPS_START_DATETIME
            and k.kind is MatchKind.RANGE
            and k.interval is not None
        ),
        None,
    )
    for key in query.matching_keys:
        if isinstance(key, KeyMatch) and key.tag == t.PATIENT_NAME:
            terms = [_condition(f"w.{c}", key, dialect) for c in PN_COLUMNS]
            out.where.append("(" + " OR ".join(term for term, _ in terms) + ")")  # type: ignore[misc]
            for _, params in terms:  # type: ignore[misc]
                out.params.extend(params)
            continue
        if isinstance(key, KeyMatch) and key.tag in COLUMNS and COLUMNS[key.tag][1] == key.vr:
            cond = _condition(f"w.{COLUMNS[key.tag][0]}", key, dialect)
            if cond:
                out.where.append(cond[0])
                out.params.extend(cond[1])
                continue
        if isinstance(key, SequenceMatch) and key.tag in INDEXED_SEQUENCES:
            compiled = _sequence(key, start, dialect)
            if compiled:
                out.where.append(compiled[0])
                out.params.extend(compiled[1])
                if compiled[2]:
                    out.residual.append(key)  # SQL narrowed it; Python decides the nested items
                continue
        out.residual.append(key)
    return out


def _sequence(
    key: SequenceMatch, start: KeyMatch | None = None, dialect: str = "sqlite"
) -> tuple[str, list[object], bool] | None:
    """A term requiring every leaf key to match within one item of the sequence: the workitem's
    id among those of the items whose first leaf matches (narrowed by the scheduled start when
    the query has one, so the item_key index answers station + day alone), with EXISTS for
    the other leaves of the same item.

    Returns (sql, params, inexact): inexact when a nested sequence holds several keys,
    whose same-item rule inside the nested item SQL does not check.
    """
    leaves: list[tuple[str, KeyMatch]] = []
    inexact = False

    def collect(keys: tuple[Key, ...], prefix: str) -> bool:
        nonlocal inexact
        for sub in keys:
            if isinstance(sub, KeyMatch):
                if sub.kind is MatchKind.UNIVERSAL:
                    continue
                if sub.vr == "PN":
                    inexact = True  # the index holds only the alphabetic group: Python decides names
                    continue
                leaves.append((prefix + sub.tag, sub))
            elif isinstance(sub, SequenceMatch):
                if sub.is_universal:
                    continue
                if len(sub.keys) > 1 or prefix:
                    inexact = True
                if not collect(sub.keys, f"{prefix}{sub.tag}."):
                    return False
            else:
                return False  # combined date-time inside a sequence: Python only
        return True

    if not collect(key.keys, "") or not leaves:
        return None  # nothing SQL can narrow exactly: the whole key is matched in Python
    params: list[object] = [key.tag]
    sql = "w.id IN (SELECT k0.wid FROM item_key k0 WHERE k0.seq = ?"
    for n, (path, leaf) in enumerate(leaves):
        cond = _condition(f"k{n}.value", leaf, dialect)
        if cond is None:
            return None
        if n == 0:
            sql += f" AND k0.path = ? AND {cond[0]}"
            params += [path, *cond[1]]
            if start is not None and start.interval is not None:
                sql += " AND k0.start_dt BETWEEN ? AND ?"
                params += [sortable(start.interval[0]), sortable(start.interval[1])]
        else:
            sql += (
                f" AND EXISTS (SELECT 1 FROM item_key k{n} WHERE k{n}.wid = k0.wid AND k{n}.seq = k0.seq "
                f"AND k{n}.idx = k0.idx AND k{n}.path = ? AND {cond[0]})"
            )
            params += [path, *cond[1]]
    return sql + ")", params, inexact
