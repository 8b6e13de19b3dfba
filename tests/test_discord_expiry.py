"""An interaction token lives 15 minutes: public answers move on, private ones end in time.

The fake's tokens live 2 s here and trickle trusts them for 0.8 s
(TRICKLE_DISCORD_TOKEN_TTL), so the 15-minute story plays out in a few seconds.
"""

from __future__ import annotations

import pytest

from bots.discord.handlers import PRIVATE_EXPIRY
from bots.discord.messages import INDICATOR
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.openai_server import script_from_text

TEXT = " ".join(f"word{n}" for n in range(40)) + "."
GENEROUS = {"webhook_bucket": (50, 1.0), "channel_bucket": (50, 1.0)}
SHORT_TOKENS = {"TRICKLE_DISCORD_TOKEN_TTL": "0.8"}


def done(message: FakeMessage | None) -> bool:
    return (
        message is not None
        and not message.loading
        and not message.components
        and not message.content.endswith(INDICATOR)
    )


def bot_channel_messages(fake: FakeDiscord) -> list[FakeMessage]:
    """What everyone in the channel sees from the bot (ephemeral messages excluded)."""
    return [m for m in fake.channel_messages(fake.channel_id) if m.author["id"] == str(fake.bot_user_id)]


async def test_public_answer_continues_in_a_channel_message_before_the_token_expires(discord_bot) -> None:
    bot = await discord_bot(token_ttl=2.0, env=SHORT_TOKENS, **GENEROUS)
    bot.model.script_queue.append(script_from_text(TEXT, delay=0.05))  # streams for 2 s
    inter = await bot.fake.send_interaction("ask", {"prompt": "take your time"})

    def continuation() -> FakeMessage | None:
        later = [m for m in bot_channel_messages(bot.fake) if m.interaction_token is None]
        return later[0] if later else None

    await bot.fake.wait_until(lambda: done(continuation()) and continuation().content.endswith("."), timeout=10)  # type: ignore[union-attr]
    original, rest = bot.fake.original(inter.token), continuation()
    assert original is not None and rest is not None
    assert done(original) and original.content  # sealed where it was: final, no mark, no button
    assert original.content + rest.content == TEXT
    assert (rest.message_reference or {}).get("message_id") == original.id  # reads as its continuation
    assert original.writes[-1].time <= rest.writes[0].time  # never edited again after the handoff
    assert not [c for c in bot.fake.calls if c.status == 401]  # no call ever hit the expired token
    assert bot.fake.mention_violations() == []


async def test_private_answer_ends_with_a_notice_and_never_becomes_public(discord_bot) -> None:
    bot = await discord_bot(token_ttl=2.0, env=SHORT_TOKENS, **GENEROUS)
    bot.model.script_queue.append(script_from_text(TEXT, delay=0.05))
    inter = await bot.fake.send_interaction("ask", {"prompt": "just for me", "private": True})

    await bot.fake.wait_until(lambda: done(bot.fake.original(inter.token)), timeout=10)
    original = bot.fake.original(inter.token)
    assert original is not None and original.ephemeral
    shown, notice = original.content.rsplit("\n\n", 1)
    assert TEXT.startswith(shown) and len(shown) < len(TEXT)
    assert notice == f"_({PRIVATE_EXPIRY})_"
    await bot.fake.wait_until(lambda: len(bot.model.disconnects) == 1)  # the model stream was closed
    assert bot_channel_messages(bot.fake) == []
    assert all(m.ephemeral for m in bot.fake.followups(inter.token))
    assert not [c for c in bot.fake.calls if c.status == 401]


def continuations(fake: FakeDiscord) -> list[FakeMessage]:
    """The bot's ordinary channel messages: where a public answer goes once its token is gone."""
    return [m for m in bot_channel_messages(fake) if m.interaction_token is None]


async def _die_after_word3(bot, inter) -> None:  # type: ignore[no-untyped-def]
    await bot.fake.wait_until(
        lambda: "word3" in ((bot.fake.original(inter.token) or FakeMessage("", "", None, {})).content)
    )
    bot.fake.expire_interaction(inter.token)  # long before trickle expected it to die


async def test_a_token_that_dies_early_lets_the_bot_token_finish_the_original(discord_bot) -> None:
    bot = await discord_bot(**GENEROUS)
    bot.model.script_queue.append(script_from_text(TEXT, delay=0.03))
    inter = await bot.fake.send_interaction("ask", {"prompt": "go"})
    await _die_after_word3(bot, inter)

    await bot.fake.wait_until(lambda: done(bot.fake.original(inter.token)), timeout=10)
    original = bot.fake.original(inter.token)
    assert original is not None and original.content == TEXT  # ended cleanly: no mark, no button
    assert original.writes[-1].route.startswith("PATCH /channels/")  # through the channel route
    assert continuations(bot.fake) == []  # nothing posted twice
    assert bot.fake.mention_violations() == []


@pytest.mark.parametrize("status", [401, 404])
async def test_a_bare_401_or_404_from_the_webhook_counts_as_a_dead_token(discord_bot, status: int) -> None:
    # No JSON code at all, as a proxy in front of Discord may answer.
    bot = await discord_bot(dead_token_status=status, **GENEROUS)
    bot.model.script_queue.append(script_from_text(TEXT, delay=0.03))
    inter = await bot.fake.send_interaction("ask", {"prompt": "go"})
    await _die_after_word3(bot, inter)

    await bot.fake.wait_until(lambda: done(bot.fake.original(inter.token)), timeout=10)
    original = bot.fake.original(inter.token)
    assert original is not None and original.content == TEXT
    assert bot.fake.mention_violations() == []


async def test_when_the_original_cannot_be_finished_the_channel_message_goes_on_without_repeating(
    discord_bot,
) -> None:
    bot = await discord_bot(bot_edits_interaction_messages=False, **GENEROUS)
    bot.model.script_queue.append(script_from_text(TEXT, delay=0.03))
    inter = await bot.fake.send_interaction("ask", {"prompt": "go"})
    await _die_after_word3(bot, inter)

    await bot.fake.wait_until(lambda: bool(continuations(bot.fake)) and done(continuations(bot.fake)[-1]), timeout=10)
    original = bot.fake.original(inter.token)
    (rest,) = continuations(bot.fake)
    assert original is not None and rest.content.endswith(".")
    left = original.content.removesuffix(INDICATOR)  # the dead token froze it, mark and all
    assert left and left + rest.content == TEXT  # the page goes on where the original stopped
    assert (rest.message_reference or {}).get("message_id") == original.id
    assert bot.fake.mention_violations() == []


async def test_a_token_dead_before_the_first_edit_still_ends_the_thinking_message(discord_bot) -> None:
    # Nothing was edited yet: the message id comes from the deferral's callback answer.
    bot = await discord_bot(**GENEROUS)
    bot.model.script_queue.append(script_from_text(TEXT, delay=0.01, first_delay=0.5))
    inter = await bot.fake.send_interaction("ask", {"prompt": "go"})
    await bot.fake.wait_until(lambda: inter.response_type == 5)
    bot.fake.expire_interaction(inter.token)

    await bot.fake.wait_until(lambda: done(bot.fake.original(inter.token)), timeout=10)
    original = bot.fake.original(inter.token)
    assert original is not None and original.content == TEXT
    assert continuations(bot.fake) == []
