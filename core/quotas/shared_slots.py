"""A person's concurrency slots and the short queue before them, counted across replicas.

Per-person concurrency is counted in the shared store (`core.quotas.remote`, Redis for
replicas) when there is one. A slot held there is a lease: the owner renews it on every
upkeep tick (`PersonQuotas.run_upkeep`, each heartbeat), so a replica killed mid-answer
frees its slots when their lease runs out (3 heartbeats, 15 s by default) instead of
holding a person's slot for ever. A waiter on another replica learns a slot freed by
asking again every `poll` seconds: a handful of people ever wait, so polling is cheaper
than a pub/sub connection and has no lost wake-up.

A person's queue is capped too (`SharedSlots.enter`, TRICKLE_USER_QUEUE): an answer
admitted is counted as waiting, in the same store and under the same kind of lease, from
admission until it takes its slot (the store moves it from waiting to holding in one
step) or ends. Over the cap the question is refused before anything is posted.

This process's own `Slots` (`core.quotas.local`) are always kept too, and counted by
themselves while the store is away. The local slot is taken first and held for the whole
answer, so waiters on one replica queue in order and only the first of them polls the store.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from core.quotas.local import Slots
from core.quotas.remote import RemoteQuotas, StoreUnavailable

POLL_SECONDS = 0.25


@dataclass(slots=True, eq=False)
class Place:
    """One answer's place in its asker's queue, from admission until it takes its slot.

    `here` and `there`: whether this process's count and the shared store's count it
    as waiting now. Both end when the slot is taken (`SharedSlots.hold`) or the answer
    ends (`SharedSlots.leave`), whichever comes first.
    """

    key: str
    holder: str
    here: bool = True
    there: bool = False


class SharedSlots:
    """Per-key slots counted in the shared store, on top of this process's own `Slots`,
    and the short queue in front of them (`queue` places beyond the `size` slots)."""

    __slots__ = ("size", "queue", "lease", "poll", "_local", "_remote", "_leases", "_waiting", "_places")

    def __init__(
        self, size: int, *, remote: RemoteQuotas | None, lease: float, poll: float = POLL_SECONDS, queue: int = 3
    ) -> None:
        self.size = size
        self.queue = queue
        self.lease = lease
        self.poll = poll
        self._local = Slots(size)
        self._remote = remote
        self._leases: dict[str, str] = {}  # holder -> key, renewed by `renew`
        self._waiting: dict[str, int] = {}  # key -> places waiting in this process
        self._places: dict[str, str] = {}  # holder -> key of places the store counts

    def __repr__(self) -> str:
        where = "shared" if self._remote is not None else "local"
        return (
            f"<SharedSlots {where} size={self.size} queue={self.queue} leases={len(self._leases)} "
            f"waiting={self._waiting} local={self._local!r}>"
        )

    def waiting(self, key: str) -> int:
        """Places of `key` waiting in this process (for tests and metrics)."""
        return self._waiting.get(key, 0)

    async def enter(self, key: str) -> Place | None:
        """A place in `key`'s queue, or None when `size` answers hold a slot and `queue`
        more wait already: the question is refused, before anything is posted.

        Counted from now, not from when the answer starts waiting, so that questions
        arriving together cannot all slip in before any of them is counted.
        """
        place = Place(key, uuid.uuid4().hex)
        cap = self.size + self.queue
        shared: bool | None = None
        if self._remote is not None:
            try:
                shared = await self._remote.enter(key, place.holder, cap=cap, lease=self.lease)
            except StoreUnavailable:
                pass
            except asyncio.CancelledError:
                await self._give_back(key, place.holder)  # the store may have counted it
                raise
        if shared is False or (shared is None and self._local.held(key) + self.waiting(key) >= cap):
            return None
        self._waiting[key] = self.waiting(key) + 1
        if shared:
            place.there = True
            self._places[place.holder] = key
        return place

    async def leave(self, place: Place) -> None:
        """Stop counting `place` as waiting (its answer ended, was refused or cancelled);
        a place that took its slot already is left alone. Safe to call twice."""
        self._left_here(place)
        if place.there:
            place.there = False
            self._places.pop(place.holder, None)
            await self._give_back(place.key, place.holder)

    def _left_here(self, place: Place) -> None:
        if place.here:
            place.here = False
            left = self.waiting(place.key) - 1
            if left > 0:
                self._waiting[place.key] = left
            else:
                self._waiting.pop(place.key, None)

    async def busy(self, key: str) -> bool:
        """Whether a `hold` of `key` would wait now, here or in the store (a look for
        diagnostics and tests: an answer learns it waits from `hold`'s `on_wait`, since
        questions arriving together would all find it false)."""
        if self._local.full(key):
            return True
        if self._remote is None:
            return False
        try:
            return await self._remote.held(key) >= self.size
        except StoreUnavailable:
            return False

    @asynccontextmanager
    async def hold(
        self, key: str, place: Place | None = None, *, on_wait: Callable[[], None] | None = None
    ) -> AsyncIterator[None]:
        """One of `key`'s slots for the block, waiting for it; `place` (from `enter`)
        stops counting as waiting as the slot is taken, here and in the store.

        `on_wait` is called once if the slot is not free at once, here or in the store:
        questions that arrive together all find `busy` false before any takes a slot, so
        only the taking can tell who waits.
        """
        if on_wait is not None and self._local.would_wait(key):
            on_wait()
            on_wait = None
        async with self._local.hold(key):
            if place is not None:
                self._left_here(place)
            holder = await self._take_remote(key, place, on_wait=on_wait)
            try:
                yield
            finally:
                if holder is not None:
                    self._leases.pop(holder, None)
                    await self._give_back(key, holder)

    async def _take_remote(
        self, key: str, place: Place | None = None, *, on_wait: Callable[[], None] | None = None
    ) -> str | None:
        """A lease on one of `key`'s shared slots, waiting for one; None = counted locally.

        A place the store counts takes the slot under its own name, which moves it from
        waiting to holding in one step: never counted twice, never in neither.
        """
        if self._remote is None:
            return None
        holder = place.holder if place is not None and place.there else uuid.uuid4().hex
        while True:
            try:
                if await self._remote.try_hold(key, holder, size=self.size, lease=self.lease):
                    self._leases[holder] = key
                    if place is not None and place.there:
                        place.there = False
                        self._places.pop(holder, None)
                    return holder
            except StoreUnavailable:
                if place is not None:
                    self._places.pop(place.holder, None)  # left to its lease; `leave` tries too
                return None
            except asyncio.CancelledError:
                await self._give_back(key, holder)  # the store may have granted it anyway
                raise
            if on_wait is not None:
                on_wait()
                on_wait = None
            await asyncio.sleep(self.poll)

    async def _give_back(self, key: str, holder: str) -> None:
        if self._remote is None:
            return  # no store: nothing was counted there
        try:
            await self._remote.release(key, holder)
        except StoreUnavailable:
            pass  # the lease runs out by itself

    async def renew(self) -> None:
        """Keep this process's leases and waiting places alive; a dead process's run out."""
        if self._remote is not None and (self._leases or self._places):
            try:
                await self._remote.renew(dict(self._leases), self.lease, places=dict(self._places))
            except StoreUnavailable:
                pass
