"""When each answer drawing on a budget will end, and what a write now costs their finals.

*Finals are reserved for*: every answer forecasts when its stream will end (its pace, its
length so far, a prior for answers' lengths). An interim edit is granted only if the
finals it would delay lose less than it shows sooner, in token-seconds of staleness
(with signs: opening a fixed window early can make finals sooner). The planner
(`core.pacing.planner`) weighs these numbers; this module only computes them.

Everything here is pure: time is passed in and the bucket is copied before it is tried,
so the rules are tested with plain numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from core.pacing.bucket import Bucket
from core.pacing.candidates import Outlook

__all__ = ["DEFAULT_PACE", "LengthPrior", "cost_to_finals", "final_delays", "forecast_end"]


class LengthPrior:
    """How long answers run here: a moving average of the lengths of answers that
    ended, so a forecast made before an answer is half written is not a wild guess."""

    __slots__ = ("chars", "weight")

    def __init__(self, chars: float = 1600.0, *, weight: float = 0.2) -> None:
        self.chars = chars  # ~400 tokens: a typical chat answer
        self.weight = weight

    def learn(self, length: int) -> None:
        if length > 0:
            self.chars += self.weight * (length - self.chars)


DEFAULT_PACE = 200.0  # characters a second (~50 tokens) until an answer shows its own


def forecast_end(outlook: Outlook, now: float, prior: LengthPrior) -> float:
    """When `outlook`'s stream is expected to end.

    An answer is expected to run to the typical length, or a quarter beyond what it has
    written when it is already longer (the longer it runs, the later it is likely to
    end); at its own pace once known.
    """
    if outlook.done:
        return now
    pace = outlook.pace(now) or DEFAULT_PACE
    expected = max(prior.chars, outlook.length * 1.25)
    return now + max(0.0, expected - outlook.length) / pace


def final_delays(bucket: Bucket, now: float, ends: Sequence[float], *, spend_now: int = 0) -> list[float]:
    """How late each forecast final would be written, if finals took tokens in order
    of their ends after `spend_now` tokens were taken now. The bucket is not touched."""
    trial = copy.copy(bucket)
    for _ in range(spend_now):
        trial.try_take(now)
    delays = []
    at = now
    for end in sorted(ends):
        at = max(at, end)
        at = max(at, trial.ready_at(at))
        trial.try_take(at)
        delays.append(at - max(end, now))
    return delays


def cost_to_finals(bucket: Bucket, now: float, tenants: Sequence[Outlook], ends: Sequence[float]) -> float:
    """What taking a token now costs the finals to come, in token-seconds of staleness.

    Each second a final comes later keeps the answer's last stretch of text (its pace
    times the time since its oldest unshown text) unshown. A write may also make finals
    sooner (a fixed window opened now ends, and refills, sooner), so the differences
    count with their signs: the cost may be negative.
    """
    before = final_delays(bucket, now, ends)
    after = final_delays(bucket, now, ends, spend_now=1)
    cost = 0.0
    order = sorted(range(len(tenants)), key=lambda i: ends[i])
    for slot, index in enumerate(order):
        extra = after[slot] - before[slot]
        if extra != 0:
            tenant = tenants[index]
            since = tenant.unshown_since()
            span = max(0.0, ends[index] - since) if since is not None else 0.0
            cost += extra * (tenant.pace(now) or DEFAULT_PACE) * max(span, abs(extra))
    return cost
