"""A write waiting on a shared budget, as its planner sees it, and the planner's answer.

The budget and the planner speak in these terms (`core.pacing.budget`,
`core.pacing.planner`): how badly a write is wanted (`Urgency`), whose it is, how long
its text has waited, and what its answer says of itself (`Outlook`, which the relay
fills in). Plain values and a Protocol: nothing here decides anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

__all__ = ["Candidate", "Decision", "Outlook", "Urgency"]


class Urgency(IntEnum):
    """How badly a write is wanted; lower goes first."""

    FINAL = 0  # an answer's final text (or a notice: nothing comes after it)
    FIRST = 1  # a first message: a placeholder or an opening
    INTERIM = 2  # an edit while the answer streams


class Outlook(Protocol):
    """What an answer tells the planner about itself, read at decision time."""

    person: str
    length: int  # characters written so far
    done: bool  # the stream has ended
    posted: bool  # its first message is out, so its first words would be an edit

    def unshown_since(self) -> float | None:
        """When the oldest text not yet shown was emitted; None when all is shown."""
        ...

    def anything_shown(self) -> bool:
        """Whether any of the answer's text is on screen yet."""
        ...

    def pace(self, now: float) -> float | None:
        """Characters a second the model writes, once there is enough to tell."""
        ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """One waiting write: `key` is whatever the budget uses to wake it."""

    key: object
    urgency: Urgency
    person: str
    stale_since: float
    order: int
    outlook: Outlook | None = None
    asked_at: float = -math.inf  # when the write began to wait


@dataclass(frozen=True, slots=True)
class Decision:
    """Grant `grant` now (None: nobody), or look again at `wake_at` (None: when asked)."""

    grant: Candidate | None
    wake_at: float | None = None
