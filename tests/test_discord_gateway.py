"""Which gateway the bot connects to: the override, or the one the REST base names; and
resumes stay there, whatever READY's `resume_gateway_url` says."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import discord.gateway
import pytest
import yarl

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import script_from_text


@pytest.fixture
def nowhere() -> Iterator[str]:
    """A loopback gateway URL that refuses connections: a stand-in for Discord's real
    hosts, which a test must never reach."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        sock.close()


async def answers(fake: FakeDiscord, model, text: str) -> None:  # type: ignore[no-untyped-def]
    model.script_queue.append(script_from_text(text))
    inter = await fake.send_interaction("ask", {"prompt": "still there?"})
    await fake.wait_until(lambda: (m := fake.original(inter.token)) is not None and m.content == text)


async def test_with_only_the_api_overridden_the_gateway_comes_from_gateway_bot(
    discord_bot, monkeypatch: pytest.MonkeyPatch, nowhere: str
) -> None:
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(nowhere))
    bot = await discord_bot(env={"DISCORD_GATEWAY_URL": ""})  # connected, or this times out
    assert bot.fake.calls_to("GET", "/gateway/bot")
    await answers(bot.fake, bot.model, "Yes.")


async def test_a_resume_goes_to_the_gateway_override_not_to_readys_resume_url(discord_bot, nowhere: str) -> None:
    bot = await discord_bot(resume_gateway_url=nowhere)
    await bot.fake.drop_gateway(4000)  # discord.py resumes (4000 is resumable)
    await bot.fake.wait_until(lambda: bot.fake.resumes == 1 and bot.fake.live_sessions == 1, timeout=10)
    await answers(bot.fake, bot.model, "Still here.")
