"""The Slack adapter's pure rules: which events are questions, what messages carry."""

from __future__ import annotations

import json

from bots.slack import messages
from bots.slack.budgets import SlackBudgets
from bots.slack.history import Turn, conversation, ts_key
from bots.slack.triggers import Kind, classify, mentioned_users, strip_mention, to_plain

BOT = "UBOT"


def event(**fields):
    base = {"type": "message", "user": "UALICE", "channel": "C1", "ts": "1.000200", "channel_type": "channel"}
    return {**base, **fields}


def test_a_mention_in_a_channel_is_answered_in_a_thread_under_it():
    trigger = classify(event(type="app_mention", text="<@UBOT> hi there"), bot_user_id=BOT, team="T1")
    assert trigger is not None
    assert (trigger.kind, trigger.thread_ts, trigger.text, trigger.team) == (Kind.MENTION, "1.000200", "hi there", "T1")


def test_a_mention_inside_a_thread_is_answered_in_that_thread():
    trigger = classify(event(type="app_mention", text="<@UBOT> hi", thread_ts="1.000100"), bot_user_id=BOT)
    assert trigger is not None and trigger.thread_ts == "1.000100"


def test_the_message_twin_of_a_mention_is_the_same_trigger():
    mention = classify(event(type="app_mention", text="<@UBOT> hi"), bot_user_id=BOT)
    message = classify(event(text="<@UBOT> hi"), bot_user_id=BOT)
    assert mention == message


def test_a_dm_is_answered_at_the_top_level_unless_asked_in_a_thread():
    top = classify(event(channel="D1", channel_type="im", text="hello"), bot_user_id=BOT)
    threaded = classify(event(channel="D1", channel_type="im", text="hi", thread_ts="1.000100"), bot_user_id=BOT)
    assert top is not None and top.kind is Kind.DIRECT and top.thread_ts is None
    assert threaded is not None and threaded.thread_ts == "1.000100"


def test_thread_replies_are_follow_ups_unless_they_address_someone_else():
    reply = classify(event(text="and then?", thread_ts="1.000100"), bot_user_id=BOT)
    aside = classify(event(text="<@UBOB> what do you think?", thread_ts="1.000100"), bot_user_id=BOT)
    assert reply is not None and reply.kind is Kind.FOLLOW_UP
    assert aside is not None and aside.kind is Kind.OVERHEARD


def test_bots_edits_deletions_and_plain_channel_chatter_are_not_questions():
    ignored = [
        event(text="<@UBOT> hi", bot_id="B2"),
        event(text="<@UBOT> hi", subtype="bot_message"),
        event(text="<@UBOT> hi", subtype="message_changed"),
        event(text="", subtype="message_deleted"),
        event(text="<@UBOT> hi", subtype="channel_join"),
        event(text="<@UBOT> me", user=BOT),
        event(text="just chatting"),
        {"type": "reaction_added", "user": "UALICE"},
    ]
    assert [classify(e, bot_user_id=BOT) for e in ignored] == [None] * len(ignored)


def test_a_reply_also_sent_to_the_channel_still_counts():
    trigger = classify(event(text="<@UBOT> hi", subtype="thread_broadcast", thread_ts="1.0001"), bot_user_id=BOT)
    assert trigger is not None


def test_one_dedupe_key_per_message():
    a = classify(event(type="app_mention", text="<@UBOT> x"), bot_user_id=BOT)
    b = classify(event(text="<@UBOT> x"), bot_user_id=BOT)
    assert a is not None and b is not None and a.dedupe_key == b.dedupe_key == "slack:C1:1.000200"


def test_only_the_bots_mention_is_stripped():
    assert strip_mention("<@UBOT|trickle>  ask <@UBOB> about it <@UBOT>", BOT) == "ask <@UBOB> about it"
    assert mentioned_users("<@U1> and <@U2|bob> and <@U1>") == ["U1", "U2"]


def test_slack_markup_reads_as_text_for_the_model():
    text = "hi <@U1>, see <#C1|general> and <https://x.io|the docs> or <https://y.io>; a &lt; b &amp;&amp; <!here>"
    assert to_plain(text, {"U1": "Ada"}) == (
        "hi @Ada, see #general and the docs (https://x.io) or https://y.io; a < b && @here"
    )


def test_names_prefix_turns_only_when_several_people_talk():
    turns = [Turn("1.1", "user", "UA", "Ada", "hi"), Turn("1.2", "assistant", "", "", "hello")]
    alone, question = conversation(turns, asker="UA", asker_name="Ada", question="more")
    assert [(m.role, m.content) for m in alone] == [("user", "hi"), ("assistant", "hello")]
    assert question == "more"
    together, question = conversation(turns, asker="UB", asker_name="Bob", question="me too")
    assert together[0].content == "Ada: hi" and question == "Bob: me too"


def test_pages_of_one_answer_become_one_assistant_turn():
    turns = [
        Turn("1.1", "user", "UA", "Ada", "q"),
        Turn("1.2", "assistant", "", "", "part one"),
        Turn("1.3", "assistant", "", "", "part two"),
    ]
    history, _ = conversation(turns, asker="UA", asker_name="Ada", question="next")
    assert [(m.role, m.content) for m in history] == [("user", "q"), ("assistant", "part one\npart two")]


def test_ts_sorts_numerically():
    assert sorted(["10.5", "9.000100", "10.000001"], key=ts_key) == ["9.000100", "10.000001", "10.5"]


def test_every_payload_escapes_model_text_and_only_streaming_ones_have_the_button():
    nasty = "<!channel> & <@U1> **bold**"
    streaming = messages.streaming(nasty, "a1")
    final = messages.final(nasty)
    for payload in (streaming, final, messages.plain(nasty), messages.status(nasty, "a1")):
        raw = json.dumps(payload.kwargs())
        assert "<!" not in raw and "<@" not in raw
    assert streaming.blocks[0] == {"type": "markdown", "text": "&lt;!channel&gt; &amp; &lt;@U1&gt; **bold**" + " ▌"}
    assert streaming.blocks[1]["elements"][0]["value"] == "a1"
    assert final.blocks == [{"type": "markdown", "text": "&lt;!channel&gt; &amp; &lt;@U1&gt; **bold**"}]
    assert messages.is_in_progress({"blocks": streaming.blocks})
    assert not messages.is_in_progress({"blocks": final.blocks})


async def test_edit_budgets_are_per_workspace_and_post_budgets_per_channel():
    budgets = SlackBudgets()
    assert budgets.updates("T1") is budgets.updates("T1")
    assert budgets.updates("T1") is not budgets.updates("T2")
    assert budgets.posts("C1") is budgets.posts("C1")
    assert budgets.posts("C1") is not budgets.posts("C2")
    assert budgets.updates("T1").bucket.rate * 60 < 50  # under Slack's Tier 3
    assert budgets.posts("C1").bucket.rate < 1  # under 1 a second


async def test_forgotten_channel_budgets_are_bounded():
    budgets = SlackBudgets(max_channels=2)
    first = budgets.posts("C1")
    budgets.posts("C2")
    budgets.posts("C1")
    budgets.posts("C3")
    assert budgets.posts("C1") is first  # recently used: kept
    assert len(budgets._posts) == 2
