"""Discord's rate limits: which bucket a request spends from, and the 429 when it is empty.

Why the fake enforces them on the wire: discord.py's own limiter reads the
``X-RateLimit-*`` headers and waits before sending, so the adapter's pacing is only
tested if every limited response carries those headers exactly as Discord sends them,
and a spent bucket answers 429 with ``retry_after``, ``Retry-After`` and ``Via``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .wire import Params, Reply


def bucket_hash(name: str) -> str:
    """Discord bucket hashes are opaque strings; a stable digest keeps them realistic."""
    return hashlib.sha1(name.encode()).hexdigest()[:16]


def ceil_ms(seconds: float) -> float:
    """Round a delay *up* to whole milliseconds so a client never wakes before the reset."""
    return max(0.0, math.ceil(seconds * 1000.0) / 1000.0)


@dataclass
class Bucket:
    """A fixed-window rate-limit bucket, the model Discord's headers describe."""

    limit: int
    period: float
    window_end: float = -math.inf
    used: int = 0

    def _roll(self, now: float) -> None:
        if now >= self.window_end:
            self.window_end = now + self.period
            self.used = 0

    def take(self, now: float) -> tuple[bool, int, float]:
        """Try to spend one request; returns (allowed, remaining, reset_after)."""
        self._roll(now)
        reset_after = self.window_end - now
        if self.used >= self.limit:
            return False, 0, reset_after
        self.used += 1
        return True, self.limit - self.used, reset_after

    def exhaust(self, now: float) -> None:
        self._roll(now)
        self.used = self.limit


_MESSAGES = bucket_hash("channel-messages")
_READS = bucket_hash("channel-messages-read")
_WEBHOOK = bucket_hash("webhook")


class RateLimiter:
    """Every bucket the fake has handed out, keyed the way Discord scopes them.

    Keys are ``"channel:<id>"`` (edits), ``"create:<id>"`` (new messages),
    ``"read:channel:<id>"`` (reads, when ``read`` is set) and ``"webhook:<token>"``
    (interaction responses); the ``for_*`` methods name a route's bucket from its path.
    ``rate_limited`` counts the 429s per key.
    """

    def __init__(
        self,
        *,
        channel: tuple[int, float],
        webhook: tuple[int, float],
        read: tuple[int, float] | None,
        clock: Callable[[], float],
    ) -> None:
        self.channel = channel
        self.webhook = webhook
        self.read = read  # None: reads are unlimited
        self.clock = clock
        self.buckets: dict[str, Bucket] = {}
        self.rate_limited: Counter[str] = Counter()

    def __repr__(self) -> str:
        spent = sum(1 for b in self.buckets.values() if b.used >= b.limit)
        return f"<RateLimiter buckets={len(self.buckets)} spent={spent} limited={sum(self.rate_limited.values())}>"

    def for_edits(self, p: Params) -> tuple[str, str]:
        return f"channel:{p['channel_id']}", _MESSAGES

    def for_creates(self, p: Params) -> tuple[str, str]:
        # Discord names creates and edits with one bucket hash, yet counts them apart
        # (discord-api-docs #1442, #8073): the same header, another count.
        return f"create:{p['channel_id']}", _MESSAGES

    def for_reads(self, p: Params) -> tuple[str, str] | None:
        if self.read is None:
            return None
        return f"read:channel:{p['channel_id']}", _READS

    def for_webhook(self, p: Params) -> tuple[str, str]:
        return f"webhook:{p['token']}", _WEBHOOK

    def _bucket(self, key: str) -> Bucket:
        return self.buckets.setdefault(key, Bucket(*self._limits(key)))

    def _limits(self, key: str) -> tuple[int, float]:
        if key.startswith("read:"):
            assert self.read is not None
            return self.read
        return self.channel if key.startswith(("channel:", "create:")) else self.webhook

    def exhaust(self, key: str) -> None:
        """Spend a bucket, as another process sharing the bot token would."""
        self._bucket(key).exhaust(self.clock())

    def take(self, key: str, hash_: str) -> tuple[dict[str, str], Reply | None]:
        """Spend from a bucket; every response of a limited route carries all X-RateLimit-*
        headers (discord.py needs -Reset-After whenever -Remaining is present)."""
        bucket = self._bucket(key)
        ok, remaining, reset_after = bucket.take(self.clock())
        reset_after = ceil_ms(reset_after)
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hash_,
        }
        if ok:
            return headers, None
        self.rate_limited[key] += 1
        limited_headers = dict(
            headers,
            **{
                "Retry-After": str(max(1, math.ceil(reset_after))),  # whole seconds, as Discord sends it
                "X-RateLimit-Scope": "user",
                "Via": "1.1 google",  # without Via discord.py assumes a Cloudflare ban
            },
        )
        body = {"message": "You are being rate limited.", "retry_after": reset_after, "global": False}
        return limited_headers, Reply(429, body, limited_headers)
