"""The answers streaming in this process, and who may stop them, here or on a replica.

Stop is allowed to the person who asked and to TRICKLE_ADMINS. Replicas share no memory,
and Slack hands a button click to whichever replica holds the connection it picked: the
in-flight registry says who asked, and a stop for an answer running elsewhere is left in
shared state for its owner, whose `watch_stops` acts on it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from typing import Any

from core.models import EndReason
from core.question import Asker
from core.relay.answer import Answer
from core.state.inflight import Inflight

__all__ = ["RunningAnswers", "StopResult"]

log = logging.getLogger("trickle.assistant")


class StopResult(enum.Enum):
    STOPPED = "stopped"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"


@dataclass(slots=True)
class _Running:
    answer: Answer[Any]
    asker: Asker


class RunningAnswers:
    """The answers streaming now, by answer id: for Stop, early ends and shutdown."""

    __slots__ = ("_running", "_admins", "_inflight")

    def __init__(self, *, admins: frozenset[str], inflight: Inflight | None = None) -> None:
        self._running: dict[str, _Running] = {}
        self._admins = admins
        self._inflight = inflight

    def __repr__(self) -> str:
        return f"<RunningAnswers {len(self._running)}>"

    def __len__(self) -> int:
        return len(self._running)

    def add(self, answer_id: str, answer: Answer[Any], asker: Asker) -> None:
        self._running[answer_id] = _Running(answer, asker)

    def remove(self, answer_id: str) -> None:
        self._running.pop(answer_id, None)

    def asker_of(self, answer_id: str) -> Asker | None:
        running = self._running.get(answer_id)
        return running.asker if running else None

    def stop(self, answer_id: str, *, by: Asker) -> StopResult:
        """Stop an answer if `by` asked it or is an admin."""
        running = self._running.get(answer_id)
        if running is None:
            return StopResult.NOT_FOUND
        if by.id != running.asker.id and by.id not in self._admins:
            return StopResult.NOT_ALLOWED
        running.answer.stop(by=by.name)
        return StopResult.STOPPED

    async def stop_anywhere(self, answer_id: str, *, by: Asker) -> StopResult:
        """`stop`, for an answer that may be running on another replica."""
        result = self.stop(answer_id, by=by)
        inflight = self._inflight
        if result is not StopResult.NOT_FOUND or inflight is None or not inflight.state.shared:
            return result
        record = await inflight.record_of(answer_id)
        if record is None or not await inflight.is_alive(record.owner):
            return StopResult.NOT_FOUND  # a dead owner's answer is being finished anyway
        if by.id != record.asker and by.id not in self._admins:
            return StopResult.NOT_ALLOWED
        await inflight.request_stop(record, by.name)
        return StopResult.STOPPED

    async def watch_stops(self, stopping: asyncio.Event, *, every: float = 0.5) -> None:
        """Act on stops asked on other replicas for this process's answers."""
        inflight = self._inflight
        if inflight is None or not inflight.state.shared:
            return
        while not stopping.is_set():
            try:
                if self._running:
                    for answer_id, name in (await inflight.stop_requests(self._running)).items():
                        running = self._running.get(answer_id)
                        if running is not None:
                            running.answer.stop(by=name)
            except Exception:  # shared state away: local stops still work
                log.warning("could not read stop requests", exc_info=True)
            try:
                await asyncio.wait_for(stopping.wait(), timeout=every)
            except TimeoutError:
                pass

    def abort(self, answer_id: str, end: EndReason, detail: str = "") -> bool:
        """End a running answer with `end`'s notice, keeping its text. False if not running."""
        running = self._running.get(answer_id)
        if running is None:
            return False
        running.answer.abort(end, detail)
        return True

    def interrupt_all(self) -> None:
        """End every running answer with the interrupted notice (shutdown's deadline)."""
        for running in list(self._running.values()):
            running.answer.abort(EndReason.INTERRUPTED)
