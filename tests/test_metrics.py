"""What `/metrics` tells an operator about pacing: staleness, writes by kind, budgets.

The fake-clock tests read `Metrics.render()` (the body `/metrics` serves) after an answer
through the fake surface, so every expected value is computed exactly; the end-to-end
ones GET `/metrics` from the real Slack and Discord adapters against their fakes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bots.discord.budgets import DiscordBudgets
from bots.metrics import Metrics
from bots.services import add_status_routes
from bots.slack.budgets import SlackLimits
from core.models import Finish, TextDelta, Waiting
from core.relay.answer import relay
from core.relay.config import RelayConfig
from tests.fakes.model import ScriptedSource, words
from tests.fakes.openai_server import script_from_text
from tests.fakes.surface import INDICATOR, FakeSurface
from tests.slack_harness import wait_until

ANSWER = "Pacing is the art of showing text soon without spending the whole budget. " * 3


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample `name{labels}` in Prometheus text, or None if it is absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def series(text: str, name: str) -> list[dict[str, str]]:
    """The label sets `name` has samples for."""
    return [s.labels for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]


@asynccontextmanager
async def served(ctx: Any) -> AsyncIterator[str]:
    """Serve the context's `/healthz` and `/metrics` as `trickle serve` does; yield the URL."""
    add_status_routes(ctx)
    runner = web.AppRunner(ctx.web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/metrics"
    finally:
        await runner.cleanup()


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        return await response.text()


# -- on a fake clock, through the fake surface --------------------------------------------
@pytest.mark.looptime
async def test_staleness_is_observed_once_per_delta_with_its_exact_wait():
    metrics = Metrics()
    surface = FakeSurface()
    source = ScriptedSource(words(ANSWER), delay=0.1)
    await relay(surface, source.stream(), config=RelayConfig(interval=0.5), observer=metrics.observer("slack"))

    # When each delta first became visible: the first version showing that much text.
    shown = [(at, len(text.removesuffix(INDICATOR))) for at, text, _ in surface.messages[0].versions[1:]]
    waits = [next(at for at, length in shown if length >= end) - emitted for emitted, end in source.emitted]
    text = metrics.render().decode()
    name = "trickle_token_staleness_seconds"
    assert value(text, f"{name}_count", platform="slack") == len(source.tokens)
    assert value(text, f"{name}_sum", platform="slack") == pytest.approx(sum(waits))
    assert value(text, f"{name}_bucket", platform="slack", le="0.5") == len(source.tokens)  # the edit floor
    assert value(text, f"{name}_bucket", platform="slack", le="0.05") < len(source.tokens)  # some did wait
    assert max(waits) > 0.25


class StatusSurface(FakeSurface):
    """A fake surface that shows statuses in its placeholder, as Slack's and Discord's do."""

    async def show_status(self, ref, status: str) -> bool:
        await self.edit(ref, f"_{status}_", final=False)
        return True


@pytest.mark.looptime
async def test_a_status_shown_while_queued_counts_as_a_status_write():
    async def queued_then_answered():
        yield Waiting(0.0, why="queued behind your previous question")
        await asyncio.sleep(2.0)
        yield TextDelta("Your turn now.")
        yield Finish("stop")

    metrics = Metrics()
    await relay(StatusSurface(), queued_then_answered(), observer=metrics.observer("discord"))
    text = metrics.render().decode()
    writes = {
        labels["kind"]: value(text, "trickle_writes_total", **labels) for labels in series(text, "trickle_writes_total")
    }
    assert writes == {"placeholder": 1, "status": 1, "final": 1}


@pytest.mark.looptime
async def test_budget_gauges_show_one_series_per_kind_however_many_channels():
    metrics = Metrics()
    budgets = DiscordBudgets(rate=0.5, burst=1)
    metrics.watch_budgets("discord", budgets.by_kind)
    for channel in range(40):
        await budgets.channel(channel).acquire(stale_since=0.0)  # each spends its only token
    waiting = [
        asyncio.create_task(budgets.channel(channel).acquire(stale_since=0.0, final=True)) for channel in (0, 0, 7)
    ]
    await asyncio.sleep(0.01)

    text = metrics.render().decode()
    kind = {"platform": "discord", "budget": "channel"}
    assert series(text, "trickle_budget_queue") == [kind]
    assert value(text, "trickle_budget_queue", **kind) == 3
    assert value(text, "trickle_budget_tokens", **kind) == pytest.approx(0.0, abs=0.01)
    assert value(text, "trickle_budget_scopes", **kind) == 40

    await asyncio.wait_for(asyncio.gather(*waiting), 10)
    text = metrics.render().decode()
    assert value(text, "trickle_budget_queue", **kind) == 0


# -- end to end: the real adapters against their fakes --------------------------------------
async def test_metrics_count_one_slack_answers_placeholder_interims_and_final(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text(ANSWER, delay=0.05, first_delay=0.3))
    async with served(h.ctx) as url:
        event = h.fake.mention_event("UALICE", "how do you pace?", "C1")
        await h.deliver(event)
        await wait_until(lambda: h.pages("C1", event["ts"]), 5)
        await h.settle()
        text = await scrape(url)

    posts = [c for c in h.fake.calls_to("chat.postMessage") if c.ok]
    updates = [c for c in h.fake.calls_to("chat.update") if c.ok]
    assert len(posts) == 1 and len(updates) >= 3
    writes = {
        labels["kind"]: value(text, "trickle_writes_total", **labels) for labels in series(text, "trickle_writes_total")
    }
    assert writes == {"placeholder": 1, "interim": len(updates) - 1, "final": 1}
    assert value(text, "trickle_edits_total", platform="slack") == len(updates)  # answer text only

    deltas = value(text, "trickle_tokens_total", platform="slack")
    assert deltas == len(h.model.emitted)
    count = value(text, "trickle_token_staleness_seconds_count", platform="slack")
    total = value(text, "trickle_token_staleness_seconds_sum", platform="slack")
    assert count == deltas
    assert 0 < total / count < 2.0  # shown within an edit or two of arriving


async def test_a_slack_usage_hint_counts_as_a_notice_write(slack_bot):
    h = await slack_bot()
    async with served(h.ctx) as url:
        event = h.fake.mention_event("UALICE", "", "C1")
        await h.deliver(event)
        await wait_until(lambda: h.pages("C1", event["ts"]), 5)
        await h.settle()
        text = await scrape(url)
    assert series(text, "trickle_writes_total") == [{"platform": "slack", "kind": "notice"}]
    assert value(text, "trickle_writes_total", platform="slack", kind="notice") == 1


async def test_metrics_show_slack_writes_queued_for_the_workspace_edit_budget(slack_bot):
    h = await slack_bot(limits=SlackLimits(updates_per_minute=60, update_burst=1))
    for _ in range(3):
        h.model.script_queue.append(script_from_text(ANSWER, delay=0.03))
    kind = {"platform": "slack", "budget": "chat.update"}
    peak = 0.0
    async with served(h.ctx) as url:
        for n, asker in enumerate(("UALICE", "UBOB", "UADMIN")):  # none queued behind their own
            await h.deliver(h.fake.mention_event(asker, f"question {n}", f"C{n}"))
        for _ in range(200):
            text = await scrape(url)
            peak = max(peak, value(text, "trickle_budget_queue", **kind) or 0.0)
            if peak >= 2:
                break
            await asyncio.sleep(0.02)
        assert peak >= 2, "never saw two answers waiting for chat.update"
        assert 0 <= value(text, "trickle_budget_tokens", **kind) <= 1  # its level, within the burst
        assert value(text, "trickle_budget_scopes", **kind) == 1  # one workspace
        assert value(text, "trickle_budget_scopes", platform="slack", budget="chat.postMessage") == 3
        await h.settle()
        text = await scrape(url)
    assert value(text, "trickle_budget_queue", **kind) == 0


async def test_metrics_of_a_discord_answer_by_kind_and_its_channel_budget(discord_bot):
    bot = await discord_bot()
    fake = bot.fake
    bot.model.script_queue.append(script_from_text(ANSWER, delay=0.1, first_delay=0.3))
    async with served(bot.ctx) as url:
        await fake.send_message(fake.channel_id, f"<@{fake.bot_user_id}> how?")
        await wait_until(lambda: value_now(bot.ctx, "trickle_answers_total", platform="discord", end="stop"), 15)
        text = await scrape(url)

    (reply,) = [m for m in fake.channel_messages(fake.channel_id) if m.author["id"] == str(fake.bot_user_id)]
    interims = len(reply.versions) - 2  # all but the placeholder and the final text
    assert interims >= 1
    writes = {
        labels["kind"]: value(text, "trickle_writes_total", **labels) for labels in series(text, "trickle_writes_total")
    }
    assert writes == {"placeholder": 1, "interim": interims, "final": 1}
    assert value(text, "trickle_token_staleness_seconds_count", platform="discord") == len(bot.model.emitted)
    assert value(text, "trickle_budget_scopes", platform="discord", budget="channel") == 1
    assert value(text, "trickle_budget_queue", platform="discord", budget="channel") == 0


def value_now(ctx: Any, name: str, **labels: str) -> float | None:
    return value(ctx.metrics.render().decode(), name, **labels)
