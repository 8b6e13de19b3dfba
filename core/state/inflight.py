"""The registry of answers being written, so that no crash leaves a placeholder behind.

Every answer writes down where its open page is and what it last showed. A process that
dies (SIGKILL, OOM, power) cannot finish its messages, so its peers — or the next process
to start — find records whose owner no longer heartbeats, claim each one once, and finish
the message with what it showed plus an "interrupted" notice (or, where the final text
was written and only ending the message was left, with that text alone).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.models import EndReason
from core.notices import notice_for, with_notice
from core.state.store import StateStore
from core.surface import EndsAfterFinal, Locatable, LocatableBeforePost

log = logging.getLogger("trickle.inflight")

Finalizer = Callable[[Mapping[str, Any], str], Awaitable[None]]
"""Writes `text` as the final content of the message at `location` (platform-specific)."""

RECORD_TTL = 24 * 3600.0
STOP_TTL = 600.0


@dataclass(frozen=True, slots=True)
class InflightRecord:
    answer_id: str
    platform: str
    owner: str
    location: dict[str, Any]
    text: str
    asker: str = ""  # who may stop it from another replica
    final: bool = False  # `text` is the final text; only ending the message is left

    def dumps(self) -> str:
        return json.dumps(
            {
                "answer_id": self.answer_id,
                "platform": self.platform,
                "owner": self.owner,
                "location": self.location,
                "text": self.text,
                "asker": self.asker,
                **({"final": True} if self.final else {}),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: str) -> InflightRecord:
        data = json.loads(raw)
        return cls(
            data["answer_id"],
            data["platform"],
            data["owner"],
            data["location"],
            data["text"],
            data.get("asker", ""),
            bool(data.get("final", False)),
        )


class Inflight:
    """Records this process's open answers and recovers other processes' orphans."""

    def __init__(
        self,
        state: StateStore,
        *,
        owner: str | None = None,
        heartbeat: float = 5.0,
    ) -> None:
        self.state = state
        self.owner = owner or uuid.uuid4().hex[:12]
        self.heartbeat = heartbeat
        self._writes: dict[str, asyncio.Task[None]] = {}
        self._pending: dict[str, InflightRecord] = {}
        self._suspects: set[str] = set()
        self._forget: set[str] = set()  # finished answers whose record is still to delete
        self._bell: str | None = None  # the last stop doorbell seen (see `request_stop`)

    def __repr__(self) -> str:
        return f"<Inflight owner={self.owner} writing={len(self._writes)}>"

    # -- this process's answers ------------------------------------------------------
    async def beat(self) -> None:
        """Say this process is alive (peers recover only what no live process owns).

        It also retries forgetting finished answers the store was away for: a record left
        behind would have a peer "finish" a complete answer as interrupted one day.
        """
        await self.state.put(f"alive:{self.owner}", "1", ttl=self.heartbeat * 3)
        for answer_id in list(self._forget):
            if await self.state.delete(f"inflight:{answer_id}"):
                self._forget.discard(answer_id)

    async def run_heartbeat(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            await self.beat()
            try:
                await asyncio.wait_for(stopping.wait(), timeout=self.heartbeat)
            except TimeoutError:
                pass

    def shown(
        self,
        answer_id: str,
        platform: str,
        location: dict[str, Any],
        text: str,
        *,
        asker: str = "",
        final: bool = False,
    ) -> None:
        """An open page now shows `text`: record it (latest wins, one write at a time)."""
        self._pending[answer_id] = InflightRecord(answer_id, platform, self.owner, location, text, asker, final)
        if answer_id not in self._writes:
            self._writes[answer_id] = asyncio.get_running_loop().create_task(self._flush(answer_id))

    def page_recorder(
        self, answer_id: str, surface: object, asker: str
    ) -> Callable[[int, Any, str, bool], None] | None:
        """What the relay calls as each page is written: every open page recorded here,
        if the surface can say where its messages are (None when it cannot)."""
        if not isinstance(surface, Locatable):
            return None
        platform, locate = surface.platform, surface.locate
        if isinstance(surface, LocatableBeforePost):
            # Claimed but not yet posted: a crash now must not swallow the question.
            self.shown(answer_id, platform, surface.pending_location(), "", asker=asker)

        ends = surface.must_end if isinstance(surface, EndsAfterFinal) else None

        def record(index: int, ref: Any, text: str, final: bool) -> None:
            if not final:
                self.shown(answer_id, platform, locate(ref), text, asker=asker)
            elif ends is not None and ends(ref):
                # Final, but still to be ended (a Slack stream's stop): a crash now must
                # leave the final text as it is, without an "interrupted" notice.
                self.shown(answer_id, platform, locate(ref), text, asker=asker, final=True)

        return record

    async def _flush(self, answer_id: str) -> None:
        try:
            while (record := self._pending.pop(answer_id, None)) is not None:
                await self.state.put(f"inflight:{answer_id}", record.dumps(), ttl=RECORD_TTL)
                await self.beat()  # a record is never newer than its owner's heartbeat
        finally:
            self._writes.pop(answer_id, None)

    async def done(self, answer_id: str) -> None:
        """The answer's final text is written: forget it."""
        self._pending.pop(answer_id, None)
        writing = self._writes.get(answer_id)
        if writing is not None:
            await asyncio.wait([writing], timeout=5)
        if not await self.state.delete(f"inflight:{answer_id}"):
            self._forget.add(answer_id)

    # -- Stop across replicas ---------------------------------------------------------------
    async def record_of(self, answer_id: str) -> InflightRecord | None:
        """The registry's record of an answer running anywhere, or None."""
        raw = await self.state.get(f"inflight:{answer_id}")
        try:
            return InflightRecord.loads(raw) if raw is not None else None
        except (ValueError, KeyError):
            return None

    async def is_alive(self, owner: str) -> bool:
        """Whether `owner` has beaten its heart lately."""
        return owner == self.owner or await self.state.get(f"alive:{owner}") is not None

    async def request_stop(self, record: InflightRecord, by: str) -> None:
        """Ask the replica running `record`'s answer to stop it (see `stop_requests`).

        The stop itself, then a fresh mark on the owner's doorbell: the owner reads one
        key a tick, and the stops only when the doorbell changed.
        """
        await self.state.put(f"stop:{record.answer_id}", by, ttl=STOP_TTL)
        await self.state.put(f"stops:{record.owner}", uuid.uuid4().hex, ttl=STOP_TTL)

    async def stop_requests(self, answer_ids: Iterable[str]) -> dict[str, str]:
        """Stops asked elsewhere for these answers of ours, answer id -> who; each taken once."""
        bell = await self.state.get(f"stops:{self.owner}")
        if bell is None or bell == self._bell:
            return {}
        self._bell = bell
        found: dict[str, str] = {}
        for answer_id in list(answer_ids):
            by = await self.state.get(f"stop:{answer_id}")
            if by is not None:
                await self.state.delete(f"stop:{answer_id}")
                found[answer_id] = by
        return found

    # -- other processes' orphans ----------------------------------------------------------
    async def recover(self, finalizers: Mapping[str, Finalizer]) -> int:
        """Finish every orphaned answer a finalizer exists for; returns how many.

        An owner must be found silent by two consecutive calls before its answers are
        taken over, so call this periodically (`run_recovery`), at least a heartbeat apart.
        """
        records = await self.state.scan("inflight:*")
        alive: dict[str, bool] = {}
        recovered = 0
        suspects, self._suspects = self._suspects, set()
        for key, raw in records.items():
            try:
                record = InflightRecord.loads(raw)
            except (ValueError, KeyError):
                await self.state.delete(key)
                continue
            if record.owner == self.owner or record.platform not in finalizers:
                continue
            if record.owner not in alive:
                alive[record.owner] = await self.state.get(f"alive:{record.owner}") is not None
            if alive[record.owner]:
                continue
            if record.owner not in suspects:
                # Dead at one look may be a blip (Redis restarted and lost the heartbeat):
                # an owner is only given up for dead if it is still silent next time.
                self._suspects.add(record.owner)
                continue
            if not await self.state.claim(f"recover:{record.answer_id}", ttl=600):
                continue
            text = record.text if record.final else with_notice(record.text, notice_for(EndReason.INTERRUPTED))
            try:
                await finalizers[record.platform](record.location, text)
            except Exception as exc:  # a message deleted meanwhile, a revoked token...
                log.warning("could not finish orphaned answer %s: %s", record.answer_id, exc)
            else:
                log.info("finished orphaned answer %s", record.answer_id, extra={"answer_id": record.answer_id})
                recovered += 1
            await self.state.delete(key)
        return recovered

    async def run_recovery(
        self, finalizers: Mapping[str, Finalizer], stopping: asyncio.Event, *, every: float = 10.0
    ) -> None:
        """Recover at start, then keep watching for peers that die."""
        while not stopping.is_set():
            try:
                await self.recover(finalizers)
            except Exception:  # recovery must never take the process down
                log.exception("orphan recovery failed")
            try:
                await asyncio.wait_for(stopping.wait(), timeout=every)
            except TimeoutError:
                pass
