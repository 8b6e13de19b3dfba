"""Mentions and DMs answered end to end: real bolt/slack_sdk/AsyncOpenAI against fakes.

Each test starts the adapter as `trickle slack` builds it (bots.slack.service.start) and
drives it over Socket Mode or signed HTTP; what users see is read back from FakeSlack.
"""

from __future__ import annotations

import json

import pytest

from bots.slack.messages import INDICATOR, PLACEHOLDER, STOP_ACTION
from tests.fakes.openai_server import Script, script_from_text
from tests.fakes.slack_server import unescape
from tests.slack_harness import LONG, wait_until

POEM = (
    "Spring wakes the meadow, soft and green,\n"
    "with **blossoms** bright where frost has been.\n\n"
    "- robins sing\n- brooks run free & <everyone> hears the melody.\n\n"
    "```python\nprint('spring')\n```"
)


def has_button(message) -> bool:
    return any(b.get("type") == "actions" for b in message.blocks or [])


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_mention_is_answered_in_a_thread_with_the_exact_text(slack_bot, mode):
    h = await slack_bot(mode)
    h.model.script_queue.append(script_from_text(POEM, delay=0.03))
    event = h.fake.mention_event("UALICE", "write a poem about spring", "C1")
    await h.deliver(event)
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    await h.settle()

    pages = h.pages("C1", event["ts"])
    assert len(pages) == 1
    answer = pages[0]
    assert unescape(answer.visible) == POEM
    assert not has_button(answer)
    versions = [unescape(text) for _, text in answer.visible_history()]
    assert versions[0] == PLACEHOLDER
    interim = versions[1:-1]
    assert len(interim) >= 2
    for text in interim:
        assert text.endswith(INDICATOR)
        assert POEM.startswith(text[: -len(INDICATOR)])
    request = h.model.requests[0]
    assert request["messages"][-1] == {"role": "user", "content": "write a poem about spring"}
    assert request["messages"][0]["role"] == "system"


async def test_placeholder_carries_a_stop_button_for_this_answer(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("one two three four", delay=0.2))
    event = h.fake.mention_event("UALICE", "count", "C1")
    await h.deliver(event)
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    placeholder = h.pages("C1", event["ts"])[0].history[0]
    buttons = [e for b in placeholder.blocks or [] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [STOP_ACTION]
    assert buttons[0]["value"]
    await h.settle()


async def test_dm_is_answered_at_the_top_level_of_the_dm(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("Hello Alice!", delay=0.01))
    await h.deliver(h.fake.message_event("UALICE", "hi there", "D1"))
    await wait_until(lambda: h.pages("D1", None), 5)
    await h.settle()
    pages = h.pages("D1", None)
    assert [unescape(p.visible) for p in pages] == ["Hello Alice!"]
    assert all(p.thread_ts is None for p in pages)


async def test_dm_asked_in_a_thread_is_answered_in_that_thread(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("In the thread.", delay=0.01))
    root = h.fake.message_event("UALICE", "earlier", "D1")
    h.fake.store_event(root)
    await h.deliver(h.fake.message_event("UALICE", "and now?", "D1", thread_ts=root["ts"]))
    await wait_until(lambda: h.pages("D1", root["ts"]), 5)
    await h.settle()
    assert [unescape(p.visible) for p in h.pages("D1", root["ts"])] == ["In the thread."]


async def test_thinking_status_is_set_while_waiting_and_never_blocks(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("Done.", first_delay=0.3))
    event = h.fake.mention_event("UALICE", "think", "C1")
    await h.deliver(event)
    await h.settle()
    statuses = [s["status"] for s in h.fake.statuses if s["thread_ts"] == event["ts"]]
    assert statuses and statuses[0] == "is thinking…"
    assert unescape(h.pages("C1", event["ts"])[0].visible) == "Done."


async def test_a_status_refused_for_lack_of_scope_is_ignored(slack_bot, fake_slack):
    fake_slack.assistant_scope = False
    h = await slack_bot()
    for n in range(2):
        h.model.script_queue.append(script_from_text(f"Answer {n}."))
        event = h.fake.mention_event("UALICE", f"q{n}", "C1")
        await h.deliver(event)
        await h.settle()
        assert unescape(h.pages("C1", event["ts"])[0].visible) == f"Answer {n}."
    assert len(h.fake.calls_to("assistant.threads.setStatus")) == 1  # then it stops trying


async def test_raw_payloads_are_json_with_markdown_blocks(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("a < b & c > d"))
    event = h.fake.mention_event("UALICE", "compare", "C1")
    await h.deliver(event)
    await h.settle()
    final = h.fake.calls_to("chat.update")[-1].params
    assert final["blocks"] == [{"type": "markdown", "text": "a &lt; b &amp; c &gt; d"}]
    assert "&lt;" in json.dumps(final["text"])


async def test_empty_mention_gets_the_usage_hint_and_no_model_call(slack_bot):
    h = await slack_bot()
    event = h.fake.mention_event("UALICE", "", "C1")
    await h.deliver(event)
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    await h.settle()
    (hint,) = h.pages("C1", event["ts"])
    assert "Ask me something" in unescape(hint.visible)
    assert h.model.requests == []


async def test_mention_injection_in_model_output_is_shown_literally_and_never_pings(slack_bot):
    nasty = "Sure: <!channel> @everyone <@U123> <!here> <#C999> <!subteam^S1> &amp; done"
    h = await slack_bot()
    h.model.script_queue.append(script_from_text(nasty, chunk_size=3, delay=0.01))
    event = h.fake.mention_event("UALICE", "say something rude", "C1")
    await h.deliver(event)
    await h.settle()
    (answer,) = h.pages("C1", event["ts"])
    assert unescape(answer.visible) == nasty
    sent = [c for c in h.fake.calls if c.method.startswith("chat.")]
    assert sent
    for call in sent:
        raw = json.dumps(call.params, ensure_ascii=False)
        assert "<!" not in raw and "<@" not in raw and "<#" not in raw, call.method


async def test_a_long_answer_continues_in_more_thread_messages_exactly(slack_bot):
    assert len(LONG) > 5000
    h = await slack_bot()
    h.model.script_queue.append(script_from_text(LONG, chunk_size=40, delay=0.002))
    event = h.fake.mention_event("UALICE", "write a long program", "C1")
    await h.deliver(event)
    await h.settle()
    pages = h.pages("C1", event["ts"])
    assert len(pages) >= 2
    assert h.shown("C1", event["ts"], LONG) == LONG
    for page in pages:
        assert not has_button(page)
        for _, text in page.visible_history():
            assert len(text) <= 3500 + len(INDICATOR)
    assert any(unescape(p.visible).startswith("```python\n") for p in pages[1:])  # fence reopened
    assert not [c for c in h.fake.calls if c.error]  # never msg_too_long
    # The notification `text` carries the whole page too, for clients that read it.
    assert [p.text for p in pages] == [p.visible for p in pages]


async def test_model_failing_mid_stream_keeps_the_text_and_adds_a_notice(slack_bot):
    h = await slack_bot()
    text = "The first part arrives fine, and then"
    h.model.script_queue.append(script_from_text(text, delay=0.01, fail="drop", fail_after=5))
    event = h.fake.mention_event("UALICE", "try", "C1")
    await h.deliver(event)
    await h.settle()
    (answer,) = h.pages("C1", event["ts"])
    shown = unescape(answer.visible)
    partial = "".join(h.model.emitted[i][3] for i in range(5))
    assert shown.startswith(partial.rstrip())
    assert shown.endswith("— ask again)_")
    assert not has_button(answer) and PLACEHOLDER not in shown


async def test_placeholder_refused_with_not_in_channel_is_logged_clearly(slack_bot, fake_slack, caplog):
    fake_slack.not_in_channels.add("C9")
    h = await slack_bot()
    await h.deliver(h.fake.mention_event("UALICE", "hello?", "C9"))
    await wait_until(lambda: h.fake.calls_to("chat.postMessage"), 5)
    await h.settle()
    assert h.pages("C9", None) == []
    assert "not_in_channel" in caplog.text and "/invite" in caplog.text


async def test_msg_too_long_below_our_page_size_still_finishes_the_message(slack_bot, fake_slack):
    fake_slack.max_markdown_text = 1500  # a workspace stricter than the 3,500 we plan for
    h = await slack_bot()
    text = " ".join(f"word{n}" for n in range(500))
    h.model.script_queue.append(script_from_text(text, delay=0.002))
    event = h.fake.mention_event("UALICE", "write a lot", "C1")
    await h.deliver(event)
    await h.settle()
    (page,) = h.pages("C1", event["ts"])
    shown = unescape(page.visible)
    assert not has_button(page) and not shown.endswith(INDICATOR)
    kept = shown.split("\n\n_(")[0]
    assert kept and text.startswith(kept)
    assert shown == kept or shown.endswith("msg_too_long — ask again)_")


async def test_a_stall_inside_indentation_still_finishes_the_message(slack_bot):
    h = await slack_bot(TRICKLE_IDLE_TIMEOUT="1")
    tokens = ["```python\n", "def f():\n", "    ", "return 1", "never"]
    h.model.script_queue.append(Script(tokens=tokens, delay=0.05, fail="stall", fail_after=3))
    event = h.fake.mention_event("UALICE", "lines", "C1")
    await h.deliver(event)
    await h.settle()
    (answer,) = h.pages("C1", event["ts"])
    shown = unescape(answer.visible)
    assert shown.startswith("```python\ndef f():\n    \n")  # the trailing spaces kept
    assert "\n\n_(the model failed: timeout — ask again)_" in shown
    assert not has_button(answer)
