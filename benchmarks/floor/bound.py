"""The first half of the PROVEN LOWER BOUND on token-staleness p95: counting writes.

The bound is a relaxation, not an offline optimum (the best schedule may sit above it),
because an optimum would need a search over schedules and the bound needs none; the
relay beside it (`benchmarks.floor.run`) says how far a real schedule is. Staleness is,
per token, the time from the model emitting it to a platform write first showing it. For
a candidate staleness S, a write at time w shows within S only tokens emitted in
[w - S, w]; tokens come every 1/rate seconds, so one write shows at most
floor(S * rate) + 1 of them (at most all of its answer's). Writes that can show anything
within S fall in [first emission, last emission + S], and the limits cap how many there
are (below). p95 <= S needs the best allocation of those writes to show, within S, the
share of all K answers' tokens that p95 counts (`shown_within`). The second half
(`benchmarks.floor.timeline`) adds when writes can come; `benchmarks.floor.proof`
bisects for the largest S either half proves infeasible, so p95 > floor. With capacity
for a write per token (K=1 and a huge budget), S = 0 is feasible and the bound is the
trivial 0. The relay falling below the floor would disprove the bound; every run checks it.

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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from benchmarks.floor.workload import EPS, Workload


class Shape(Protocol):
    def writes(self, start: float, end: float) -> float:
        """The most calls it allows in [start, end], when fresh at time 0."""
        ...

    def earliest(self, count: int) -> float:
        """The soonest its `count`-th call can come, when fresh at time 0."""
        ...


@dataclass(frozen=True, slots=True)
class BucketShape:
    """A token bucket: `burst` calls at once, refilled at `rate` a second."""

    rate: float
    burst: float

    def writes(self, start: float, end: float) -> float:
        # It holds at most `burst` at `start`, whatever happened before.
        return self.burst + self.rate * max(0.0, end - start)

    def earliest(self, count: int) -> float:
        # `count` calls by t need burst + rate * t of them.
        if count <= self.burst:
            return 0.0
        return (count - self.burst) / self.rate if self.rate > 0 else math.inf


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

    def earliest(self, count: int) -> float:
        # The window holding it is the ceil(count / limit)-th, opened a period or more
        # after the one before, the first at 0 or later.
        return (count - 1) // self.limit * self.period


@dataclass(frozen=True, slots=True)
class EitherShape:
    """Calls that may go by either of two limits (a Slack message opened by
    `chat.startStream` or by `chat.postMessage`): the k-th comes once the two together
    allow k."""

    one: Shape
    other: Shape

    def writes(self, start: float, end: float) -> float:
        return self.one.writes(start, end) + self.other.writes(start, end)

    def earliest(self, count: int) -> float:
        # i of them by `one`, the rest by `other`, each side no sooner than it allows.
        return min(
            max(self.one.earliest(i) if i else 0.0, self.other.earliest(count - i) if count - i else 0.0)
            for i in range(count + 1)
        )


@dataclass(frozen=True, slots=True)
class Allowance:
    """One limit that some answers' writes draw on; `per_answer` caps its use by each.

    `opens`: each member's message is opened by one call on this limit, before which
    nothing shows that answer (`benchmarks.floor.timeline` counts what that costs), or,
    where another limit may open them too, by one call on `opening` (an `EitherShape`).
    `gate`: its calls serve only answers whose message is a Slack stream, and no more of
    them than `gate` (the stream starts) allows to open (appends, stops).
    """

    name: str
    shape: Shape
    members: frozenset[int]
    per_answer: int | None = None
    opens: bool = False
    opening: Shape | None = None
    gate: Shape | None = None

    @property
    def opening_shape(self) -> Shape:
        """When this limit's members' messages can open: the k-th at `earliest(k)`."""
        return self.opening or self.shape

    def capacity(self, start: float, end: float) -> float:
        writes = self.shape.writes(start, end)
        total = writes if math.isinf(writes) else float(math.floor(writes + EPS))
        if self.per_answer is not None:
            total = min(total, float(self.per_answer * len(self.members)))
        return total


@dataclass(frozen=True, slots=True)
class OwnRules:
    """What trickle keeps beyond the limits, which a floor may hold every schedule to:
    `hold`, the placeholder promise (every message opens no later than `hold` after its
    opening limit allows it: `benchmarks.floor.timeline`), and `interval`, the least time
    between two edits of one message (TRICKLE_EDIT_INTERVAL; the opening and the final
    edit are exempt, as in `core.relay.writer`)."""

    hold: float | None = None
    interval: float | None = None

    def most_writes(self, span: float) -> float:
        """The most writes one message can take in `span` seconds."""
        if self.interval is None:
            return math.inf
        return math.floor(span / self.interval + EPS) + 3  # edits apart, the opening, the final


NO_RULES = OwnRules()
"""Bound every schedule the limits allow, whatever it promises."""


@dataclass(frozen=True, slots=True)
class Writes:
    """What some limits offer one group of answers over a stretch of time: `free` writes
    any answer may take, `gated` ones only `eligible` answers may (see `Allowance.gate`),
    and no answer more than `most` (`OwnRules.most_writes`)."""

    free: float
    gated: float = 0.0
    eligible: int = 0
    most: float = math.inf


def offered(
    allowances: Sequence[Allowance], capacity: Callable[[Allowance], float], opened_by: float, most: float
) -> Writes:
    """The writes `allowances` offer, each counted by `capacity`; gated ones serve the
    answers whose streams can have started by `opened_by`; `most` per answer."""
    gated = [a for a in allowances if a.gate is not None]
    return Writes(
        free=sum(capacity(a) for a in allowances if a.gate is None),
        gated=sum(capacity(a) for a in gated),
        eligible=max((math.floor(a.gate.writes(0.0, opened_by) + EPS) for a in gated if a.gate), default=0),
        most=most,
    )


def groups(count: int, allowances: Sequence[Allowance]) -> list[list[int]]:
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
    by_root: dict[int, list[int]] = {}
    for i in range(count):
        by_root.setdefault(root(i), []).append(i)
    return list(by_root.values())


def shown_within(
    answers: Sequence[Workload], allowances: Sequence[Allowance], stale: float, rules: OwnRules = NO_RULES
) -> int:
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
    for members in groups(len(answers), allowances):
        inside = set(members)
        shared = [a for a in allowances if a.members & inside]
        writes = offered(shared, lambda a: a.capacity(start, end), end, rules.most_writes(end - start))
        chosen = [answers[i] for i in members]
        total += best_split([a.tokens for a in chosen], [a.per_write(stale) for a in chosen], writes)
    return total


def best_split(counts: Sequence[int], per_write: Sequence[int], writes: Writes) -> int:
    """`best_shown` where the gated writes serve at most `writes.eligible` answers.

    Each answer's gain is concave in its writes and nothing for none, so it is
    subadditive: what an answer shows with free and gated writes together is at most
    what it shows with each apart. Hence the free writes' best over all answers plus the
    gated writes' best over the `eligible` answers with the most to show (with equal
    per-write gains, their marginal gains dominate any others') bounds the joint best;
    so does pooling everything. The smaller of the two is returned.
    """
    most = writes.most
    pooled = best_shown(counts, per_write, writes.free + writes.gated, most)
    eligible = writes.eligible
    if not writes.gated or eligible >= len(counts) or len(set(per_write)) > 1:
        return pooled
    top = sorted(counts, reverse=True)[:eligible]
    split = best_shown(counts, per_write, writes.free, most) + best_shown(top, per_write[:eligible], writes.gated, most)
    return min(pooled, split)


def best_shown(counts: Sequence[int], per_write: Sequence[int], writes: float, most: float = math.inf) -> int:
    """The most tokens `writes` writes show, answer i having `counts[i]` tokens to show
    and one write showing at most `per_write[i]` of them (each write shows one answer).

    Answer i given m writes shows at most min(counts[i], m * per_write[i]). Its marginal
    gains are per_write[i], ..., then the remainder, then 0: non-increasing, so each
    answer's gain is concave in m. Maximising a sum of concave functions of integers
    under one budget (sum of m_i <= writes) is solved exactly by the `writes` largest
    marginal gains over all answers: an answer's later gains are never larger than its
    earlier ones, so taking them largest first takes them in order. No answer is forced
    a write: p95 lets 5% of the tokens be as stale as they like, and a schedule may leave
    one answer out of the window entirely. An answer takes at most `most` writes (its
    gains cut off there, still non-increasing).
    """
    left = math.inf if math.isinf(writes) else math.floor(writes + EPS)
    marginals: list[tuple[int, int]] = []  # (gain, how many writes gain it)
    for count, gain in zip(counts, per_write, strict=True):
        full, rest = divmod(count, gain)
        full = int(min(full, most))
        if full:
            marginals.append((gain, full))
        if rest and full < most:
            marginals.append((rest, 1))
    marginals.sort(reverse=True)
    shown = 0
    for gain, times in marginals:
        if left <= 0:
            break
        used = min(times, left)
        shown += gain * int(used)
        left -= used
    return shown
