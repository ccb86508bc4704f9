"""What the SCP / User-Agent gateway must remember across a restart: for each MPPS a modality
created, the upstream workitem it drives and the Transaction UID that claims it (the only key
to an IN PROGRESS workitem), the MPPS as created and since set (what N-GET answers), and the
workitem's scheduled codes as found when it was claimed (what the performed data names)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.domain.dicomjson import JsonDataset
from app.server.store import Store

from .shared_tables import SharedTables

SCHEMA = """
CREATE TABLE IF NOT EXISTS ua_mpps (
    uid TEXT PRIMARY KEY,
    ups_uid TEXT NOT NULL,
    transaction_uid TEXT NOT NULL,
    status TEXT NOT NULL,
    dataset TEXT NOT NULL,
    calling_ae TEXT NOT NULL DEFAULT '',
    codes TEXT
)
"""


@dataclass(frozen=True)
class MppsLink:
    uid: str
    ups_uid: str
    transaction_uid: str
    status: str
    dataset: JsonDataset
    calling_ae: str = ""
    # the workitem's Scheduled Workitem Code Sequence; None when not known (read upstream then)
    codes: list[JsonDataset] | None = None


class MppsLinks(SharedTables):
    """The gateway's MPPS ⇄ workitem ⇄ Transaction UID table: in the `serve --db` file, or in the
    PostgreSQL database several gateway nodes share (an MPPS created through one node is set through
    any; `holding(uid)` makes a change of one MPPS one step across the nodes)."""

    def __init__(self, where: str | Store) -> None:
        # the Transaction UIDs of claims and the patients of their MPPS: private, and on disk when acknowledged
        super().__init__(where, SCHEMA, "ua gateway mpps")
        if self.store is None:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(ua_mpps)")}
            if "codes" not in columns:  # a file of an earlier gateway: its links have no codes kept
                self._db.execute("ALTER TABLE ua_mpps ADD COLUMN codes TEXT")

    def get(self, uid: str) -> MppsLink | None:
        with self._read() as db:
            row = db.execute(
                "SELECT uid, ups_uid, transaction_uid, status, dataset, calling_ae, codes FROM ua_mpps "
                f"WHERE uid = ?{self._locking(db)}",
                (uid,),
            ).fetchone()
        if row is None:
            return None
        codes = json.loads(row[6]) if row[6] is not None else None
        return MppsLink(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], codes)

    def save(self, link: MppsLink) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO ua_mpps (uid, ups_uid, transaction_uid, status, dataset, calling_ae, codes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE SET ups_uid = excluded.ups_uid, "
                "transaction_uid = excluded.transaction_uid, status = excluded.status, "
                "dataset = excluded.dataset, calling_ae = excluded.calling_ae, codes = excluded.codes",
                _columns(link),
            )

    def add(self, link: MppsLink) -> bool:
        """Keep a new MPPS's link; False when one of its UID exists already (an N-CREATE of the same
        MPPS through another node, or another thread, got there first): a conditional insert,
        committed at once, so that a claim's Transaction UID is on disk before the claim is sent."""
        with self._write() as db:
            added = db.execute(
                "INSERT INTO ua_mpps (uid, ups_uid, transaction_uid, status, dataset, calling_ae, codes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING RETURNING uid",
                _columns(link),
            ).fetchone()
        return added is not None

    def delete(self, uid: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM ua_mpps WHERE uid = ?", (uid,))

    def others_on(self, ups_uid: str, uid: str) -> list[MppsLink]:
        """The other MPPS the gateway holds on that workitem (another modality's claim through us)."""
        with self._read() as db:
            rows = db.execute("SELECT uid FROM ua_mpps WHERE ups_uid = ? AND uid != ?", (ups_uid, uid)).fetchall()
        return [link for (other,) in rows if (link := self.get(other)) is not None]


def _columns(link: MppsLink) -> tuple[object, ...]:
    codes = json.dumps(link.codes, ensure_ascii=False) if link.codes is not None else None
    dataset = json.dumps(link.dataset, ensure_ascii=False)
    return (link.uid, link.ups_uid, link.transaction_uid, link.status, dataset, link.calling_ae, codes)
