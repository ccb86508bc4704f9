"""What the SCP / User-Agent gateway must remember across a restart: for each MPPS a modality
created, the upstream workitem it drives and the Transaction UID that claims it (the only key
to an IN PROGRESS workitem), the MPPS as created and since set (what N-GET answers), and the
workitem's scheduled codes as found when it was claimed (what the performed data names)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from app import private_files
from app.domain.dicomjson import JsonDataset

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


class MppsLinks:
    """The gateway's MPPS ⇄ workitem ⇄ Transaction UID table, in the `serve --db` file."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        # the Transaction UIDs of claims and the patients of their MPPS: private, and on disk when acknowledged
        self.db = private_files.open_database(path, timeout=5.0)
        self.db.execute(SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(ua_mpps)")}
        if "codes" not in columns:  # a file of an earlier gateway: its links have no codes kept
            self.db.execute("ALTER TABLE ua_mpps ADD COLUMN codes TEXT")

    def get(self, uid: str) -> MppsLink | None:
        with self._lock:
            row = self.db.execute(
                "SELECT uid, ups_uid, transaction_uid, status, dataset, calling_ae, codes FROM ua_mpps WHERE uid = ?",
                (uid,),
            ).fetchone()
        if row is None:
            return None
        codes = json.loads(row[6]) if row[6] is not None else None
        return MppsLink(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], codes)

    def save(self, link: MppsLink) -> None:
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO ua_mpps (uid, ups_uid, transaction_uid, status, dataset, calling_ae, codes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    link.uid,
                    link.ups_uid,
                    link.transaction_uid,
                    link.status,
                    json.dumps(link.dataset, ensure_ascii=False),
                    link.calling_ae,
                    json.dumps(link.codes, ensure_ascii=False) if link.codes is not None else None,
                ),
            )

    def delete(self, uid: str) -> None:
        with self._lock:
            self.db.execute("DELETE FROM ua_mpps WHERE uid = ?", (uid,))

    def others_on(self, ups_uid: str, uid: str) -> list[MppsLink]:
        """The other MPPS the gateway holds on that workitem (another modality's claim through us)."""
        with self._lock:
            rows = self.db.execute("SELECT uid FROM ua_mpps WHERE ups_uid = ? AND uid != ?", (ups_uid, uid)).fetchall()
        return [link for (other,) in rows if (link := self.get(other)) is not None]

    def close(self) -> None:
        with self._lock:
            self.db.close()
