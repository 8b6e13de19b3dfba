"""Mentions and DMs end to end: answered as replies, with the reply chain as the conversation."""

from __future__ import annotations

import asyncio

from bots.discord.messages import INDICATOR
from core.question import USAGE_HINT
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.openai_server import script_from_text


def bot_replies(fake: FakeDiscord, channel_id: int | str) -> list[FakeMessage]:
    return [m for m in fake.channel_messages(channel_id) if m.author["id"] == str(fake.bot_user_id)]


def finished(message: FakeMessage) -> bool:
    return not message.components and not message.content.endswith(INDICATOR) and message.content != "…"


async def ask_by_mention(fake: FakeDiscord, text: str, **options: object) -> FakeMessage:
    return await fake.send_message(fake.channel_id, f"<@{fake.bot_user_id}> {text}", **options)  # type: ignore[arg-type]


async def wait_for_reply(fake: FakeDiscord, to: FakeMessage, text: str, timeout: float = 5.0) -> FakeMessage:
    def reply() -> FakeMessage | None:
        for m in bot_replies(fake, to.channel_id):
            if (m.message_reference or {}).get("message_id") == to.id:
                return m
        return None

    await fake.wait_until(lambda: (m := reply()) is not None and finished(m) and m.content == text, timeout)
    found = reply()
    assert found is not None
    return found


async def test_mention_is_answered_as_a_quiet_reply_that_streams(discord_bot) -> None:
    bot = await discord_bot()
    text = "A monad is a monoid in the category of endofunctors, @everyone knows that."
    bot.model.script_queue.append(script_from_text(text, delay=0.15))
    question = await ask_by_mention(bot.fake, "what is a monad?")
    reply = await wait_for_reply(bot.fake, question, text)

    versions = [c for _, c in reply.versions]
    assert versions[0] == "…"  # the placeholder, at once
    assert any(c.endswith(INDICATOR) for c in versions)
    assert all(text.startswith(c.removesuffix(INDICATOR)) for c in versions[1:])
    assert bot.fake.mention_violations() == []
    assert bot.fake.pings(reply) == set()  # not even the asker, as a reply would by default
    assert bot.model.requests[0]["messages"][-1] == {"role": "user", "content": "what is a monad?"}


async def test_mention_with_a_reply_chain_sends_the_chain_as_history(discord_bot) -> None:
    bot = await discord_bot()
    bot.model.script_queue.append(script_from_text("Paris."))
    first = await ask_by_mention(bot.fake, "What is the capital of France?")
    answer = await wait_for_reply(bot.fake, first, "Paris.")

    bot.model.script_queue.append(script_from_text("About 2.1 million."))
    follow_up = await ask_by_mention(bot.fake, "And its population?", message_reference=answer.id)
    await wait_for_reply(bot.fake, follow_up, "About 2.1 million.")

    sent = bot.model.requests[1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in sent[1:]] == ["What is the capital of France?", "Paris.", "And its population?"]


async def test_empty_mention_gets_the_usage_hint_and_no_model_call(discord_bot) -> None:
    bot = await discord_bot()
    question = await bot.fake.send_message(bot.fake.channel_id, f"<@{bot.fake.bot_user_id}>   ")
    await wait_for_reply(bot.fake, question, USAGE_HINT)
    await asyncio.sleep(0.1)
    assert bot.model.requests == []
    assert bot.fake.mention_violations() == []


async def test_direct_message_is_answered_without_a_mention(discord_bot) -> None:
    bot = await discord_bot()
    dm = bot.fake.add_dm_channel(bot.fake.user)
    bot.model.script_queue.append(script_from_text("Hello there."))
    question = await bot.fake.send_message(dm, "hi")
    await wait_for_reply(bot.fake, question, "Hello there.")


async def test_other_bots_and_unaddressed_messages_get_no_answer(discord_bot) -> None:
    bot = await discord_bot()
    robot = bot.fake.add_user("robot", bot=True)
    await bot.fake.send_message(bot.fake.channel_id, f"<@{bot.fake.bot_user_id}> hello from a bot", author=robot)
    await bot.fake.send_message(bot.fake.channel_id, "just chatting, no mention")
    await bot.fake.roundtrip()
    await asyncio.sleep(0.2)
    assert bot.model.requests == []
    assert bot_replies(bot.fake, bot.fake.channel_id) == []


async def test_ten_mentions_at_once_share_the_channel_bucket_without_429(discord_bot) -> None:
    # One channel bucket (5 calls a window) for ten answers: placeholders, edits and finals.
    bot = await discord_bot(channel_bucket=(5, 1.0))
    people = [bot.fake.add_user(f"person{i}") for i in range(10)]
    texts = {f"question {i}": " ".join(f"w{i}-{n}" for n in range(40)) + "." for i in range(10)}
    bot.model.responder = lambda body: script_from_text(texts[body["messages"][-1]["content"]], delay=0.01)
    questions = await asyncio.gather(*(ask_by_mention(bot.fake, f"question {i}", author=people[i]) for i in range(10)))
    await asyncio.gather(*(wait_for_reply(bot.fake, q, texts[f"question {i}"], 30) for i, q in enumerate(questions)))
    assert bot.fake.rate_limited[f"channel:{bot.fake.channel_id}"] == 0
    assert bot.fake.mention_violations() == []


async def test_in_a_guild_the_bot_has_not_cached_only_mentions_are_answered(discord_bot) -> None:
    # READY lists no guilds and no GUILD_CREATE follows: discord.py knows the message is
    # from a guild only by its guild_id; `message.guild` is None as in a DM.
    bot = await discord_bot(announce_guilds=False)
    bot.model.script_queue.append(script_from_text("Only this one."))
    await bot.fake.send_message(bot.fake.channel_id, "just chatting, no mention")
    question = await ask_by_mention(bot.fake, "and this one?")
    await wait_for_reply(bot.fake, question, "Only this one.")
    await bot.fake.roundtrip()
    await asyncio.sleep(0.1)
    assert len(bot.model.requests) == 1
    assert len(bot_replies(bot.fake, bot.fake.channel_id)) == 1


async def test_reading_a_reply_chain_does_not_spend_the_channels_write_budget(discord_bot) -> None:
    # Reads have their own bucket on Discord (here a stingy one: 2 per 30 s). Had its
    # headers fed the channel's write budget, the answer would wait out that window.
    bot = await discord_bot(read_bucket=(2, 30.0))
    bob = bot.fake.add_user("bob")
    older = await bot.fake.send_message(bot.fake.channel_id, "Rome or Paris?", author=bob, dispatch=False)
    reply = await bot.fake.send_message(
        bot.fake.channel_id, "Paris, surely.", author=bob, message_reference=older.id, dispatch=False
    )
    text = " ".join(f"word{n}" for n in range(30)) + "."
    bot.model.script_queue.append(script_from_text(text, delay=0.02))
    question = await ask_by_mention(bot.fake, "settle it", message_reference=reply.id)
    await wait_for_reply(bot.fake, question, text, timeout=10)

    assert bot.fake.calls_to("GET", rf"/channels/{bot.fake.channel_id}/messages/{older.id}")  # fetched
    sent = [m["content"] for m in bot.model.requests[0]["messages"][1:]]
    assert sent == ["Rome or Paris?\n\nParis, surely.", "settle it"]


async def test_placeholders_queued_behind_a_full_window_all_go_when_it_resets(discord_bot) -> None:
    # Ten mentions, five calls a window: the second five placeholders wait for the reset,
    # then go together (the new window holds five calls), not trickled back one by one.
    bot = await discord_bot(channel_bucket=(5, 2.0))
    people = [bot.fake.add_user(f"person{i}") for i in range(10)]
    text = " ".join(f"w{n}" for n in range(30)) + "."
    bot.model.responder = lambda body: script_from_text(text, delay=0.1)  # streams for 3 s
    questions = await asyncio.gather(*(ask_by_mention(bot.fake, f"question {i}", author=people[i]) for i in range(10)))
    replies = await asyncio.gather(*(wait_for_reply(bot.fake, q, text, 30) for q in questions))

    placed = sorted(reply.writes[0].time for reply in replies)
    later = placed[5:]  # behind the first window (trickled, they would span about 1.6 s)
    assert later[0] - placed[0] > 1.0
    assert later[-1] - later[0] < 0.8
    assert bot.fake.rate_limited[f"channel:{bot.fake.channel_id}"] == 0


async def test_a_mention_asking_too_fast_is_one_reply_with_the_notice_and_no_edit(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_USER_RPM": "1"})
    bot.model.script_queue.append(script_from_text("First."))
    first = await ask_by_mention(bot.fake, "one")
    await wait_for_reply(bot.fake, first, "First.")
    second = await ask_by_mention(bot.fake, "two")
    notice = "_(you are asking faster than the limit allows — try again in a minute)_"
    reply = await wait_for_reply(bot.fake, second, notice)
    assert [w.kind for w in reply.writes] == ["create"]  # no "…" first, no edit after
    assert len(bot.model.requests) == 1
