"""Fair use: how many answers one person may stream, and how often people may ask.

Two kinds of limit. Concurrency (per person, and model calls overall) queues: the
placeholder is up at once and says it is queued, and the answer starts when a slot
frees. Request rates (per person, per channel) refuse with a clear notice, because a
queue that grows faster than it drains only hides the problem; for the same reason a
person's queue is short (`core.quotas.shared_slots.SharedSlots.enter`). Per channel the
default is generous (a busy team channel of 60 questions a minute from different people
is never refused); per person it is not, because every answer spends edits from a
budget the whole workspace shares (see `CoreSettings.user_rpm`).

These are the per-process counters; `core.quotas.shared` counts the per-person ones
across replicas and falls back to these when the shared store is away.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class SlidingWindow:
    """Counts events per key over the last `window` seconds.

    Keys are people and channels, so they keep arriving for as long as the bot runs:
    `allow` forgets idle keys once per window, which bounds memory by the keys seen in
    the last two windows whoever calls it.
    """

    __slots__ = ("limit", "window", "_events", "_clock", "_next_sweep")

    def __init__(self, limit: int, *, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._clock = clock
        self._next_sweep = clock() + window

    def __repr__(self) -> str:
        return f"<SlidingWindow {self.limit}/{self.window:g}s keys={len(self._events)}>"

    def __len__(self) -> int:
        """Keys remembered (for tests and metrics)."""
        return len(self._events)

    def allow(self, key: str) -> bool:
        """Count one event for `key` unless it would exceed the limit."""
        now = self._clock()
        if now >= self._next_sweep:
            self.forget_idle()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def forget_idle(self) -> None:
        """Drop keys with no event inside the window: they would allow anyway."""
        now = self._clock()
        self._next_sweep = now + self.window
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]


class Slots:
    """Per-key concurrency slots: a FIFO semaphore per key, dropped when unused.

    A freed slot is handed to the first waiter rather than put back for anyone to grab,
    so a queue keeps its order. The hand-over is the delicate part: a waiter cancelled
    after it was handed the slot but before it resumed owns that slot, and must pass it
    on, or the next waiter stays queued for ever.
    """

    __slots__ = ("size", "_held", "_waiters")

    def __init__(self, size: int) -> None:
        self.size = size
        self._held: dict[str, int] = {}
        self._waiters: dict[str, deque[asyncio.Future[None]]] = {}

    def __repr__(self) -> str:
        waiting = {k: len(q) for k, q in self._waiters.items()}
        return f"<Slots size={self.size} held={self._held} waiting={waiting}>"

    def __len__(self) -> int:
        """Keys with a slot held or awaited (for tests and metrics)."""
        return len(self._held.keys() | self._waiters.keys())

    def full(self, key: str) -> bool:
        return self._held.get(key, 0) >= self.size

    def held(self, key: str) -> int:
        """Slots of `key` held now (a slot being handed over counts as held)."""
        return self._held.get(key, 0)

    def would_wait(self, key: str) -> bool:
        """Whether a `hold` of `key` started now would wait (others queue first)."""
        return self.full(key) or key in self._waiters

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        await self._acquire(key)
        try:
            yield
        finally:
            self._release(key)

    async def _acquire(self, key: str) -> None:
        if self._held.get(key, 0) < self.size and key not in self._waiters:
            self._held[key] = self._held.get(key, 0) + 1
            return
        future = asyncio.get_running_loop().create_future()
        queue = self._waiters.setdefault(key, deque())
        queue.append(future)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self._release(key)  # handed the slot as we were cancelled: pass it on
            else:
                # `_release` may have dropped our cancelled future, or the whole queue.
                current = self._waiters.get(key)
                if current is not None and future in current:
                    current.remove(future)
                if current is not None and not current:
                    del self._waiters[key]
            raise

    def _release(self, key: str) -> None:
        """Hand the slot to the first live waiter, or give it back."""
        queue = self._waiters.get(key)
        while queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(None)  # the slot changes hands: `_held` stays
                if not queue:
                    del self._waiters[key]
                return
        self._waiters.pop(key, None)
        held = self._held.get(key, 0) - 1
        if held > 0:
            self._held[key] = held
        else:
            self._held.pop(key, None)
