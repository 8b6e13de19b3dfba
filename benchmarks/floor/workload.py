"""The workload every scenario streams, and the quantile rule every figure is read with.

The workload (the issue's): each answer's model emits its first token 0.5 s after the
question, then one every 20 ms (50 tokens/s), 400 tokens in all (the last at 8.48 s), and
finishes with its last token. Tokens are short distinct words, the token's index in hex
and a space ("0 ", ..., "18f "): an answer is 1,328 characters, so it fits one Discord
message even under the pager's holdback (an open page shows at most 1,749 of Discord's
1,998), and the bound need not model pages.

The bound and the relay read the same `Workload`, so the floor and the run beside it
always describe one stream.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from core.models import Finish, StreamEvent, TextDelta

QUANTILE = 0.95
EPS = 1e-9  # float slack, always spent on the side that lowers the bound


@dataclass(frozen=True, slots=True)
class Workload:
    """One answer's model stream, in seconds after its question."""

    first: float = 0.5
    tokens: int = 400
    rate: float = 50.0

    def emitted_at(self, index: int) -> float:
        return self.first + index / self.rate

    @property
    def last(self) -> float:
        return self.emitted_at(self.tokens - 1)

    def token(self, index: int) -> str:
        return f"{index:03x} "

    def text(self) -> str:
        return "".join(self.token(i) for i in range(self.tokens))

    def per_write(self, stale: float) -> int:
        """The most of this answer's tokens one write can show within `stale` seconds:
        those emitted in [w - stale, w], one every 1/rate seconds."""
        return min(self.tokens, math.floor(stale * self.rate + EPS) + 1)


async def model(workload: Workload, asked_at: float) -> AsyncIterator[StreamEvent]:
    """The scripted model: tokens on an absolute schedule (no drift), then `Finish`."""
    loop = asyncio.get_running_loop()
    for index in range(workload.tokens):
        delay = asked_at + workload.emitted_at(index) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield TextDelta(workload.token(index))
    yield Finish("stop")


def nearest_rank(count: int, q: float) -> int:
    """Index of the q-quantile in `count` sorted values (`benchmarks.measure.percentile`'s rule)."""
    return min(count - 1, max(0, round(q * (count - 1))))


def quantile(values: Sequence[float], q: float) -> float:
    return sorted(values)[nearest_rank(len(values), q)] if values else math.nan
