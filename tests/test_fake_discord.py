"""The fake Discord, exercised by the *real* discord.py client.

Why these tests exist: the Discord adapter's tests trust this fake to behave like Discord
where it matters (login, gateway, interactions, buckets, limits, token expiry, mentions).
Each test here pins one of those behaviours with the unmodified discord.py 2.x client, so a
fake that drifts from what discord.py expects fails here first, not in the adapter's tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import yarl
from discord import app_commands

from tests.fakes.discord_server import FakeDiscord, compute_pings

NONE = discord.AllowedMentions.none()

AskImpl = Callable[[discord.Interaction, str], Awaitable[None]]


class ManualClock:
    """A clock the test advances by hand: expiring a 15-minute token must not take 15 minutes."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def defer_then_hi(interaction: discord.Interaction, question: str) -> None:
    """The shape of the real /ask flow: acknowledge within 3 s, then edit @original."""
    await interaction.response.defer()
    await interaction.edit_original_response(content="hi", allowed_mentions=NONE)


@dataclass
class Bot:
    """A connected discord.py client plus what its handlers saw."""

    client: discord.Client
    tree: app_commands.CommandTree[discord.Client]
    task: asyncio.Task[None]
    ask_impl: AskImpl = defer_then_hi
    interactions: list[discord.Interaction] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    messages: list[discord.Message] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def user_messages(self) -> list[discord.Message]:
        """on_message also fires for the bot's own messages (Discord echoes them)."""
        assert self.client.user is not None
        return [m for m in self.messages if m.author.id != self.client.user.id]


Harness = Callable[..., Awaitable[tuple[FakeDiscord, Bot]]]


@pytest.fixture
async def harness(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """Start a fake with the given options and connect a real client to it.

    Why a factory: rate-limit and expiry tests need their own buckets and clock.  Route.BASE
    and DEFAULT_GATEWAY are process-wide, so they are patched through monkeypatch and
    restored after the test; the client and the server are closed even if the test fails.
    """
    async with contextlib.AsyncExitStack() as stack:

        async def make(
            *, intents: discord.Intents | None = None, ask_impl: AskImpl = defer_then_hi, **options: Any
        ) -> tuple[FakeDiscord, Bot]:
            fake = FakeDiscord(**options)
            await fake.start()
            stack.push_async_callback(fake.stop)
            monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
            monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))

            client = discord.Client(intents=intents or discord.Intents.default(), guild_ready_timeout=0)
            tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
            ready = asyncio.Event()
            holder: list[Bot] = []

            @tree.command(name="ask", description="Ask the assistant", guild=discord.Object(fake.guild_id))
            async def ask(interaction: discord.Interaction, question: str) -> None:
                bot = holder[0]
                bot.interactions.append(interaction)
                bot.questions.append(question)
                try:
                    await bot.ask_impl(interaction, question)
                except BaseException as exc:  # surfaced to the test instead of discord.py's logger
                    bot.errors.append(exc)

            @client.event
            async def on_ready() -> None:
                ready.set()

            @client.event
            async def on_message(message: discord.Message) -> None:
                holder[0].messages.append(message)

            await client.login(fake.bot_token)
            task = asyncio.create_task(client.connect())
            bot = Bot(client=client, tree=tree, task=task, ask_impl=ask_impl)
            holder.append(bot)

            async def close_client() -> None:
                await client.close()
                await asyncio.wait_for(task, 5)

            stack.push_async_callback(close_client)
            await fake.wait_ready()
            await asyncio.wait_for(ready.wait(), 5)
            return fake, bot

        yield make


async def test_login_ready_and_guild_cache(harness: Harness) -> None:
    fake, bot = await harness()
    client = bot.client
    assert client.user is not None and client.user.id == fake.bot_user_id
    assert client.application_id == fake.app_id
    guild = client.get_guild(fake.guild_id)
    assert guild is not None and guild.me is not None
    channel = client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel) and channel.guild == guild
    assert guild.member_count == 2
    # Without the GUILD_MEMBERS intent only the bot itself arrives with GUILD_CREATE.
    assert guild.get_member(int(fake.user["id"])) is None
    assert [c.path for c in fake.calls[:2]] == ["/users/@me", "/oauth2/applications/@me"]


async def test_slash_command_defer_then_edit_original(harness: Harness) -> None:
    callbacks: list[discord.InteractionCallbackResponse[discord.Client]] = []
    sent: list[discord.WebhookMessage] = []

    async def impl(interaction: discord.Interaction, question: str) -> None:
        response = await interaction.response.defer()
        assert response is not None
        callbacks.append(response)
        await interaction.edit_original_response(content="h", allowed_mentions=NONE)
        await interaction.edit_original_response(content="hi", allowed_mentions=NONE)
        sent.append(await interaction.followup.send("more", allowed_mentions=NONE, wait=True))

    fake, bot = await harness(ask_impl=impl)
    synced = await bot.tree.sync(guild=discord.Object(fake.guild_id))
    stored = fake.guild_commands[str(fake.guild_id)]
    assert [c.name for c in synced] == [c["name"] for c in stored] == ["ask"]
    assert synced[0].id == int(stored[0]["id"])

    inter = await fake.send_interaction("ask", {"question": "why?"})
    await fake.wait_until(lambda: len(fake.followups(inter.token)) == 1)
    assert not bot.errors
    assert bot.questions == ["why?"]

    original = fake.original(inter.token)
    assert original is not None
    assert original.content == "hi" and not original.loading
    assert [content for _, content in original.versions] == ["", "h", "hi"]
    times = [t for t, _ in original.versions]
    assert times == sorted(times)
    # AllowedMentions.none() serialises as {"parse": []}: replied_user false is omitted.
    assert original.allowed_mentions[1:] == [{"parse": []}] * 2
    assert inter.response_type == 5 and not inter.ephemeral

    # discord.py 2.7 sends ?with_response=1 and parses {"interaction": ..., "resource": ...}.
    assert callbacks[0].id == int(inter.id)
    assert callbacks[0].is_thinking() and callbacks[0].message_id == int(original.id)
    assert fake.calls_to("POST", r"/interactions/\d+/.+/callback")[0].query == {"with_response": "1"}

    followup = fake.followups(inter.token)[0]
    assert followup.content == "more" and sent[0].id == int(followup.id)
    assert fake.mention_violations() == []


async def test_message_with_mention_reaches_on_message(harness: Harness) -> None:
    fake, bot = await harness()
    mention = f"<@{fake.bot_user_id}> what is 2+2?"
    await fake.send_message(fake.channel_id, mention)
    await fake.send_message(fake.channel_id, "chatter that does not mention the bot")
    await fake.roundtrip()
    await fake.wait_until(lambda: len(bot.user_messages()) == 2)

    first, second = bot.user_messages()
    assert first.content == mention
    assert bot.client.user in first.mentions
    assert first.author.id == int(fake.user["id"])
    # Without the privileged MESSAGE_CONTENT intent, Discord blanks unrelated guild messages.
    assert second.content == ""

    reply = await first.reply("4", allowed_mentions=NONE)
    stored = fake.message(reply.id)
    assert stored.message_reference is not None and stored.message_reference["message_id"] == str(first.id)
    assert fake.mention_violations() == []


async def test_mention_violations_flag_unsafe_sends(harness: Harness) -> None:
    fake, bot = await harness(channel_bucket=(50, 1.0))  # six writes: the default bucket would stall 5 s
    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    user_msg = await fake.send_message(fake.channel_id, f"<@{fake.bot_user_id}> hi")
    await fake.roundtrip()
    await fake.wait_until(lambda: len(bot.user_messages()) == 1)

    loud = await channel.send("@everyone look")  # no allowed_mentions: parsed with defaults
    quiet_but_unpinned = await channel.send("plain words")
    replied = await bot.user_messages()[0].reply("answer")  # pings the author by default
    safe = await channel.send(f"<@{fake.user['id']}> @here", allowed_mentions=NONE)

    strict = {v.message_id for v in fake.mention_violations()}
    assert strict == {str(loud.id), str(quiet_but_unpinned.id), str(replied.id)}
    actual = {v.message_id: v.pings for v in fake.mention_violations(strict=False)}
    assert actual == {str(loud.id): {"@everyone"}, str(replied.id): {f"reply:{user_msg.author['id']}"}}
    assert fake.pings(safe.id) == set()

    await safe.edit(content="@everyone edited")  # edits are parsed again
    assert fake.pings(safe.id) == {"@everyone"}
    assert compute_pings("<@&5> <@7>", {"parse": [], "roles": ["5"]}) == {"role:5"}


async def test_channel_bucket_answers_429_with_discord_headers(harness: Harness) -> None:
    fake, _ = await harness(channel_bucket=(5, 5.0))
    url = f"{fake.api_url}/channels/{fake.channel_id}/messages"
    auth = {"Authorization": f"Bot {fake.bot_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"content": "x"}) as resp:
            assert resp.status == 401
        async with http.post(url, json={"content": "start", "allowed_mentions": {"parse": []}}, headers=auth) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json"
            mid = (await resp.json())["id"]
            bucket = resp.headers["X-RateLimit-Bucket"]
        statuses: list[int] = []
        # Edits are counted apart from creates (one bucket hash, as at Discord): the
        # create above leaves all five edits of the window.
        for i in range(6):
            async with http.patch(f"{url}/{mid}", json={"content": f"v{i}"}, headers=auth) as resp:
                statuses.append(resp.status)
                headers, body = resp.headers, await resp.json()
        assert statuses == [200, 200, 200, 200, 200, 429]

    assert headers["Content-Type"] == "application/json"
    assert headers["Via"] == "1.1 google"
    assert int(headers["Retry-After"]) >= 1
    assert headers["X-RateLimit-Limit"] == "5" and headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Bucket"] == bucket
    assert 0 < float(headers["X-RateLimit-Reset-After"]) <= 5.0
    assert float(headers["X-RateLimit-Reset"]) > time.time()
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 5.0
    assert fake.rate_limited[f"channel:{fake.channel_id}"] == 1
    assert fake.message(mid).content == "v4"
    assert [c.status for c in fake.calls[-7:]] == [200, 200, 200, 200, 200, 200, 429]


async def test_discordpy_waits_on_headers_and_retries_a_429(harness: Harness) -> None:
    fake, bot = await harness(channel_bucket=(5, 0.5))
    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    key = f"channel:{fake.channel_id}"
    msg = await channel.send("start", allowed_mentions=NONE)

    # A single client reads the headers and sleeps *before* sending: slow, but no 429.
    started = time.monotonic()
    for i in range(8):
        await msg.edit(content=f"edit {i}", allowed_mentions=NONE)
    assert time.monotonic() - started >= 0.4
    assert fake.rate_limited[key] == 0

    # Another process spent the bucket: discord.py gets the 429 and retries inside edit().
    fake.exhaust_bucket(key)
    await msg.edit(content="after the 429", allowed_mentions=NONE)
    assert fake.rate_limited[key] == 1
    assert fake.message(msg.id).content == "after the 429"
    statuses = [c.status for c in fake.calls if c.bucket == key]
    assert statuses[-2:] == [429, 200]


async def test_webhook_bucket_429_is_retried_for_edit_original(harness: Harness) -> None:
    deferred: list[discord.Interaction] = []

    async def impl(interaction: discord.Interaction, question: str) -> None:
        await interaction.response.defer()
        deferred.append(interaction)

    fake, bot = await harness(ask_impl=impl, webhook_bucket=(5, 0.3))
    await bot.tree.sync(guild=discord.Object(fake.guild_id))
    inter = await fake.send_interaction("ask", {"question": "q"})
    await fake.wait_until(lambda: bool(deferred))
    fake.exhaust_bucket(f"webhook:{inter.token}")
    await deferred[0].edit_original_response(content="streamed", allowed_mentions=NONE)
    assert fake.rate_limited[f"webhook:{inter.token}"] == 1
    original = fake.original(inter.token)
    assert original is not None and original.content == "streamed"


async def test_content_limits_are_enforced(harness: Harness) -> None:
    fake, bot = await harness()
    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001, allowed_mentions=NONE)
    assert too_long.value.status == 400 and too_long.value.code == 50035
    assert "Must be 2000 or fewer in length" in str(too_long.value)
    ok = await channel.send("x" * 2000, allowed_mentions=NONE)
    assert len(fake.message(ok.id).content) == 2000
    with pytest.raises(discord.HTTPException) as empty:
        await ok.edit(content="", allowed_mentions=NONE)
    assert empty.value.code == 50006


async def test_expired_interaction_token_and_late_ack(harness: Harness) -> None:
    clock = ManualClock()
    seen: list[discord.Interaction] = []

    async def remember(interaction: discord.Interaction, question: str) -> None:
        seen.append(interaction)  # no response: the test drives it below

    fake, bot = await harness(ask_impl=remember, clock=clock)
    await bot.tree.sync(guild=discord.Object(fake.guild_id))

    inter = await fake.send_interaction("ask", {"question": "slow one"})
    await fake.wait_until(lambda: len(seen) == 1)
    await seen[0].response.defer()
    await seen[0].edit_original_response(content="partial", allowed_mentions=NONE)

    clock.advance(fake.token_ttl + 1)
    with pytest.raises(discord.HTTPException) as expired:
        await seen[0].edit_original_response(content="too late", allowed_mentions=NONE)
    assert expired.value.status == 401 and expired.value.code == 50027
    with pytest.raises(discord.HTTPException) as followup:
        await seen[0].followup.send("too late", allowed_mentions=NONE)
    assert followup.value.code == 50027
    original = fake.original(inter.token)
    assert original is not None and original.content == "partial"

    # A response later than 3 s: Discord forgets the interaction (10062).
    late = await fake.send_interaction("ask", {"question": "unacknowledged"})
    await fake.wait_until(lambda: len(seen) == 2)
    clock.advance(fake.ack_deadline + 0.1)
    with pytest.raises(discord.NotFound) as unknown:
        await seen[1].response.defer()
    assert unknown.value.code == 10062
    assert late.response_type is None


async def test_component_click_updates_the_message(harness: Harness) -> None:
    fake, bot = await harness()
    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    clicks: list[str] = []

    class Regenerate(discord.ui.View):
        @discord.ui.button(label="Regenerate", custom_id="regen")
        async def regen(self, interaction: discord.Interaction, button: discord.ui.Button[Regenerate]) -> None:
            clicks.append(interaction.user.name)
            await interaction.response.edit_message(content="regenerated", allowed_mentions=NONE, view=None)

    msg = await channel.send("answer", view=Regenerate(), allowed_mentions=NONE)
    stored = fake.message(msg.id)
    assert stored.components[0]["components"][0]["custom_id"] == "regen"

    inter = await fake.send_component_click(msg.id, "regen")
    await fake.wait_until(lambda: fake.message(msg.id).content == "regenerated")
    assert clicks == [fake.user["username"]]
    assert inter.response_type == 7 and fake.original(inter.token) is stored
    assert stored.components == []


async def test_dm_history_and_channel_lookup(harness: Harness) -> None:
    fake, bot = await harness()
    dm_id = fake.add_dm_channel(fake.user)
    await fake.send_message(dm_id, "hello in private")
    await fake.roundtrip()
    await fake.wait_until(lambda: len(bot.user_messages()) == 1)
    incoming = bot.user_messages()[0]
    assert incoming.content == "hello in private"  # DMs keep content without the intent
    assert isinstance(incoming.channel, discord.DMChannel)
    await incoming.channel.send("hello back", allowed_mentions=NONE)
    assert [m.content for m in fake.channel_messages(dm_id)] == ["hello in private", "hello back"]

    fetched = await bot.client.fetch_channel(dm_id)
    assert isinstance(fetched, discord.DMChannel)

    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    for i in range(3):
        await channel.send(f"m{i}", allowed_mentions=NONE)
    history = [m.content async for m in channel.history(limit=2)]
    assert history == ["m2", "m1"]
    async with channel.typing():
        pass
    assert fake.calls_to("POST", rf"/channels/{fake.channel_id}/typing")[0].status == 204


async def test_gateway_resume_replays_missed_events(harness: Harness) -> None:
    fake, bot = await harness()
    await fake.drop_gateway(4000)  # 4000 lets discord.py RESUME
    await fake.send_message(fake.channel_id, f"<@{fake.bot_user_id}> sent while away")
    await fake.wait_until(lambda: fake.live_sessions == 1)
    await fake.wait_until(lambda: len(bot.user_messages()) == 1)
    assert bot.user_messages()[0].content.endswith("sent while away")


async def test_message_attachments_reach_discordpy_and_download_from_the_fake(harness: Harness) -> None:
    fake, bot = await harness()
    notes = fake.add_attachment("my notes.txt", b"line one\n")
    await fake.send_message(
        fake.channel_id, f"<@{fake.bot_user_id}> look", attachments=[notes, ("square.png", b"\x89PNG\r\n\x1a\nfake")]
    )
    await fake.roundtrip()
    await fake.wait_until(lambda: len(bot.user_messages()) == 1)
    text, image = bot.user_messages()[0].attachments
    assert (text.filename, text.size, text.content_type) == ("my notes.txt", 9, "text/plain; charset=utf-8")
    assert (image.filename, image.content_type) == ("square.png", "image/png")
    assert text.url.startswith("http://127.0.0.1:") and "ex=" in text.url and "hm=" in text.url
    assert await text.read() == b"line one\n"  # a name with a space, quoted in the URL
    assert await text.read(use_cached=True) == b"line one\n"  # the media proxy's copy
    assert await image.read() == b"\x89PNG\r\n\x1a\nfake"
    assert notes.downloads == 2 and fake.calls_to("GET", r"/attachments/.*") == []  # CDN calls kept apart

    fake.fail_attachment(notes, 403)  # an expired link
    with pytest.raises(discord.Forbidden):
        await text.read()
    fake.fail_attachment(image.url, 404)  # by URL: the message was deleted
    with pytest.raises(discord.NotFound):
        await image.read()
    fake.fail_attachment(notes.id, "hang")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(text.read(), 0.2)
    fake.fail_attachment(notes, None)
    assert await text.read() == b"line one\n"
    assert [c.status for c in fake.cdn_calls] == [200, 200, 200, 403, 404, 0, 200]  # 0: never answered


async def test_without_message_content_others_attachments_are_blanked(harness: Harness) -> None:
    fake, bot = await harness()
    await fake.send_message(fake.channel_id, "no mention", attachments=[("a.txt", b"hidden")])
    await fake.roundtrip()
    await fake.wait_until(lambda: len(bot.user_messages()) == 1)
    assert bot.user_messages()[0].attachments == []


async def test_an_attachment_option_arrives_resolved_in_the_interaction(harness: Harness) -> None:
    fake, bot = await harness()
    received: list[discord.Attachment] = []

    @bot.tree.command(name="upload", description="Send a file", guild=discord.Object(fake.guild_id))
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        received.append(file)
        await interaction.response.send_message("got it", allowed_mentions=NONE)

    await bot.tree.sync(guild=discord.Object(fake.guild_id))
    option = next(c for c in fake.guild_commands[str(fake.guild_id)] if c["name"] == "upload")["options"][0]
    assert option["type"] == 11  # ATTACHMENT

    report = fake.add_attachment("report.pdf", b"%PDF-1.4 tiny", ephemeral=True)
    inter = await fake.send_interaction("upload", {"file": report})
    await fake.wait_until(lambda: len(received) == 1)
    assert inter.data["options"] == [{"name": "file", "type": 11, "value": report.id}]
    assert inter.data["resolved"]["attachments"][report.id]["filename"] == "report.pdf"
    file = received[0]
    assert (file.id, file.filename, file.content_type, file.ephemeral) == (
        int(report.id),
        "report.pdf",
        "application/pdf",
        True,
    )
    assert "/ephemeral-attachments/" in file.url and await file.read() == b"%PDF-1.4 tiny"


async def test_members_carry_their_roles_in_messages_and_interactions(harness: Harness) -> None:
    # discord.py keeps the ids an event carried (`Member._roles`) even for roles its guild
    # cache does not hold; the adapter reads those (bots/discord/access.py).
    fake, bot = await harness(ask_impl=lambda interaction, question: interaction.response.send_message("ok"))
    staff = fake.add_role(fake.guild_id, "staff")
    fake.give_role(fake.user, staff)
    bob = fake.add_user("bob")
    await fake.send_message(fake.channel_id, "hi", author=fake.user)
    await fake.send_message(fake.channel_id, "hi", author=bob)
    await fake.wait_until(lambda: len(bot.user_messages()) == 2)
    alice_said, bob_said = bot.user_messages()
    assert isinstance(alice_said.author, discord.Member) and list(alice_said.author._roles) == [staff]
    assert isinstance(bob_said.author, discord.Member) and list(bob_said.author._roles) == []

    await bot.tree.sync(guild=discord.Object(fake.guild_id))
    await fake.send_interaction("ask", {"question": "roles?"})
    await fake.wait_until(lambda: len(bot.interactions) == 1)
    asker = bot.interactions[0].user
    assert isinstance(asker, discord.Member) and list(asker._roles) == [staff]


async def test_a_message_delivered_twice_reaches_the_client_twice(harness: Harness) -> None:
    fake, bot = await harness()
    message = await fake.send_message(fake.channel_id, "once?")
    await fake.redeliver(message)
    await fake.wait_until(lambda: len(bot.user_messages()) == 2)
    assert {m.id for m in bot.user_messages()} == {int(message.id)}


async def test_a_user_can_be_fetched_by_id(harness: Harness) -> None:
    fake, bot = await harness()
    user = await bot.client.fetch_user(int(fake.user["id"]))
    assert (user.id, user.name) == (int(fake.user["id"]), "alice")
    with pytest.raises(discord.NotFound):
        await bot.client.fetch_user(1234)
