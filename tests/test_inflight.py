"""No orphans: open answers are written down, and dead processes' answers get finished."""

from __future__ import annotations

import asyncio

import pytest

from bots.settings import Settings
from core.assistant import Assistant
from core.question import Asker, Question
from core.state.inflight import Inflight, InflightRecord
from core.state.sqlite_store import SqliteState
from core.state.store import MemoryState
from core.stops import StopResult
from tests.fakes.model import ScriptedSource, words
from tests.fakes.surface import FakeMessage, FakeSurface

TEXT = "The quick brown fox jumps over the lazy dog. " * 6
ADA = Asker("U1", "Ada")


class LocatedSurface(FakeSurface):
    platform = "fake"

    def locate(self, ref: FakeMessage) -> dict:
        return {"id": ref.id}


def assistant_with(source, state) -> tuple[Assistant, Inflight]:
    inflight = Inflight(state, owner="me")
    settings = Settings.from_mapping({"TRICKLE_EDIT_INTERVAL": "0.1"})
    return Assistant(source=source, settings=settings, inflight=inflight), inflight


async def test_an_open_answer_is_recorded_and_forgotten_when_done():
    state = MemoryState()
    source = ScriptedSource(words(TEXT), delay=0.02)
    assistant, _ = assistant_with(source, state)
    task = asyncio.create_task(assistant.answer(LocatedSurface(), Question(TEXT, ADA), answer_id="a1"))
    await asyncio.sleep(0.4)
    record = InflightRecord.loads((await state.scan("inflight:*"))["inflight:a1"])
    assert record.owner == "me" and record.location == {"id": 0}
    assert TEXT.startswith(record.text)
    await task
    assert await state.scan("inflight:*") == {}


async def test_a_dead_owners_answer_is_finished_once_with_an_interrupted_notice():
    state = MemoryState()
    await state.put("inflight:x", InflightRecord("x", "fake", "dead", {"id": 7}, "Half an ans").dumps(), 60)
    finished: list[tuple[dict, str]] = []

    async def finalize(location, text):
        finished.append((dict(location), text))

    first, second = Inflight(state, owner="p1"), Inflight(state, owner="p2")
    assert await first.recover({"fake": finalize}) == 0  # silent once: only a suspect
    assert await second.recover({"fake": finalize}) == 0
    assert finished == []
    counts = await asyncio.gather(first.recover({"fake": finalize}), second.recover({"fake": finalize}))
    assert sorted(counts) == [0, 1]
    assert finished == [({"id": 7}, "Half an ans\n\n_(interrupted by a restart — ask again)_")]
    assert await state.scan("inflight:*") == {}


async def test_a_live_owners_answer_is_left_alone():
    state = MemoryState()
    alive = Inflight(state, owner="alive")
    await alive.beat()
    await state.put("inflight:y", InflightRecord("y", "fake", "alive", {"id": 1}, "text").dumps(), 60)
    finished = []

    async def finalize(location, text):
        finished.append(text)

    peer = Inflight(state, owner="peer")
    assert await peer.recover({"fake": finalize}) == 0
    assert await peer.recover({"fake": finalize}) == 0
    assert finished == []


async def test_sqlite_state_remembers_across_a_restart(tmp_path):
    path = tmp_path / "state.db"
    first = SqliteState(path)
    await first.put("inflight:z", "{}", ttl=60)
    assert await first.claim("slack:C1:1", ttl=60)
    await first.aclose()
    second = SqliteState(path)
    assert await second.get("inflight:z") == "{}"
    assert not await second.claim("slack:C1:1", ttl=60)
    await second.aclose()


async def test_stop_is_refused_to_others_and_allowed_to_admins():
    settings = Settings.from_mapping({"TRICKLE_ADMINS": "UADMIN", "TRICKLE_EDIT_INTERVAL": "0.1"})
    source = ScriptedSource(words(TEXT), delay=0.05, hang_after=5)
    assistant = Assistant(source=source, settings=settings)
    surface = FakeSurface()
    task = asyncio.create_task(assistant.answer(surface, Question("q", ADA), answer_id="s1"))
    await asyncio.sleep(0.5)
    assert assistant.stop("s1", by=Asker("U2", "Bob")) is StopResult.NOT_ALLOWED
    assert assistant.stop("s1", by=Asker("UADMIN", "Root")) is StopResult.STOPPED
    await task
    assert surface.final_texts()[0].endswith("_(stopped by Root)_")
    assert assistant.stop("s1", by=ADA) is StopResult.NOT_FOUND


async def test_drain_interrupts_answers_past_the_deadline():
    settings = Settings.from_mapping({"TRICKLE_EDIT_INTERVAL": "0.1"})
    source = ScriptedSource(words(TEXT), delay=0.05, hang_after=3)
    assistant = Assistant(source=source, settings=settings)
    surface = FakeSurface()
    task = asyncio.create_task(assistant.answer(surface, Question("q", ADA)))
    await asyncio.sleep(0.3)
    await assistant.drain(0.2)
    await task
    assert surface.unfinished() == []
    assert "interrupted" in surface.final_texts()[0]


class FinalNeverLands(LocatedSurface):
    """A platform that takes interim edits but holds every final (a budget drained by the
    finals of many answers)."""

    async def edit(self, ref: FakeMessage, text: str, *, final: bool) -> None:
        if final:
            await asyncio.sleep(3600)
        await super().edit(ref, text, final=final)


async def test_an_answer_cut_by_the_shutdown_deadline_keeps_its_record_for_whoever_finishes_it():
    state = MemoryState()
    source = ScriptedSource(words(TEXT), delay=0.05, hang_after=3)
    assistant, inflight = assistant_with(source, state)
    surface = FinalNeverLands()
    task = asyncio.create_task(assistant.answer(surface, Question("q", ADA), answer_id="cut1"))
    await asyncio.sleep(0.3)
    await assistant.drain(0.3)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert surface.unfinished() != []  # the message still shows its text and no end
    record = await inflight.record_of("cut1")
    assert record is not None and record.text.startswith("The quick")


@pytest.mark.parametrize("history_tokens", ["100"])
def test_long_history_is_trimmed_from_the_oldest(history_tokens):
    from core.models import ChatMessage

    settings = Settings.from_mapping({"TRICKLE_HISTORY_TOKENS": history_tokens})
    assistant = Assistant(source=ScriptedSource([]), settings=settings)
    history = [ChatMessage("user", f"old message {n} " + "x" * 80) for n in range(20)]
    fitted = assistant.fit(Question("newest?", ADA, history=history))
    messages, trimmed = fitted.messages, fitted.trimmed
    assert trimmed
    assert messages[-1].content == "newest?"
    assert messages[-2].content == history[-1].content
    assert len(messages) < 10


async def test_an_owner_that_beats_again_after_a_blip_is_not_taken_over():
    state = MemoryState()
    await state.put("inflight:b", InflightRecord("b", "fake", "blip", {"id": 2}, "text").dumps(), 60)
    finished = []

    async def finalize(location, text):
        finished.append(text)

    peer = Inflight(state, owner="peer")
    assert await peer.recover({"fake": finalize}) == 0  # heartbeat lost (Redis restarted)
    await Inflight(state, owner="blip").beat()  # ... and back
    assert await peer.recover({"fake": finalize}) == 0
    assert finished == []


async def test_a_record_the_store_could_not_forget_is_forgotten_at_the_next_beat():
    class AwayForOneDelete(MemoryState):
        away = True

        async def delete(self, key: str) -> bool:
            if self.away:  # Redis down just as the answer ended
                self.away = False
                return False
            return await super().delete(key)

    state = AwayForOneDelete()
    assistant, inflight = assistant_with(ScriptedSource(words("Done in time."), delay=0.01), state)
    await assistant.answer(LocatedSurface(), Question("q", ADA), answer_id="a9")
    assert "inflight:a9" in await state.scan("inflight:*")
    await inflight.beat()
    assert await state.scan("inflight:*") == {}  # no peer will ever "finish" it as interrupted


class EndingLocatedSurface(LocatedSurface):
    """A surface whose messages must be ended after their final text (a Slack stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.ended = asyncio.Event()
        self.release = asyncio.Event()

    def must_end(self, ref: FakeMessage) -> bool:
        return not self.release.is_set()

    def end_budget(self, ref: FakeMessage):
        return None

    async def end(self, ref: FakeMessage) -> None:
        self.ended.set()
        await self.release.wait()


async def test_a_final_text_waiting_only_to_be_ended_is_recovered_without_a_notice():
    state = MemoryState()
    assistant, _ = assistant_with(ScriptedSource(words(TEXT), delay=0.01), state)
    surface = EndingLocatedSurface()
    task = asyncio.create_task(assistant.answer(surface, Question(TEXT, ADA), answer_id="a1"))
    await asyncio.wait_for(surface.ended.wait(), 10)  # the final text is written; the end waits
    await asyncio.sleep(0.1)
    record = InflightRecord.loads((await state.scan("inflight:*"))["inflight:a1"])
    assert record.final and record.text == TEXT
    # Its process dies here (no more heartbeats): a peer finishes it with the text as it is.
    await state.delete("alive:me")
    finished: list[str] = []

    async def finalize(location, text):
        finished.append(text)

    peer = Inflight(state, owner="peer")
    await peer.recover({"fake": finalize})
    await peer.recover({"fake": finalize})
    assert finished == [TEXT]
    surface.release.set()
    await task


async def test_an_answer_cut_while_its_stream_waits_to_be_stopped_keeps_its_record():
    state = MemoryState()
    assistant, _ = assistant_with(ScriptedSource(words(TEXT), delay=0.01), state)
    surface = EndingLocatedSurface()
    task = asyncio.create_task(assistant.answer(surface, Question(TEXT, ADA), answer_id="a1"))
    await asyncio.wait_for(surface.ended.wait(), 10)
    task.cancel()  # the shutdown deadline: the stop never went out
    with pytest.raises(asyncio.CancelledError):
        await task
    record = InflightRecord.loads((await state.scan("inflight:*"))["inflight:a1"])
    assert record.final and record.text == TEXT  # whoever finishes it stops the stream
