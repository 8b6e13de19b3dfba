"""The team's controls on Slack, real bolt and slack_sdk against FakeSlack: where trickle
answers (allow and deny lists, DMs), `/trickle` (a channel's model and prompt, usage)."""

from __future__ import annotations

import json

import pytest

from bots.slack.admin import ADMINS_ONLY
from core.team.access import DENIED_REPLIES, Denial
from core.team.channel_prefs import NOT_ADMIN
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import unescape
from tests.slack_harness import wait_until

MODELS = {"TRICKLE_MODEL": "gpt-4o-mini", "TRICKLE_MODELS": "gpt-4o-mini,gpt-4o", "TRICKLE_ADMINS": "UADMIN"}


async def command(h, name: str, text: str, *, user: str, channel: str = "C1") -> str:
    """Run a slash command; what the person then sees privately (ack or response_url)."""
    if h.events_url is None:
        ack = await h.fake.wait_ack(await h.fake.send_command(name, text, user=user, channel=channel))
        said = (ack.get("payload") or {}).get("text")
    else:
        assert await h.fake.post_command(name, text, user=user, channel=channel, app_url=h.events_url) == 200
        body = h.fake.http_deliveries[-1].body
        said = json.loads(body).get("text") if body.strip() else None
    if said:
        return str(said)
    await wait_until(lambda: h.fake.responses, 5)
    reply = h.fake.responses.pop()["body"]
    assert reply.get("response_type") == "ephemeral"
    return str(reply["text"])


def denials(h, why: str) -> float:
    value = h.ctx.metrics.registry.get_sample_value("trickle_denied_total", {"platform": "slack", "why": why})
    return value or 0.0


async def ask_in(h, channel: str, user: str = "UALICE", text: str = "hello?") -> dict:
    event = h.fake.mention_event(user, text, channel)
    await h.deliver(event)
    await h.settle()
    return event


async def test_a_denied_channel_gets_one_short_reply_and_no_model_call(slack_bot):
    h = await slack_bot(TRICKLE_DENY_CHANNELS="C9")
    event = await ask_in(h, "C9")
    await h.deliver(event)  # Slack's retry of the same event: still one reply
    await h.settle()
    [reply] = h.fake.thread("C9", event["ts"])
    assert unescape(reply.visible) == DENIED_REPLIES[Denial.CHANNEL]
    assert h.model.requests == [] and denials(h, "channel") == 1.0

    h.model.script_queue.append(script_from_text("Hi.", delay=0.01))
    allowed = await ask_in(h, "C1")
    assert [unescape(m.visible) for m in h.fake.thread("C1", allowed["ts"])] == ["Hi."]


async def test_silence_where_the_admin_chose_it_and_an_allow_list_of_people(slack_bot):
    h = await slack_bot(TRICKLE_ALLOW_USERS="UALICE", TRICKLE_DENIED_REPLY="silent")
    refused = await ask_in(h, "C1", user="UBOB")
    assert h.fake.thread("C1", refused["ts"]) == [] and h.model.requests == []
    h.model.script_queue.append(script_from_text("Yes, Alice.", delay=0.01))
    allowed = await ask_in(h, "C1", user="UALICE")
    assert [unescape(m.visible) for m in h.fake.thread("C1", allowed["ts"])] == ["Yes, Alice."]


async def test_dms_off_refuses_direct_messages_and_slash_commands_say_it_privately(slack_bot):
    h = await slack_bot(TRICKLE_DMS="off", TRICKLE_DENY_USERS="UBOB")
    await h.deliver(h.fake.message_event("UALICE", "hi in private", "D1"))
    await h.settle()
    assert [unescape(m.visible) for m in h.fake.messages("D1") if m.is_bot] == [DENIED_REPLIES[Denial.DM]]
    said = await command(h, "/ask", "anything?", user="UBOB")
    assert said == DENIED_REPLIES[Denial.USER]
    assert h.model.requests == [] and h.fake.messages("C1") == []


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_an_admin_gives_a_channel_its_own_model_and_prompt(slack_bot, mode):
    h = await slack_bot(mode, **MODELS)
    refused = await command(h, "/trickle", "model gpt-4o", user="UBOB")
    assert NOT_ADMIN in refused
    wrong = await command(h, "/trickle", "model gpt-5-ultra", user="UADMIN")
    assert "gpt-5-ultra" in wrong and "gpt-4o-mini" in wrong  # the allowed ones, named
    shown = await command(h, "/trickle", "model gpt-4o", user="UADMIN")
    assert "*gpt-4o*" in shown
    shown = await command(h, "/trickle", "prompt Answer like a pirate & <keep> it short.", user="UADMIN")
    assert "pirate &amp; &lt;keep&gt;" in shown  # typed text, shown as text

    asked = {}
    for channel in ("C1", "C2"):
        h.model.script_queue.append(script_from_text("Arr.", first_delay=0.6, delay=0.01))
        asked[channel] = await ask_in(h, channel)
    here, elsewhere = h.model.requests
    [answer] = h.fake.thread("C1", asked["C1"]["ts"])
    shown = [unescape(text) for _, text in answer.visible_history()]
    assert any("answering with gpt-4o" in text for text in shown) and shown[-1] == "Arr."
    [answer] = h.fake.thread("C2", asked["C2"]["ts"])
    assert not any("answering with" in text for _, text in answer.visible_history())
    assert here["model"] == "gpt-4o" and here["messages"][0]["content"] == "Answer like a pirate & <keep> it short."
    assert elsewhere["model"] == "gpt-4o-mini" and elsewhere["messages"][0]["content"] == "You are a test."

    await command(h, "/trickle", "model default", user="UADMIN")
    shown = await command(h, "/trickle", "", user="UALICE")  # anyone may look
    assert "gpt-4o-mini (the default)" in shown and "pirate" in shown


async def test_usage_is_counted_per_channel_and_person_and_shown_to_admins_only(slack_bot):
    h = await slack_bot(**MODELS)
    for user, channel in (("UALICE", "C1"), ("UBOB", "C2"), ("UALICE", "C2")):
        h.model.script_queue.append(script_from_text("Counted answer.", delay=0.01))
        await ask_in(h, channel, user=user)
    assert await command(h, "/trickle", "usage", user="UALICE") == ADMINS_ONLY
    table = await command(h, "/trickle", "usage 7", user="UADMIN")
    assert table.startswith("```") and "Alice" in table and "Bob" in table and "#C2" in table
    reported = h.ctx.metrics.registry.get_sample_value(
        "trickle_model_tokens_total", {"platform": "slack", "kind": "completion", "source": "reported"}
    )
    assert reported and reported > 0
