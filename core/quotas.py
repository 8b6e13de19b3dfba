"""Fair use: how many answers one person may stream, and how often people may ask.

Two kinds of limit. Concurrency (per person, and model calls overall) queues: the
placeholder is up at once and says it is queued, and the answer starts when a slot
frees. Request rates (per person, per channel) refuse with a clear notice, because a
queue that grows faster than it drains only hides the problem. Defaults are generous:
a busy team channel of 60 questions a minute from different people is never refused.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator


class SlidingWindow:
    """Counts events per key over the last `window` seconds."""

    __slots__ = ("limit", "window", "_events", "_clock")

    def __init__(self, limit: int, *, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._events: defaultdict[str, deque[float]] = defaultdict(deque)
        self._clock = clock

    def __repr__(self) -> str:
        return f"<SlidingWindow {self.limit}/{self.window:g}s keys={len(self._events)}>"

    def allow(self, key: str) -> bool:
        """Count one event for `key` unless it would exceed the limit."""
        now = self._clock()
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def forget_idle(self) -> None:
        now = self._clock()
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]


class Slots:
    """Per-key concurrency slots (a semaphore per key, dropped when unused)."""

    __slots__ = ("size", "_held", "_waiters")

    def __init__(self, size: int) -> None:
        self.size = size
        self._held: defaultdict[str, int] = defaultdict(int)
        self._waiters: defaultdict[str, deque[asyncio.Future[None]]] = defaultdict(deque)

    def __repr__(self) -> str:
        return f"<Slots size={self.size} held={dict(self._held)}>"

    def full(self, key: str) -> bool:
        return self._held[key] >= self.size

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        while self._held[key] >= self.size:
            future = asyncio.get_running_loop().create_future()
            self._waiters[key].append(future)
            try:
                await future
            finally:
                if future in self._waiters[key]:
                    self._waiters[key].remove(future)
        self._held[key] += 1
        try:
            yield
        finally:
            self._held[key] -= 1
            waiters = self._waiters.get(key)
            while waiters:
                future = waiters.popleft()
                if not future.done():
                    future.set_result(None)
                    break
            if self._held[key] <= 0 and not self._waiters.get(key):
                self._held.pop(key, None)
                self._waiters.pop(key, None)
