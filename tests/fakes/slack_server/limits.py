"""Slack's rate limits as the fake enforces them: token buckets and 429 refusals.

Slack's shape: `chat.update` has one bucket for the whole workspace (Tier 3),
`chat.postMessage` one per channel, `chat.appendStream` one per workspace (Tier 4),
`chat.startStream` and `chat.stopStream` a Tier-2 bucket each (about 20 a minute), the
three `assistant.threads.*` methods a Tier-4 bucket each, and `method_limits` adds more.
A refusal is HTTP 429 with an integer `Retry-After` and `{"ok": false, "error":
"ratelimited"}`, raised before the handler runs, so it never changes a message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.clock import Clock
from tests.fakes.slack_server.state import Workspace

_ASSISTANT_METHODS = (
    "assistant.threads.setStatus",
    "assistant.threads.setTitle",
    "assistant.threads.setSuggestedPrompts",
)
_TIER4 = (20, 100.0)  # burst, per minute: Slack's "100+ per minute" with room for a burst
_TIER2 = (5, 20.0)  # Slack's "20+ per minute", with a short burst
_STREAM_ENDS = ("chat.startStream", "chat.stopStream")


class TokenBucket:
    """A token bucket on an injectable clock: `burst` tokens, refilled at `per_second`.

    Slack publishes its limits as "about N per minute, short bursts ok"; a bucket is the
    shape that matches both halves, and what CONTRACT.md asks bots to design for.
    """

    def __init__(self, *, burst: float, per_second: float, clock: Clock) -> None:
        self.capacity = float(burst)
        self.rate = float(per_second)
        self.tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def _refill(self) -> None:
        """Add the tokens earned since the last look (never above `capacity`)."""
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)

    def try_take(self) -> float:
        """Take one token and return 0.0, or return the seconds until one is available."""
        self._refill()
        if self.tokens >= 1.0 - 1e-9:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate


class RateLimits(Workspace):
    """The workspace's buckets, public so a test can read or replace one mid-run.

    A mixin rather than an object of its own: tests set `fake.update_bucket` and
    `fake.post_burst` on the fake itself.
    """

    def _init_limits(
        self,
        *,
        update_rate_per_min: float,
        update_burst: int,
        post_rate_per_s: float,
        post_burst: int,
        append_rate_per_min: float,
        append_burst: int,
        method_limits: Mapping[str, tuple[int, float]] | None,
    ) -> None:
        """The workspace-wide buckets now; `chat.postMessage` ones per channel on first use."""
        clock = self._clock
        self.post_rate_per_s = post_rate_per_s
        self.post_burst = post_burst
        self.update_bucket = TokenBucket(burst=update_burst, per_second=update_rate_per_min / 60.0, clock=clock)
        self.append_bucket = TokenBucket(burst=append_burst, per_second=append_rate_per_min / 60.0, clock=clock)
        self.post_buckets: dict[str, TokenBucket] = {}
        limits = {
            **dict.fromkeys(_ASSISTANT_METHODS, _TIER4),
            **dict.fromkeys(_STREAM_ENDS, _TIER2),
            **(method_limits or {}),
        }
        self.method_buckets: dict[str, TokenBucket] = {
            name: TokenBucket(burst=burst, per_second=per_min / 60.0, clock=clock)
            for name, (burst, per_min) in limits.items()
        }

    def _check_rate(self, method: str, params: Params) -> None:
        """Take a token from the method's bucket, or refuse with 429 + Retry-After."""
        bucket: TokenBucket | None = self.method_buckets.get(method)
        if method == "chat.update":
            bucket = self.update_bucket
        elif method == "chat.appendStream":
            bucket = self.append_bucket
        elif method == "chat.postMessage":
            channel = str(params.get("channel") or "")
            bucket = self.post_buckets.get(channel)
            if bucket is None:
                bucket = TokenBucket(burst=self.post_burst, per_second=self.post_rate_per_s, clock=self._clock)
                self.post_buckets[channel] = bucket
        if bucket is None:
            return
        wait = bucket.try_take()
        if wait > 0:
            retry_after = 60 if math.isinf(wait) else max(1, math.ceil(wait))
            raise ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})
