"""Hooks through which an answer reports what happened, for metrics and the playground.

The relay calls these synchronously on its hot path, so implementations must be cheap
and must not raise.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class WriteKind(StrEnum):
    """What a write to the platform was for: a small fixed set, so that a metric labelled
    with it stays bounded, and an operator can tell chatter (interims) from the writes
    people wait for (placeholders, finals)."""

    PLACEHOLDER = "placeholder"  # the first message, showing only "thinking…"
    OPENING = "opening"  # the first message, already carrying the model's first words
    INTERIM = "interim"  # an edit while the answer streams
    PAGE = "page"  # a new continuation message (interim or final text)
    FINAL = "final"  # the edit that leaves a page with its final text
    STATUS = "status"  # the placeholder saying why nothing is written yet
    NOTICE = "notice"  # an adapter's short reply that is not an answer (hint, refusal)


class RelayObserver(Protocol):
    """What the relay reports about one answer."""

    def placeholder(self, seconds: float) -> None:
        """The placeholder is visible, `seconds` after the answer started."""

    def first_token(self, seconds: float) -> None:
        """The model's first text arrived, `seconds` after the answer started."""

    def tokens(self, count: int) -> None:
        """`count` more text deltas arrived."""

    def edit(self) -> None:
        """One post or edit of answer text went through (interims, finals, pages)."""

    def wrote(self, kind: WriteKind) -> None:
        """One write of `kind` went through (every write, placeholders and statuses too)."""

    def text_shown(self, seconds: float) -> None:
        """One text delta became visible, `seconds` after the model emitted it."""

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

    def wrote(self, kind: WriteKind) -> None:
        pass

    def text_shown(self, seconds: float) -> None:
        pass

    def rate_limited(self) -> None:
        pass

    def surface_error(self, code: str) -> None:
        pass

    def ended(self, end: str) -> None:
        pass
