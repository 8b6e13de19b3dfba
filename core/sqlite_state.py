"""State in a SQLite file, so a single process remembers across restarts.

Without Redis, an answer interrupted by a crash can only be finished by the next start
if someone wrote down where it was: this is that notebook. Calls are tiny and local, so
they run inline; expiry uses wall time because monotonic clocks restart with the machine.
"""

from __future__ import annotations

import fnmatch
import sqlite3
import time
from pathlib import Path

from core.pacing import RemoteBucket


class SqliteState:
    """`StateStore` over one SQLite file (`TRICKLE_STATE_PATH`)."""

    __slots__ = ("_db", "path")
    shared = False  # one process at a time: the file outlives restarts, not processes

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)"
        )
        self._db.execute("DELETE FROM kv WHERE expires <= ?", (time.time(),))

    def __repr__(self) -> str:
        return f"<SqliteState {self.path}>"

    async def claim(self, key: str, ttl: float) -> bool:
        now = time.time()
        self._db.execute("DELETE FROM kv WHERE key = ? AND expires <= ?", (key, now))
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO kv (key, value, expires) VALUES (?, '1', ?)", (key, now + ttl)
        )
        return cursor.rowcount == 1

    async def get(self, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM kv WHERE key = ? AND expires > ?", (key, time.time())
        ).fetchone()
        return row[0] if row else None

    async def put(self, key: str, value: str, ttl: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)",
            (key, value, time.time() + ttl),
        )

    async def delete(self, key: str) -> bool:
        self._db.execute("DELETE FROM kv WHERE key = ?", (key,))
        return True

    async def scan(self, pattern: str) -> dict[str, str]:
        rows = self._db.execute("SELECT key, value FROM kv WHERE expires > ?", (time.time(),))
        return {k: v for k, v in rows if fnmatch.fnmatchcase(k, pattern)}

    def bucket(self, name: str, *, rate: float, burst: float) -> RemoteBucket | None:
        return None

    async def aclose(self) -> None:
        self._db.close()
