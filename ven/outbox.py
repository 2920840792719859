"""The VEN's report outbox: reports are written to local SQLite first and sent from there, in order.

Each report gets its id when it is made (`<venName>-<uuid>`), and that id travels with every retry, so
the VTN stores it once (a repeat is answered 409, which the sender counts as delivered). Our VTN takes
a VEN's id as a key and assigns the report an id derived from it and the client (docs/security.md);
nothing here needs the assigned id afterwards, so it is only logged. Reports the VTN rejects as
invalid are kept with the reason, never silently dropped.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    sent REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS reports_pending ON reports (status, seq);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class PendingReport:
    seq: int
    report_id: str
    body: dict[str, Any]
    attempts: int


class ReportOutbox:
    """A small synchronous SQLite store; every call is a short local transaction."""

    def __init__(self, state_dir: str | Path) -> None:
        path = Path(state_dir)
        path.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path / "ven.db", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, ven_name: str, body: dict[str, Any]) -> str:
        """Store a report for sending; returns the id it will carry."""
        # objectID is ASCII only ([A-Za-z0-9_-]); str.isalnum() would also pass "ä".
        safe = "".join(c if (c.isascii() and c.isalnum()) or c in "_-" else "-" for c in ven_name)[:80]
        report_id = f"{safe}-{uuid.uuid4().hex}"
        doc = {"id": report_id, **body}
        self._db.execute(
            "INSERT INTO reports (report_id, body, created) VALUES (?, ?, ?)",
            (report_id, json.dumps(doc, separators=(",", ":")), time.time()),
        )
        return report_id

    def next_pending(self) -> PendingReport | None:
        row = self._db.execute(
            "SELECT seq, report_id, body, attempts FROM reports WHERE status = 'pending' ORDER BY seq LIMIT 1"
        ).fetchone()
        return None if row is None else PendingReport(row[0], row[1], json.loads(row[2]), row[3])

    def mark_sent(self, seq: int) -> None:
        self._db.execute(
            "UPDATE reports SET status = 'sent', sent = ?, attempts = attempts + 1 WHERE seq = ?",
            (time.time(), seq),
        )

    def mark_rejected(self, seq: int, error: str) -> None:
        self._db.execute(
            "UPDATE reports SET status = 'rejected', error = ?, attempts = attempts + 1 WHERE seq = ?",
            (error, seq),
        )

    def mark_attempt(self, seq: int, error: str) -> None:
        self._db.execute("UPDATE reports SET attempts = attempts + 1, error = ? WHERE seq = ?", (error, seq))

    def depth(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM reports WHERE status = 'pending'").fetchone()[0])

    def counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT status, count(*) FROM reports GROUP BY status").fetchall()
        return {str(status): int(n) for status, n in rows}

    def get_state(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
