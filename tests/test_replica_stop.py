"""Stop across replicas: a click handled by one process stops an answer another runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bots.settings import Settings
from core.assistant import Assistant
from core.models import EndReason
from core.question import Asker, Question
from core.state.inflight import Inflight
from core.state.redis_store import RedisState
from core.stops import StopResult
from tests.fakes.model import ScriptedSource, words
from tests.fakes.surface import FakeMessage, FakeSurface

TEXT = "One word after another, slowly, so that there is time to stop it. " * 4
ADA, BOB = Asker("U1", "Ada"), Asker("U2", "Bob")


class LocatedSurface(FakeSurface):
    platform = "fake"

    def locate(self, ref: FakeMessage) -> dict:
        return {"id": ref.id}


def replica(state: RedisState, owner: str, source: ScriptedSource, **env: str) -> Assistant:
    settings = Settings.from_mapping({"TRICKLE_EDIT_INTERVAL": "0.1", **env})
    return Assistant(source=source, settings=settings, inflight=Inflight(state, owner=owner))


@contextlib.asynccontextmanager
async def two_replicas(
    redis_server, source: ScriptedSource, **peer_env: str
) -> AsyncIterator[tuple[Assistant, Assistant]]:
    """The owner (running `source`, watching for stops) and a peer, on one Redis."""
    a_state, b_state = [await RedisState.connect(redis_server.url) for _ in range(2)]
    owner = replica(a_state, "a", source)
    peer = replica(b_state, "b", ScriptedSource([]), **peer_env)
    stopping = asyncio.Event()
    watcher = asyncio.create_task(owner.watch_stops(stopping, every=0.05))
    try:
        yield owner, peer
    finally:
        stopping.set()
        await watcher
        await a_state.aclose()
        await b_state.aclose()


async def test_a_stop_clicked_on_the_other_replica_stops_the_answer(redis_server):
    source = ScriptedSource(words(TEXT), delay=0.05)
    surface = LocatedSurface()
    async with two_replicas(redis_server, source) as (owner, peer):
        answer = asyncio.create_task(owner.answer(surface, Question("go", ADA), answer_id="ans1"))
        await asyncio.sleep(0.5)
        assert await peer.stop_anywhere("ans1", by=BOB) is StopResult.NOT_ALLOWED
        assert await peer.stop_anywhere("ans1", by=ADA) is StopResult.STOPPED
        outcome = await asyncio.wait_for(answer, 10)
        assert outcome.end is EndReason.STOPPED
        assert outcome.notice == "_(stopped by Ada)_"
        assert source.closed and len(outcome.text) < len(TEXT)
        assert surface.final_texts()[0].endswith("_(stopped by Ada)_")
        assert await peer.stop_anywhere("ans1", by=ADA) is StopResult.NOT_FOUND  # it is over


async def test_an_admin_may_stop_from_another_replica(redis_server):
    source = ScriptedSource(words(TEXT), delay=0.05)
    async with two_replicas(redis_server, source, TRICKLE_ADMINS="U2") as (owner, peer):
        answer = asyncio.create_task(owner.answer(LocatedSurface(), Question("go", ADA), answer_id="ans2"))
        await asyncio.sleep(0.5)
        assert await peer.stop_anywhere("ans2", by=BOB) is StopResult.STOPPED
        assert (await asyncio.wait_for(answer, 10)).notice == "_(stopped by Bob)_"


async def test_a_stop_for_an_answer_whose_replica_died_is_not_promised(redis_server):
    from core.state.inflight import InflightRecord

    state = await RedisState.connect(redis_server.url)
    try:
        record = InflightRecord("ans3", "fake", "ghost", {"id": 1}, "half", asker="U1")
        await state.put("inflight:ans3", record.dumps(), ttl=60)
        peer = replica(state, "b", ScriptedSource([]))
        # Nobody would act on it: recovery finishes the answer as interrupted instead.
        assert await peer.stop_anywhere("ans3", by=ADA) is StopResult.NOT_FOUND
        await state.put("alive:ghost", "1", ttl=60)
        assert await peer.stop_anywhere("ans3", by=ADA) is StopResult.STOPPED
    finally:
        await state.aclose()
