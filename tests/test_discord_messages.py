"""What Discord messages show, the context built from them, and finishing orphans."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import discord.webhook.async_

from bots.discord.conversation import merge, strip_mentions
from bots.discord.messages import INDICATOR, PLACEHOLDER, fit, measure, render
from core.models import ChatMessage
from tests.fakes.openai_server import Script, script_from_text, words

NONE = discord.AllowedMentions.none()


def test_streaming_text_carries_the_mark_and_final_text_is_exact() -> None:
    assert render("", final=False) == PLACEHOLDER
    assert render("Hello", final=False) == "Hello" + INDICATOR
    assert render("Hello", final=True) == "Hello"


def test_length_counts_what_discord_may_count() -> None:
    assert measure("abc") == 3
    assert measure("😀") == 2  # one code point, two UTF-16 units: never under-count


def test_an_orphan_too_long_for_one_message_keeps_its_notice() -> None:
    notice = "_(interrupted by a restart — ask again)_"
    cut = fit("x" * 1990 + "\n\n" + notice)
    assert len(cut) <= 2000 and cut.endswith("…\n\n" + notice)
    assert fit("short\n\n" + notice) == "short\n\n" + notice


def test_the_bots_mentions_are_removed_from_questions() -> None:
    assert strip_mentions("<@42> hi <@!42> there <@7>", 42) == "hi  there <@7>"
    assert strip_mentions("<@&9> hi", 42, role_id=9) == "hi"


def test_consecutive_turns_of_one_role_are_merged() -> None:
    turns = [ChatMessage("user", "a"), ChatMessage("assistant", "b"), ChatMessage("assistant", "c")]
    assert merge(turns) == [ChatMessage("user", "a"), ChatMessage("assistant", "b\n\nc")]


async def test_a_second_question_waits_visibly_behind_the_first(discord_bot) -> None:
    bot = await discord_bot(webhook_bucket=(50, 1.0))  # TRICKLE_USER_CONCURRENCY is 1
    bot.model.script_queue.append(script_from_text("first answer, slowly written", delay=0.1))
    bot.model.script_queue.append(script_from_text("second answer"))
    first = await bot.fake.send_interaction("ask", {"prompt": "one"})
    await bot.fake.wait_until(lambda: len(bot.model.requests) == 1)
    second = await bot.fake.send_interaction("ask", {"prompt": "two"})
    await bot.fake.wait_until(
        lambda: (m := bot.fake.original(second.token)) is not None and m.content == "second answer"
    )

    shown = [c for _, c in bot.fake.original(second.token).versions]  # type: ignore[union-attr]
    assert shown[1] == "_queued behind your previous question…_"
    assert shown[-1] == "second answer"
    assert bot.fake.original(first.token).content == "first answer, slowly written"  # type: ignore[union-attr]
    assert bot.fake.mention_violations() == []


async def test_orphaned_messages_are_finished_in_the_channel_and_through_the_webhook(discord_bot) -> None:
    bot = await discord_bot()
    channel = bot.service.client.get_channel(bot.fake.channel_id)
    left = await channel.send("half an answer" + INDICATOR, allowed_mentions=NONE)
    await bot.service.finish_orphan(
        {"channel_id": str(channel.id), "message_id": str(left.id)}, "half an answer\n\n_(interrupted)_"
    )
    assert bot.fake.message(left.id).content == "half an answer\n\n_(interrupted)_"

    bot.model.script_queue.append(Script(tokens=words("one two three"), fail="stall", fail_after=2))
    inter = await bot.fake.send_interaction("ask", {"prompt": "q"})
    await bot.fake.wait_until(lambda: "one" in (bot.fake.original(inter.token) or left).content)
    location = {"application_id": str(bot.fake.app_id), "token": inter.token, "message_id": "@original"}
    await bot.service.finish_orphan(location, "one\n\n_(interrupted)_")
    original = bot.fake.original(inter.token)
    assert original is not None and original.content == "one\n\n_(interrupted)_" and original.components == []
    assert bot.fake.mention_violations() == []


async def test_writes_the_budgets_pace_are_not_held_by_discord_py(discord_bot) -> None:
    """discord.py would hold the call that spends a window's last count until the window
    resets (30 s here), and hold edits while creates are spent (one bucket name, two
    counts); the bot's budgets pace these writes, so neither may wait."""
    import asyncio

    bot = await discord_bot(channel_bucket=(5, 30.0))
    channel = bot.service.client.get_partial_messageable(bot.fake.channel_id)

    async def send(n: int) -> discord.Message:
        return await asyncio.wait_for(channel.send(f"message {n}", allowed_mentions=NONE), 5)

    sent = [await send(n) for n in range(5)]
    await asyncio.wait_for(sent[0].edit(content="edited", allowed_mentions=NONE), 5)

    assert bot.fake.message(sent[0].id).content == "edited"
    assert [c.status for c in bot.fake.calls_to("POST", r"/channels/\d+/messages")] == [200] * 5
    assert [c.status for c in bot.fake.calls_to("PATCH", r"/channels/\d+/messages/\d+")] == [200]


async def test_interaction_webhook_writes_are_not_held_by_discord_py(discord_bot) -> None:
    """discord.py's webhook adapter would hold the call that spends an interaction
    token's last count until its window resets (30 s here); the interaction's budget
    paces these writes (an answer alone spends every count), so it may not wait."""
    bot = await discord_bot(webhook_bucket=(5, 30.0))
    bot.model.script_queue.append(script_from_text("short answer", delay=0.01))
    inter = await bot.fake.send_interaction("ask", {"prompt": "q"})
    await bot.fake.wait_until(lambda: getattr(bot.fake.original(inter.token), "content", "") == "short answer")
    edits = rf"/webhooks/\d+/{inter.token}/messages/@original"
    adapter = discord.webhook.async_.async_context.get()
    async with aiohttp.ClientSession() as session:
        for n in range(5 - len(bot.fake.calls_to("PATCH", edits))):  # up to the window's last count
            call = adapter.edit_original_interaction_response(
                bot.fake.app_id, inter.token, session=session, payload={"content": f"edit {n}"}
            )
            await asyncio.wait_for(call, 5)
    assert [c.status for c in bot.fake.calls_to("PATCH", edits)] == [200] * 5
