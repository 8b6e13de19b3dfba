"""The Stop button: the asker (or an admin) stops the model; anyone else is told why not."""

from __future__ import annotations

from bots.slack.messages import INDICATOR, STOP_ACTION
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import unescape
from tests.slack_harness import wait_until

SLOW = "word " * 120


async def start_slow_answer(h, user: str = "UALICE"):
    h.model.script_queue.append(script_from_text(SLOW, delay=0.025))
    event = h.fake.mention_event(user, "talk for a while", "C1")
    await h.deliver(event)
    await wait_until(lambda: any(INDICATOR in t for _, t in _history(h, event)), 10)
    return event, h.pages("C1", event["ts"])[0]


def _history(h, event):
    pages = h.pages("C1", event["ts"])
    return pages[0].visible_history() if pages else []


def stop_value(message) -> str:
    for block in message.history[0].blocks or []:
        for element in block.get("elements", []):
            if element.get("action_id") == STOP_ACTION:
                return element["value"]
    raise AssertionError("no Stop button")


async def test_stop_by_the_asker_ends_the_answer_and_closes_the_model_stream(slack_bot):
    h = await slack_bot()
    _event, message = await start_slow_answer(h)
    await h.click(h.fake.block_action_payload("UALICE", "C1", message.ts, STOP_ACTION, stop_value(message)))
    await h.settle()
    shown = unescape(message.visible)
    assert shown.endswith("\n\n_(stopped by Alice)_")
    body = shown.removesuffix("\n\n_(stopped by Alice)_")
    assert body and SLOW.startswith(body)
    assert len(body) < len(SLOW.rstrip())
    assert not any(b["type"] == "actions" for b in message.blocks or [])
    await wait_until(lambda: h.model.disconnects, 5)
    assert h.fake.ephemerals == []


async def test_stop_by_someone_else_is_refused_privately_and_the_answer_goes_on(slack_bot):
    h = await slack_bot("http")
    _event, message = await start_slow_answer(h)
    await h.click(h.fake.block_action_payload("UBOB", "C1", message.ts, STOP_ACTION, stop_value(message)))
    await wait_until(lambda: h.fake.ephemerals, 5)
    (note,) = h.fake.ephemerals
    assert note["user"] == "UBOB" and note["channel"] == "C1"
    assert "Only the person who asked" in note["text"]
    await h.settle()
    assert unescape(message.visible) == SLOW
    assert h.model.disconnects == []


async def test_an_admin_may_stop_anyones_answer(slack_bot):
    h = await slack_bot(TRICKLE_ADMINS="UADMIN")
    _event, message = await start_slow_answer(h)
    await h.click(h.fake.block_action_payload("UADMIN", "C1", message.ts, STOP_ACTION, stop_value(message)))
    await h.settle()
    assert unescape(message.visible).endswith("_(stopped by Ada Admin)_")


async def test_stop_after_the_answer_finished_says_so_privately(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("Quick."))
    event = h.fake.mention_event("UALICE", "quick one", "C1")
    await h.deliver(event)
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    await h.settle()
    message = h.pages("C1", event["ts"])[0]
    await h.click(h.fake.block_action_payload("UALICE", "C1", message.ts, STOP_ACTION, stop_value(message)))
    await wait_until(lambda: h.fake.ephemerals, 5)
    assert "already finished" in h.fake.ephemerals[0]["text"]
    assert unescape(message.visible) == "Quick."
