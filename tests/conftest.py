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


# Tests that need a system service carry its marker (see scripts/system-packages.txt), so
# `./scripts/test --without redis` can leave them out on purpose; they are found by the
# fixture that starts the service, wherever it sits in a test's fixture chain.
_MARKER_BY_FIXTURE = {"redis_server": "redis", "compose": "compose"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in _MARKER_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


# Platform harnesses live in their own modules; importing their fixtures here makes them
# available to every test.
from tests.discord_harness import discord_bot  # noqa: E402,F401
from tests.slack_harness import fake_slack, slack_bot  # noqa: E402,F401
