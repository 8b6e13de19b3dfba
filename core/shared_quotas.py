"""Per-person quotas counted across replicas, so N processes still allow each figure once.

Per-person concurrency and the per-person and per-channel request rates are counted in
the shared store (`StateStore.quotas()`, Redis for replicas) when there is one. A slot
held there is a lease: the owner renews it on every upkeep tick (`PersonQuotas.run_upkeep`,
each heartbeat), so a replica killed mid-answer frees its slots when their lease runs out
(3 heartbeats, 15 s by default) instead of holding a person's slot for ever. A waiter on
another replica learns a slot freed by asking again every `poll` seconds: a handful of
people ever wait, so polling is cheaper than a pub/sub connection and has no lost wake-up.

The store going away must not stop answers: every call then falls back to this process's
own counters (`core.quotas`), which are always kept too. The local slot is taken first and
held for the whole answer, so waiters on one replica queue in order and only the first
of them polls the store; and while the store is away, each process counts by itself.

The model-concurrency limit is not here: it protects this process, and stays per process.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Protocol

from core.quotas import SlidingWindow, Slots

log = logging.getLogger("trickle.quotas")

POLL_SECONDS = 0.25


class StoreUnavailable(Exception):
    """The shared store did not answer: count locally this time."""


class RemoteQuotas(Protocol):
    """Atomic quota operations in a store shared by every replica (see core/redis_quotas.py).

    Every method raises `StoreUnavailable` when the store cannot be reached.
    """

    async def hit(self, key: str, *, limit: int, window: float) -> bool:
        """Count one event for `key` unless `limit` happened in the last `window` seconds."""
        ...

    async def try_hold(self, key: str, holder: str, *, size: int, lease: float) -> bool:
        """Take one of `key`'s `size` slots for `holder`, for `lease` seconds; False if full."""
        ...

    async def held(self, key: str) -> int:
        """Slots of `key` held now (expired leases excluded)."""
        ...

    async def renew(self, leases: Mapping[str, str], lease: float) -> None:
        """Extend each held slot (holder -> key) to `lease` seconds from now."""
        ...

    async def release(self, key: str, holder: str) -> None:
        """Give `holder`'s slot of `key` back."""
        ...


class SharedSlots:
    """Per-key slots counted in the shared store, on top of this process's own `Slots`."""

    __slots__ = ("size", "lease", "poll", "_local", "_remote", "_leases")

    def __init__(self, size: int, *, remote: RemoteQuotas | None, lease: float, poll: float = POLL_SECONDS) -> None:
        self.size = size
        self.lease = lease
        self.poll = poll
        self._local = Slots(size)
        self._remote = remote
        self._leases: dict[str, str] = {}  # holder -> key, renewed by `renew`

    def __repr__(self) -> str:
        where = "shared" if self._remote is not None else "local"
        return f"<SharedSlots {where} size={self.size} leases={len(self._leases)} local={self._local!r}>"

    async def busy(self, key: str) -> bool:
        """Whether a `hold` of `key` would wait now (to say "queued" before it does)."""
        if self._local.full(key):
            return True
        if self._remote is None:
            return False
        try:
            return await self._remote.held(key) >= self.size
        except StoreUnavailable:
            return False

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key):
            holder = await self._take_remote(key)
            try:
                yield
            finally:
                if holder is not None:
                    self._leases.pop(holder, None)
                    await self._give_back(key, holder)

    async def _take_remote(self, key: str) -> str | None:
        """A lease on one of `key`'s shared slots, waiting for one; None = counted locally."""
        if self._remote is None:
            return None
        holder = uuid.uuid4().hex
        while True:
            try:
                if await self._remote.try_hold(key, holder, size=self.size, lease=self.lease):
                    self._leases[holder] = key
                    return holder
            except StoreUnavailable:
                return None
            except asyncio.CancelledError:
                await self._give_back(key, holder)  # the store may have granted it anyway
                raise
            await asyncio.sleep(self.poll)

    async def _give_back(self, key: str, holder: str) -> None:
        try:
            await self._remote.release(key, holder)  # type: ignore[union-attr]
        except StoreUnavailable:
            pass  # the lease runs out by itself

    async def renew(self) -> None:
        """Keep this process's leases alive; a dead process's run out."""
        if self._remote is not None and self._leases:
            try:
                await self._remote.renew(dict(self._leases), self.lease)
            except StoreUnavailable:
                pass


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
                return await self._remote.hit(
                    f"{self.name}:{key}", limit=self.local.limit, window=self.local.window
                )
            except StoreUnavailable:
                pass
        return self.local.allow(key)


class PersonQuotas:
    """What the assistant asks before an answer: a person's slot, and the two rates."""

    __slots__ = ("slots", "person_rate", "place_rate")

    def __init__(
        self, *, concurrency: int, person_rpm: int, place_rpm: int, remote: RemoteQuotas | None, lease: float,
        poll: float = POLL_SECONDS,
    ) -> None:
        self.slots = SharedSlots(concurrency, remote=remote, lease=lease, poll=poll)
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
