"""A PROVEN LOWER BOUND on token-staleness p95 that no schedule of writes can beat.

It is a counting relaxation, not an offline optimum (the best schedule may sit well above
it), because an optimum would need a search over schedules and the bound needs none; the
relay beside it (`benchmarks.floor.run`) says how far a real schedule is. Staleness is,
per token, the time from the model emitting it to a platform write first showing it. For
a candidate staleness S, a write at time w shows within S only tokens emitted in
[w - S, w]; tokens come every 1/rate seconds, so one write shows at most
floor(S * rate) + 1 of them (at most all of its answer's). Writes that can show anything
within S fall in [first emission, last emission + S], and the limits cap how many there
are (below). p95 <= S needs the best allocation of those writes to show, within S, the
share of all K answers' tokens that p95 counts; the bound is the largest S found
infeasible by bisection (to 10 ms), so p95 > floor. With capacity for a write per token
(K=1 and a huge budget), S = 0 is feasible and the bound is the trivial 0: a real K=1
floor is above 0 only because the budgets hold fewer writes than an answer has tokens.
The relay falling below the floor would disprove the bound; every run checks it.

Capacity, per limit, of the writes in [t0, T] (t0 the first emission, T = last + S):
- a token bucket (rate r, burst b) holds at most b at t0, so at most b + r (T - t0);
- Discord's fixed windows (n calls per window of p seconds, a window opening at its first
  call, as `tests/fakes/discord_server.py` has them, fresh when the question comes):
  only windows opened in (t0 - p, T] and not before 0 hold such calls, at least p apart,
  so at most n (floor((T - max(0, t0 - p)) / p) + 1); rounding goes up at boundaries,
  which can only lower the bound.
Which limits each platform's answers draw on is `benchmarks.floor.limits`'s job.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from benchmarks.floor.workload import EPS, QUANTILE, Workload, nearest_rank

RESOLUTION = 0.01  # seconds: the bisection's step, the floor's precision


class Shape(Protocol):
    def writes(self, start: float, end: float) -> float:
        """The most calls it allows in [start, end], when fresh at time 0."""
        ...


@dataclass(frozen=True, slots=True)
class BucketShape:
    """A token bucket: `burst` calls at once, refilled at `rate` a second."""

    rate: float
    burst: float

    def writes(self, start: float, end: float) -> float:
        # It holds at most `burst` at `start`, whatever happened before.
        return self.burst + self.rate * max(0.0, end - start)


@dataclass(frozen=True, slots=True)
class WindowShape:
    """Discord's fixed windows: `limit` calls per `period`, a window opening at its first call."""

    limit: int
    period: float

    def writes(self, start: float, end: float) -> float:
        # A window holds a call in [start, end] only if it opened in (start - period, end]
        # (and not before 0); openings are at least a period apart.
        lo = max(0.0, start - self.period)
        return self.limit * (math.floor((end - lo) / self.period + EPS) + 1)


@dataclass(frozen=True, slots=True)
class Unlimited:
    """A call the platform does not rate-limit (capped per answer by its `Allowance`)."""

    def writes(self, start: float, end: float) -> float:
        return math.inf


@dataclass(frozen=True, slots=True)
class Allowance:
    """One limit that some answers' writes draw on; `per_answer` caps its use by each."""

    name: str
    shape: Shape
    members: frozenset[int]
    per_answer: int | None = None

    def capacity(self, start: float, end: float) -> float:
        writes = self.shape.writes(start, end)
        total = writes if math.isinf(writes) else float(math.floor(writes + EPS))
        if self.per_answer is not None:
            total = min(total, float(self.per_answer * len(self.members)))
        return total


def _groups(count: int, allowances: Sequence[Allowance]) -> list[list[int]]:
    """Answers joined by any limit they share (union-find over the allowances)."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for allowance in allowances:
        members = sorted(allowance.members)
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def shown_within(answers: Sequence[Workload], allowances: Sequence[Allowance], stale: float) -> int:
    """The most tokens, over all answers, that any schedule can show within `stale`.

    Every answer is asked at time 0, so `Workload` times are absolute. Answers that
    share no limit are independent; within a group, the capacity of all its limits is
    pooled. Pooling relaxes who may use which write (an answer may take another channel's
    post), so it can only let more tokens be shown: the bound stays valid, if a little
    lower than the constrained optimum.
    """
    start = min(a.first for a in answers)
    end = max(a.last for a in answers) + stale
    total = 0
    for members in _groups(len(answers), allowances):
        inside = set(members)
        writes = sum(a.capacity(start, end) for a in allowances if a.members & inside)
        total += _best_allocation([answers[i] for i in members], writes, stale)
    return total


def _best_allocation(answers: Sequence[Workload], writes: float, stale: float) -> int:
    """Tokens shown within `stale` by the best split of `writes` writes among `answers`.

    Answer i given m writes shows at most min(N_i, m * per_write_i) tokens within
    `stale`. Its marginal gains are per_write_i, ..., then the remainder, then 0: non-
    increasing, so each answer's gain is concave in m. Maximising a sum of concave
    functions of integers under one budget (sum of m_i <= writes) is solved exactly by
    giving each write in turn to the largest marginal gain: with non-increasing gains the
    best total of W writes is the sum of the W largest marginal gains over all answers,
    and the greedy takes exactly those, since an answer's later gains are never larger
    than its earlier ones (so taking them in order loses nothing). No answer is
    forced a write: p95 lets 5% of the tokens be as stale as they like, and a schedule may
    leave one answer out of the window entirely.
    """
    per_write = [a.per_write(stale) for a in answers]
    shown = [0] * len(answers)
    heap = [(-gain, i) for i, gain in enumerate(per_write)]
    heapq.heapify(heap)
    total = 0
    left = writes
    while left >= 1 and heap:
        gain, i = heapq.heappop(heap)
        total -= gain
        shown[i] -= gain
        left -= 1
        nxt = min(per_write[i], answers[i].tokens - shown[i])
        if nxt > 0:
            heapq.heappush(heap, (-nxt, i))
    return total


def floor_p95(
    answers: Sequence[Workload],
    allowances: Sequence[Allowance],
    *,
    q: float = QUANTILE,
    resolution: float = RESOLUTION,
    ceiling: float = 3600.0,
) -> float:
    """The largest staleness S (to `resolution`) at which p95 <= S is impossible.

    Feasibility only grows with S (more tokens per write, more time for writes), so a
    bisection finds the threshold; what is returned is a point proven infeasible, hence
    a lower bound on the p95 of any schedule (inf if none is feasible by `ceiling`).
    """
    need = nearest_rank(sum(a.tokens for a in answers), q) + 1

    def feasible(stale: float) -> bool:
        return shown_within(answers, allowances, stale) >= need

    if feasible(0.0):
        return 0.0
    lo, hi = 0.0, resolution
    while not feasible(hi):
        lo, hi = hi, hi * 2
        if hi > ceiling:
            return math.inf
    while hi - lo > resolution:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if feasible(mid) else (mid, hi)
    return lo
