"""State in a SQLite file, so a single process remembers across restarts.

Without Redis, an answer interrupted by a crash can only be finished by the next start
if someone wrote down where it was: this is that notebook. Calls are tiny and local, so
they run inline; expiry uses wall time because monotonic clocks restart with the machine.
"""

from __future__ import annotations

import fnmatch
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from core.pacing.bucket import RemoteBucket
from core.quotas.remote import RemoteQuotas

PURGE_EVERY = 100  # writes between two purges of expired rows
PURGE_BATCH = 1000  # rows deleted at most per purge: ten times the writes in between


class SqliteState:
    """`StateStore` over one SQLite file (`TRICKLE_STATE_PATH`).

    Expired rows are ignored when read, but only deleted when purged: every
    `PURGE_EVERY` writes purge up to `PURGE_BATCH` of them (through the index on
    `expires`), so a bot that runs for months keeps a file the size of what is live,
    and no single call pays for a long backlog.
    """

    __slots__ = ("_db", "path", "_clock", "_writes")
    shared = False  # one process at a time: the file outlives restarts, not processes

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self._clock = clock
        self._writes = 0
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires)")
        while self.purge() == PURGE_BATCH:
            pass

    def __repr__(self) -> str:
        return f"<SqliteState {self.path} writes={self._writes}>"

    def __len__(self) -> int:
        """Rows in the file, expired or not."""
        return int(self._db.execute("SELECT COUNT(*) FROM kv").fetchone()[0])

    def purge(self, limit: int = PURGE_BATCH) -> int:
        """Delete up to `limit` expired rows, oldest first; returns how many."""
        cursor = self._db.execute(
            "DELETE FROM kv WHERE rowid IN (SELECT rowid FROM kv WHERE expires <= ? ORDER BY expires LIMIT ?)",
            (self._clock(), limit),
        )
        return cursor.rowcount

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % PURGE_EVERY == 0:
            self.purge()

    async def claim(self, key: str, ttl: float) -> bool:
        self._wrote()
        now = self._clock()
        self._db.execute("DELETE FROM kv WHERE key = ? AND expires <= ?", (key, now))
        cursor = self._db.execute("INSERT OR IGNORE INTO kv (key, value, expires) VALUES (?, '1', ?)", (key, now + ttl))
        return cursor.rowcount == 1

    async def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM kv WHERE key = ? AND expires > ?", (key, self._clock())).fetchone()
        return row[0] if row else None

    async def put(self, key: str, value: str, ttl: float) -> None:
        self._wrote()
        self._db.execute(
            "INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)",
            (key, value, self._clock() + ttl),
        )

    async def delete(self, key: str) -> bool:
        self._db.execute("DELETE FROM kv WHERE key = ?", (key,))
        return True

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        """One statement, so the read and the write cannot be split (SQLite 3.35+)."""
        self._wrote()
        now = self._clock()
        row = self._db.execute(
            "INSERT INTO kv (key, value, expires) VALUES (?, CAST(? AS TEXT), ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "value = CAST(CASE WHEN expires > ? THEN CAST(value AS INTEGER) ELSE 0 END + ? AS TEXT), "
            "expires = excluded.expires RETURNING value",
            (key, amount, now + ttl, now, amount),
        ).fetchone()
        return int(row[0])

    async def scan(self, pattern: str) -> dict[str, str]:
        rows = self._db.execute("SELECT key, value FROM kv WHERE expires > ?", (self._clock(),))
        return {k: v for k, v in rows if fnmatch.fnmatchcase(k, pattern)}

    def bucket(self, name: str, *, rate: float, burst: float) -> RemoteBucket | None:
        return None

    def quotas(self) -> RemoteQuotas | None:
        return None

    async def aclose(self) -> None:
        self._db.close()
