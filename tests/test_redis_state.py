"""Shared state on a real redis-server: once-only claims and budgets across replicas."""

from __future__ import annotations

import asyncio

from core.pacing import Budget
from core.redis_state import RedisState


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
