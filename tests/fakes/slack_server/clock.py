"""The fake's time: an injectable clock, and one that tests move by hand.

Every time the fake records or compares (message history, bucket refills, trigger,
response URL and stream expiry) comes from the one clock it is given, so a test steps
time instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]


class ManualClock:
    """A clock tests move by hand, for deterministic bucket and staleness checks."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`."""
        self.now += seconds
