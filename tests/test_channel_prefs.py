"""A channel's own model and system prompt: set by admins, kept in the shared state, and
used by the assistant (the real OpenAI SDK against FakeOpenAI)."""

from __future__ import annotations

import pytest

from bots.settings import Settings
from core.assistant import Assistant
from core.models import EndReason
from core.question import Asker, Question
from core.sources.factory import build_source
from core.state.store import MemoryState
from core.team.channel_prefs import NOT_ADMIN, PROMPT_CHARS, ChannelPrefs, Prefs, PrefsRefused
from tests.fakes.openai_server import FakeOpenAI, script_from_text
from tests.fakes.surface import FakeSurface

ADMIN = "UADMIN"
ADA = Asker("U1", "Ada")
MODELS = {"TRICKLE_MODEL": "small", "TRICKLE_MODELS": "small,big", "TRICKLE_ADMINS": ADMIN}


def settings(**env: str) -> Settings:
    return Settings.from_mapping({**MODELS, **env})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_an_admin_sets_a_model_and_a_prompt_and_reads_them_back():
    prefs = ChannelPrefs(MemoryState(), settings())
    await prefs.set_model("slack:C1", "big", by=ADMIN)
    await prefs.set_prompt("slack:C1", "  Answer as a lawyer would.  ", by=ADMIN)
    assert await prefs.get("slack:C1") == Prefs("big", "Answer as a lawyer would.", ADMIN)
    assert await prefs.get("slack:C2") == Prefs()


async def test_a_model_outside_trickle_models_is_refused_with_the_ones_allowed():
    prefs = ChannelPrefs(MemoryState(), settings())
    with pytest.raises(PrefsRefused) as refused:
        await prefs.set_model("slack:C1", "gpt-5-pro", by=ADMIN)
    assert "`gpt-5-pro`" in str(refused.value) and "`small`, `big`" in str(refused.value)
    assert await prefs.get("slack:C1") == Prefs()


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.set_model("slack:C1", "big", by="U1"),
        lambda p: p.set_prompt("slack:C1", "Be brief.", by="U1"),
        lambda p: p.reset("slack:C1", by="U1"),
    ],
)
async def test_only_admins_may_change_a_channel(change):
    state = MemoryState()
    prefs = ChannelPrefs(state, settings())
    await prefs.set_model("slack:C1", "big", by=ADMIN)
    with pytest.raises(PrefsRefused, match=NOT_ADMIN):
        await change(prefs)
    assert (await prefs.get("slack:C1")).model == "big"


async def test_a_prompt_past_the_cap_is_refused_and_an_empty_one_resets():
    prefs = ChannelPrefs(MemoryState(), settings())
    with pytest.raises(PrefsRefused, match="4,000"):
        await prefs.set_prompt("slack:C1", "x" * (PROMPT_CHARS + 1), by=ADMIN)
    await prefs.set_prompt("slack:C1", "x" * PROMPT_CHARS, by=ADMIN)
    await prefs.set_model("slack:C1", "big", by=ADMIN)
    await prefs.set_prompt("slack:C1", "   ", by=ADMIN)
    assert await prefs.get("slack:C1") == Prefs("big", None, ADMIN)


async def test_reset_goes_back_to_the_defaults_and_leaves_nothing_stored():
    state = MemoryState()
    prefs = ChannelPrefs(state, settings())
    await prefs.set_model("discord:5", "big", by=ADMIN)
    await prefs.reset("discord:5", by=ADMIN)
    assert await prefs.get("discord:5") == Prefs()
    assert await state.scan("prefs:*") == {}


async def test_setting_the_model_keeps_the_prompt_another_replica_set():
    state = MemoryState()
    one, two = ChannelPrefs(state, settings()), ChannelPrefs(state, settings())
    await one.get("slack:C1")  # cached empty on the first replica
    await two.set_prompt("slack:C1", "Be brief.", by=ADMIN)
    await one.set_model("slack:C1", "big", by=ADMIN)
    assert await one.get("slack:C1") == Prefs("big", "Be brief.", ADMIN)


async def test_another_replica_sees_a_change_once_its_cache_runs_out():
    state, clock = MemoryState(), Clock()
    here = ChannelPrefs(state, settings(), cache_seconds=5, clock=clock)
    there = ChannelPrefs(state, settings(), cache_seconds=5, clock=clock)
    assert await there.get("slack:C1") == Prefs()
    await here.set_model("slack:C1", "big", by=ADMIN)
    assert (await here.get("slack:C1")).model == "big"  # at once where it was made
    clock.now += 4.9
    assert (await there.get("slack:C1")).model is None  # the price of one read per 5 s
    clock.now += 0.2
    assert (await there.get("slack:C1")).model == "big"


async def test_a_model_the_operator_no_longer_allows_is_not_used():
    state = MemoryState()
    await ChannelPrefs(state, settings()).set_model("slack:C1", "big", by=ADMIN)
    await ChannelPrefs(state, settings()).set_prompt("slack:C1", "Be brief.", by=ADMIN)
    narrower = ChannelPrefs(state, settings(TRICKLE_MODELS="small"))
    assert await narrower.get("slack:C1") == Prefs(None, "Be brief.", ADMIN)


async def test_unreadable_stored_prefs_are_the_defaults():
    state = MemoryState()
    await state.put("prefs:slack:C1", "{not json", ttl=60)
    await state.put("prefs:slack:C2", "[1, 2]", ttl=60)
    prefs = ChannelPrefs(state, settings())
    assert await prefs.get("slack:C1") == Prefs()
    assert await prefs.get("slack:C2") == Prefs()


# -- the assistant answers with them ------------------------------------------------------
async def ask(fake: FakeOpenAI, prefs_of, *questions: Question):
    s = settings(OPENAI_BASE_URL=fake.base_url, TRICKLE_EDIT_INTERVAL="0.05")
    prefs = ChannelPrefs(MemoryState(), s)
    await prefs_of(prefs)
    source = build_source(s)
    try:
        assistant = Assistant(source=source, settings=s, prefs=prefs)
        outcomes = []
        for question in questions:
            surface = FakeSurface()
            outcomes.append((await assistant.answer(surface, question), surface))
    finally:
        await source.aclose()
    return outcomes


async def legal_channel(prefs: ChannelPrefs) -> None:
    await prefs.set_model("slack:CLAW", "big", by=ADMIN)
    await prefs.set_prompt("slack:CLAW", "You answer as a careful lawyer.", by=ADMIN)


async def test_a_question_in_the_channel_uses_its_model_and_system_prompt(fake_openai):
    fake_openai.script_queue.append(script_from_text("It depends."))
    [(outcome, surface)] = await ask(fake_openai, legal_channel, Question("may we?", ADA, place="slack:CLAW"))
    sent = fake_openai.requests[-1]
    assert sent["model"] == "big"
    assert sent["messages"][0] == {"role": "system", "content": "You answer as a careful lawyer."}
    assert sent["messages"][-1] == {"role": "user", "content": "may we?"}
    assert (outcome.end, outcome.text, surface.messages[-1].text) == (EndReason.STOP, "It depends.", "It depends.")


async def test_other_channels_keep_the_operators_model_and_prompt(fake_openai):
    await ask(fake_openai, legal_channel, Question("hi", ADA, place="slack:COTHER"), Question("hi", ADA))
    for sent in fake_openai.requests:
        assert sent["model"] == "small"
        assert sent["messages"][0]["content"] == settings().system_prompt


async def test_a_question_naming_its_own_model_keeps_it_and_the_channel_prompt(fake_openai):
    await ask(fake_openai, legal_channel, Question("may we?", ADA, model="small", place="slack:CLAW"))
    sent = fake_openai.requests[-1]
    assert sent["model"] == "small"
    assert sent["messages"][0]["content"] == "You answer as a careful lawyer."
