"""Discord's rate limits, read from Discord's own headers, as shared relay budgets.

Discord limits message creates and edits per channel, and `@original` edits and
follow-ups per interaction token, and states the limit on every response
(`X-RateLimit-Limit/-Remaining/-Reset-After/-Bucket`). discord.py keeps those headers to
itself and, when a bucket runs dry, sleeps before sending (or through a 429) inside the
awaited call. We want the relay's fair, stalest-first `Budget` to decide who edits next,
so the budgets must run just under Discord's count: an `aiohttp.TraceConfig` on the
client's session sees every response and feeds the budget its path names. Only writes
count: reading a channel's messages (a reply chain, a thread's history) is limited by a
bucket of its own, whose headers say nothing about the write budget. A channel has two
write budgets: Discord names message creates and edits with one bucket hash but counts
them apart (discord-api-docs #1442 and #8073: each reports `limit - 1` after the other
was spent), so five new messages and five edits fit in the same five seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp

from bots.discord.windows import WindowBucket
from core.pacing.bucket import RemoteBucket
from core.pacing.budget import Budget

DEFAULT_RATE = 1.0  # calls a second per bucket: Discord's observed 5 per 5 s
DEFAULT_BURST = 5
TOKEN_LIFETIME = 900.0  # an interaction token (and so its bucket) lives 15 minutes
WRITES = frozenset({"POST", "PATCH", "DELETE"})

_CHANNEL_PATH = re.compile(r"/channels/(\d+)/messages(?:/\d+)?$")
_MESSAGE_PATH = re.compile(r"/messages/\d+$")
_WEBHOOK_PATH = re.compile(r"/webhooks/\d+/([^/]+)(?:/messages/[^/]+)?$")


def channel_key(channel_id: int | str) -> str:
    """A channel's edits (and deletes)."""
    return f"channel:{channel_id}"


def create_key(channel_id: int | str) -> str:
    """A channel's new messages."""
    return f"create:{channel_id}"


def interaction_key(token: str) -> str:
    return f"webhook:{token}"


def budget_key(path: str, method: str = "PATCH") -> str | None:
    """Which budget a write draws on: a channel's creates or edits, or an interaction
    webhook."""
    if match := _CHANNEL_PATH.search(path):
        creating = method.upper() == "POST" and not _MESSAGE_PATH.search(path)
        return (create_key if creating else channel_key)(match.group(1))
    if match := _WEBHOOK_PATH.search(path):
        return interaction_key(match.group(1))
    return None


@dataclass(frozen=True, slots=True)
class RateHeaders:
    """One response's `X-RateLimit-*` headers; `retry_after` is set on a 429."""

    remaining: int
    reset_after: float
    limit: int | None
    bucket: str | None
    retry_after: float | None = None


def parse_headers(status: int, headers: Mapping[str, str]) -> RateHeaders | None:
    """The rate-limit state a response reports, or None when it reports none (or a global 429)."""
    if headers.get("X-RateLimit-Global", "").lower() == "true":
        return None  # the whole bot is limited: discord.py waits that out for everyone
    try:
        remaining = int(headers["X-RateLimit-Remaining"])
        reset_after = float(headers["X-RateLimit-Reset-After"])
    except (KeyError, ValueError):
        return None
    limit_raw = headers.get("X-RateLimit-Limit")
    limit = int(limit_raw) if limit_raw and limit_raw.isdigit() else None
    retry_after: float | None = None
    if status == 429:  # Reset-After has milliseconds; Retry-After only whole seconds
        retry_after = reset_after if reset_after > 0 else _seconds(headers.get("Retry-After"), 1.0)
    return RateHeaders(remaining, max(0.0, reset_after), limit, headers.get("X-RateLimit-Bucket"), retry_after)


def _seconds(raw: str | None, default: float) -> float:
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except ValueError:
        return default


class DiscordBudgets:
    """Every Discord budget of one bot, by channel id and by interaction token.

    Budgets are made on first use (by the surfaces, or by a response naming them) and
    forgotten when they cannot matter any more: interaction tokens after their 15 minutes,
    channels least recently used first beyond `max_channels`.
    """

    __slots__ = (
        "rate",
        "burst",
        "max_channels",
        "_clock",
        "_channels",
        "_creates",
        "_interactions",
        "_shared",
    )

    def __init__(
        self,
        *,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        max_channels: int = 4096,
        clock: Callable[[], float] | None = None,
        shared: Callable[..., RemoteBucket | None] | None = None,
    ) -> None:
        self._shared = shared
        self.rate = rate
        self.burst = burst
        self.max_channels = max_channels
        self._clock = clock
        self._channels: OrderedDict[str, Budget] = OrderedDict()
        self._creates: OrderedDict[str, Budget] = OrderedDict()
        self._interactions: OrderedDict[str, tuple[float, Budget]] = OrderedDict()

    def __repr__(self) -> str:
        return f"<DiscordBudgets channels={len(self._channels)} interactions={len(self._interactions)}>"

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _new(self, name: str) -> Budget:
        # With replicas (Redis), every process's budget for this bucket also draws on one
        # shared bucket, so together they stay under Discord's count.
        remote = self._shared(f"discord:{name}", rate=self.rate, burst=self.burst) if self._shared else None
        return Budget(
            rate=self.rate,
            burst=self.burst,
            reserve=1.0,
            name=name,
            clock=self._clock,
            remote=remote,
            bucket_type=WindowBucket,
        )

    def channel(self, channel_id: int | str) -> Budget:
        """The budget for editing messages in one channel (or thread)."""
        return self._scoped(self._channels, channel_key(channel_id))

    def creates(self, channel_id: int | str) -> Budget:
        """The budget for posting new messages in one channel (or thread)."""
        return self._scoped(self._creates, create_key(channel_id))

    def _scoped(self, budgets: OrderedDict[str, Budget], key: str) -> Budget:
        budget = budgets.get(key)
        if budget is None:
            budget = budgets[key] = self._new(key)
            while len(budgets) > self.max_channels:
                budgets.popitem(last=False)
        budgets.move_to_end(key)
        return budget

    def interaction(self, token: str) -> Budget:
        """The budget for one interaction's `@original` edits and follow-ups."""
        key = interaction_key(token)
        entry = self._interactions.get(key)
        if entry is None:
            now = self._now()
            while self._interactions:
                oldest_key, (born, _) = next(iter(self._interactions.items()))
                if now - born <= TOKEN_LIFETIME:
                    break
                del self._interactions[oldest_key]
            digest = hashlib.sha1(token.encode()).hexdigest()[:8]  # never log the token itself
            entry = self._interactions[key] = (now, self._new(f"webhook:{digest}"))
        return entry[1]

    def by_kind(self) -> Iterator[tuple[str, Budget]]:
        """Every live budget with its kind (`channel` edits, `create`, `interaction`), for
        metrics by kind (one series each, however many channels and tokens)."""
        for budget in list(self._channels.values()):
            yield "channel", budget
        for budget in list(self._creates.values()):
            yield "create", budget
        for _, budget in list(self._interactions.values()):
            yield "interaction", budget

    def for_key(self, key: str) -> Budget:
        if key.startswith("channel:"):
            return self.channel(key.removeprefix("channel:"))
        if key.startswith("create:"):
            return self.creates(key.removeprefix("create:"))
        return self.interaction(key.removeprefix("webhook:"))

    def observe(self, *, method: str, path: str, status: int, headers: Mapping[str, str]) -> None:
        """Feed one write's headers to the budget its path draws on (reads are ignored)."""
        if method.upper() not in WRITES:
            return
        key = budget_key(path, method)
        if key is None:
            return
        state = parse_headers(status, headers)
        if state is None:
            return
        budget = self.for_key(key)
        budget.observe(remaining=state.remaining, reset_after=state.reset_after, limit=state.limit)
        if state.retry_after is not None:
            budget.rate_limited(state.retry_after)

    def trace_config(self) -> aiohttp.TraceConfig:
        """A trace config for `discord.Client(http_trace=...)` that feeds these budgets.

        discord.py's interaction webhooks use the same session, so they are seen too.
        """
        trace = aiohttp.TraceConfig()

        async def on_request_end(
            session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
        ) -> None:
            self.observe(
                method=params.method,
                path=params.url.path,
                status=params.response.status,
                headers=params.response.headers,
            )

        trace.on_request_end.append(on_request_end)
        return trace
