"""`/ask model:` offers TRICKLE_MODELS and refuses anything else (the operator's key pays).

The real discord.py adapter against FakeDiscord: what the command registers, what
autocomplete answers, and what a model outside the list gets (the same FakeDiscord
interaction a stale registration or free autocomplete text would send).
"""

from __future__ import annotations

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import script_from_text

MANY = ",".join(["gpt-4o-mini", *(f"m{n:02d}-chat" for n in range(40))])


def model_option(fake: FakeDiscord) -> dict:
    command = next(c for c in fake.guild_commands[str(fake.guild_id)] if c["name"] == "ask")
    return next(o for o in command["options"] if o["name"] == "model")


async def test_the_allowed_models_are_registered_as_the_options_choices(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_MODELS": "gpt-4o-mini, gpt-4o"})
    option = model_option(bot.fake)
    assert [(c["name"], c["value"]) for c in option["choices"]] == [
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o", "gpt-4o"),
    ]
    assert not option.get("autocomplete")
    assert option["required"] is False


async def test_by_default_only_the_servers_own_model_is_offered(discord_bot) -> None:
    bot = await discord_bot()
    assert [c["value"] for c in model_option(bot.fake)["choices"]] == ["gpt-4o-mini"]


async def test_a_model_outside_the_list_is_refused_privately_without_a_model_call(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_MODELS": "gpt-4o-mini,gpt-4o"})
    calls_before = len(bot.fake.calls)
    inter = await bot.fake.send_interaction("ask", {"prompt": "hi", "model": "o1-pro-expensive"})
    await bot.fake.wait_until(lambda: bot.fake.original(inter.token) is not None)
    await bot.fake.roundtrip()

    refusal = bot.fake.original(inter.token)
    assert refusal is not None and refusal.ephemeral
    assert inter.response_type == 4  # answered at once: no deferral, no "thinking..."
    assert "o1-pro-expensive" in refusal.content
    assert "`gpt-4o-mini`" in refusal.content and "`gpt-4o`" in refusal.content
    # One reply and nothing else: no webhook edit, no channel message, no model request.
    new_calls = bot.fake.calls[calls_before:]
    assert [(c.method, c.path.split("/")[1]) for c in new_calls] == [("POST", "interactions")]
    assert bot.model.requests == []
    assert bot.fake.mention_violations() == []


async def test_an_allowed_model_chosen_by_name_is_used(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_MODELS": "gpt-4o-mini,gpt-4o"})
    bot.model.script_queue.append(script_from_text("Fine."))
    inter = await bot.fake.send_interaction("ask", {"prompt": "hi", "model": "gpt-4o"})
    await bot.fake.wait_until(
        lambda: (m := bot.fake.original(inter.token)) is not None and m.content == "Fine.", timeout=10
    )
    assert bot.model.requests[0]["model"] == "gpt-4o"


async def test_more_than_25_models_are_offered_by_autocomplete_filtered_by_prefix(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_MODELS": MANY})
    option = model_option(bot.fake)
    assert option["autocomplete"] is True and not option.get("choices")

    typed = await bot.fake.send_autocomplete("ask", {"prompt": "hi", "model": "M1"}, focused="model")
    await bot.fake.wait_until(lambda: typed.response_type == 8)
    assert [c["value"] for c in typed.response_data["choices"]] == [f"m{n}-chat" for n in range(10, 20)]

    nothing_yet = await bot.fake.send_autocomplete("ask", {"prompt": "hi", "model": ""}, focused="model")
    await bot.fake.wait_until(lambda: nothing_yet.response_type == 8)
    offered = [c["value"] for c in nothing_yet.response_data["choices"]]
    assert len(offered) == 25 and offered[0] == "gpt-4o-mini"
    assert bot.model.requests == []


async def test_free_text_past_autocomplete_is_still_refused(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_MODELS": MANY})
    inter = await bot.fake.send_interaction("ask", {"prompt": "hi", "model": "m0"})  # a prefix, not a name
    await bot.fake.wait_until(lambda: bot.fake.original(inter.token) is not None)
    refusal = bot.fake.original(inter.token)
    assert refusal is not None and refusal.ephemeral and "`m00-chat`" in refusal.content
    assert bot.model.requests == []


async def test_a_mention_cannot_choose_a_model(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_MODELS": "gpt-4o-mini,gpt-4o"})
    bot.model.script_queue.append(script_from_text("Sure."))
    await bot.fake.send_message(bot.fake.channel_id, f"<@{bot.fake.bot_user_id}> model: gpt-4o please")
    channel = bot.fake.channel_id
    await bot.fake.wait_until(lambda: any(m.content == "Sure." for m in bot.fake.channel_messages(channel)), timeout=10)
    assert bot.model.requests[0]["model"] == "gpt-4o-mini"  # the server's; the words are just the question
