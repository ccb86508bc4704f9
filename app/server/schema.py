"""The SQLite schema of the UPS store, and how a workitem becomes its indexed columns.

Every matching key of PS3.4 Table CC.2.5-3 that a user agent filters on has an indexed
column (top-level attributes) or rows in `item_key` (attributes inside the sequences
that are matched by sequence matching), in the normalized form the query compiler
compares against: person names upper-cased, dates and times as sortable text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from typing import Any

from app.domain import tags as t
from app.domain.dates import DateValueError, parse_value, sortable
from app.domain.dicomjson import JsonDataset
from app.domain.dicomjson import first_value as _first
from app.domain.query import DATE_VRS, normalize_text

SCHEMA_VERSION = 2

# What brings a database of schema version N to N + 1, statement by statement, in SQL both engines
# take (postgres_ddl turns its types for PostgreSQL). A node brings an older database up when it
# starts, under the database's lock, so that of several starting at once one does it; a database of
# a newer version than the node knows is refused, so that an old node never writes a schema it does
# not know. Steps only add (tables; columns with defaults), so that the nodes of the older release
# keep serving until they are stopped: a rolling upgrade starts new nodes, then stops the old ones.
MIGRATIONS: dict[int, list[str]] = {}


class SchemaRefused(Exception):
    """The database's schema cannot be used by this version; the message says why in a sentence."""


def upgrade_steps(found: str | None) -> list[str]:
    """The statements that bring a database of schema `found` (None: a new one) to SCHEMA_VERSION."""
    if found is None or found == str(SCHEMA_VERSION):
        return []
    version = int(found) if found.isdigit() else -1
    if version > SCHEMA_VERSION:
        raise SchemaRefused(
            f"was made by a newer version of Worklist Console (schema {found}; this one knows up to "
            f"{SCHEMA_VERSION}): run the newer version"
        )
    steps: list[str] = []
    for step in range(version, SCHEMA_VERSION):
        if step not in MIGRATIONS:
            raise SchemaRefused(
                f"was made by another version of Worklist Console (schema {found}, this one needs "
                f"{SCHEMA_VERSION} and cannot bring schema {found} up)"
            )
        steps += MIGRATIONS[step]
    return steps


DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS workitem (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    transaction_uid TEXT,
    performer_ae TEXT,
    final_at REAL,
    sop_class_uid TEXT,
    priority TEXT,
    input_readiness TEXT,
    label TEXT,
    worklist_label TEXT,
    pn_alphabetic TEXT,
    pn_ideographic TEXT,
    pn_phonetic TEXT,
    patient_id TEXT,
    issuer_of_patient_id TEXT,
    birth_date TEXT,
    sex TEXT,
    admission_id TEXT,
    study_uid TEXT,
    start_dt TEXT,
    expected_completion_dt TEXT,
    modification_dt TEXT,
    summary TEXT NOT NULL,
    performed TEXT
);
CREATE INDEX IF NOT EXISTS workitem_start ON workitem (start_dt);
CREATE INDEX IF NOT EXISTS workitem_state_start ON workitem (state, start_dt);
CREATE INDEX IF NOT EXISTS workitem_patient_id ON workitem (patient_id);
CREATE INDEX IF NOT EXISTS workitem_pn ON workitem (pn_alphabetic);
CREATE INDEX IF NOT EXISTS workitem_final ON workitem (final_at) WHERE final_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS item_key (
    wid INTEGER NOT NULL REFERENCES workitem (id) ON DELETE CASCADE,
    seq TEXT NOT NULL,
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    value TEXT NOT NULL,
    start_dt TEXT
);
CREATE INDEX IF NOT EXISTS item_key_lookup ON item_key (seq, path, value, start_dt, wid);
CREATE INDEX IF NOT EXISTS item_key_owner ON item_key (wid, seq, path, value);
CREATE TABLE IF NOT EXISTS deleted (uid TEXT PRIMARY KEY, deleted_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS subscription (
    aet TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('item', 'global', 'filtered', 'excluded')),
    deletion_lock INTEGER NOT NULL DEFAULT 0,
    filter TEXT,
    suspended_after INTEGER,
    PRIMARY KEY (aet, target)
);
CREATE INDEX IF NOT EXISTS subscription_target ON subscription (target);
-- a patient merge (ADT^A40/A34/A47): the prior ID an MPPS may still name, and whom it became.
-- A table an older database gains on opening (IF NOT EXISTS), so no new schema version.
CREATE TABLE IF NOT EXISTS patient_merge (
    prior_id TEXT NOT NULL,
    prior_issuer TEXT NOT NULL,
    survivor_id TEXT NOT NULL,
    survivor_issuer TEXT NOT NULL,
    merged_at REAL NOT NULL,
    PRIMARY KEY (prior_id, prior_issuer)
);
CREATE TABLE IF NOT EXISTS mpps (
    uid TEXT PRIMARY KEY,
    ups_uid TEXT NOT NULL,
    transaction_uid TEXT NOT NULL,
    status TEXT NOT NULL,
    dataset TEXT NOT NULL
);
-- The HL7 door's answers by sender and control ID (MSH-3^MSH-4, MSH-10): a resent message gets its
-- first ACK again. A new table, made on opening a database of the same schema version as well.
CREATE TABLE IF NOT EXISTS hl7_message (
    sender TEXT NOT NULL,
    control_id TEXT NOT NULL,
    ack BLOB NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (sender, control_id)
);
"""


def postgres_ddl(ddl: str = DDL) -> str:
    """The same schema (the store's, or another's written for SQLite) in PostgreSQL's types: 64-bit
    ids made by the database, double precision, bytea, and text compared byte by byte (COLLATE "C")
    as SQLite's BINARY does, so that order, ranges and LIKE give the same answers on both and LIKE
    can use the indexes."""
    text = ddl.replace("id INTEGER PRIMARY KEY", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    for sqlite_type, postgres_type in (
        (" INTEGER", " BIGINT"),
        (" REAL", " DOUBLE PRECISION"),
        (" BLOB", " BYTEA"),
        (" TEXT", ' TEXT COLLATE "C"'),
    ):
        text = text.replace(sqlite_type, postgres_type)
    return text


# Top-level attributes with a column of their own: tag -> (column, VR).
COLUMNS: dict[str, tuple[str, str]] = {
    t.SOP_CLASS_UID: ("sop_class_uid", "UI"),
    t.SOP_INSTANCE_UID: ("uid", "UI"),
    t.PROCEDURE_STEP_STATE: ("state", "CS"),
    t.PRIORITY: ("priority", "CS"),
    t.INPUT_READINESS_STATE: ("input_readiness", "CS"),
    t.PROCEDURE_STEP_LABEL: ("label", "LO"),
    t.WORKLIST_LABEL: ("worklist_label", "LO"),
    t.PATIENT_ID: ("patient_id", "LO"),
    t.ISSUER_OF_PATIENT_ID: ("issuer_of_patient_id", "LO"),
    t.BIRTH_DATE: ("birth_date", "DA"),
    t.SEX: ("sex", "CS"),
    t.ADMISSION_ID: ("admission_id", "LO"),
    t.STUDY_INSTANCE_UID: ("study_uid", "UI"),
    t.SPS_START_DATETIME: ("start_dt", "DT"),
    t.EXPECTED_COMPLETION_DATETIME: ("expected_completion_dt", "DT"),
    t.SPS_MODIFICATION_DATETIME: ("modification_dt", "DT"),
}
PN_COLUMNS = ("pn_alphabetic", "pn_ideographic", "pn_phonetic")

# Sequences matched by sequence matching, indexed item by item in `item_key`.
INDEXED_SEQUENCES = frozenset(
    {
        t.STATION_NAME_CODE_SEQ,
        t.STATION_CLASS_CODE_SEQ,
        t.STATION_LOCATION_CODE_SEQ,
        t.HUMAN_PERFORMERS_SEQ,
        t.SCHEDULED_WORKITEM_CODE_SEQ,
        t.REFERENCED_REQUEST_SEQ,
        t.REPLACED_PROCEDURE_STEP_SEQ,
        t.INPUT_INFORMATION_SEQ,
        "00380014",  # Issuer of Admission ID Sequence
    }
)


def stored_form(vr: str, value: Any, local: tzinfo) -> str | None:
    """A value as the store compares it; None for an empty or unreadable value."""
    if value is None or value == "":
        return None
    if vr in DATE_VRS:
        try:
            return sortable(parse_value(vr, str(value), local)[0])
        except DateValueError:
            return None
    if vr == "PN" and isinstance(value, dict):
        value = value.get("Alphabetic", "")
    text = normalize_text(vr, str(value))
    return text or None


def columns_of(dataset: JsonDataset, local: tzinfo) -> dict[str, str | None]:
    row = {column: stored_form(vr, _first(dataset, tag), local) for tag, (column, vr) in COLUMNS.items()}
    name = _first(dataset, t.PATIENT_NAME)
    groups = name if isinstance(name, dict) else {"Alphabetic": name or ""}
    for column, group in zip(PN_COLUMNS, ("Alphabetic", "Ideographic", "Phonetic")):
        row[column] = stored_form("PN", groups.get(group) or "", local)
    return row


def item_keys_of(dataset: JsonDataset, local: tzinfo) -> Iterator[tuple[str, int, str, str, str | None]]:
    """(sequence, item index, path inside the item, value, scheduled start) for every leaf of the
    indexed sequences. The scheduled start rides along so that the commonest worklist query,
    a station and a day, is answered from one index."""
    start = stored_form("DT", _first(dataset, t.SPS_START_DATETIME), local)
    for seq in INDEXED_SEQUENCES:
        for idx, item in enumerate((dataset.get(seq) or {}).get("Value") or []):
            if isinstance(item, dict):
                for path, value in _leaves(item, "", local):
                    yield seq, idx, path, value, start


def _leaves(item: JsonDataset, prefix: str, local: tzinfo) -> Iterator[tuple[str, str]]:
    for tag, element in item.items():
        vr = element.get("vr", "")
        for value in element.get("Value") or []:
            if vr == "SQ":
                if isinstance(value, dict):
                    yield from _leaves(value, f"{prefix}{tag}.", local)
                continue
            stored = stored_form(vr, value, local)
            if stored is not None:
                yield f"{prefix}{tag}", stored
