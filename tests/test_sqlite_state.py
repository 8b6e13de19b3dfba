"""The SQLite notebook stays the size of what is live while the bot runs for months."""

from __future__ import annotations

import sqlite3

from core.state.sqlite_store import PURGE_BATCH, PURGE_EVERY, SqliteState


def at(now: list[float]):
    return lambda: now[0]


async def test_expired_rows_are_purged_while_running(tmp_path):
    now = [1000.0]
    state = SqliteState(tmp_path / "state.db", clock=at(now))
    for n in range(PURGE_EVERY * 5):
        await state.put(f"seen:{n}", "1", ttl=60)
    now[0] += 61
    for n in range(PURGE_EVERY):
        await state.put(f"live:{n}", "1", ttl=3600)
    assert len(state) == PURGE_EVERY  # the 500 expired rows went with the 600th write
    assert await state.get("live:0") == "1" and await state.get("seen:0") is None
    await state.aclose()


async def test_one_purge_does_a_bounded_amount_of_work(tmp_path):
    now = [1000.0]
    state = SqliteState(tmp_path / "state.db", clock=at(now))
    state._db.executemany(
        "INSERT INTO kv (key, value, expires) VALUES (?, '1', ?)",
        [(f"old:{n}", 1.0) for n in range(PURGE_BATCH * 2 + 5)],
    )
    assert state.purge() == PURGE_BATCH
    assert len(state) == PURGE_BATCH + 5
    await state.aclose()


async def test_expiry_is_indexed_and_a_restart_starts_clean(tmp_path):
    path = tmp_path / "state.db"
    old = sqlite3.connect(path)  # a file from before the index existed
    old.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)")
    old.executemany("INSERT INTO kv VALUES (?, '1', 1.0)", [(f"k{n}",) for n in range(PURGE_BATCH + 10)])
    old.commit()
    old.close()
    state = SqliteState(path)
    plan = state._db.execute(
        "EXPLAIN QUERY PLAN SELECT rowid FROM kv WHERE expires <= 5 ORDER BY expires LIMIT 10"
    ).fetchall()
    assert any("kv_expires" in row[-1] for row in plan)
    assert len(state) == 0
    await state.aclose()
