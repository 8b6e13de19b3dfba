"""The second half of the PROVEN LOWER BOUND: when writes can come, not only how many.

The counting relaxation (`benchmarks.floor.bound`) pools every write the limits allow
over the whole run, as if any of them could come at any time. Two facts about time are
left out, and where answers outnumber the writes they decide the figure. Both bound the
tokens *lost* (not shown within a candidate staleness S) from below, in any schedule:

1. **Openings.** An answer's first write opens its one message (a post, a create, a
   stream start) and nothing shows it before: an answer opened at p loses every token
   emitted before p - S. Openings drawn on one limit come one after another, the k-th
   no sooner than that limit allows k calls after the question (`Shape.earliest`). The
   answers of one opening limit stream the same workload here, so whichever opens k-th
   loses at least what an answer opened at `earliest(k)` loses; the sum is lost in any
   schedule. (Where the workloads differ, no opening loss is counted: still a bound.)
2. **Intervals.** Tokens emitted in [a, c) can be shown within S only by writes in
   [a, c + S], each showing at most min(per_write, its answer's tokens in [a, c)) of
   them, and the limits cap those writes (`Allowance.capacity`). So at least the
   interval's tokens less the best allocation of those writes are lost. Disjoint
   intervals lose disjoint tokens, so their losses add, whatever the capacity counted
   twice between neighbours (that only lowers the sum). A dynamic programme over a grid
   of cut points finds the partition of the emission span with the largest sum. Tokens
   already lost to an opening are left out of every interval: nothing is counted twice.

With `hold` (trickle's placeholder promise: the k-th message of an opening limit opens
no later than `hold` after that limit allows it, at `earliest(k) + hold`), an opening
shows only tokens emitted by its own time, so the intervals (fact 2) count, of an
opening limit, only the openings still due when a stretch begins (`earliest(k) + hold
>= a`).
The floor with a hold bounds only the schedules that keep the promise; the relay's own
openings are measured against it (`benchmarks.floor.run`).

Where a group's edits come from fixed windows (a Discord channel), fact 2 counts a
window's calls in every stretch it reaches, so the end of one window and the start of
the next serve each short stretch again. `benchmarks.floor.windows` places the windows
instead and counts each call once; each is a lower bound on the group's loss, so the
larger is taken.

p95 <= S allows at most (all tokens - the rank p95 counts) tokens lost;
`benchmarks.floor.proof` requires both this and the counting test, so the floor only
rises, and it stays a bound (not an offline optimum).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

from benchmarks.floor.bound import NO_RULES, Allowance, OwnRules, Writes, best_split, groups, offered
from benchmarks.floor.windows import WindowedGroup, window_lost, windowed
from benchmarks.floor.workload import EPS, Workload

GRID = 0.2  # seconds between the cut points the partition may use


def opening_losses(answers: Sequence[Workload], allowances: Sequence[Allowance], stale: float) -> list[int]:
    """Per answer, the leading tokens no schedule can show within `stale` (fact 1)."""
    lost = [0] * len(answers)
    for allowance in allowances:
        if not allowance.opens:
            continue
        members = sorted(allowance.members)
        if len({answers[i] for i in members}) != 1:
            continue  # different workloads: which opens first would matter; count nothing
        for rank, i in enumerate(members, start=1):
            opened = allowance.opening_shape.earliest(rank)
            lost[i] = max(lost[i], _emitted_before(answers[i], opened - stale))
    return lost


def least_lost(
    answers: Sequence[Workload], allowances: Sequence[Allowance], stale: float, rules: OwnRules = NO_RULES
) -> int:
    """The fewest tokens, over all answers, that any schedule keeping `rules` fails to
    show within `stale`."""
    skipped = opening_losses(answers, allowances, stale)
    total = 0
    windowed_lost: dict[WindowedGroup, int] = {}  # channels alike are counted once
    for members in groups(len(answers), allowances):
        inside = set(members)
        shared = [a for a in allowances if a.members & inside]
        chosen = [answers[i] for i in members]
        mine = [skipped[i] for i in members]
        lost = sum(mine) + _interval_losses(chosen, mine, shared, stale, rules)
        # Where the edits come from fixed windows, placing the windows proves more.
        group = windowed(chosen, shared)
        if group is not None:
            if group not in windowed_lost:
                windowed_lost[group] = window_lost(group, stale, rules.hold)
            lost = max(lost, windowed_lost[group])
        total += lost
    return total


def _interval_losses(
    answers: Sequence[Workload],
    skipped: Sequence[int],
    allowances: Sequence[Allowance],
    stale: float,
    rules: OwnRules,
) -> int:
    """Fact 2 for one group of answers sharing limits: the best partition's summed loss."""
    start = min(a.first for a in answers)
    end = max(a.last for a in answers)
    steps = max(1, math.ceil((end - start) / GRID))
    cuts = [start + k * GRID for k in range(steps)] + [end + 1.0]  # the last cut is past every token
    per_write = [a.per_write(stale) for a in answers]

    # With the promise, every message (a stream or not) has opened by the last deadline.
    hold = rules.hold
    opened_by = math.inf
    if hold is not None:
        opened_by = max(
            (a.opening_shape.earliest(len(a.members)) + hold for a in allowances if a.opens), default=math.inf
        )

    def capacity(lo: float, until: float) -> Writes:
        count = partial(_capacity, lo=lo, until=until, hold=hold)
        return offered(allowances, count, min(until, opened_by), rules.most_writes(until - lo))

    best = [0] * len(cuts)  # best[j]: the largest loss from a partition of [cuts[0], cuts[j])
    for j in range(1, len(cuts)):
        best[j] = max(
            best[i] + _lost_in(answers, skipped, per_write, capacity, cuts[i], cuts[j], min(cuts[j], end) + stale)
            for i in range(j)
        )
    return best[-1]


def _lost_in(
    answers: Sequence[Workload],
    skipped: Sequence[int],
    per_write: Sequence[int],
    capacity: Callable[[float, float], Writes],
    lo: float,
    hi: float,
    writes_until: float,
) -> int:
    """Tokens emitted in [lo, hi) (past each answer's opening loss) that the writes of
    [lo, writes_until] cannot all show within the staleness `per_write` stands for."""
    counts = [
        max(0, _emitted_before(a, hi) - max(skip, _emitted_before(a, lo)))
        for a, skip in zip(answers, skipped, strict=True)
    ]
    tokens = sum(counts)
    if tokens == 0:
        return 0
    return tokens - best_split(counts, per_write, capacity(lo, writes_until))


def _capacity(allowance: Allowance, *, lo: float, until: float, hold: float | None) -> float:
    """The calls of `allowance` in [lo, until] that can show a token emitted from `lo` on:
    with a hold, an opening limit's only those still due at `lo`."""
    writes = allowance.capacity(lo, until)
    if hold is None or not allowance.opens:
        return writes
    shape = allowance.opening_shape
    due = sum(1 for k in range(1, len(allowance.members) + 1) if shape.earliest(k) + hold >= lo)
    return min(writes, float(due))


def _emitted_before(answer: Workload, moment: float) -> int:
    """How many of the answer's tokens were emitted strictly before `moment` (ties count
    as not yet emitted, the side that lowers the bound)."""
    if moment <= answer.first + EPS:
        return 0
    return min(answer.tokens, math.ceil((moment - answer.first) * answer.rate - EPS))
