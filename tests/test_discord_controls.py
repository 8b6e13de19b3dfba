"""The team's controls on Discord, the real discord.py adapter against FakeDiscord: where
trickle answers (allow and deny lists of channels, people and roles), and `/model`,
`/prompt`, `/usage` (a channel's own model and prompt, and who spent the tokens)."""

from __future__ import annotations

import asyncio

from bots.discord.access import SILENT_ASK, judged_channel, role_ids
from bots.discord.admin import ADMINS_ONLY, HELP
from core.team.access import DENIED_REPLIES, AccessPolicy, Denial
from core.team.channel_prefs import NOT_ADMIN
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.openai_server import script_from_text
from tests.test_discord_mentions import ask_by_mention, bot_replies, wait_for_reply

MODELS = {"TRICKLE_MODEL": "gpt-4o-mini", "TRICKLE_MODELS": "gpt-4o-mini,gpt-4o"}
DEFAULT_VIEW = (
    "This channel is answered by **gpt-4o-mini** (the default), with the default system prompt.\n"
    f"Models to choose from: `gpt-4o-mini`, `gpt-4o`.\n{HELP}"
)


def denials(bot, why: str) -> float:  # type: ignore[no-untyped-def]
    value = bot.ctx.metrics.registry.get_sample_value("trickle_denied_total", {"platform": "discord", "why": why})
    return value or 0.0


def no_429(fake: FakeDiscord) -> bool:
    return sum(fake.rate_limited.values()) == 0


async def command(fake: FakeDiscord, name: str, options: dict | None = None, **who: object) -> FakeInteraction:
    """Run a slash command and wait for its (private) answer to be final."""
    inter = await fake.send_interaction(name, options or {}, **who)  # type: ignore[arg-type]
    await fake.wait_until(lambda: (m := fake.original(inter.token)) is not None and not m.loading, timeout=5)
    return inter


def said(fake: FakeDiscord, inter: FakeInteraction) -> str:
    """What the person who ran the command sees, checked to be for their eyes only."""
    message = fake.original(inter.token)
    assert message is not None and message.ephemeral and inter.ephemeral
    return message.content


async def nothing_more(fake: FakeDiscord) -> None:
    """Let anything the bot might still do reach the fake."""
    await fake.roundtrip()
    await asyncio.sleep(0.2)


# -- where trickle answers -----------------------------------------------------------------------


async def test_a_denied_channel_gets_one_short_reply_and_no_model_call(discord_bot) -> None:
    def world(fake: FakeDiscord) -> dict[str, str]:
        fake.open_channel = fake.add_text_channel(fake.guild_id, "open")  # type: ignore[attr-defined]
        return {"TRICKLE_DENY_CHANNELS": str(fake.channel_id)}

    bot = await discord_bot(env=world)
    question = await ask_by_mention(bot.fake, "hello?")
    reply = await wait_for_reply(bot.fake, question, DENIED_REPLIES[Denial.CHANNEL])
    await bot.fake.redeliver(question)  # the gateway delivers it again: still one reply
    await nothing_more(bot.fake)
    assert bot_replies(bot.fake, bot.fake.channel_id) == [reply]
    assert [w.kind for w in reply.writes] == ["create"]  # no "…" placeholder, no edit
    assert bot.fake.pings(reply) == set() and bot.fake.mention_violations() == []
    assert bot.model.requests == [] and denials(bot, "channel") == 1.0

    bot.model.script_queue.append(script_from_text("Hi."))
    elsewhere = await bot.fake.send_message(bot.fake.open_channel, f"<@{bot.fake.bot_user_id}> hello?")
    await wait_for_reply(bot.fake, elsewhere, "Hi.")
    assert len(bot.model.requests) == 1 and no_429(bot.fake)


async def test_a_role_allow_list_answers_members_holding_the_role_only(discord_bot) -> None:
    def world(fake: FakeDiscord) -> dict[str, str]:
        staff = fake.add_role(fake.guild_id, "staff")
        fake.bob = fake.add_user("bob")  # type: ignore[attr-defined]
        fake.give_role(fake.bob, staff)  # type: ignore[attr-defined]
        return {"TRICKLE_ALLOW_ROLES": str(staff)}

    bot = await discord_bot(env=world)
    bot.model.script_queue.append(script_from_text("Yes, Bob."))
    allowed = await ask_by_mention(bot.fake, "may I?", author=bot.fake.bob)
    await wait_for_reply(bot.fake, allowed, "Yes, Bob.")

    refused = await ask_by_mention(bot.fake, "and me?")  # alice holds no role
    await wait_for_reply(bot.fake, refused, DENIED_REPLIES[Denial.ROLE])
    dm = await bot.fake.send_message(bot.fake.add_dm_channel(bot.fake.bob), "in private?", author=bot.fake.bob)
    await wait_for_reply(bot.fake, dm, DENIED_REPLIES[Denial.ROLE])  # a DM carries no roles
    assert len(bot.model.requests) == 1 and denials(bot, "role") == 2.0
    assert no_429(bot.fake)


async def test_roles_count_even_in_a_guild_the_bot_has_not_cached(discord_bot) -> None:
    # No GUILD_CREATE: discord.py knows no roles of the guild, only the ids each event carries.
    def world(fake: FakeDiscord) -> dict[str, str]:
        staff = fake.add_role(fake.guild_id, "staff")
        fake.bob = fake.add_user("bob")  # type: ignore[attr-defined]
        fake.give_role(fake.bob, staff)  # type: ignore[attr-defined]
        return {"TRICKLE_ALLOW_ROLES": str(staff)}

    bot = await discord_bot(env=world, announce_guilds=False)
    bot.model.script_queue.append(script_from_text("Yes, Bob."))
    allowed = await ask_by_mention(bot.fake, "may I?", author=bot.fake.bob)
    await wait_for_reply(bot.fake, allowed, "Yes, Bob.")
    refused = await ask_by_mention(bot.fake, "and me?")
    await wait_for_reply(bot.fake, refused, DENIED_REPLIES[Denial.ROLE])


def test_a_thread_is_judged_by_its_parent_unless_it_is_listed_itself() -> None:
    policy = AccessPolicy(allow_channels=frozenset({"10", "21"}), deny_channels=frozenset({"30", "22"}))
    assert judged_channel("10", "11", policy) == "10"  # in an allowed channel: allowed with it
    assert judged_channel("20", "21", policy) == "21"  # listed itself
    assert judged_channel("20", "22", policy) == "22"  # denied itself
    assert judged_channel("30", "31", policy) == "30"  # in a denied channel: denied with it
    assert judged_channel("12", None, policy) == "12"


def test_role_ids_are_the_ids_the_event_carried_and_none_for_a_plain_user() -> None:
    class Member:
        _roles = (5, 7)

    assert role_ids(Member()) == ("5", "7")  # type: ignore[arg-type]
    assert role_ids(object()) == () and role_ids(None) == ()  # type: ignore[arg-type]


async def test_ask_is_refused_privately_without_a_deferral_or_a_model_call(discord_bot) -> None:
    bot = await discord_bot(env=lambda fake: {"TRICKLE_DENY_USERS": fake.user["id"]})
    calls_before = len(bot.fake.calls)
    inter = await command(bot.fake, "ask", {"prompt": "hi"})
    await nothing_more(bot.fake)
    assert said(bot.fake, inter) == DENIED_REPLIES[Denial.USER]
    assert inter.response_type == 4  # answered at once: no "thinking…"
    assert [(c.method, c.path.split("/")[1]) for c in bot.fake.calls[calls_before:]] == [("POST", "interactions")]
    assert bot.model.requests == [] and denials(bot, "user") == 1.0
    assert bot.fake.channel_messages(bot.fake.channel_id) == []


async def test_silent_refusals_post_nothing_and_ask_gets_a_bare_private_answer(discord_bot) -> None:
    bot = await discord_bot(env=lambda fake: {"TRICKLE_DENY_USERS": fake.user["id"], "TRICKLE_DENIED_REPLY": "silent"})
    await ask_by_mention(bot.fake, "hello?")
    inter = await command(bot.fake, "ask", {"prompt": "hi"})
    await nothing_more(bot.fake)
    assert bot_replies(bot.fake, bot.fake.channel_id) == []
    assert said(bot.fake, inter) == SILENT_ASK  # Discord requires an answer; it names no rule
    assert bot.model.requests == [] and denials(bot, "user") == 2.0


# -- a channel's own model and prompt --------------------------------------------------------------


def admin_world(fake: FakeDiscord) -> dict[str, str]:
    """Alice is the admin; Bob is not; `#other` keeps the defaults."""
    fake.bob = fake.add_user("bob")  # type: ignore[attr-defined]
    fake.other = fake.add_text_channel(fake.guild_id, "other")  # type: ignore[attr-defined]
    return {**MODELS, "TRICKLE_ADMINS": fake.user["id"]}


async def test_the_admin_commands_are_registered_beside_ask(discord_bot) -> None:
    bot = await discord_bot(env=MODELS)
    commands = {c["name"]: c for c in bot.fake.guild_commands[str(bot.fake.guild_id)]}
    assert list(commands) == ["ask", "model", "prompt", "usage"]
    [name] = commands["model"]["options"]
    assert [(c["name"], c["value"]) for c in name["choices"]] == [
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o", "gpt-4o"),
        ("default (gpt-4o-mini)", "default"),
    ]
    assert name["required"] is False
    assert [(o["name"], o["required"], o.get("max_length")) for o in commands["prompt"]["options"]] == [
        ("text", False, 4000)
    ]
    assert [(o["name"], o.get("min_value"), o.get("max_value")) for o in commands["usage"]["options"]] == [
        ("days", 1, 35)
    ]


async def test_an_admin_gives_a_channel_its_own_model_and_others_keep_the_default(discord_bot) -> None:
    bot = await discord_bot(env=admin_world)
    fake = bot.fake
    refused = await command(fake, "model", {"name": "gpt-4o"}, user=fake.bob)
    assert said(fake, refused) == NOT_ADMIN
    shown = await command(fake, "model", {"name": "gpt-4o"})
    assert said(fake, shown) == DEFAULT_VIEW.replace("**gpt-4o-mini** (the default)", "**gpt-4o**")
    anyone = await command(fake, "model", user=fake.bob)  # no option: anyone may look
    assert said(fake, anyone) == said(fake, shown)

    bot.model.responder = lambda body: script_from_text(f"Answered by {body['model']}.")
    here = await ask_by_mention(fake, "which model?")
    await wait_for_reply(fake, here, "Answered by gpt-4o.")
    there = await fake.send_message(fake.other, f"<@{fake.bot_user_id}> which model?")
    await wait_for_reply(fake, there, "Answered by gpt-4o-mini.")
    assert [r["model"] for r in bot.model.requests] == ["gpt-4o", "gpt-4o-mini"]

    back = await command(fake, "model", {"name": "default"})
    assert said(fake, back) == DEFAULT_VIEW
    wrong = await command(fake, "model", {"name": "o1-pro"})  # typed past the choices
    assert said(fake, wrong) == "`o1-pro` is not a model you can choose here. Choose one of: `gpt-4o-mini`, `gpt-4o`."
    assert no_429(fake) and fake.mention_violations() == []


async def test_an_admins_prompt_is_the_system_prompt_the_model_sees(discord_bot) -> None:
    bot = await discord_bot(env=admin_world)
    fake = bot.fake
    refused = await command(fake, "prompt", {"text": "Be rude."}, user=fake.bob)
    assert said(fake, refused) == NOT_ADMIN
    pirate = "Answer like a *pirate* & keep it short."
    shown = await command(fake, "prompt", {"text": pirate})
    assert said(fake, shown) == DEFAULT_VIEW.replace(
        "the default system prompt", "this system prompt: “Answer like a \\*pirate\\* & keep it short.”"
    )  # typed text, shown as text

    bot.model.script_queue.append(script_from_text("Arr."))
    question = await ask_by_mention(fake, "hello?")
    await wait_for_reply(fake, question, "Arr.")
    bot.model.script_queue.append(script_from_text("Hello."))
    inter = await fake.send_interaction("ask", {"prompt": "hello?"}, channel_id=fake.other)
    await fake.wait_until(lambda: (m := fake.original(inter.token)) is not None and m.content == "Hello.")
    here, elsewhere = bot.model.requests
    assert here["messages"][0] == {"role": "system", "content": pirate}
    assert elsewhere["messages"][0] == {"role": "system", "content": bot.ctx.settings.system_prompt}

    reset = await command(fake, "prompt", {"text": "default"})
    assert said(fake, reset) == DEFAULT_VIEW
    assert no_429(fake)


# -- who spent the tokens -----------------------------------------------------------------------


async def test_usage_is_shown_to_admins_only_as_a_table(discord_bot) -> None:
    bot = await discord_bot(env=admin_world)
    fake = bot.fake
    asked: list[FakeMessage] = []
    for author, channel in ((fake.user, fake.channel_id), (fake.bob, fake.other), (fake.bob, fake.channel_id)):
        bot.model.script_queue.append(script_from_text("Counted answer."))
        asked.append(await fake.send_message(channel, f"<@{fake.bot_user_id}> count me", author=author))
        await wait_for_reply(fake, asked[-1], "Counted answer.")

    refused = await command(fake, "usage", user=fake.bob)
    assert said(fake, refused) == ADMINS_ONLY
    table = said(fake, await command(fake, "usage", {"days": 7}))
    lines = table.splitlines()
    assert lines[0] == "```" and lines[-1] == "```"
    assert lines[1].startswith("Tokens ") and " on discord: " in lines[1]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:-1] if line.strip()}
    assert set(rows) >= {"channel", "#general", "#other", "person", "alice", "bob"}
    assert rows["#general"][0] != "0" and rows["bob"][0] != "0"
    report = await bot.ctx.assistant.usage.report(days=7, platform="discord")
    assert f"{report.tokens:,}" in lines[1] and len(report.people) == 2 and len(report.channels) == 2
    assert no_429(fake)


async def test_a_slow_answer_is_deferred_privately_then_written(discord_bot, monkeypatch) -> None:
    import bots.discord.admin as admin

    monkeypatch.setattr(admin, "REPLY_BEFORE_DEFER", 0.0)  # as if the state store were slow
    bot = await discord_bot(env=admin_world)
    inter = await command(bot.fake, "model")
    assert inter.response_type == 5  # "thinking…", for the asker's eyes only
    assert said(bot.fake, inter) == DEFAULT_VIEW
    assert [c for _, c in bot.fake.original(inter.token).versions] == ["", DEFAULT_VIEW]  # type: ignore[union-attr]


def test_a_thread_shares_its_parent_channels_place():
    # A forum's posts are threads: a channel's model, prompt and usage must cover them.
    import discord

    from bots.discord.access import place_of

    class Thread(discord.Thread):
        def __init__(self) -> None:  # only what place_of reads
            self.id, self.parent_id = 222, 111

    assert place_of(Thread(), 222) == "discord:111"
    assert place_of(None, 333) == "discord:333"
