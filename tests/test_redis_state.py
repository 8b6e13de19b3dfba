"""Shared state on a real redis-server: once-only claims and budgets across replicas."""

from __future__ import annotations

import asyncio

from core.pacing.budget import Budget
from core.state.redis_store import RedisState


async def test_an_event_is_claimed_once_across_replicas(redis_server):
    a = await RedisState.connect(redis_server.url)
    b = await RedisState.connect(redis_server.url)
    try:
        results = await asyncio.gather(*(s.claim("slack:C1:1.0", 60) for s in (a, b, a, b)))
        assert sorted(results) == [False, False, False, True]
    finally:
        await a.aclose()
        await b.aclose()


async def test_cached_values_expire(redis_server):
    state = await RedisState.connect(redis_server.url)
    try:
        await state.put("history:C1", "[1,2]", ttl=0.2)
        assert await state.get("history:C1") == "[1,2]"
        await asyncio.sleep(0.35)
        assert await state.get("history:C1") is None
    finally:
        await state.aclose()


async def test_two_replicas_together_stay_within_one_budget(redis_server):
    a = await RedisState.connect(redis_server.url)
    b = await RedisState.connect(redis_server.url)
    rate, burst = 10.0, 3
    budgets = [
        Budget(rate=rate, burst=burst, reserve=0, remote=s.bucket("slack:T1:update", rate=rate, burst=burst))
        for s in (a, b)
    ]
    loop = asyncio.get_running_loop()
    grants: list[float] = []

    async def edits(budget: Budget) -> None:
        for _ in range(8):
            await budget.acquire(stale_since=0.0)
            grants.append(loop.time())

    start = loop.time()
    try:
        await asyncio.gather(*(edits(b) for b in budgets))
    finally:
        await a.aclose()
        await b.aclose()
    elapsed = max(grants) - start
    # 16 grants from one shared bucket: burst 3 at once, then 10/s -> at least 1.3 s.
    assert len(grants) == 16
    assert elapsed >= (16 - burst) / rate * 0.9


async def test_a_rate_limit_pauses_every_replica(redis_server):
    a = await RedisState.connect(redis_server.url)
    b = await RedisState.connect(redis_server.url)
    try:
        first = Budget(rate=50, burst=5, reserve=0, remote=a.bucket("d:C1", rate=50, burst=5))
        second = Budget(rate=50, burst=5, reserve=0, remote=b.bucket("d:C1", rate=50, burst=5))
        first.rate_limited(0.6)
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await second.acquire(stale_since=0.0)
        assert loop.time() - start >= 0.45
    finally:
        await a.aclose()
        await b.aclose()


async def test_state_survives_a_redis_restart(redis_server):
    state = await RedisState.connect(redis_server.url)
    try:
        assert await state.claim("k1", 60)
        redis_server.restart()
        # While it was down or just back, calls degrade instead of raising.
        assert await state.claim("k2", 60) in (True, False)
        await asyncio.sleep(0.1)
        assert await state.claim("k3", 60) is True
        assert await state.claim("k3", 60) is False
    finally:
        await state.aclose()


async def test_replicas_count_together_and_every_counter_expires(redis_server):
    a = await RedisState.connect(redis_server.url)
    b = await RedisState.connect(redis_server.url)
    try:
        totals = await asyncio.gather(*(s.incr("usage:d:slack%3AC1:U1:prompt", 5, ttl=60) for s in (a, b) * 10))
        assert sorted(totals) == list(range(5, 105, 5))  # atomic: no two saw the same total
        assert 59_000 < await a.redis.pttl("trickle:usage:d:slack%3AC1:U1:prompt") <= 60_000
        assert await b.scan("usage:*") == {"usage:d:slack%3AC1:U1:prompt": "100"}
        await a.incr("short", 1, ttl=0.2)
        await asyncio.sleep(0.35)
        assert await a.incr("short", 1, ttl=0.2) == 1
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_usage_report_reads_every_replicas_counters(redis_server):
    from core.team.usage import Counted, UsageLedger

    a = await RedisState.connect(redis_server.url)
    b = await RedisState.connect(redis_server.url)
    try:
        await a.put("inflight:x", "{}", ttl=60)  # other keys are left alone
        for n in range(600):  # more keys than one MGET batch
            state = a if n % 2 else b
            await UsageLedger(state).record(place=f"slack:C{n % 3}", person=f"U{n}", counted=Counted(2, 1, "reported"))
        report = await UsageLedger(a).report()
        assert (report.prompt, report.completion, len(report.people)) == (1200, 600, 600)
        assert sorted((t.name, t.tokens) for t in report.channels) == [
            ("slack:C0", 600),
            ("slack:C1", 600),
            ("slack:C2", 600),
        ]
    finally:
        await a.aclose()
        await b.aclose()


async def test_counting_while_redis_is_down_loses_the_count_not_the_answer(redis_server):
    state = await RedisState.connect(redis_server.url)
    try:
        redis_server.stop()
        assert await state.incr("usage:x", 5, ttl=60) == 0
    finally:
        await state.aclose()
