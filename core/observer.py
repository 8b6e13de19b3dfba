"""Hooks through which an answer reports what happened, for metrics and the playground.

The relay calls these synchronously on its hot path, so implementations must be cheap
and must not raise.
"""

from __future__ import annotations

from typing import Protocol


class RelayObserver(Protocol):
    """What the relay reports about one answer."""

    def placeholder(self, seconds: float) -> None:
        """The placeholder is visible, `seconds` after the answer started."""

    def first_token(self, seconds: float) -> None:
        """The model's first text arrived, `seconds` after the answer started."""

    def tokens(self, count: int) -> None:
        """`count` more text deltas arrived."""

    def edit(self) -> None:
        """One post or edit went through."""

    def rate_limited(self) -> None:
        """The platform answered 429."""

    def surface_error(self, code: str) -> None:
        """A platform call failed with `code`."""

    def ended(self, end: str) -> None:
        """The final text was written; `end` is the EndReason value."""


class NullObserver:
    """Reports nowhere."""

    def placeholder(self, seconds: float) -> None:
        pass

    def first_token(self, seconds: float) -> None:
        pass

    def tokens(self, count: int) -> None:
        pass

    def edit(self) -> None:
        pass

    def rate_limited(self) -> None:
        pass

    def surface_error(self, code: str) -> None:
        pass

    def ended(self, end: str) -> None:
        pass
