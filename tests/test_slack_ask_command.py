"""`/ask` in Slack: the question posted by name, the answer streamed in its thread."""

from __future__ import annotations

import json

import pytest

from bots.slack.commands import NOT_A_MEMBER
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import unescape
from tests.slack_harness import wait_until


async def run_command(h, text: str, *, user: str, channel: str) -> dict:
    """`/ask text` the way this harness's mode receives it; the app's immediate reply."""
    if h.events_url is None:
        ack = await h.fake.wait_ack(await h.fake.send_command("/ask", text, user=user, channel=channel))
        return ack.get("payload") or {}
    assert await h.fake.post_command("/ask", text, user=user, channel=channel, app_url=h.events_url) == 200
    body = h.fake.http_deliveries[-1].body
    return json.loads(body) if body.strip() else {}


@pytest.mark.parametrize(("mode", "channel"), [("socket", "C1"), ("http", "C1"), ("socket", "D1")])
async def test_ask_posts_the_question_by_name_and_answers_in_its_thread(slack_bot, mode, channel):
    h = await slack_bot(mode)
    h.model.script_queue.append(script_from_text("Paris, of course.", delay=0.01))
    ack = await run_command(h, "capital of France?", user="UALICE", channel=channel)
    await wait_until(lambda: len(h.fake.messages(channel)) >= 1, 5)
    question = h.fake.messages(channel)[0]
    await wait_until(lambda: any("Paris" in m.visible for m in h.fake.thread(channel, question.ts)), 5)
    await h.settle()

    assert not ack.get("text")  # nothing private: the answer is public (in a DM: there)
    assert unescape(question.visible) == "*Alice* asked: capital of France?"
    answer = [m for m in h.fake.thread(channel, question.ts) if m.ts != question.ts]
    assert [unescape(m.visible) for m in answer] == ["Paris, of course."]
    asked = h.model.requests[-1]["messages"][-1]["content"]
    assert "capital of France?" in asked
    assert "<@UALICE>" not in question.text  # a name, not a ping


async def test_ask_with_nothing_to_ask_says_how_privately_and_calls_no_model(slack_bot):
    h = await slack_bot()
    ack = await h.fake.wait_ack(await h.fake.send_command("/ask", "   ", user="UALICE", channel="C1"))
    await h.settle()
    assert "/ask your question" in ack["payload"]["text"]
    assert h.fake.messages("C1") == [] and h.model.requests == []


async def test_ask_where_the_bot_is_not_a_member_explains_how_to_invite_it(slack_bot, fake_slack):
    fake_slack.not_in_channels.add("C9")
    h = await slack_bot()
    await h.fake.wait_ack(await h.fake.send_command("/ask", "anyone here?", user="UALICE", channel="C9"))
    await wait_until(lambda: bool(h.fake.responses), 5)
    await h.settle()
    reply = h.fake.responses[-1]["body"]
    assert reply.get("response_type") == "ephemeral" and NOT_A_MEMBER in str(reply.get("text"))
    assert h.model.requests == []
