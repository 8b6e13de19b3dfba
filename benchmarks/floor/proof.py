"""The floor: the largest staleness the bound's two halves prove no schedule can meet.

`benchmarks.floor.bound` counts the writes the limits allow; `benchmarks.floor.timeline`
adds when they can come (openings one after another, intervals of the stream, and for
Discord's fixed windows where the windows open: `benchmarks.floor.windows`). Either
failing proves p95 <= S impossible; both only grow easier with S, so a bisection finds
the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmarks.floor.bound import NO_RULES, Allowance, OwnRules, shown_within
from benchmarks.floor.timeline import least_lost
from benchmarks.floor.workload import QUANTILE, Workload, nearest_rank

RESOLUTION = 0.01  # seconds: the bisection's step, the floor's precision


def floor_p95(
    answers: Sequence[Workload],
    allowances: Sequence[Allowance],
    *,
    q: float = QUANTILE,
    resolution: float = RESOLUTION,
    ceiling: float = 3600.0,
    rules: OwnRules = NO_RULES,
) -> float:
    """The largest staleness S (to `resolution`) at which p95 <= S is impossible.

    Feasibility only grows with S (more tokens per write, more time for writes, openings
    costing less), so a bisection finds the threshold; what is returned is a point
    proven infeasible, hence a lower bound on the p95 of any schedule (inf if none is
    feasible by `ceiling`). With `rules`, it bounds only the schedules that keep them
    (`OwnRules`: trickle's placeholder promise, its edit interval).
    """
    total = sum(a.tokens for a in answers)
    need = nearest_rank(total, q) + 1

    def feasible(stale: float) -> bool:
        if shown_within(answers, allowances, stale, rules) < need:
            return False
        return total - least_lost(answers, allowances, stale, rules) >= need

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
