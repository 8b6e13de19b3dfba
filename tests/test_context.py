"""The model's context and the answer cap: trim or refuse before sending, never run away."""

from __future__ import annotations

import pytest

from bots.settings import Settings
from core.assistant import Assistant
from core.conversation.context import answer_cap, answer_tokens, context_tokens, fit_conversation
from core.conversation.history import estimate_tokens
from core.models import ChatMessage, EndReason
from core.question import Asker, Question
from core.sources.factory import build_source
from tests.fakes.openai_server import FakeOpenAI, script_from_text
from tests.fakes.surface import FakeSurface

ADA = Asker("U1", "Ada")
OLD = [ChatMessage("user" if n % 2 else "assistant", f"turn {n} " + "words " * 60) for n in range(30)]


def settings(**env: str) -> Settings:
    return Settings.from_mapping(env)


@pytest.mark.parametrize(
    ("env", "context", "sent", "cap"),
    [
        ({}, 2048, 512, 512),  # the embedded model: its own context and cap
        ({"TRICKLE_CONTEXT_TOKENS": "8192"}, 8192, 512, 512),
        ({"TRICKLE_MAX_TOKENS": "4000"}, 2048, 1024, 1024),  # kept inside the embedded model's context
        # llama.cpp & co: the request keeps the model's default (CONTRACT.md), trickle ends
        # the answer itself, so it is never unbounded
        ({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}, None, None, 1024),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "TRICKLE_CONTEXT_TOKENS": "1500"}, 1500, None, 750),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "TRICKLE_MAX_TOKENS": "300"}, None, 300, 300),
        ({"OPENAI_API_KEY": "sk-x"}, None, None, None),  # OpenAI itself: the model's own default
        ({"OPENAI_API_KEY": "sk-x", "TRICKLE_MAX_TOKENS": "300"}, None, 300, 300),
    ],
)
def test_the_context_and_the_answer_cap_each_setup_gets(env, context, sent, cap):
    given = settings(**env)
    assert (context_tokens(given), answer_tokens(given), answer_cap(given)) == (context, sent, cap)


def test_the_estimate_errs_high_for_text_that_is_not_english():
    assert estimate_tokens("a" * 300) == 100
    assert estimate_tokens("日本語のテキスト" * 10) == 80  # a token a character, not one per four


def test_within_a_known_context_the_oldest_history_goes_first():
    fitted = fit_conversation("Be brief.", OLD, "newest?", history_tokens=100_000, context=1500, answer=500)
    assert fitted.trimmed and not fitted.too_long
    assert fitted.messages[0].role == "system" and fitted.messages[-1].content == "newest?"
    assert fitted.messages[-2] == OLD[-1]
    assert sum(estimate_tokens(m.content) + 4 for m in fitted.messages) + 500 <= 1500


def test_a_question_that_fits_nowhere_is_refused_not_cut():
    question = "why " * 2000
    fitted = fit_conversation("", OLD, question, history_tokens=3000, context=2048, answer=512)
    assert fitted.too_long and fitted.messages[-1].content == question


def test_without_a_context_only_the_history_budget_applies():
    fitted = fit_conversation("", OLD, "q", history_tokens=None, context=None, answer=None)
    assert not fitted.trimmed and fitted.messages[:-1] == OLD


async def test_a_question_too_long_for_the_context_is_refused_without_calling_the_model(fake_openai: FakeOpenAI):
    s = settings(OPENAI_BASE_URL=fake_openai.base_url, TRICKLE_CONTEXT_TOKENS="1000", TRICKLE_EDIT_INTERVAL="0.05")
    source = build_source(s)
    try:
        surface = FakeSurface()
        outcome = await Assistant(source=source, settings=s).answer(surface, Question("explain " * 1500, ADA))
    finally:
        await source.aclose()
    assert outcome.end is EndReason.REFUSED
    assert surface.final_texts() == ["_(the question is too long for the model's context — ask something shorter)_"]
    assert fake_openai.requests == []


async def test_a_long_thread_is_sent_trimmed_to_the_context_with_the_cap(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(script_from_text("Fine."))
    s = settings(OPENAI_BASE_URL=fake_openai.base_url, TRICKLE_CONTEXT_TOKENS="1200", TRICKLE_EDIT_INTERVAL="0.05")
    source = build_source(s)
    try:
        surface = FakeSurface()
        outcome = await Assistant(source=source, settings=s).answer(surface, Question("and now?", ADA, history=OLD))
    finally:
        await source.aclose()
    assert outcome.end is EndReason.STOP and surface.final_texts() == ["Fine."]
    sent = fake_openai.requests[0]
    assert "max_tokens" not in sent  # the model's default (CONTRACT.md); trickle cuts at 600
    assert sent["messages"][-1]["content"] == "and now?" and sent["messages"][-2]["content"] == OLD[-1].content
    prompt = sum(estimate_tokens(m["content"]) + 4 for m in sent["messages"])
    assert prompt + 600 <= 1200 and len(sent["messages"]) < len(OLD)
