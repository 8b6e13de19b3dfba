"""One platform allowance as a token bucket, and the shapes a bucket takes elsewhere.

A platform allows far fewer edits than a model produces tokens, and the allowance is
shared (Slack's `chat.update` per workspace, Discord's buckets per channel or interaction
token). `TokenBucket` is the pure arithmetic of one such allowance: time is passed in,
never read, so it is tested with plain numbers. `Bucket` is what the planner reads of
one (`core.pacing.planner`), and `RemoteBucket` one kept outside this process.
`core.pacing.budget.Budget` wraps a bucket for the many answers drawing on it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Bucket", "RemoteBucket", "TokenBucket"]


class Bucket(Protocol):
    """The arithmetic of one allowance (`TokenBucket` and kin), as the planner reads it."""

    rate: float

    def ready_at(self, now: float, *, need: float = 1.0) -> float: ...

    def wasted_by(self, now: float, until: float) -> float: ...

    def try_take(self, now: float, *, need: float = 1.0) -> bool: ...


class RemoteBucket(Protocol):
    """A bucket kept outside this process (Redis), shared by every replica."""

    async def take(self, need: float) -> float:
        """0.0 when a token was taken, else the seconds to wait before asking again."""
        ...

    async def pause(self, retry_after: float) -> None:
        """Empty and pause the shared bucket after a 429."""
        ...


class TokenBucket:
    """A token bucket with pauses and additive-increase/multiplicative-decrease.

    Time is passed in (`now`), never read, so the arithmetic is testable without a loop.
    A 429 empties the bucket, pauses it for Retry-After and halves the rate; every
    successful call after that wins back a tenth of the configured rate. The rate never
    drops below half: Retry-After already says how long to wait, and a deeper cut would
    leave answers half-shown long after the platform has recovered.
    """

    __slots__ = ("base_rate", "burst", "rate", "tokens", "updated_at", "paused_until", "min_rate", "tenants")

    def __init__(self, *, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs rate > 0 and burst >= 1")
        self.base_rate = rate
        self.rate = rate
        self.min_rate = rate / 2
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated_at = now
        self.paused_until = now
        # How many answers draw on it, as its `Budget` last counted them: a bucket may
        # spend differently for one answer alone (Discord's windows do).
        self.tenants = 0

    def __repr__(self) -> str:
        return (
            f"<TokenBucket tokens={self.tokens:.2f}/{self.burst:g} "
            f"rate={self.rate:.3g}/s paused_until={self.paused_until:.3f}>"
        )

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last refill (none while paused)."""
        start = max(self.updated_at, self.paused_until)
        if now > start:
            self.tokens = min(self.burst, self.tokens + (now - start) * self.rate)
        self.updated_at = max(self.updated_at, now)

    def ready_at(self, now: float, *, need: float = 1.0) -> float:
        """The earliest time at which `need` tokens will be available."""
        self.refill(now)
        start = max(now, self.paused_until)
        if self.tokens >= need and start <= now:
            return now
        missing = max(0.0, need - self.tokens)
        return start + missing / self.rate

    def wasted_by(self, now: float, until: float) -> float:
        """Tokens lost if none is taken from `now` until `until`: refill beyond the burst."""
        self.refill(now)
        earning = max(0.0, until - max(now, self.paused_until))
        return max(0.0, self.tokens + earning * self.rate - self.burst)

    def try_take(self, now: float, *, need: float = 1.0) -> bool:
        """Take one token if `need` are available now."""
        if self.ready_at(now, need=need) > now:
            return False
        self.tokens -= 1.0
        return True

    def rate_limited(self, now: float, retry_after: float) -> None:
        """The platform said 429: empty, pause, and halve the rate."""
        self.refill(now)
        self.tokens = min(self.tokens, 0.0)
        self.paused_until = max(self.paused_until, now + max(0.0, retry_after))
        self.updated_at = max(self.updated_at, now)
        self.rate = max(self.min_rate, self.rate / 2)

    def succeeded(self) -> None:
        """A call went through: win back some of the rate lost to earlier 429s."""
        if self.rate < self.base_rate:
            self.rate = min(self.base_rate, self.rate + self.base_rate / 10)

    def observe(self, now: float, *, remaining: int, reset_after: float, limit: int | None) -> None:
        """Align with the platform's own count (Discord's `X-RateLimit-*` headers).

        The server's figure wins when it is lower than ours: other processes, or calls we
        did not route through this bucket, may have spent tokens.
        """
        self.refill(now)
        if limit and limit > 0 and reset_after > 0:
            # The server's window: `limit` calls per window, of which reset_after is left.
            self.burst = float(limit)
        self.tokens = min(self.tokens, float(remaining))
        if remaining <= 0:
            self.paused_until = max(self.paused_until, now + reset_after)
