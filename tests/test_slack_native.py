"""TRICKLE_SLACK_STREAM=native: chat.startStream/appendStream/stopStream, and the fallbacks."""

from __future__ import annotations

import json

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.budgets import SlackLimits
from bots.slack.messages import feedback_buttons
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import unescape, visible_text
from tests.slack_harness import LONG, wait_until

TEXT = "Native **streaming** works & <!here> stays text.\n\n- one\n- two"


async def test_a_mention_is_streamed_natively_with_the_exact_text(slack_bot):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    # Slow enough (about 2 s) for the planner to spread more than one append over it.
    h.model.script_queue.append(script_from_text(TEXT, delay=0.15))
    event = h.fake.mention_event("UALICE", "stream it", "C1")
    await h.deliver(event)
    await h.settle()
    (message,) = h.pages("C1", event["ts"])
    assert message.streamed and message.stream_stopped
    assert unescape(message.visible) == TEXT
    assert message.stream_recipient == ("UALICE", "T1")
    assert len(h.fake.calls_to("chat.appendStream")) >= 2
    assert h.fake.calls_to("chat.update") == [] and h.fake.calls_to("chat.postMessage") == []
    # The final text is appended like the rest; the stop (Tier 2) comes after, with nothing new.
    appended = "".join(str(c.params.get("markdown_text") or "") for c in h.fake.calls_to("chat.appendStream"))
    assert unescape(appended) == TEXT
    (stop,) = h.fake.calls_to("chat.stopStream")
    assert not stop.params.get("markdown_text") and not stop.params.get("blocks")  # buttons: the pane's only
    for call in h.fake.calls:
        assert "<!" not in json.dumps(call.params)


async def test_an_expired_stream_is_finished_with_chat_update(slack_bot, fake_slack):
    fake_slack.stream_ttl = 0.5
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    text = "slowly " * 40
    h.model.script_queue.append(script_from_text(text, delay=0.04))
    event = h.fake.mention_event("UALICE", "take long", "C1")
    await h.deliver(event)
    await h.settle()
    (message,) = h.pages("C1", event["ts"])
    assert unescape(message.visible) == text
    assert [c.error for c in h.fake.calls_to("chat.appendStream") if c.error][:1] == ["message_not_in_streaming_state"]
    assert h.fake.calls_to("chat.update")


async def test_without_native_streaming_the_bot_falls_back_to_edits(slack_bot, fake_slack, caplog):
    fake_slack.native_streaming = False
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    for n in range(2):
        h.model.script_queue.append(script_from_text(f"Edited answer {n}.", delay=0.02))
        event = h.fake.mention_event("UALICE", f"q{n}", "C1")
        await h.deliver(event)
        await h.settle()
        assert [unescape(m.visible) for m in h.pages("C1", event["ts"])] == [f"Edited answer {n}."]
    assert len(h.fake.calls_to("chat.startStream")) == 1  # tried once, then edit mode for good
    assert "native streaming is unavailable (unknown_method)" in caplog.text


async def test_a_stream_refused_for_another_reason_answers_that_question_with_edits(slack_bot, caplog):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    h.fake.fail("chat.startStream", "channel_type_not_supported")
    h.model.script_queue.append(script_from_text("Answered anyway.", delay=0.02))
    event = h.fake.mention_event("UALICE", "q", "C1")
    await h.deliver(event)
    await h.settle()
    assert [unescape(m.visible) for m in h.pages("C1", event["ts"])] == ["Answered anyway."]
    assert "chat.startStream refused" in caplog.text and "channel_type_not_supported" in caplog.text
    h.model.script_queue.append(script_from_text("Streamed again.", delay=0.02))
    event = h.fake.mention_event("UALICE", "q2", "C1")
    await h.deliver(event)
    await h.settle()
    (message,) = h.pages("C1", event["ts"])
    assert message.streamed and unescape(message.visible) == "Streamed again."  # only that one


async def test_a_top_level_dm_is_answered_in_edit_mode(slack_bot):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    h.model.script_queue.append(script_from_text("Hi in the DM."))
    await h.deliver(h.fake.message_event("UALICE", "hello", "D1"))
    await wait_until(lambda: h.pages("D1", None), 5)
    await h.settle()
    assert [unescape(m.visible) for m in h.pages("D1", None)] == ["Hi in the DM."]
    assert h.fake.calls_to("chat.startStream") == []


async def test_a_long_native_answer_continues_in_more_streams(slack_bot):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    # Still streaming when the first page fills (about 2 s in all), so the next page
    # opens a stream of its own rather than being posted whole at the end.
    h.model.script_queue.append(script_from_text(LONG, chunk_size=40, delay=0.03))
    event = h.fake.mention_event("UALICE", "long", "C1")
    await h.deliver(event)
    await h.settle()
    pages = h.pages("C1", event["ts"])
    assert len(pages) >= 2 and all(p.stream_stopped for p in pages)
    assert h.shown("C1", event["ts"], LONG) == LONG


async def test_a_stream_that_waited_for_the_channels_post_budget_opens_with_the_words_so_far(slack_bot):
    # One post a second in C1: the second answer's stream starts about a second late,
    # and shows at once what the model wrote meanwhile.
    h = await slack_bot(limits=SlackLimits(posts_per_second=1.0, post_burst=1), TRICKLE_SLACK_STREAM="native")
    texts = [f"Answer {n} comes word by word, " + "and more " * 20 for n in range(2)]
    events = []
    for n, text in enumerate(texts):
        h.model.script_queue.append(script_from_text(text, delay=0.05))
        events.append(h.fake.mention_event(f"U{n}", f"q{n}", "C1"))
    for event in events:
        await h.deliver(event)
    await h.settle()
    for text, event in zip(texts, events, strict=True):
        (message,) = h.pages("C1", event["ts"])
        assert message.streamed and unescape(message.visible) == text
    openings = [str(c.params.get("markdown_text") or "") for c in h.fake.calls_to("chat.startStream")]
    assert openings[0] == "" and openings[1] and any(text.startswith(unescape(openings[1])) for text in texts)


async def test_more_answers_than_stream_starts_go_on_in_edit_mode_without_a_429(slack_bot):
    # Slack allows chat.startStream and chat.stopStream about 20 a minute (Tier 2; the
    # fake: bursts of 5), trickle paces to 18 with bursts of 3: of six answers at once,
    # three stream natively and three are edited, and none waits for a start.
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    events = []
    for n in range(6):
        h.model.script_queue.append(script_from_text(f"Answer number {n}, streamed or edited.", delay=0.05))
        events.append(h.fake.mention_event(f"U{n}", f"q{n}", f"C{n}"))
    for event in events:
        await h.deliver(event)
    await h.settle()
    streamed = 0
    for n, event in enumerate(events):
        (message,) = h.pages(f"C{n}", event["ts"])
        assert unescape(message.visible) == f"Answer number {n}, streamed or edited."
        assert not message.streamed or message.stream_stopped
        streamed += message.streamed
    # Three at once; a fourth only if the deliveries took over 3.3 s (a slow machine).
    assert streamed == len(h.fake.calls_to("chat.startStream")) == len(h.fake.calls_to("chat.stopStream"))
    assert streamed in (3, 4) and len(h.fake.calls_to("chat.postMessage")) == 6 - streamed
    assert sum(h.fake.rate_limited.values()) == 0


async def test_a_rate_limited_start_answers_in_edit_mode_at_once(slack_bot, caplog):
    h = await slack_bot(TRICKLE_SLACK_STREAM="native")
    h.fake.fail("chat.startStream", "ratelimited", status=429, retry_after=30)
    # Slack says 30 s: the first answer is edited at once, and the next one does not
    # try a stream meanwhile.
    for n, text in enumerate(("Edited, not queued.", "Edited again.")):
        h.model.script_queue.append(script_from_text(text, delay=0.02))
        event = h.fake.mention_event("UALICE", f"q{n}", "C1")
        await h.deliver(event)
        await h.settle()
        (message,) = h.pages("C1", event["ts"])
        assert not message.streamed and unescape(message.visible) == text
    assert "chat.startStream rate limited" in caplog.text
    assert len(h.fake.calls_to("chat.startStream")) == 1


async def test_the_fake_checks_the_blocks_of_a_stop_and_keeps_them_below_the_text(fake_slack):
    client = AsyncWebClient(base_url=fake_slack.api_url, token="xoxb-test")
    ts = (await client.chat_startStream(channel="D1", thread_ts="1.000001", markdown_text="Answer"))["ts"]
    row = feedback_buttons("A1")
    for blocks in ([row] * (fake_slack.max_blocks + 1), [{"text": "no type"}]):
        with pytest.raises(SlackApiError) as refused:
            await client.chat_stopStream(channel="D1", ts=ts, blocks=blocks)
        assert refused.value.response["error"] == "invalid_blocks"
    (message,) = fake_slack.thread("D1", "1.000001")
    assert not message.stream_stopped and message.blocks is None  # a refused stop changes nothing

    await client.chat_stopStream(channel="D1", ts=ts, blocks=[row])
    assert message.stream_stopped and message.blocks == [row] and message.history[-1].blocks == [row]
    assert visible_text(message) == "Answer"  # the buttons render below the answer, not in it
    fake_slack.method_buckets["chat.stopStream"].tokens = 0.0  # still Tier 2, blocks or not
    with pytest.raises(SlackApiError) as limited:
        await client.chat_stopStream(channel="D1", ts=ts, blocks=[row])
    assert limited.value.response.status_code == 429
