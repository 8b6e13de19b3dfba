"""Slack's assistant pane end to end: real bolt (its `AsyncAssistant` middleware) and
slack_sdk against FakeSlack: greeting and prompts, title, the channel in view, feedback,
and native streaming (TRICKLE_SLACK_STREAM=native) with the buttons on the stream's stop."""

from __future__ import annotations

import logging

import pytest

from bots.slack.messages import FEEDBACK_ACTION, FEEDBACK_BLOCK
from bots.slack.status import LOADING_MESSAGES
from core.conversation.suggestions import GREETING, title_for
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import FakeMessage, unescape
from tests.fakes.slack_server.messages import ts_key
from tests.slack_harness import LONG, join_pages, wait_until

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


# ---------------------------------------------------------------- TRICKLE_SLACK_STREAM=native

NATIVE_TEXT = "Native **streaming** in the pane & <!here> stays text.\n\n- one\n- two"


async def open_pane(h) -> str:
    """Open a pane thread for UALICE in D1 (no channel in view); its thread_ts."""
    started = thread_started(h.fake, "UALICE", "D1", viewing=None)
    thread_ts = started["assistant_thread"]["thread_ts"]
    await h.deliver(started)
    await wait_until(lambda: h.fake.thread("D1", thread_ts), 5)  # the greeting, before any question
    await h.settle()
    return thread_ts


async def ask(h, thread_ts: str, question: str, answer: str, **script) -> list[FakeMessage]:
    """Ask in the pane thread and wait for the answer: its messages, oldest first."""
    h.model.script_queue.append(script_from_text(answer, **script))
    event = h.fake.message_event("UALICE", question, "D1", thread_ts=thread_ts)
    await h.deliver(event)
    await h.settle()
    return [m for m in h.fake.thread("D1", thread_ts) if m.is_bot and ts_key(m.ts) > ts_key(event["ts"])]


def feedback_rows(message: FakeMessage) -> list[dict]:
    return [b for b in message.blocks or [] if b.get("block_id") == FEEDBACK_BLOCK]


async def test_a_native_pane_answer_streams_and_its_stop_carries_the_feedback_buttons(slack_bot):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    thread_ts = await open_pane(h)
    since = len(h.fake.calls)
    (message,) = await ask(h, thread_ts, "stream it", NATIVE_TEXT, delay=0.1)

    calls = h.fake.calls[since:]
    methods = {c.method for c in calls}
    assert {"chat.startStream", "chat.appendStream"} <= methods
    assert not methods & {"chat.update", "chat.postMessage"}
    assert message.streamed and message.stream_stopped
    assert unescape(message.visible) == NATIVE_TEXT
    (stop,) = [c for c in calls if c.method == "chat.stopStream"]
    (row,) = feedback_rows(message)
    assert row["type"] == "context_actions" and stop.params["blocks"] == [row]
    assert not stop.params.get("markdown_text")  # the text went by appendStream, once
    statuses = [s for s in h.fake.statuses if s["thread_ts"] == thread_ts]
    assert statuses[0]["status"] and statuses[-1]["status"] == ""  # never outlives the answer

    value = row["elements"][0]["positive_button"]["value"]
    await h.click(
        h.fake.block_action_payload("UALICE", "D1", message.ts, FEEDBACK_ACTION, value, block_id=FEEDBACK_BLOCK)
    )
    await wait_until(lambda: feedback_total(h, "good") == 1.0, 5)


async def test_a_native_pane_answer_stops_with_plain_buttons_where_slack_refuses_its_own(slack_bot):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    h.fake.unknown_block_types.add("context_actions")
    thread_ts = await open_pane(h)
    answers = [(await ask(h, thread_ts, f"question {n}", f"Streamed answer {n}.", delay=0.02)) for n in range(2)]

    for n, pages in enumerate(answers):
        (message,) = pages
        assert message.streamed and message.stream_stopped
        assert unescape(message.visible) == f"Streamed answer {n}."  # neither lost nor doubled
        assert [b["type"] for b in feedback_rows(message)] == ["actions"]
    # Learned once, as in edit mode: the second answer stops with plain buttons at once.
    assert [c.error for c in h.fake.calls_to("chat.stopStream")] == ["invalid_blocks", None, None]
    assert h.fake.calls_to("chat.update") == []


async def test_a_native_pane_answer_whose_buttons_are_all_refused_still_stops_with_its_text(slack_bot, caplog):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    h.fake.unknown_block_types.update({"context_actions", "actions"})
    thread_ts = await open_pane(h)
    (message,) = await ask(h, thread_ts, "q", "Stopped all the same.", delay=0.02)

    assert message.stream_stopped and unescape(message.visible) == "Stopped all the same."
    assert feedback_rows(message) == []
    assert [c.error for c in h.fake.calls_to("chat.stopStream")] == ["invalid_blocks", "invalid_blocks", None]
    assert "stopping the stream without them" in caplog.text


async def test_a_pane_answer_with_no_stream_start_free_is_edited_and_still_rated(slack_bot, caplog):
    caplog.set_level(logging.INFO, logger="trickle.slack")
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    thread_ts = await open_pane(h)
    starts = h.bot.budgets.stream_starts(h.fake.team_id)
    while await starts.take_now():  # every chat.startStream permit spent (refilled in 3.3 s)
        pass
    since = len(h.fake.calls)
    (message,) = await ask(h, thread_ts, "q", "Edited, with buttons.", delay=0.02)

    methods = {c.method for c in h.fake.calls[since:]}
    assert "no chat.startStream free" in caplog.text
    assert "chat.update" in methods and "chat.startStream" not in methods
    assert not message.streamed and unescape(message.visible) == "Edited, with buttons."
    assert [b["type"] for b in feedback_rows(message)] == ["context_actions"]


async def test_a_long_native_pane_answer_has_the_buttons_on_its_last_page_only(slack_bot):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    thread_ts = await open_pane(h)
    # Still streaming when a page fills, so each page is a stream of its own.
    pages = await ask(h, thread_ts, "long", LONG, chunk_size=40, delay=0.03)

    assert len(pages) >= 2 and all(p.streamed and p.stream_stopped for p in pages)
    assert join_pages([unescape(p.visible) for p in pages], LONG) == LONG
    assert [len(feedback_rows(p)) for p in pages] == [0] * (len(pages) - 1) + [1]
    with_blocks = [bool(c.params.get("blocks")) for c in h.fake.calls_to("chat.stopStream")]
    assert with_blocks == [False] * (len(pages) - 1) + [True]


async def test_a_native_pane_answer_expired_before_its_stop_gets_its_buttons_by_chat_update(slack_bot, fake_slack):
    fake_slack.stream_ttl = 1.0
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    thread_ts = await open_pane(h)
    # Slack says come back in 2 s: by then the stream has expired, its text shown.
    h.fake.fail("chat.stopStream", "ratelimited", status=429, retry_after=2)
    (message,) = await ask(h, thread_ts, "q", "Shown before it expired.", delay=0.01)

    stops = [c.error for c in h.fake.calls_to("chat.stopStream")]
    assert stops == ["ratelimited", "message_not_in_streaming_state"]
    assert unescape(message.visible) == "Shown before it expired."
    assert [b["type"] for b in feedback_rows(message)] == ["context_actions"]
