"""Many answers at once share Slack's allowances: no 429 in steady state, exact texts."""

from __future__ import annotations

import asyncio
import time

from bots.slack.budgets import SlackLimits
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import TokenBucket, unescape
from tests.slack_harness import wait_until

UPDATE_BURST, UPDATES_PER_S = 10, 50 / 60  # FakeSlack's defaults, Slack's Tier 3
POST_BURST, POSTS_PER_S = 5, 1.0


def within_bucket(times: list[float], burst: float, rate: float) -> bool:
    """Whether calls at `times` fit a token bucket of `burst`, refilled at `rate`."""
    times = sorted(times)
    return all(
        j - i + 1 <= burst + rate * (times[j] - times[i]) + 1e-6
        for i in range(len(times))
        for j in range(i, len(times))
    )


def answer_text(n: int) -> str:
    return f"Answer for person {n}: " + " ".join(f"w{n}-{k}" for k in range(50)) + " & done <ok>."


async def test_ten_people_at_once_in_one_channel_all_get_exact_answers_without_429(slack_bot):
    h = await slack_bot()
    scripts = {f"question {n}": script_from_text(answer_text(n), delay=0.04) for n in range(10)}
    h.model.responder = lambda body: scripts[body["messages"][-1]["content"]]
    events = [h.fake.mention_event(f"U{n:02d}", f"question {n}", "C1") for n in range(10)]
    started = time.monotonic()
    await asyncio.gather(*(h.deliver(e) for e in events))
    await wait_until(lambda: all(h.pages("C1", e["ts"]) for e in events), 20)
    await h.settle(60)
    elapsed = time.monotonic() - started

    for n, event in enumerate(events):
        (page,) = h.pages("C1", event["ts"])
        assert unescape(page.visible) == answer_text(n)
    assert h.fake.rate_limited["chat.update"] == 0
    assert h.fake.rate_limited["chat.postMessage"] == 0
    updates = [c.time for c in h.fake.calls_to("chat.update")]
    posts = [c.time for c in h.fake.calls_to("chat.postMessage")]
    assert within_bucket(updates, UPDATE_BURST, UPDATES_PER_S)
    assert within_bucket(posts, POST_BURST, POSTS_PER_S)
    interim = sum(len(h.pages("C1", e["ts"])[0].history) - 2 for e in events)
    print(
        f"\n10 concurrent: {elapsed:.1f}s, {len(updates)} chat.update ({interim} interim), "
        f"{len(posts)} chat.postMessage, 429s: {sum(h.fake.rate_limited.values())}"
    )


async def test_a_429_storm_on_chat_update_still_ends_with_the_exact_text(slack_bot, fake_slack):
    # Generous limits on both sides, so that only the injected 429s slow it down: after
    # four 429s the shared budget runs at 1/16 of its rate, which at Slack's real
    # 45/min would take half a minute to win back.
    fake_slack.update_bucket = TokenBucket(burst=100, per_second=100, clock=fake_slack.now)
    h = await slack_bot(limits=SlackLimits(updates_per_minute=1200, update_burst=20))
    text = "Storms pass. " * 30
    h.model.script_queue.append(script_from_text(text, delay=0.02))
    h.fake.fail("chat.update", "ratelimited", status=429, retry_after=1, times=4)
    event = h.fake.mention_event("UALICE", "weather?", "C1")
    await h.deliver(event)
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    await h.settle(30)
    (page,) = h.pages("C1", event["ts"])
    assert unescape(page.visible) == text
    assert h.fake.rate_limited["chat.update"] == 4
    refused = [c.time for c in h.fake.calls_to("chat.update") if c.status == 429]
    accepted = [c.time for c in h.fake.calls_to("chat.update") if c.ok]
    assert accepted[0] >= refused[-1] + 0.9  # Retry-After honoured


async def test_a_429_on_the_placeholder_is_retried_after_retry_after(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("Got through.", delay=0.01))
    h.fake.fail("chat.postMessage", "ratelimited", status=429, retry_after=1)
    event = h.fake.mention_event("UALICE", "hello", "C1")
    await h.deliver(event)
    await wait_until(lambda: h.pages("C1", event["ts"]), 10)
    await h.settle()
    (page,) = h.pages("C1", event["ts"])
    assert unescape(page.visible) == "Got through."
    refused, posted = h.fake.calls_to("chat.postMessage")
    assert refused.status == 429 and posted.ok and posted.time - refused.time >= 0.9


async def test_answers_whose_post_waited_for_the_channel_open_with_their_first_words(slack_bot):
    from bots.slack.messages import PLACEHOLDER

    h = await slack_bot()
    scripts = {f"question {n}": script_from_text(answer_text(n), delay=0.05) for n in range(8)}
    h.model.responder = lambda body: scripts[body["messages"][-1]["content"]]
    events = [h.fake.mention_event(f"U{n:02d}", f"question {n}", "C1") for n in range(8)]
    await asyncio.gather(*(h.deliver(e) for e in events))
    await h.settle(60)
    opened = [h.pages("C1", e["ts"])[0].visible_history()[0] for e in events]
    # The channel's burst goes at once (with "thinking…", or with the first words if the
    # model was that quick), the rest a second apart: by then the model has written, and
    # those messages go up with it instead of "thinking…".
    start = min(at for at, _ in opened)
    late = [(n, unescape(text)) for n, (at, text) in enumerate(opened) if at - start >= 0.5]
    assert len(late) >= 3
    for n, text in late:
        assert text != PLACEHOLDER and answer_text(n).startswith(text.removesuffix(" ▌"))
    for n, event in enumerate(events):
        (page,) = h.pages("C1", event["ts"])
        assert unescape(page.visible) == answer_text(n)
    assert h.fake.rate_limited["chat.postMessage"] == 0


SLACK_WRITES = {
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "chat.delete",
    "assistant.threads.setStatus",
    "chat.startStream",
    "chat.appendStream",
    "chat.stopStream",
    "reactions.add",
    "reactions.remove",
}


async def test_a_fifth_quick_question_from_one_person_is_one_message_and_no_edit(slack_bot):
    h = await slack_bot(TRICKLE_USER_CONCURRENCY="1", TRICKLE_USER_QUEUE="3")
    h.model.responder = lambda body: script_from_text(f"Answer to {body['messages'][-1]['content']}.", first_delay=0.3)
    events = [h.fake.mention_event("UALICE", f"question {n}", f"C{n}") for n in range(5)]
    for event in events:  # quick: each is in before the first answer is done
        await h.deliver(event)
    await wait_until(lambda: all(h.pages(e["channel"], e["ts"]) for e in events), 10)
    await h.settle(30)

    def shown(event) -> list[str]:
        return [unescape(m.visible) for m in h.pages(event["channel"], event["ts"])]

    refused = [e for e in events if any("waiting" in text for text in shown(e))]
    assert len(refused) == 1, [shown(e) for e in events]
    (event,) = refused
    assert shown(event) == ["_(you already have 3 questions waiting — ask again when one is answered)_"]
    (message,) = h.pages(event["channel"], event["ts"])
    assert len(message.history) == 1  # posted once, never edited
    touching = [
        c
        for c in h.fake.calls
        if c.method in SLACK_WRITES and (c.params.get("thread_ts") == event["ts"] or c.params.get("ts") == message.ts)
    ]
    assert [c.method for c in touching] == ["chat.postMessage"]
    answered = [e for e in events if e is not event]
    assert all(shown(e) == [f"Answer to question {e['text'].split()[-1]}."] for e in answered)
    assert len(h.model.requests) == 4
