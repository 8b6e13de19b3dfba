"""The real Slack adapter in-process against FakeSlack and FakeOpenAI: fixtures and helpers."""

from __future__ import annotations

# ---------------------------------------------------------------- Slack adapter fixtures
# `slack_bot(mode)` runs the real Slack adapter (bolt, slack_sdk, AsyncOpenAI) in-process
# against FakeSlack and FakeOpenAI on loopback, built through bots.slack.service like
# `trickle slack` builds it.
import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack, unescape

SLACK_USERS = {"UALICE": "Alice", "UBOB": "Bob", "UADMIN": "Ada Admin"}

# An answer longer than a Slack page, with `&` and `<` (longer once escaped) and a code
# block that crosses a page boundary.
LONG = (
    "Here is the whole program, explained step by step.\n\n"
    + "".join(f"Step {n}: adjust the widget & check that a < b.\n" for n in range(60))
    + "\n```python\n"
    + "".join(f"def step_{n}(a, b):\n    return a < b and b > {n}\n" for n in range(60))
    + "```\n\nThat is all.\n"
)


@dataclass
class SlackHarness:
    """A running Slack adapter and the fakes around it; see `slack_bot`."""

    fake: FakeSlack
    model: FakeOpenAI
    service: Any
    ctx: Any
    events_url: str | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def bot(self) -> Any:
        return self.service.bot

    async def deliver(self, event: dict[str, Any], **options: Any) -> Any:
        """Send `event` the way this harness's mode receives events."""
        if self.events_url is None:
            envelope_id = await self.fake.send_event(event, **options)
            await self.fake.wait_ack(envelope_id)
            return envelope_id
        return await self.fake.post_event(self.events_url, event, **options)

    async def click(self, payload: dict[str, Any]) -> None:
        """Deliver a block_actions payload (a button click) and wait for its ack."""
        if self.events_url is None:
            await self.fake.wait_ack(await self.fake.send_interaction(payload))
        else:
            assert await self.fake.post_interaction(self.events_url, payload) == 200

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until the bot has no event work or answers left."""
        await wait_until(lambda: not self.ctx.assistant.tasks and self.ctx.assistant.active == 0, timeout)

    def pages(self, channel: str, thread_ts: str | None) -> list[Any]:
        """The bot's messages answering in `thread_ts` (None: top level), oldest first."""
        if thread_ts is not None:
            return self.fake.thread(channel, thread_ts)
        return [m for m in self.fake.messages(channel) if m.is_bot and not m.thread_ts]

    def shown(self, channel: str, thread_ts: str | None, expected: str) -> str:
        """The answer's pages as one text, undoing only what CONTRACT.md allows."""
        texts = [unescape(m.visible) for m in self.pages(channel, thread_ts)]
        return join_pages(texts, expected)


_OPENER = re.compile(r"(`{3,}|~{3,})[^\n]*\n")


def join_pages(texts: list[str], expected: str) -> str:
    """Join page texts, removing a fence closed at a page's end and reopened on the next.

    A closer may or may not have brought its own newline (the strings look the same), so
    the one that keeps the joined text a prefix of `expected` is taken.
    """
    joined, reopened = "", False
    for i, text in enumerate(texts):
        following = texts[i + 1] if i + 1 < len(texts) else None
        if i > 0 and (opener := _OPENER.match(text)) and reopened:
            text = text[opener.end() :]
        reopened = False
        if following is not None and (opener := _OPENER.match(following)):
            marker = opener[1]
            if text.endswith(marker):
                body = text[: -len(marker)]
                bare = body[:-1] if body.endswith("\n") else body
                text = body if expected.startswith(joined + body) else bare
                reopened = True
        joined += text
    return joined


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    """Poll `predicate` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack workspace with a few named people."""
    async with FakeSlack(users=SLACK_USERS) as server:
        yield server


@pytest.fixture
async def slack_bot(
    fake_slack: FakeSlack, fake_openai: FakeOpenAI
) -> AsyncIterator[Callable[..., Awaitable[SlackHarness]]]:
    """Start the Slack adapter: `await slack_bot("socket" | "http", limits=None, **env)`."""
    from bots.context import ServiceContext, build_assistant
    from bots.metrics import Metrics
    from bots.settings import Settings
    from bots.slack import service as slack_service
    from core.sources.factory import build_source
    from core.state.store import MemoryState

    harnesses: list[tuple[SlackHarness, web.AppRunner | None]] = []

    async def start(mode: str = "socket", *, limits: Any = None, **env: str) -> SlackHarness:
        values = {
            "OPENAI_BASE_URL": fake_openai.base_url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": fake_slack.api_url,
            "TRICKLE_EDIT_INTERVAL": "0.2",
            "TRICKLE_IDLE_TIMEOUT": "5",
            "TRICKLE_SYSTEM_PROMPT": "You are a test.",
            **({"SLACK_APP_TOKEN": "xapp-test"} if mode == "socket" else {"SLACK_SIGNING_SECRET": "secret"}),
            **env,
        }
        settings = Settings.from_mapping(values)
        state, metrics = MemoryState(), Metrics()
        ctx = ServiceContext(
            settings=settings,
            assistant=build_assistant(settings, build_source(settings), state, metrics),
            state=state,
            metrics=metrics,
            stopping=asyncio.Event(),
            web_app=web.Application(),
            platforms=["slack"],
        )
        service = await slack_service.start(ctx, limits=limits)
        harness = SlackHarness(fake_slack, fake_openai, service, ctx)
        runner = None
        if mode == "socket":
            await fake_slack.wait_connected()
        else:
            runner = web.AppRunner(ctx.web_app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            harness.events_url = f"http://127.0.0.1:{port}/slack/events"
        harness.tasks.append(asyncio.create_task(service.run(ctx.stopping, ctx.drained)))
        harnesses.append((harness, runner))
        return harness

    yield start
    for harness, runner in harnesses:
        await harness.ctx.shut_down(5)
        await asyncio.wait(harness.tasks, timeout=10)
        await harness.ctx.assistant.source.aclose()
        if runner is not None:
            await runner.cleanup()
