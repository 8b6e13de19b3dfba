"""Every task an answer runs in, owned in one place so that shutdown can wait for them all.

An answer is more than the relay: an adapter reads the thread, posts the question, shows a
status, then streams. Those run as tasks so the platform's listener returns at once (Slack
wants its ack within 3 s, Discord its interaction response). If each adapter kept its own
set of them, each also needed its own shutdown deadline, and a process with two platforms
had two clocks racing the container's stop grace. Here there is one set and one deadline:
adapters `spawn`, the service `drain`s, and nothing else holds a task.

A task that fails with an exception is a bug (the relay turns every expected failure into
a notice), so its traceback is logged here, once, and the listener that spawned it lives on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("trickle.assistant")


class AnswerTasks:
    """The running tasks of one process's answers, and how they end on shutdown.

    `drain(deadline, interrupt)` gives the tasks two thirds of `deadline` to finish by
    themselves, then calls `interrupt` (which ends every streaming answer with its notice)
    and gives them the last third to write those finals; what is still running after that
    is cancelled. An answer cancelled before its final keeps its in-flight record, so a
    replica or the next start finishes its message (`Assistant._run`). Each phase waits
    for the tasks running at any moment of it, those spawned meanwhile included (a status
    being cleared, an answer adopted late), and the drain lasts at least `GRACE`: an
    adapter's listener may be between an event's ack and its `spawn`. Once drained,
    nothing more is spawned: the adapters are closing the connections work would need.
    """

    GRACE = 0.25  # seconds

    __slots__ = ("_tasks", "closing", "closed")

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closing = False  # draining: new answers end at once, interrupted
        self.closed = False  # drained: nothing more runs

    def __repr__(self) -> str:
        return f"<AnswerTasks running={len(self._tasks)} closing={self.closing} closed={self.closed}>"

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, object], *, name: str | None = None) -> asyncio.Task[None] | None:
        """Run `work` as an answer's task; its failure is logged with its traceback.
        None, and `work` is dropped with a warning, once the drain is over."""
        if self.closed:
            log.warning("dropped work arriving after the shutdown drain: %s", name or work)
            work.close()
            return None
        task = asyncio.create_task(_logged(work), name=name)
        self._own(task)
        return task

    def adopt(self, task: asyncio.Task[Any] | None) -> None:
        """Own a task that runs an answer but was started elsewhere (discord.py's event
        task, a test calling `Assistant.answer`), so that shutdown waits for it and
        interrupts it like the rest."""
        if task is not None and task not in self._tasks:
            self._own(task)

    async def settle(self, timeout: float | None = None) -> None:
        """Wait (at most `timeout` s) until no task is running, new ones included."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.wait(set(self._tasks))

    async def drain(self, deadline: float, interrupt: Callable[[], None]) -> int:
        """Stop, letting running tasks finish within `deadline` s; return how many were cut."""
        self.closing = True
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await asyncio.sleep(min(self.GRACE, deadline / 3))
            await self._wait_until(started + deadline * 2 / 3)
            if not self._tasks:
                return 0
            log.info("interrupting %d answer(s) still running after %.1f s", len(self._tasks), loop.time() - started)
            interrupt()
            await self._wait_until(started + deadline)
            pending = set(self._tasks)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
            return len(pending)
        finally:
            self.closed = True

    async def _wait_until(self, when: float) -> None:
        """Wait for every task, those spawned meanwhile too, until `when` (loop time)."""
        loop = asyncio.get_running_loop()
        while self._tasks and (left := when - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)

    def _own(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _logged(work: Coroutine[Any, Any, object]) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:  # a bug: one broken answer must not take its listener with it
        log.exception("an answer's task failed")
