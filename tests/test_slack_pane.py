"""Slack's assistant pane end to end: real bolt (its `AsyncAssistant` middleware) and
slack_sdk against FakeSlack: greeting and prompts, title, the channel in view, feedback."""

from __future__ import annotations

import pytest

from bots.slack.messages import FEEDBACK_ACTION, FEEDBACK_BLOCK
from bots.slack.status import LOADING_MESSAGES
from core.conversation.suggestions import GREETING, title_for
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import unescape
from tests.slack_harness import wait_until

PROMPTS = "Standup | Write my standup; Decisions | What did we decide here?"


def thread_started(fake, user: str, dm: str, *, viewing: str | None) -> dict:
    """Slack's `assistant_thread_started`, with the thread's root stored as Slack has it."""
    root = fake.message_event(user, "", dm)
    fake.store_event(root)
    context = {"channel_id": viewing, "team_id": fake.team_id} if viewing else {}
    thread = {"user_id": user, "context": context, "channel_id": dm, "thread_ts": root["ts"]}
    return {"type": "assistant_thread_started", "assistant_thread": thread, "event_ts": root["ts"]}


def feedback_total(h, verdict: str) -> float:
    value = h.ctx.metrics.registry.get_sample_value("trickle_feedback_total", {"platform": "slack", "verdict": verdict})
    return value or 0.0


async def test_a_new_pane_thread_is_greeted_with_the_configured_prompts(slack_bot):
    h = await slack_bot(TRICKLE_SUGGESTED_PROMPTS=PROMPTS)
    started = thread_started(h.fake, "UALICE", "D1", viewing="C1")
    thread_ts = started["assistant_thread"]["thread_ts"]
    await h.deliver(started)
    await wait_until(lambda: h.fake.calls_to("assistant.threads.setSuggestedPrompts"), 5)
    await h.settle()

    greeting = [m for m in h.fake.thread("D1", thread_ts) if m.is_bot]
    assert [unescape(m.visible) for m in greeting] == [GREETING]
    sent = h.fake.calls_to("assistant.threads.setSuggestedPrompts")[-1].params
    prompts = sent["prompts"] if isinstance(sent["prompts"], list) else __import__("json").loads(sent["prompts"])
    assert prompts == [
        {"title": "Standup", "message": "Write my standup"},
        {"title": "Decisions", "message": "What did we decide here?"},
    ]
    assert h.model.requests == []


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_a_pane_question_reads_the_channel_in_view_is_titled_once_and_rated(slack_bot, mode):
    h = await slack_bot(mode)
    for n, text in enumerate(["we ship on Friday", "agreed, Friday it is"]):
        h.fake.store_event(h.fake.message_event("UBOB" if n else "UALICE", text, "C1"))
    started = thread_started(h.fake, "UALICE", "D1", viewing="C1")
    thread_ts = started["assistant_thread"]["thread_ts"]
    await h.deliver(started)
    await h.settle()

    h.model.script_queue.append(script_from_text("You decided to ship on Friday.", first_delay=0.2))
    h.model.script_queue.append(script_from_text("Yes.", delay=0.01))
    question = "What did we *decide* here?"
    await h.deliver(h.fake.message_event("UALICE", question, "D1", thread_ts=thread_ts))
    await h.settle()
    await h.deliver(h.fake.message_event("UALICE", "sure?", "D1", thread_ts=thread_ts))
    await h.settle()

    sent = "\n".join(str(m["content"]) for m in h.model.requests[0]["messages"])
    assert "we ship on Friday" in sent and "agreed, Friday it is" in sent
    titles = [c.params["title"] for c in h.fake.calls_to("assistant.threads.setTitle")]
    assert titles == [title_for(question)]
    statuses = [s for s in h.fake.statuses if s["thread_ts"] == thread_ts]
    assert statuses[0]["status"] and statuses[-1]["status"] == ""  # never outlives the answer
    first = [m for m in h.fake.thread("D1", thread_ts) if m.is_bot and "Friday" in m.visible]
    assert len(first) == 1 and unescape(first[0].visible) == "You decided to ship on Friday."
    blocks = [b for b in first[0].blocks or [] if b.get("type") == "context_actions"]
    assert blocks and blocks[0]["block_id"] == FEEDBACK_BLOCK
    assert any(LOADING_MESSAGES[0] in str(c.params) for c in h.fake.calls_to("assistant.threads.setStatus"))

    value = blocks[0]["elements"][0]["negative_button"]["value"]
    for _ in range(2):  # the second click of the same person is not counted again
        await h.click(
            h.fake.block_action_payload("UALICE", "D1", first[0].ts, FEEDBACK_ACTION, value, block_id=FEEDBACK_BLOCK)
        )
    await wait_until(lambda: feedback_total(h, "bad") == 1.0, 5)
    await h.settle()
    assert feedback_total(h, "bad") == 1.0 and feedback_total(h, "good") == 0.0
    assert unescape(h.fake.message("D1", first[0].ts).visible) == "You decided to ship on Friday."


async def test_a_channel_the_bot_cannot_read_is_said_once_and_the_question_answered(slack_bot, fake_slack):
    fake_slack.not_in_channels.add("C7")
    h = await slack_bot()
    started = thread_started(h.fake, "UALICE", "D1", viewing="C7")
    thread_ts = started["assistant_thread"]["thread_ts"]
    await h.deliver(started)
    await h.settle()
    for n in range(2):  # the second question is not told again
        h.model.script_queue.append(script_from_text(f"I can only guess {n}.", delay=0.01))
        await h.deliver(h.fake.message_event("UALICE", f"summarize this channel {n}", "D1", thread_ts=thread_ts))
        await h.settle()
    said = [unescape(m.visible) for m in h.fake.thread("D1", thread_ts) if m.is_bot]
    assert len([s for s in said if "can't read" in s and "/invite @trickle" in s]) == 1
    assert said[-1] == "I can only guess 1."


async def test_a_pane_opened_outside_any_channel_answers_without_one(slack_bot):
    h = await slack_bot()
    started = thread_started(h.fake, "UALICE", "D1", viewing=None)  # Slack sends `context: {}`
    thread_ts = started["assistant_thread"]["thread_ts"]
    await h.deliver(started)
    await h.settle()
    h.model.script_queue.append(script_from_text("Hello there.", delay=0.01))
    await h.deliver(h.fake.message_event("UALICE", "hi", "D1", thread_ts=thread_ts))
    await wait_until(lambda: any("Hello there." in m.visible for m in h.fake.thread("D1", thread_ts)), 5)
    await h.settle()
    assert h.fake.calls_to("conversations.history") == []  # no channel in view to read
    assert [c.params["title"] for c in h.fake.calls_to("assistant.threads.setTitle")] == [title_for("hi")]


async def test_a_workspace_without_feedback_buttons_gets_plain_ones_that_count_the_same(slack_bot):
    h = await slack_bot()
    h.fake.unknown_block_types.add("context_actions")
    started = thread_started(h.fake, "UALICE", "D1", viewing=None)
    thread_ts = started["assistant_thread"]["thread_ts"]
    await h.deliver(started)
    await h.settle()
    for n in range(2):
        h.model.script_queue.append(script_from_text(f"Answer {n}.", delay=0.01))
        await h.deliver(h.fake.message_event("UALICE", f"question {n}", "D1", thread_ts=thread_ts))
        await wait_until(
            lambda n=n: any(f"Answer {n}." == unescape(m.visible) for m in h.fake.thread("D1", thread_ts)), 5
        )
        await h.settle()

    answers = [m for m in h.fake.thread("D1", thread_ts) if unescape(m.visible).startswith("Answer")]
    assert [unescape(m.visible) for m in answers] == ["Answer 0.", "Answer 1."]  # exact, and not lost
    refused = [c for c in h.fake.calls if c.error == "invalid_blocks"]
    assert len(refused) == 1  # learned once: the second answer goes plain at once
    rows = [b for m in answers for b in m.blocks or [] if b.get("block_id") == FEEDBACK_BLOCK]
    assert [b["type"] for b in rows] == ["actions", "actions"]
    button = rows[0]["elements"][1]
    await h.click(
        h.fake.block_action_payload(
            "UALICE", "D1", answers[0].ts, button["action_id"], button["value"], block_id=FEEDBACK_BLOCK, text="👎"
        )
    )
    await wait_until(lambda: feedback_total(h, "bad") == 1.0, 5)
    assert unescape(h.fake.message("D1", answers[0].ts).visible) == "Answer 0."
