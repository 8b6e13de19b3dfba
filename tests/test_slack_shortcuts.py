"""Message shortcuts end to end, real bolt and slack_sdk against FakeSlack, on Socket Mode
and HTTP: "Summarize thread" (`summarize_thread`) and "Ask trickle about this"
(`ask_about_message`, with its modal)."""

from __future__ import annotations

import json

import pytest

from bots.slack.commands import NOT_A_MEMBER
from bots.slack.shortcuts import ASK_ABOUT, QUESTION_BLOCK, QUESTION_INPUT, SUMMARIZE, SUMMARY_REQUEST
from core.question import USAGE_HINT
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import unescape
from tests.slack_harness import wait_until

MODES = pytest.mark.parametrize("mode", ["socket", "http"])
SUMMARY = "Alice and Bob counted from 0 to 199 & agreed <nothing> else."


def bot_pages(h, channel: str, thread_ts: str) -> list:
    return h.fake.thread(channel, thread_ts)  # the bot's replies in it, in order


async def submit(h, payload: dict) -> dict | None:
    """Deliver a view submission; the app's response payload (None: the modal closes)."""
    if h.events_url is None:
        ack = await h.fake.wait_ack(await h.fake.send_interaction(payload))
        return ack.get("payload") or None
    assert await h.fake.post_interaction(h.events_url, payload) == 200
    body = h.fake.http_deliveries[-1].body
    return json.loads(body) if body.strip() else None


@MODES
async def test_a_200_message_thread_is_summarised_from_at_most_3_reads_then_from_the_cache(slack_bot, mode):
    # A history budget that holds a few messages: a summary reads the whole thread anyway.
    h = await slack_bot(mode, TRICKLE_HISTORY_TOKENS="300")
    thread_ts = h.fake.seed_thread("C1", 200, users=("UALICE", "UBOB"))
    clicked = [m for m in h.fake.messages("C1") if m.thread_ts == thread_ts][57].ts
    h.model.script_queue.append(script_from_text(SUMMARY, delay=0.005))
    await h.click(h.fake.message_shortcut_payload(SUMMARIZE, channel="C1", message_ts=clicked, user="UALICE"))
    await wait_until(lambda: bot_pages(h, "C1", thread_ts) and "Bob" in bot_pages(h, "C1", thread_ts)[-1].visible, 10)
    await h.settle()

    reads = len(h.fake.calls_to("conversations.replies"))
    print(f"conversations.replies calls for a 200-message thread: {reads}")
    assert 1 <= reads <= 3
    assert [unescape(m.visible) for m in bot_pages(h, "C1", thread_ts)] == [SUMMARY]  # exact, nothing before it
    sent = h.model.requests[-1]["messages"]
    seen = "\n".join(str(m["content"]) for m in sent)
    assert "message 0" in seen and "message 199" in seen  # the whole thread, oldest to newest
    assert SUMMARY_REQUEST in str(sent[-1]["content"])

    # Again: the thread comes from the cached copy, and a second summary is posted.
    h.model.script_queue.append(script_from_text("Still counting.", delay=0.005))
    await h.click(h.fake.message_shortcut_payload(SUMMARIZE, channel="C1", message_ts=thread_ts, user="UBOB"))
    await wait_until(lambda: len(bot_pages(h, "C1", thread_ts)) == 2, 10)
    await h.settle()
    assert len(h.fake.calls_to("conversations.replies")) == reads
    assert unescape(bot_pages(h, "C1", thread_ts)[-1].visible) == "Still counting."


async def test_a_summarised_thread_is_not_followed_but_its_later_replies_are_remembered(slack_bot):
    h = await slack_bot()
    thread_ts = h.fake.seed_thread("C1", 5, users=("UALICE", "UBOB"))
    h.model.script_queue.append(script_from_text("Five messages.", delay=0.005))
    await h.click(h.fake.message_shortcut_payload(SUMMARIZE, channel="C1", message_ts=thread_ts, user="UALICE"))
    await wait_until(lambda: bot_pages(h, "C1", thread_ts), 10)
    await h.settle()
    asked = len(h.model.requests)

    # A reply without a mention: not a question to the bot (it was not asked here)...
    await h.deliver(h.fake.message_event("UBOB", "the launch code is fennel", "C1", thread_ts=thread_ts))
    await h.settle()
    assert len(h.model.requests) == asked
    assert len(bot_pages(h, "C1", thread_ts)) == 1

    # ...but it is in the history the next question reads, with no new read of the thread.
    reads = len(h.fake.calls_to("conversations.replies"))
    h.model.script_queue.append(script_from_text("Fennel.", delay=0.005))
    mention = h.fake.message_event(
        "UALICE", f"<@{h.fake.bot_user_id}> what is the launch code?", "C1", thread_ts=thread_ts
    )
    await h.deliver(mention)
    await wait_until(lambda: len(bot_pages(h, "C1", thread_ts)) == 2, 10)
    await h.settle()
    seen = "\n".join(str(m["content"]) for m in h.model.requests[-1]["messages"])
    assert "fennel" in seen
    assert len(h.fake.calls_to("conversations.replies")) == reads


async def test_a_summary_where_the_bot_is_not_a_member_is_explained_privately(slack_bot, fake_slack):
    fake_slack.not_in_channels.add("C9")
    h = await slack_bot()
    thread_ts = h.fake.seed_thread("C9", 3)
    await h.click(h.fake.message_shortcut_payload(SUMMARIZE, channel="C9", message_ts=thread_ts, user="UALICE"))
    await wait_until(lambda: bool(h.fake.responses), 5)
    await h.settle()
    reply = h.fake.responses[-1]["body"]
    assert reply.get("response_type") == "ephemeral" and NOT_A_MEMBER in str(reply.get("text"))
    assert h.model.requests == [] and bot_pages(h, "C9", thread_ts) == []


@MODES
async def test_ask_about_a_message_opens_a_modal_and_answers_in_its_thread(slack_bot, mode):
    h = await slack_bot(mode)
    (message_ts,) = h.fake.seed_messages("C1", 1, users=("UBOB",), text="the deploy died with exit code 137")
    await h.click(h.fake.message_shortcut_payload(ASK_ABOUT, channel="C1", message_ts=message_ts, user="UALICE"))
    await wait_until(lambda: h.fake.views, 5)
    [view] = h.fake.views

    blank = h.fake.view_submission_payload(view["id"], {QUESTION_BLOCK: {QUESTION_INPUT: "   "}}, user="UALICE")
    refused = await submit(h, blank)
    assert refused == {"response_action": "errors", "errors": {QUESTION_BLOCK: USAGE_HINT}}
    assert bot_pages(h, "C1", message_ts) == []

    h.model.script_queue.append(script_from_text("137 means it was killed: out of memory.", delay=0.005))
    asked = h.fake.view_submission_payload(
        view["id"], {QUESTION_BLOCK: {QUESTION_INPUT: "what does 137 mean?"}}, user="UALICE"
    )
    assert await submit(h, asked) is None
    await wait_until(lambda: any("memory" in m.visible for m in bot_pages(h, "C1", message_ts)), 10)
    await h.settle()

    pages = [unescape(m.visible) for m in bot_pages(h, "C1", message_ts)]
    assert pages == ["*Alice* asked about this: what does 137 mean?", "137 means it was killed: out of memory."]
    question = str(h.model.requests[-1]["messages"][-1]["content"])
    assert "exit code 137" in question and "what does 137 mean?" in question and "Bob" in question
