"""State that must outlive one answer: de-duplication and who is answering what.

`StateStore` is the protocol; `MemoryState` serves one process. A Redis implementation
for replicas satisfies the same protocol (see core/state/redis_store.py when present).
"""

from __future__ import annotations

import fnmatch
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from core.pacing.bucket import RemoteBucket
from core.quotas.remote import RemoteQuotas


class StateStore(Protocol):
    """What the assistant needs to remember across events.

    `shared` is True when other processes see the same state (replicas on Redis): only
    then can an answer be running somewhere else, and worth asking about.
    """

    shared: bool

    async def claim(self, key: str, ttl: float) -> bool:
        """True the first time `key` is claimed within `ttl` seconds (SET NX)."""
        ...

    async def get(self, key: str) -> str | None:
        """A cached value, or None."""
        ...

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Cache `value` under `key` for `ttl` seconds."""
        ...

    async def delete(self, key: str) -> bool:
        """Forget `key`; False when the store could not be reached (try again later)."""
        ...

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        """Add `amount` to the counter at `key` (absent or expired = 0) and keep it for
        `ttl` seconds from now; returns the new total. Atomic across every process sharing
        the store, so replicas can count together. When the store cannot be reached, the
        increment is lost (and logged) and 0 is returned: counting must not fail an answer.
        Keys counted with `incr` hold nothing but counters.
        """
        ...

    async def scan(self, pattern: str) -> dict[str, str]:
        """Every live key matching the glob `pattern`, with its value."""
        ...

    def bucket(self, name: str, *, rate: float, burst: float) -> RemoteBucket | None:
        """A budget shared across processes, or None when this process is alone."""
        ...

    def quotas(self) -> RemoteQuotas | None:
        """Per-person quotas shared across processes, or None when this process is alone."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class MemoryState:
    """In-process state with expiry; bounded so a busy bot cannot grow it forever."""

    __slots__ = ("_entries", "_clock", "_max_entries")
    shared = False

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._clock = clock
        self._max_entries = max_entries

    def __repr__(self) -> str:
        return f"<MemoryState entries={len(self._entries)}>"

    def _live(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        return value

    def _set(self, key: str, value: str, ttl: float) -> None:
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def claim(self, key: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        self._set(key, "1", ttl)
        return True

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def put(self, key: str, value: str, ttl: float) -> None:
        self._set(key, value, ttl)

    async def delete(self, key: str) -> bool:
        self._entries.pop(key, None)
        return True

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        current = self._live(key) or "0"
        total = (int(current) if current.lstrip("-").isdigit() else 0) + amount
        self._set(key, str(total), ttl)
        return total

    async def scan(self, pattern: str) -> dict[str, str]:
        found = {}
        for key in list(self._entries):
            if fnmatch.fnmatchcase(key, pattern):
                value = self._live(key)
                if value is not None:
                    found[key] = value
        return found

    def bucket(self, name: str, *, rate: float, burst: float) -> RemoteBucket | None:
        return None

    def quotas(self) -> RemoteQuotas | None:
        return None

    async def aclose(self) -> None:
        pass
