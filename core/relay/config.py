"""How an answer is paced and how long its platform calls may take."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RelayConfig"]


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """How an answer is paced; `interval` is TRICKLE_EDIT_INTERVAL.

    `finish_timeout` is only a backstop against a platform that never accepts the final
    edit: a final may rightly queue for a minute or more behind the finals of many other
    answers on one shared budget (fifty at Slack's 50 edits a minute).
    """

    interval: float = 0.5
    call_timeout: float = 30.0
    finish_timeout: float = 600.0
    final_attempts: int = 6
