"""Per-person quotas shared by replicas on a real redis-server, and what a Redis blip does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from bots.settings import Settings
from core.assistant import Assistant
from core.models import EndReason, Finish, TextDelta
from core.question import Asker, Question
from core.quotas.remote import StoreUnavailable
from core.quotas.shared import PersonQuotas
from core.state.inflight import Inflight
from core.state.redis_store import RedisState
from tests.fakes.model import words
from tests.test_quotas import StatusSurface

ADA = Asker("U1", "Ada")
TEXT = "a few words that take a little while to stream"


class Streams:
    """Model sources for several replicas that count the answers streaming at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.started = 0

    def source(self) -> CountingSource:
        return CountingSource(self)


class CountingSource:
    def __init__(self, streams: Streams) -> None:
        self.streams = streams

    def stream(self, messages=(), *, model=None):
        return self._events()

    async def _events(self):
        self.streams.now += 1
        self.streams.started += 1
        self.streams.most = max(self.streams.most, self.streams.now)
        try:
            for token in words(TEXT):
                await asyncio.sleep(0.02)
                yield TextDelta(token)
            yield Finish("stop")
        finally:
            self.streams.now -= 1

    async def aclose(self) -> None:
        pass


@contextlib.asynccontextmanager
async def two_replicas(redis_server, streams: Streams, **env: str) -> AsyncIterator[tuple[Assistant, Assistant]]:
    settings = Settings.from_mapping({"TRICKLE_EDIT_INTERVAL": "0.05", **env})
    states = [await RedisState.connect(redis_server.url) for _ in range(2)]
    replicas = tuple(
        Assistant(source=streams.source(), settings=settings, inflight=Inflight(state, owner=name))
        for state, name in zip(states, "ab", strict=False)
    )
    for replica in replicas:
        replica.quotas.slots.poll = 0.05
    try:
        yield replicas  # type: ignore[misc]
    finally:
        for state in states:
            await state.aclose()


async def burst_over_two_replicas(redis_server, streams: Streams) -> list[StatusSurface]:
    """One person asks six questions at once, alternately on two replicas; all answered."""
    async with two_replicas(redis_server, streams, TRICKLE_USER_RPM="1000", TRICKLE_USER_QUEUE="10") as (a, b):
        surfaces = [StatusSurface() for _ in range(6)]
        outcomes = await asyncio.gather(
            *((a if n % 2 else b).answer(surface, Question(f"q{n}", ADA)) for n, surface in enumerate(surfaces))
        )
    assert [o.end for o in outcomes] == [EndReason.STOP] * 6
    return surfaces


async def test_a_person_limited_to_one_answer_streams_one_at_a_time_across_two_replicas(redis_server):
    streams = Streams()
    await burst_over_two_replicas(redis_server, streams)
    assert streams.started == 6 and streams.most == 1


async def test_in_a_burst_every_answer_that_waits_says_it_is_queued(redis_server):
    """Questions arriving together all see a free slot before any takes it: the one that
    then waits must still say so, not sit on "thinking…" (seen: 2 of 6 silent)."""
    surfaces = await burst_over_two_replicas(redis_server, Streams())
    told = [any("queued" in status for status in surface.statuses) for surface in surfaces]
    assert told.count(False) == 1, told  # only the answer that never waited


async def test_the_other_replica_says_queued_and_starts_when_the_slot_frees(redis_server):
    streams = Streams()
    async with two_replicas(redis_server, streams) as (a, b):
        first = asyncio.create_task(a.answer(StatusSurface(), Question("q1", ADA)))
        while streams.now == 0:
            await asyncio.sleep(0.01)
        second_surface = StatusSurface()
        outcome = await asyncio.wait_for(b.answer(second_surface, Question("q2", ADA)), 10)
        assert first.done() and (await first).end is EndReason.STOP
    assert outcome.end is EndReason.STOP
    assert any("queued behind your previous question" in s for s in second_surface.statuses)
    assert streams.most == 1


async def test_request_rates_are_shared_by_two_replicas(redis_server):
    streams = Streams()
    async with two_replicas(
        redis_server, streams, TRICKLE_USER_RPM="3", TRICKLE_CHANNEL_RPM="4", TRICKLE_USER_CONCURRENCY="10"
    ) as (a, b):
        mine = [await (a, b)[n % 2].answer(StatusSurface(), Question(f"q{n}", ADA)) for n in range(5)]
        channel = [
            await (a, b)[n % 2].answer(StatusSurface(), Question("q", Asker(f"P{n}", "P"), place="C1"))
            for n in range(6)
        ]
    assert [o.end for o in mine] == [EndReason.STOP] * 3 + [EndReason.REFUSED] * 2
    assert [o.end for o in channel] == [EndReason.STOP] * 4 + [EndReason.REFUSED] * 2


async def test_a_persons_queue_is_capped_across_two_replicas(redis_server):
    streams = Streams()
    async with two_replicas(redis_server, streams, TRICKLE_USER_QUEUE="1") as (a, b):
        first = asyncio.create_task(a.answer(StatusSurface(), Question("q1", ADA)))
        while streams.now == 0:
            await asyncio.sleep(0.01)
        waiting = StatusSurface()
        second = asyncio.create_task(b.answer(waiting, Question("q2", ADA)))
        while not waiting.statuses:  # "queued behind your previous question"
            await asyncio.sleep(0.01)
        # One answering on a, one waiting on b: either replica refuses a third at once.
        refused = [StatusSurface(), StatusSurface()]
        thirds = [await r.answer(s, Question("q3", ADA)) for r, s in zip((a, b), refused, strict=False)]
        assert [o.end for o in thirds] == [EndReason.REFUSED] * 2
        assert all(
            s.final_texts() == ["_(you already have 1 question waiting — ask again when one is answered)_"]
            for s in refused
        )
        assert [o.end for o in await asyncio.gather(first, second)] == [EndReason.STOP] * 2
        # Both ended: their places and slots are back, on both replicas.
        assert (await a.answer(StatusSurface(), Question("q4", ADA))).end is EndReason.STOP
    assert streams.started == 3


async def test_a_killed_replicas_waiting_place_frees_when_its_lease_runs_out(redis_server):
    states = [await RedisState.connect(redis_server.url) for _ in range(2)]
    dead, alive = (
        PersonQuotas(concurrency=1, person_rpm=60, place_rpm=60, remote=s.quotas(), lease=0.4, queue=0) for s in states
    )
    try:
        assert await dead.slots.enter("U1") is not None  # waiting, and never given back
        for _ in range(8):  # renewed every beat: the place stays counted past its lease
            await dead.upkeep()
            assert await alive.slots.enter("U1") is None
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # no more beats: the lease runs out
        assert await alive.slots.enter("U1") is not None
    finally:
        for state in states:
            await state.aclose()


async def test_a_killed_replicas_slot_frees_when_its_lease_runs_out(redis_server):
    states = [await RedisState.connect(redis_server.url) for _ in range(2)]
    dead, alive = (
        PersonQuotas(concurrency=1, person_rpm=60, place_rpm=60, remote=s.quotas(), lease=0.4, poll=0.02)
        for s in states
    )
    try:
        kept = dead.slots.hold("U1"), alive.slots.hold("U1")  # (collected, they would let go)
        await kept[0].__aenter__()  # taken, and never given back
        waiter = asyncio.create_task(kept[1].__aenter__())
        for _ in range(8):  # renewed every beat: the slot stays held past its lease
            await dead.upkeep()
            await asyncio.sleep(0.1)
        assert not waiter.done() and await alive.slots.busy("U1")
        loop = asyncio.get_running_loop()
        died = loop.time()  # no more beats from here
        await asyncio.wait_for(waiter, 5)
        assert 0.25 < loop.time() - died < 0.4 + 0.2
    finally:
        for state in states:
            await state.aclose()


async def test_killing_redis_mid_way_falls_back_to_counting_per_process(redis_server, caplog, monkeypatch):
    monkeypatch.setattr("core.quotas.redis_scripts.RETRY_AFTER", 0.05)
    caplog.set_level(logging.INFO, logger="trickle.quotas")
    streams = Streams()
    async with two_replicas(redis_server, streams, TRICKLE_USER_RPM="1000") as (a, b):
        first = asyncio.create_task(a.answer(StatusSurface(), Question("q1", ADA)))
        while streams.now == 0:
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(b.answer(StatusSurface(), Question("q2", ADA)))
        await asyncio.sleep(0.1)
        assert streams.now == 1  # b's answer waits for a's shared slot
        redis_server.stop()
        # The waiter stops waiting for a store that is gone; a's release fails quietly.
        outcomes = await asyncio.wait_for(asyncio.gather(first, waiting), 10)
        assert [o.end for o in outcomes] == [EndReason.STOP] * 2
        assert streams.most == 2  # each replica counts alone while Redis is away
        # Still one at a time within a replica, and nothing raised.
        more = await asyncio.gather(*(a.answer(StatusSurface(), Question(f"m{n}", ADA)) for n in range(2)))
        assert [o.end for o in more] == [EndReason.STOP] * 2
        downs = [r for r in caplog.records if "shared quotas unavailable" in r.getMessage()]
        assert 1 <= len(downs) <= 2  # once per replica, not once per call
        redis_server.start()
        await asyncio.sleep(0.1)
        streams.most = 0
        again = await asyncio.gather(
            *(r.answer(StatusSurface(), Question(f"r{n}", ADA)) for n, r in enumerate((a, b, a, b)))
        )
        assert [o.end for o in again] == [EndReason.STOP] * 4
        assert streams.most == 1  # shared again
    assert any("shared quotas back" in r.getMessage() for r in caplog.records)


async def test_a_renewal_that_lands_after_its_release_brings_no_slot_back(redis_server):
    state = await RedisState.connect(redis_server.url)
    try:
        quotas = state.quotas()
        assert await quotas.try_hold("U1", "answer-1", size=1, lease=15)
        await quotas.release("U1", "answer-1")
        await quotas.renew({"answer-1": "U1"}, 15)  # sent before the release, run after it
        assert await quotas.held("U1") == 0
        assert await quotas.try_hold("U1", "answer-2", size=1, lease=15)
    finally:
        await state.aclose()


async def test_a_lease_lost_with_a_redis_restart_comes_back_with_the_next_renewal(redis_server):
    state = await RedisState.connect(redis_server.url)
    try:
        quotas = state.quotas()
        assert await quotas.try_hold("U1", "answer-1", size=1, lease=15)
        redis_server.restart()  # no persistence: every lease is gone
        for _ in range(50):  # the client reconnects; calls fail fast for a moment
            try:
                await quotas.renew({"answer-1": "U1"}, 15)
                if await quotas.held("U1") == 1:
                    break
            except StoreUnavailable:  # while the client reconnects
                pass
            await asyncio.sleep(0.1)
        assert await quotas.held("U1") == 1
    finally:
        await state.aclose()
