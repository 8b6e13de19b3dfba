"""Whoever finishes an answer undoes what it set up: status, Stop button, a live stream.

The real surfaces and `OrphanFinisher` against FakeSlack: an answer goes as far as its
placeholder, its process "dies" (the test stops driving it), and the finisher (a peer
replica, in production) ends it from the location the in-flight registry recorded.
`test_chaos.py` does the same with real processes, SIGKILL and Redis.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.budgets import SlackBudgets
from bots.slack.native import NativeSupport, NativeThreadSurface
from bots.slack.orphans import OrphanFinisher
from bots.slack.status import THINKING, StatusSupport, ThreadStatus
from bots.slack.surface import SlackThreadSurface
from core.answer_tasks import AnswerTasks
from core.models import EndReason
from core.notices import notice_for, with_notice
from tests.fakes.slack_server import FakeSlack, unescape

INTERRUPTED = with_notice("", notice_for(EndReason.INTERRUPTED))


def status_of(fake: FakeSlack, channel: str, thread_ts: str) -> str | None:
    """The thread's status as Slack would show it now (the last one set), or None."""
    set_here = [s["status"] for s in fake.statuses if (s["channel"], s["thread_ts"]) == (channel, thread_ts)]
    return set_here[-1] if set_here else None


def has_stop_button(message) -> bool:
    return any(b.get("type") == "actions" for b in message.blocks or [])


async def started_answer(fake: FakeSlack, *, native: bool = False):
    """An answer whose placeholder is up (with the status shown) and no text yet."""
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    question = fake.mention_event("UALICE", "hello", "C1")
    fake.store_event(question)
    tasks = AnswerTasks()
    common = {
        "client": client,
        "team": "T1",
        "channel": "C1",
        "thread_ts": question["ts"],
        "answer_id": "a1",
        "budgets": SlackBudgets(),
        "status": ThreadStatus(client, "C1", question["ts"], StatusSupport(), spawn=tasks.spawn),
    }
    if native:
        surface = NativeThreadSurface(recipient="UALICE", support=NativeSupport(), **common)
    else:
        surface = SlackThreadSurface(**common)  # type: ignore[arg-type]
    ref = await surface.post_placeholder()
    await tasks.settle()
    return client, question["ts"], surface, ref, tasks


async def test_a_peer_finishing_an_orphan_clears_its_thread_status_and_drops_the_stop_button(fake_slack):
    client, thread_ts, surface, ref, _ = await started_answer(fake_slack)
    assert status_of(fake_slack, "C1", thread_ts) == THINKING
    location = surface.locate(ref)  # what the in-flight record holds when the owner dies

    await OrphanFinisher(client, SlackBudgets(), team="T1")(location, INTERRUPTED)

    message = fake_slack.message("C1", ref.ts)
    assert message is not None and not has_stop_button(message)
    assert unescape(message.visible) == INTERRUPTED.strip()
    assert status_of(fake_slack, "C1", thread_ts) == ""


async def test_an_answer_that_never_showed_a_status_is_finished_without_touching_it(fake_slack):
    client = AsyncWebClient(token="xoxb-test", base_url=fake_slack.api_url)
    surface = SlackThreadSurface(
        client=client, team="T1", channel="D1", thread_ts=None, answer_id="a2", budgets=SlackBudgets()
    )
    ref = await surface.post_placeholder()
    location = surface.locate(ref)
    assert "status_thread_ts" not in location
    await OrphanFinisher(client, SlackBudgets(), team="T1")(location, INTERRUPTED)
    assert fake_slack.statuses == []
    assert not has_stop_button(fake_slack.message("D1", ref.ts))


async def test_the_status_is_cleared_even_when_the_orphaned_message_is_gone(fake_slack):
    client, thread_ts, surface, ref, _ = await started_answer(fake_slack)
    location = surface.locate(ref)
    await client.chat_delete(channel="C1", ts=ref.ts)
    try:
        await OrphanFinisher(client, SlackBudgets(), team="T1")(location, INTERRUPTED)
    except Exception:
        pass  # the recovery loop logs this one; the status must be gone all the same
    assert status_of(fake_slack, "C1", thread_ts) == ""


async def test_an_orphaned_native_stream_is_stopped_then_finished(fake_slack):
    client, thread_ts, surface, ref, _ = await started_answer(fake_slack, native=True)
    await surface.edit(ref, "Half an", final=False)
    location = surface.locate(ref)
    assert location["stream"] is True

    text = with_notice("Half an", notice_for(EndReason.INTERRUPTED))
    await OrphanFinisher(client, SlackBudgets(), team="T1")(location, text)

    message = fake_slack.message("C1", ref.ts)
    assert message is not None and message.stream_stopped and not has_stop_button(message)
    assert unescape(message.visible).startswith("Half an\n\n_(")
    finishing = [c.method for c in fake_slack.calls if c.method.startswith("chat.")][-2:]
    assert finishing == ["chat.stopStream", "chat.update"]  # Slack refuses chat.update on a live stream
    assert status_of(fake_slack, "C1", thread_ts) == ""


async def test_the_owner_clears_the_status_however_its_answer_ended(fake_slack):
    _, thread_ts, surface, _, tasks = await started_answer(fake_slack)
    surface.release()  # the Slack handler's `finally`, e.g. after a final edit that failed
    await tasks.settle()
    assert status_of(fake_slack, "C1", thread_ts) == ""
