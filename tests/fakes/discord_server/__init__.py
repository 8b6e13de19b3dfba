"""A fake Discord (REST API + gateway) that the real discord.py client can log into.

Why a fake at this depth: the Discord adapter's hard parts are not "call edit()", they are
Discord's rules around it -- rate-limit buckets and 429s, the 2,000-char limit, the 3 s
interaction acknowledgement, the 15-minute interaction token, mention parsing on every
send and edit, and the MESSAGE_CONTENT intent.  Mocking discord.py would test our guesses
about those rules; this server enforces them on the wire, so the unmodified discord.py
client (its rate limiter, its webhook adapter, its gateway loop) runs against it exactly as
it runs against Discord.  Everything binds to 127.0.0.1 on a random port.

Usage (see tests/test_fake_discord.py for complete examples)::

    fake = FakeDiscord(channel_bucket=(5, 0.5))
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0)
    await client.login(fake.bot_token); task = asyncio.create_task(client.connect())
    await fake.wait_ready()
    inter = await fake.send_interaction("ask", {"question": "why?"})
    await fake.wait_until(lambda: (m := fake.original(inter.token)) is not None and m.content == "hi")

All clock-dependent rules (buckets, token lifetime, the acknowledgement deadline, message
versions) read the injected ``clock``, so tests can expire a token without sleeping.
Snowflake ids are derived from the wall clock so discord.py's ``created_at`` stays sane.

The pieces, one job each: ``server`` (`FakeDiscord`, the assembly and the port),
``state`` (the world), ``gateway`` (the websocket), ``rest`` and ``routes/`` (the REST
API by family, on ``wire``'s requests, replies and error shapes), ``writes`` (Discord's checks on every create and edit), ``limits``
(buckets and 429s), ``cdn`` (attachment files), ``mentions`` (who a write would ping),
``actions`` and ``inspection`` (what tests do and read), ``records`` and ``protocol``
(the values and numbers they share).
"""

from __future__ import annotations

from .mentions import ROLE_MENTION_RE, USER_MENTION_RE, compute_pings
from .protocol import (
    API_PREFIX,
    ATTACHMENT_OPTION,
    DEFAULT_PERMISSIONS,
    DISCORD_EPOCH_MS,
    EPHEMERAL,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    LOADING,
    RESPONSE_DEFERRED_MESSAGE,
    RESPONSE_DEFERRED_UPDATE,
    RESPONSE_MESSAGE,
    RESPONSE_PONG,
    RESPONSE_UPDATE,
    SUPPRESS_EMBEDS,
    Json,
)
from .records import Call, FakeAttachment, FakeInteraction, FakeMessage, Fault, MentionViolation, Write
from .server import FakeDiscord

__all__ = [
    "API_PREFIX",
    "ATTACHMENT_OPTION",
    "DEFAULT_PERMISSIONS",
    "DISCORD_EPOCH_MS",
    "EPHEMERAL",
    "INTENT_DIRECT_MESSAGES",
    "INTENT_GUILD_MEMBERS",
    "INTENT_GUILD_MESSAGES",
    "INTENT_MESSAGE_CONTENT",
    "LOADING",
    "RESPONSE_DEFERRED_MESSAGE",
    "RESPONSE_DEFERRED_UPDATE",
    "RESPONSE_MESSAGE",
    "RESPONSE_PONG",
    "RESPONSE_UPDATE",
    "ROLE_MENTION_RE",
    "SUPPRESS_EMBEDS",
    "USER_MENTION_RE",
    "Call",
    "FakeAttachment",
    "FakeDiscord",
    "FakeInteraction",
    "FakeMessage",
    "Fault",
    "Json",
    "MentionViolation",
    "Write",
    "compute_pings",
]
