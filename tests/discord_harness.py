"""The real Discord adapter in-process against FakeDiscord and FakeOpenAI: fixtures and helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

# -- Discord: the real bot (bots.discord) against FakeDiscord and FakeOpenAI ------------------
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI


@dataclass
class DiscordBot:
    """A running Discord service wired to a fake Discord and a fake model."""

    fake: Any  # FakeDiscord
    model: FakeOpenAI
    service: Any  # bots.discord.service.DiscordService
    ctx: Any  # bots.context.ServiceContext


@pytest.fixture
async def discord_bot(monkeypatch: pytest.MonkeyPatch, fake_openai: FakeOpenAI) -> AsyncIterator[Any]:
    """Factory: `await discord_bot(env={...}, **FakeDiscord options)` starts the adapter in-process.

    `env` may also be a function of the fake, called before the bot connects: it can add
    users, channels and roles, and return settings that name their ids.

    Why in-process through `DiscordService` (what `setup()` builds): tests reach the fake's
    state and the service's budgets directly. discord.py's URL globals are restored after.
    """
    import asyncio

    import discord.gateway
    import discord.http
    from aiohttp import web

    from bots.context import ServiceContext, build_assistant
    from bots.discord.service import DiscordService, configure_library
    from bots.metrics import Metrics
    from bots.settings import Settings
    from core.sources.factory import build_source
    from core.state.store import MemoryState
    from tests.fakes.discord_server import FakeDiscord

    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    async with AsyncExitStack() as stack:

        async def make(
            *, env: dict[str, str] | Callable[[Any], dict[str, str]] | None = None, **options: Any
        ) -> DiscordBot:
            fake = FakeDiscord(**options)
            await fake.start()
            stack.push_async_callback(fake.stop)
            if callable(env):  # settings that name the fake's ids: build its world, then say them
                env = env(fake)
            settings = Settings.from_mapping(
                {
                    "DISCORD_BOT_TOKEN": fake.bot_token,
                    "DISCORD_API_URL": fake.api_url,
                    "DISCORD_GATEWAY_URL": fake.gateway_url,
                    "DISCORD_GUILD_ID": str(fake.guild_id),
                    "OPENAI_BASE_URL": fake_openai.base_url,
                    "TRICKLE_EDIT_INTERVAL": "0.05",
                    **(env or {}),
                }
            )
            source = build_source(settings)
            stack.push_async_callback(source.aclose)
            # As `trickle discord` builds it: with channel prefs and the usage ledger.
            state, metrics = MemoryState(), Metrics()
            ctx = ServiceContext(
                settings=settings,
                assistant=build_assistant(settings, source, state, metrics),
                state=state,
                metrics=metrics,
                stopping=asyncio.Event(),
                web_app=web.Application(),
                platforms=["discord"],
            )
            configure_library(settings)
            service = DiscordService(ctx, guild_ready_timeout=0)
            await service.start()
            task = asyncio.create_task(service.run())

            async def stop() -> None:
                await ctx.shut_down(1)
                await asyncio.wait_for(task, 30)

            stack.push_async_callback(stop)
            await fake.wait_ready()
            return DiscordBot(fake=fake, model=fake_openai, service=service, ctx=ctx)

        yield make
