"""An idle timeout between stream events, as opposed to a deadline for the whole answer.

A healthy answer can stream for minutes, so a total deadline would cut good answers short;
what signals a dead model is silence. The SDK's own read timeout is 600 s by default, far
too long for someone watching "thinking..." in a chat. This wrapper turns a gap longer
than `seconds` into a `StreamError(TIMEOUT)` and closes the inner stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from core.models import ErrorKind, Finish, StreamError, StreamEvent


class _Watchdog:
    """One lazily re-armed timer per stream instead of a timeout context per chunk.

    Each event only records the time (the per-token path stays two assignments); the
    timer, when it fires, re-arms itself for the last event's deadline, and cancels the
    task only while it is waiting on the stream, never while the consumer runs.
    """

    __slots__ = ("seconds", "last", "waiting", "expired", "_loop", "_task", "_handle")

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self.seconds = seconds
        self.last = self._loop.time()
        self.waiting = False
        self.expired = False
        self._handle = self._loop.call_at(self.last + seconds, self._check)

    def _check(self) -> None:
        due = self.last + self.seconds
        if self.waiting and self._loop.time() >= due and self._task is not None:
            self.expired = True
            self._task.cancel()
        else:
            self._handle = self._loop.call_at(max(due, self._loop.time() + 1e-3), self._check)

    def touch(self) -> None:
        """An event arrived: the silence starts again now."""
        self.last = self._loop.time()

    def stop(self) -> None:
        self._handle.cancel()


async def with_idle_timeout(events: AsyncIterator[StreamEvent], seconds: float) -> AsyncGenerator[StreamEvent, None]:
    """Re-yield `events`; end with a TIMEOUT error after `seconds` without one.

    The clock restarts at every event, and also covers the wait for the first one. The
    inner iterator is always closed, including when the consumer cancels or closes us:
    an abandoned HTTP stream would otherwise hold its connection until garbage collection.
    After a `Finish` the answer is whole, so silence then (a usage chunk that never comes)
    ends the stream without an error.
    """
    finished = False
    dog = _Watchdog(seconds)
    try:
        while True:
            dog.waiting = True
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if not dog.expired:
                    raise
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                if not finished:
                    yield StreamError(ErrorKind.TIMEOUT, f"no answer from the model for {seconds:g} s")
                return
            finally:
                dog.waiting = False
            dog.touch()
            finished = finished or isinstance(event, Finish)
            yield event
    finally:
        dog.stop()
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
