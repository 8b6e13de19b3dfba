"""The pacing rules: token bucket arithmetic and the shared budget's choices."""

from __future__ import annotations

import asyncio

import pytest

from core.pacing.bucket import TokenBucket
from core.pacing.budget import Budget


def test_bucket_starts_full_and_refills_at_its_rate():
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.ready_at(0.0) == pytest.approx(0.5)
    assert bucket.try_take(0.5)
    assert not bucket.try_take(0.5)


def test_bucket_never_holds_more_than_its_burst():
    bucket = TokenBucket(rate=10.0, burst=2, now=0.0)
    bucket.refill(100.0)
    assert bucket.tokens == 2


def test_rate_limit_pauses_for_retry_after_and_halves_the_rate():
    bucket = TokenBucket(rate=1.0, burst=5, now=0.0)
    bucket.rate_limited(0.0, retry_after=3.0)
    assert not bucket.try_take(2.9)
    assert bucket.rate == 0.5
    assert bucket.ready_at(3.0) == pytest.approx(5.0)


def test_successes_win_the_rate_back_slowly():
    bucket = TokenBucket(rate=1.0, burst=5, now=0.0)
    bucket.rate_limited(0.0, retry_after=0.0)
    bucket.rate_limited(0.0, retry_after=0.0)
    assert bucket.rate == 0.5  # never below half
    for _ in range(3):
        bucket.succeeded()
    assert bucket.rate == pytest.approx(0.8)
    for _ in range(100):
        bucket.succeeded()
    assert bucket.rate == 1.0


def test_observed_headers_lower_the_count_and_pause_when_exhausted():
    bucket = TokenBucket(rate=1.0, burst=5, now=0.0)
    bucket.observe(0.0, remaining=0, reset_after=2.5, limit=5)
    assert bucket.ready_at(0.0) == pytest.approx(3.5)


def test_interim_requests_leave_the_reserve_for_finals():
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    assert bucket.try_take(0.0, need=2.0)
    assert bucket.try_take(0.0, need=2.0)
    assert not bucket.try_take(0.0, need=2.0)
    assert bucket.try_take(0.0, need=1.0)


@pytest.mark.looptime
async def test_budget_serves_the_stalest_waiter_first():
    budget = Budget(rate=1.0, burst=1, reserve=0)
    await budget.acquire(stale_since=0.0)  # drain the burst
    order: list[str] = []

    async def want(name: str, since: float) -> None:
        await budget.acquire(stale_since=since)
        order.append(name)

    await asyncio.gather(want("fresh", 5.0), want("stale", 1.0), want("middle", 3.0))
    assert order == ["stale", "middle", "fresh"]


@pytest.mark.looptime
async def test_budget_serves_finals_before_interim_edits():
    budget = Budget(rate=1.0, burst=1, reserve=0)
    await budget.acquire(stale_since=0.0)
    order: list[str] = []

    async def want(name: str, final: bool) -> None:
        await budget.acquire(stale_since=0.0 if not final else 9.0, final=final)
        order.append(name)

    await asyncio.gather(want("interim", False), want("final", True))
    assert order == ["final", "interim"]


@pytest.mark.looptime
async def test_budget_grants_no_faster_than_its_rate():
    loop = asyncio.get_running_loop()
    budget = Budget(rate=2.0, burst=2, reserve=0)
    start = loop.time()
    times = []
    for _ in range(6):
        await budget.acquire(stale_since=0.0)
        times.append(loop.time() - start)
    assert times[:2] == [0.0, 0.0]
    assert times[-1] == pytest.approx(2.0, abs=0.01)


@pytest.mark.looptime
async def test_rate_limited_budget_waits_out_retry_after():
    loop = asyncio.get_running_loop()
    budget = Budget(rate=10.0, burst=5, reserve=0)
    budget.rate_limited(4.0)
    start = loop.time()
    await budget.acquire(stale_since=0.0)
    assert loop.time() - start >= 4.0
    assert budget.stats.rate_limited == 1


@pytest.mark.looptime
async def test_take_now_never_waits_and_never_jumps_the_queue():
    loop = asyncio.get_running_loop()
    budget = Budget(rate=1.0, burst=2, reserve=0)
    assert await budget.take_now() and await budget.take_now()
    assert not await budget.take_now()  # spent: no, at once
    await asyncio.sleep(1.0)
    waiter = asyncio.create_task(budget.acquire(stale_since=0.0))
    await asyncio.sleep(0)
    assert not await budget.take_now()  # a token is back, but the queued call has it
    await waiter
    await asyncio.sleep(1.0)
    budget.rate_limited(5.0)
    assert not await budget.take_now()  # a 429's pause holds for everyone
    await asyncio.sleep(5.0 + 2 / budget.bucket.rate)
    assert await budget.take_now()
    assert budget.stats.granted == 4 and loop.time() > 7


class _SpentElsewhere:
    """A shared (replicas') bucket the other replicas have emptied."""

    async def take(self, need: float) -> float:
        return 1.0

    async def pause(self, retry_after: float) -> None:
        return None


async def test_take_now_gives_the_token_back_when_the_replicas_spent_the_allowance():
    budget = Budget(rate=1.0, burst=1, reserve=0, remote=_SpentElsewhere())
    assert not await budget.take_now()
    assert budget.bucket.tokens == pytest.approx(1.0, abs=0.01)


@pytest.mark.looptime
async def test_cancelled_waiter_does_not_block_the_others():
    budget = Budget(rate=1.0, burst=1, reserve=0)
    await budget.acquire(stale_since=0.0)
    first = asyncio.create_task(budget.acquire(stale_since=0.0))
    second = asyncio.create_task(budget.acquire(stale_since=1.0))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.wait_for(second, timeout=5)
    assert second.done() and not second.cancelled()


@pytest.mark.looptime
async def test_ten_streams_share_a_budget_evenly():
    budget = Budget(rate=5.0, burst=5, reserve=0)
    loop = asyncio.get_running_loop()
    grants = dict.fromkeys(range(10), 0)
    last_shown = dict.fromkeys(range(10), 0.0)

    async def stream(n: int) -> None:
        while loop.time() < 20:
            await budget.acquire(stale_since=lambda n=n: last_shown[n])
            grants[n] += 1
            last_shown[n] = loop.time()

    await asyncio.gather(*(stream(n) for n in range(10)))
    assert max(grants.values()) - min(grants.values()) <= 1
