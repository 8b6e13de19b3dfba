"""What a store shared by every replica offers the quotas, and how it says it is away.

The per-person quotas are counted in the shared store (`StateStore.quotas()`, Redis for
replicas, see core/quotas/redis_scripts.py) when there is one, each operation atomic there
so that N processes still allow each figure once. The store going away must not stop
answers: every operation then raises `StoreUnavailable`, and the caller counts with this
process's own counters (`core.quotas.local`) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class StoreUnavailable(Exception):
    """The shared store did not answer: count locally this time."""


class RemoteQuotas(Protocol):
    """Atomic quota operations in a store shared by every replica (see core/quotas/redis_scripts.py).

    Every method raises `StoreUnavailable` when the store cannot be reached.
    """

    async def hit(self, key: str, *, limit: int, window: float) -> bool:
        """Count one event for `key` unless `limit` happened in the last `window` seconds."""
        ...

    async def enter(self, key: str, holder: str, *, cap: int, lease: float) -> bool:
        """Count `holder` as waiting for one of `key`'s slots, for `lease` seconds, unless
        the slots held and the places waiting already reach `cap`; False then."""
        ...

    async def try_hold(self, key: str, holder: str, *, size: int, lease: float) -> bool:
        """Take one of `key`'s `size` slots for `holder`, for `lease` seconds; False if full.
        A holder counted as waiting stops being counted so in the same step."""
        ...

    async def held(self, key: str) -> int:
        """Slots of `key` held now (expired leases excluded)."""
        ...

    async def renew(self, leases: Mapping[str, str], lease: float, *, places: Mapping[str, str] | None = None) -> None:
        """Extend each held slot (holder -> key) to `lease` seconds from now, and each
        place still waiting in `places` (a place that took its slot meanwhile stays gone)."""
        ...

    async def release(self, key: str, holder: str) -> None:
        """Give `holder`'s slot of `key` back, or its place in the queue."""
        ...
