"""The HTTP Events API side of `benchmarks.slack`: where the bot listens, when it is
ready, and how fast it acknowledged the questions' POSTs (Slack retries after 3 s)."""

from __future__ import annotations

import asyncio
import socket
import statistics
from collections import Counter
from collections.abc import Sequence

import aiohttp

from tests.fakes.slack_server import HttpDelivery


def ack_notes(deliveries: Sequence[HttpDelivery]) -> str:
    """How fast the bot answered the questions' POSTs (Slack retries past 3 s), and any
    answer that was not a 200."""
    if not deliveries:
        return "HTTP: no deliveries"
    acks = [d.elapsed for d in deliveries]
    refused = Counter(d.status for d in deliveries if d.status != 200)
    statuses = ", ".join(f"{count} x {status}" for status, count in sorted(refused.items())) or "none"
    return f"HTTP ack median {statistics.median(acks) * 1000:.0f}ms, max {max(acks) * 1000:.0f}ms; non-200: {statuses}"


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on (the bot binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def events_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/slack/events"


async def wait_listening(port: int, bot: asyncio.subprocess.Process, *, timeout: float) -> None:
    """Poll `/healthz` until it answers 200.

    Not a bare TCP connect: the bot binds its port before it says hello to Slack, and the
    kernel accepts connections from then on, but nothing answers until the routes, Slack
    events among them, are served. A bot that exits (a setting refused) ends the wait.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while True:
            if bot.returncode is not None:
                raise RuntimeError(f"trickle slack exited with {bot.returncode} before serving HTTP events")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"trickle slack did not serve http://127.0.0.1:{port}/ within {timeout:g} s")
            await asyncio.sleep(0.1)
