"""Shared fixtures. Each one starts what a test needs on loopback and tears it down."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """A started fake OpenAI server (`.base_url` ends in `/v1`); stopped after the test."""
    server = FakeOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server on a random port (required in CI); stopped after the test."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# Platform harnesses live in their own modules; importing their fixtures here makes them
# available to every test.
from tests.discord_harness import discord_bot  # noqa: E402,F401
from tests.slack_harness import fake_slack, slack_bot  # noqa: E402,F401
