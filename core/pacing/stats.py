"""What a budget reports about itself: running counters, and its level at one moment.

Plain values, kept apart from `core.pacing.budget.Budget`, which fills them in: the
counters are read after a run (tests, benchmarks), the level at scrape time (`/metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BudgetLevel", "BudgetStats"]


@dataclass(slots=True)
class BudgetStats:
    """Counters a budget keeps for metrics and benchmarks."""

    granted: int = 0
    rate_limited: int = 0
    waiting_peak: int = 0
    waits: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BudgetLevel:
    """A budget as an operator sees it at one moment: tokens left, writes waiting."""

    tokens: float
    waiting: int
