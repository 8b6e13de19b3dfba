"""Per-person quotas counted across replicas, so N processes still allow each figure once.

Per-person concurrency (`core.quotas.shared_slots`) and the per-person and per-channel
request rates are counted in the shared store (`StateStore.quotas()`, Redis for replicas,
see `core.quotas.remote`) when there is one. `PersonQuotas` is what the assistant asks
before an answer, and keeps the slots' leases alive.

The store going away must not stop answers: every call then falls back to this process's
own counters (`core.quotas.local`), which are always kept too; while the store is away,
each process counts by itself.

The model-concurrency limit is not here: it protects this process, and stays per process.
"""

from __future__ import annotations

import asyncio
import logging

from core.quotas.local import SlidingWindow
from core.quotas.remote import RemoteQuotas, StoreUnavailable
from core.quotas.shared_slots import POLL_SECONDS, SharedSlots

log = logging.getLogger("trickle.quotas")


class SharedWindow:
    """A request rate counted in the shared store, or locally while it is away."""

    __slots__ = ("name", "local", "_remote")

    def __init__(self, name: str, limit: int, *, remote: RemoteQuotas | None, window: float = 60.0) -> None:
        self.name = name
        self.local = SlidingWindow(limit, window=window)
        self._remote = remote

    def __repr__(self) -> str:
        where = "shared" if self._remote is not None else "local"
        return f"<SharedWindow {self.name} {where} {self.local!r}>"

    async def allow(self, key: str) -> bool:
        if self._remote is not None:
            try:
                return await self._remote.hit(f"{self.name}:{key}", limit=self.local.limit, window=self.local.window)
            except StoreUnavailable:
                pass
        return self.local.allow(key)


class PersonQuotas:
    """What the assistant asks before an answer: a person's slot, and the two rates."""

    __slots__ = ("slots", "person_rate", "place_rate")

    def __init__(
        self,
        *,
        concurrency: int,
        person_rpm: int,
        place_rpm: int,
        remote: RemoteQuotas | None,
        lease: float,
        poll: float = POLL_SECONDS,
        queue: int = 3,
    ) -> None:
        self.slots = SharedSlots(concurrency, remote=remote, lease=lease, poll=poll, queue=queue)
        self.person_rate = SharedWindow("person", person_rpm, remote=remote)
        self.place_rate = SharedWindow("place", place_rpm, remote=remote)

    def __repr__(self) -> str:
        return f"<PersonQuotas {self.slots!r} {self.person_rate!r} {self.place_rate!r}>"

    async def upkeep(self) -> None:
        """Renew held leases; forget idle local counters (kept from a store outage)."""
        await self.slots.renew()
        self.person_rate.local.forget_idle()
        self.place_rate.local.forget_idle()

    async def run_upkeep(self, *, every: float) -> None:
        """`upkeep` every `every` seconds (well inside the lease) until cancelled.

        Not tied to a stopping event: answers still finishing during a drain hold leases.
        """
        while True:
            try:
                await self.upkeep()
            except Exception:  # upkeep must never take the process down
                log.exception("quota upkeep failed")
            await asyncio.sleep(every)
