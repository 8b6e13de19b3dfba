"""One answer per message, followed threads, and the thread as the model's conversation."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import unescape
from tests.slack_harness import wait_until


def answers(h, channel: str, thread_ts: str) -> list[str]:
    return [unescape(m.visible) for m in h.pages(channel, thread_ts)]


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_a_retried_event_gives_one_answer(slack_bot, mode):
    h = await slack_bot(mode)
    h.model.default = script_from_text("Only once.", delay=0.02)
    event = h.fake.mention_event("UALICE", "hello", "C1")
    event_id = h.fake.new_event_id()
    await h.deliver(event, event_id=event_id)
    await h.deliver(event, event_id=event_id, retry_num=1)
    await h.deliver(event, event_id=event_id, retry_num=2)
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    await h.settle()
    assert answers(h, "C1", event["ts"]) == ["Only once."]
    assert len(h.model.requests) == 1


async def test_http_events_are_acknowledged_at_once_even_while_answering(slack_bot):
    h = await slack_bot("http")
    h.model.default = script_from_text("slow " * 20, delay=0.05)
    status = await h.deliver(h.fake.mention_event("UALICE", "take your time", "C1"))
    assert status == 200
    assert h.fake.http_deliveries[-1].elapsed < 1.0
    await h.settle()


async def test_the_app_mention_and_message_pair_gives_one_answer(slack_bot):
    h = await slack_bot()
    h.model.default = script_from_text("One answer.", delay=0.02)
    mention = h.fake.mention_event("UALICE", "hi", "C1")
    message = h.fake.message_event("UALICE", mention["text"], "C1", ts=mention["ts"])
    await asyncio.gather(h.deliver(message), h.deliver(mention))
    await wait_until(lambda: h.pages("C1", mention["ts"]), 5)
    await h.settle()
    assert answers(h, "C1", mention["ts"]) == ["One answer."]
    assert len(h.model.requests) == 1


async def test_the_bots_own_echoed_messages_and_edits_are_ignored(slack_bot, fake_slack):
    fake_slack.echo_events = True  # every post and chat.update comes back as an event
    h = await slack_bot()
    h.model.default = script_from_text("Echo " * 10, delay=0.02)
    event = h.fake.mention_event("UALICE", "echo test", "C1")
    await h.deliver(event)
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    await h.settle()
    await asyncio.sleep(0.3)
    await h.settle()
    assert len(h.model.requests) == 1
    assert len(h.pages("C1", event["ts"])) == 1


async def test_other_bots_and_edited_or_deleted_messages_get_no_answer(slack_bot):
    h = await slack_bot()
    mention = h.fake.mention_event("UALICE", "first", "C1")
    other_bot = {**h.fake.message_event("UOTHER", "<@UBOT> hi bot", "C1"), "bot_id": "BOTHER"}
    bot_message = {**h.fake.message_event("UOTHER", "<@UBOT> hi", "C1"), "subtype": "bot_message"}
    changed = {
        **h.fake.message_event("UALICE", "", "C1"),
        "subtype": "message_changed",
        "message": {"text": "<@UBOT> edited", "user": "UALICE", "ts": mention["ts"]},
    }
    deleted = {**h.fake.message_event("UALICE", "", "C1"), "subtype": "message_deleted"}
    for event in (other_bot, bot_message, changed, deleted):
        await h.deliver(event)
    await asyncio.sleep(0.3)
    await h.settle()
    assert h.model.requests == []
    assert not [m for m in h.fake.messages("C1") if m.bot_id == h.fake.bot_id]


async def test_a_follow_up_in_a_followed_thread_is_answered_with_the_history(slack_bot):
    h = await slack_bot()
    h.model.script_queue.extend([script_from_text("Paris."), script_from_text("About 2.1 million.")])
    first = h.fake.mention_event("UALICE", "what is the capital of France?", "C1")
    await h.deliver(first)
    await wait_until(lambda: answers(h, "C1", first["ts"]) == ["Paris."], 5)
    await h.settle()

    follow_up = h.fake.message_event("UALICE", "and its population?", "C1", thread_ts=first["ts"])
    await h.deliver(follow_up)
    await wait_until(lambda: len(h.pages("C1", first["ts"])) == 2, 5)
    await h.settle()
    assert answers(h, "C1", first["ts"]) == ["Paris.", "About 2.1 million."]
    messages = h.model.requests[1]["messages"]
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "what is the capital of France?"),
        ("assistant", "Paris."),
        ("user", "and its population?"),
    ]
    assert h.fake.calls_to("conversations.replies") == []  # kept up to date locally


async def test_a_reply_in_a_thread_the_bot_does_not_follow_is_ignored(slack_bot):
    h = await slack_bot()
    root = h.fake.message_event("UALICE", "lunch?", "C1")
    h.fake.store_event(root)
    await h.deliver(h.fake.message_event("UBOB", "sure", "C1", thread_ts=root["ts"]))
    await h.deliver(h.fake.message_event("UBOB", "top level chatter", "C1"))
    await asyncio.sleep(0.3)
    await h.settle()
    assert h.model.requests == []


async def test_a_mention_inside_a_thread_reads_the_thread_with_names(slack_bot):
    h = await slack_bot()
    root = h.fake.message_event("UALICE", "Should we use Postgres or <@UBOB>'s SQLite idea?", "C1")
    h.fake.store_event(root)
    h.fake.store_event(h.fake.message_event("UBOB", "SQLite is simpler &amp; faster", "C1", thread_ts=root["ts"]))
    h.model.default = script_from_text("Postgres, for concurrency.")
    mention = h.fake.mention_event("UALICE", "what do you think?", "C1", thread_ts=root["ts"])
    await h.deliver(mention)
    await wait_until(lambda: h.pages("C1", root["ts"]), 5)
    await h.settle()
    messages = h.model.requests[0]["messages"]
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "Alice: Should we use Postgres or @Bob's SQLite idea?"),
        ("user", "Bob: SQLite is simpler & faster"),
        ("user", "Alice: what do you think?"),
    ]
    assert answers(h, "C1", root["ts"]) == ["Postgres, for concurrency."]

    # Bob answers Alice in the thread (not the bot), then asks the bot: one fetch in all.
    await h.deliver(h.fake.message_event("UBOB", "<@UALICE> fair point", "C1", thread_ts=root["ts"]))
    await h.deliver(h.fake.message_event("UBOB", "ok, and indexes?", "C1", thread_ts=root["ts"]))
    await wait_until(lambda: len(h.model.requests) == 2, 5)
    await h.settle()
    later = [(m["role"], m["content"]) for m in h.model.requests[1]["messages"][1:]]
    assert later[-4:] == [
        ("user", "Alice: what do you think?"),
        ("assistant", "Postgres, for concurrency."),
        ("user", "Bob: @Alice fair point"),
        ("user", "Bob: ok, and indexes?"),
    ]
    assert len(h.fake.calls_to("conversations.replies")) == 1


async def test_when_slack_will_not_give_the_thread_the_answer_goes_ahead_without_it(slack_bot, fake_slack, caplog):
    fake_slack.fail("conversations.replies", "ratelimited", status=429, retry_after=60)
    h = await slack_bot()
    root = h.fake.message_event("UBOB", "some context", "C1")
    h.fake.store_event(root)
    h.model.default = script_from_text("Answered anyway.")
    mention = h.fake.mention_event("UALICE", "help?", "C1", thread_ts=root["ts"])
    await h.deliver(mention)
    await wait_until(lambda: h.pages("C1", root["ts"]), 5)
    await h.settle()
    assert answers(h, "C1", root["ts"]) == ["Answered anyway."]
    assert [m["role"] for m in h.model.requests[0]["messages"]] == ["system", "user"]
    assert "could not read the conversation in C1 (ratelimited)" in caplog.text


async def test_a_second_question_from_the_same_person_waits_for_the_first(slack_bot):
    h = await slack_bot()
    h.model.script_queue.extend([script_from_text("first " * 30, delay=0.03), script_from_text("Second.")])
    one = h.fake.mention_event("UALICE", "one", "C1")
    two = h.fake.mention_event("UALICE", "two", "C2")
    await h.deliver(one)
    await wait_until(lambda: h.pages("C1", one["ts"]), 5)
    await h.deliver(two)
    await h.settle()
    assert answers(h, "C2", two["ts"]) == ["Second."]
    assert answers(h, "C1", one["ts"]) == ["first " * 30]
    first, second = sorted({cid for cid, *_ in h.model.emitted})
    last_of_first = max(t for cid, _, t, _ in h.model.emitted if cid == first)
    assert min(t for cid, _, t, _ in h.model.emitted if cid == second) >= last_of_first  # one at a time
