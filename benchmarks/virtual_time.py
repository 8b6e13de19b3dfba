"""An asyncio event loop on a virtual clock: minutes of simulated time in milliseconds.

Why: the relay's behaviour under shared rate budgets only shows over the length of real
answers (tens of seconds) and of the budgets' refill (minutes), yet the relay itself does
nothing but wait on timers. On a loop whose clock jumps straight to the next timer, the
*real* `core.relay.answer.Answer` runs unchanged, deterministically, and far faster than real
time, so a benchmark can compare it with a bound computed for exactly the same timeline.

How: asyncio asks its selector to wait for I/O for at most `timeout` seconds, the time
until the next timer. `VirtualSelector.select` never waits: it moves the loop's clock
forward by `timeout` and reports no I/O. `VirtualTimeLoop.time()` returns that clock, so
`asyncio.sleep`, `call_later`, `asyncio.timeout` and every `Budget` read it.

Nothing inside may do real I/O: once the loop is built, registering a file descriptor
raises, and a loop with nothing left to wait for but outside events (a thread, a socket)
raises "deadlock" instead of hanging.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Iterator, Mapping
from typing import Any, TypeVar

__all__ = ["VirtualSelector", "VirtualTimeLoop", "run_virtual"]

T = TypeVar("T")


class _Keys(Mapping[Any, selectors.SelectorKey]):
    """The read-only file-object -> key view `BaseSelector.get_map` must return."""

    def __init__(self, keys: dict[Any, selectors.SelectorKey]) -> None:
        self._keys = keys

    def __getitem__(self, fileobj: Any) -> selectors.SelectorKey:
        return self._keys[fileobj]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class VirtualSelector(selectors.BaseSelector):
    """A selector that never blocks: waiting `timeout` seconds moves the clock instead.

    It records what is registered (the loop's own wake-up pipe, registered while the
    loop is built) and, once `seal`ed, refuses any further registration: a socket or a
    pipe inside the simulation would mean real I/O, whose readiness it could never see.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._keys: dict[Any, selectors.SelectorKey] = {}
        self._sealed = False
        self.selects = 0  # loop iterations, for curiosity and tests

    def seal(self) -> None:
        """From now on, registering a file descriptor is an error (no real I/O)."""
        self._sealed = True

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        if self._sealed:
            raise RuntimeError(
                f"real I/O inside a virtual-time simulation (fd {fileobj!r}): "
                "simulated platforms and models must not open sockets or pipes"
            )
        if fileobj in self._keys:
            raise KeyError(f"{fileobj!r} is already registered")
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fileobj] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._keys.pop(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Advance the clock to the next timer and report no I/O.

        asyncio passes None only when no callback is ready and no timer is set: in a
        simulation nothing else can ever wake the loop, so that is a deadlock.
        """
        self.selects += 1
        if timeout is None:
            raise RuntimeError(
                "deadlock: nothing scheduled (every task waits, and no timer can wake them on a virtual clock)"
            )
        if timeout > 0:
            self.now += timeout
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return _Keys(self._keys)

    def close(self) -> None:
        self._keys.clear()


class VirtualTimeLoop(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
    """A selector event loop whose `time()` is the virtual clock of its selector."""

    def __init__(self, start: float = 0.0) -> None:
        selector = VirtualSelector()
        selector.now = start
        super().__init__(selector)
        selector.seal()  # the wake-up pipe is in; nothing else may be
        self._virtual = selector

    def time(self) -> float:
        return self._virtual.now


def run_virtual(coro: Coroutine[Any, Any, T], *, start: float = 0.0) -> T:
    """Run `coro` to completion on a fresh virtual-time loop, then close the loop.

    Tasks it leaves behind are cancelled and async generators closed first, as
    `asyncio.run` does; the loop never becomes the thread's current event loop.
    """
    loop = VirtualTimeLoop(start)
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            _cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    try:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    except RuntimeError:
        pass  # a task that ignores cancellation and waits forever: the loop is closed anyway
