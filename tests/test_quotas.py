"""Quotas and fairness: queue per person, refuse past request rates, wait out model 429s."""

from __future__ import annotations

import asyncio

import pytest

from bots.settings import Settings
from core.assistant import Assistant
from core.models import EndReason
from core.question import Asker, Question
from core.quotas.local import SlidingWindow, Slots
from core.quotas.remote import StoreUnavailable
from core.quotas.shared import PersonQuotas
from core.quotas.shared_slots import SharedSlots
from core.sources.openai_client import build_openai_client
from core.sources.openai_source import OpenAISource
from tests.fakes.model import ScriptedSource, words
from tests.fakes.openai_server import FakeOpenAI, Script, script_from_text
from tests.fakes.surface import FakeSurface

ADA = Asker("U1", "Ada")


class StatusSurface(FakeSurface):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.statuses: list[str] = []

    async def show_status(self, ref, text: str) -> None:
        self.statuses.append(text)


def settings(**env: str) -> Settings:
    return Settings.from_mapping({"TRICKLE_EDIT_INTERVAL": "0.1", **env})


def test_sliding_window_refuses_past_the_limit_and_recovers():
    now = [0.0]
    window = SlidingWindow(2, window=60, clock=lambda: now[0])
    assert [window.allow("u"), window.allow("u"), window.allow("u")] == [True, True, False]
    assert window.allow("other")
    now[0] = 61
    assert window.allow("u")


async def test_slots_queue_in_order():
    slots = Slots(1)
    order: list[int] = []

    async def use(n: int) -> None:
        async with slots.hold("k"):
            order.append(n)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(use(n) for n in range(4)))
    assert order == [0, 1, 2, 3]
    assert not slots.full("k")


async def test_a_waiter_cancelled_as_it_is_handed_the_slot_passes_it_on():
    # The releasing side hands the slot over, then the waiter is cancelled before it
    # resumes: the slot must go on to the next waiter, not vanish with the cancelled one.
    slots = Slots(1)
    let_go = asyncio.Event()

    async def first() -> None:
        async with slots.hold("k"):
            await let_go.wait()
        second.cancel()  # handed the slot just now; it has not run since

    async def use() -> None:
        async with slots.hold("k"):
            pass

    holder = asyncio.create_task(first())
    await asyncio.sleep(0)
    second = asyncio.create_task(use())
    await asyncio.sleep(0)
    third = asyncio.create_task(use())
    await asyncio.sleep(0)
    let_go.set()
    await holder
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.wait_for(third, 1)
    assert not slots.full("k") and len(slots) == 0


async def test_a_waiter_cancelled_in_the_queue_leaves_the_others_in_order():
    slots = Slots(1)
    order: list[int] = []

    async def use(n: int) -> None:
        async with slots.hold("k"):
            order.append(n)
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(use(n)) for n in range(4)]
    await asyncio.sleep(0)
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert order == [0, 2, 3]
    assert len(slots) == 0


def test_a_sliding_window_forgets_people_who_stopped_asking():
    now = [0.0]
    window = SlidingWindow(5, window=60, clock=lambda: now[0])
    for n in range(100_000):  # ten new people a second for almost three hours
        assert window.allow(f"U{n}")
        now[0] += 0.1
    assert len(window) <= 2 * 60 * 10 + 1  # at most the last two windows' people


class AwayStore:
    """A shared store that never answers (Redis down)."""

    async def hit(self, key, *, limit, window):
        raise StoreUnavailable("down")

    async def enter(self, key, holder, *, cap, lease):
        raise StoreUnavailable("down")

    async def try_hold(self, key, holder, *, size, lease):
        raise StoreUnavailable("down")

    async def held(self, key):
        raise StoreUnavailable("down")

    async def renew(self, leases, lease, *, places=None):
        raise StoreUnavailable("down")

    async def release(self, key, holder):
        raise StoreUnavailable("down")


async def test_with_the_shared_store_away_quotas_count_in_this_process():
    quotas = PersonQuotas(concurrency=1, person_rpm=2, place_rpm=100, remote=AwayStore(), lease=15)
    assert [await quotas.person_rate.allow("U1") for _ in range(3)] == [True, True, False]
    async with quotas.slots.hold("U1"):
        assert await quotas.slots.busy("U1")
        await quotas.upkeep()  # renewing fails quietly
    assert not await quotas.slots.busy("U1")


async def test_a_second_question_is_queued_with_a_visible_placeholder():
    source = ScriptedSource(words("one two three four five six"), delay=0.05)
    assistant = Assistant(source=source, settings=settings())
    first, second = StatusSurface(), StatusSurface()
    task1 = asyncio.create_task(assistant.answer(first, Question("q1", ADA)))
    await asyncio.sleep(0.05)
    task2 = asyncio.create_task(assistant.answer(second, Question("q2", ADA)))
    await asyncio.sleep(0.05)
    assert second.messages and not second.messages[0].final  # placeholder is up
    assert any("queued" in s for s in second.statuses)
    await asyncio.gather(task1, task2)
    assert first.final_texts() == second.final_texts() == ["one two three four five six"]


async def test_asking_too_fast_is_refused_without_calling_the_model():
    source = ScriptedSource(["ok"])
    assistant = Assistant(source=source, settings=settings(TRICKLE_USER_RPM="2", TRICKLE_USER_CONCURRENCY="5"))
    surfaces = [FakeSurface() for _ in range(3)]
    outcomes = [await assistant.answer(s, Question(f"q{n}", ADA)) for n, s in enumerate(surfaces)]
    assert [o.end for o in outcomes] == [EndReason.STOP, EndReason.STOP, EndReason.REFUSED]
    assert "faster than the limit" in surfaces[2].final_texts()[0]
    assert len(source.requests) == 2


@pytest.mark.looptime
async def test_a_refused_question_is_one_posted_message_with_the_notice_and_no_edit():
    assistant = Assistant(source=ScriptedSource(["ok"]), settings=settings(TRICKLE_USER_RPM="1"))
    await assistant.answer(FakeSurface(), Question("q1", ADA))
    refused = FakeSurface()
    outcome = await assistant.answer(refused, Question("q2", ADA))
    assert outcome.end is EndReason.REFUSED
    (message,) = refused.messages  # no placeholder went up first
    assert [(text, final) for _, text, final in message.versions] == [
        ("_(you are asking faster than the limit allows — try again in a minute)_", True)
    ]
    assert refused.edits == 0


# -- a person's queue (TRICKLE_USER_QUEUE): on the loop's fake clock, and nothing sleeps ------


class GatedSource:
    """A model whose answers each wait for the test to open their gate: no clock at all."""

    def __init__(self) -> None:
        self.gates: list[asyncio.Event] = []

    def stream(self, messages=(), *, model=None):
        gate = asyncio.Event()
        self.gates.append(gate)
        return self._events(gate)

    async def _events(self, gate: asyncio.Event):
        from core.models import Finish, TextDelta

        await gate.wait()
        yield TextDelta("done")
        yield Finish("stop")

    async def aclose(self) -> None:
        pass


async def settled() -> None:
    """Let every ready task run until none is (the answers reach their gates or slots)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_a_persons_queue_is_capped_beyond_their_concurrency():
    slots = SharedSlots(2, remote=None, lease=15, queue=3)
    places = [await slots.enter("U1") for _ in range(5)]
    assert all(places) and slots.waiting("U1") == 5
    assert await slots.enter("U1") is None  # two answering and three waiting: full
    assert await slots.enter("U2") is not None  # another person's queue is their own


async def test_a_place_stops_waiting_when_its_answer_starts_and_an_ended_answer_lets_the_next_in():
    slots = SharedSlots(1, remote=None, lease=15, queue=1)
    first, second = await slots.enter("U1"), await slots.enter("U1")
    assert await slots.enter("U1") is None
    async with slots.hold("U1", first):
        assert slots.waiting("U1") == 1  # counted as holding now, not as waiting
        assert await slots.enter("U1") is None  # one answering, one waiting: still full
    await slots.leave(first)  # the answer's end; its place was given up as it started
    third = await slots.enter("U1")
    assert third is not None and slots.waiting("U1") == 2
    for place in (second, third, second):  # twice is harmless
        await slots.leave(place)
    assert slots.waiting("U1") == 0


async def test_with_the_shared_store_away_the_queue_counts_in_this_process():
    slots = SharedSlots(1, remote=AwayStore(), lease=15, queue=0)
    place = await slots.enter("U1")
    assert place is not None and await slots.enter("U1") is None
    await slots.leave(place)
    assert await slots.enter("U1") is not None


@pytest.mark.looptime
async def test_the_fifth_quick_question_is_refused_at_once_and_the_others_answered():
    source = GatedSource()
    assistant = Assistant(source=source, settings=settings(TRICKLE_USER_CONCURRENCY="1", TRICKLE_USER_QUEUE="3"))
    surfaces = [FakeSurface() for _ in range(5)]
    tasks = [asyncio.create_task(assistant.answer(s, Question(f"q{n}", ADA))) for n, s in enumerate(surfaces)]
    await settled()
    assert tasks[4].done() and (await tasks[4]).end is EndReason.REFUSED
    assert surfaces[4].final_texts() == ["_(you already have 3 questions waiting — ask again when one is answered)_"]
    assert len(source.gates) == 1  # one answering, three queued
    while not all(t.done() for t in tasks[:4]):
        for gate in source.gates:
            gate.set()
        await settled()
    assert [(await t).end for t in tasks[:4]] == [EndReason.STOP] * 4
    assert assistant.quotas.slots.waiting("U1") == 0


@pytest.mark.looptime
async def test_a_question_cancelled_while_waiting_gives_its_place_back():
    source = GatedSource()
    assistant = Assistant(source=source, settings=settings(TRICKLE_USER_CONCURRENCY="1", TRICKLE_USER_QUEUE="1"))
    answering = asyncio.create_task(assistant.answer(FakeSurface(), Question("q1", ADA)))
    waiting = asyncio.create_task(assistant.answer(FakeSurface(), Question("q2", ADA)))
    await settled()
    assert (await assistant.answer(FakeSurface(), Question("q3", ADA))).end is EndReason.REFUSED
    waiting.cancel()  # e.g. its handler was torn down while it queued
    await asyncio.gather(waiting, return_exceptions=True)
    assert assistant.quotas.slots.waiting("U1") == 0
    again = asyncio.create_task(assistant.answer(FakeSurface(), Question("q4", ADA)))
    await settled()
    assert not again.done()  # let in: it waits for the slot instead of being refused
    for _ in range(2):
        for gate in source.gates:
            gate.set()
        await settled()
    assert (await answering).end is EndReason.STOP and (await again).end is EndReason.STOP


@pytest.mark.looptime
async def test_a_question_stopped_while_waiting_gives_its_place_back():
    source = GatedSource()
    assistant = Assistant(source=source, settings=settings(TRICKLE_USER_CONCURRENCY="1", TRICKLE_USER_QUEUE="1"))
    answering = asyncio.create_task(assistant.answer(FakeSurface(), Question("q1", ADA), answer_id="a1"))
    waiting = asyncio.create_task(assistant.answer(FakeSurface(), Question("q2", ADA), answer_id="a2"))
    await settled()
    assistant.stop("a2", by=ADA)
    assert (await waiting).end is EndReason.STOPPED
    assert assistant.quotas.slots.waiting("U1") == 0
    source.gates[0].set()
    assert (await answering).end is EndReason.STOP


async def test_a_busy_channel_of_sixty_people_a_minute_is_never_refused():
    source = ScriptedSource(["ok"])
    assistant = Assistant(source=source, settings=settings())
    outcomes = await asyncio.gather(
        *(assistant.answer(FakeSurface(), Question("q", Asker(f"U{n}", f"P{n}"), place="C1")) for n in range(60))
    )
    assert all(o.end is EndReason.STOP for o in outcomes)


async def test_a_model_429_shows_waiting_then_answers(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(Script(tokens=[], fail="http_429", retry_after="1"))
    fake_openai.script_queue.append(script_from_text("Back in business."))
    client = build_openai_client(api_key=None, base_url=fake_openai.base_url)
    assistant = Assistant(source=OpenAISource(client, model="m"), settings=settings())
    surface = StatusSurface()
    try:
        outcome = await assistant.answer(surface, Question("q", ADA))
    finally:
        await client.close()
    assert outcome.end is EndReason.STOP
    assert surface.final_texts() == ["Back in business."]
    assert any("waiting for the model" in s for s in surface.statuses)


@pytest.mark.parametrize("control", ["\x00\x07", "\udcff"])
async def test_control_characters_and_lone_surrogates_do_not_break_an_answer(control: str):
    source = ScriptedSource([f"a{control}b", " done"])
    assistant = Assistant(source=source, settings=settings())
    surface = FakeSurface()
    outcome = await assistant.answer(surface, Question(f"weird {control} input", ADA))
    assert outcome.end is EndReason.STOP
    assert surface.final_texts() == [f"a{control}b done"]


async def test_a_conversation_cut_to_fit_the_context_says_so_before_the_answer():
    from core.models import ChatMessage

    source = ScriptedSource(words("A short answer."), delay=0.05)
    assistant = Assistant(source=source, settings=settings(TRICKLE_HISTORY_TOKENS="100"))
    history = [ChatMessage("user", f"old message {n} " + "x" * 80) for n in range(20)]
    surface = StatusSurface()
    outcome = await assistant.answer(surface, Question("newest?", ADA, history=history))
    assert any("oldest part was left out" in s for s in surface.statuses)
    assert outcome.end is EndReason.STOP and surface.final_texts() == ["A short answer."]
