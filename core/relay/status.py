"""The line an answer's placeholder shows before its words: statuses and notices.

A status says why nothing is happening yet ("queued behind your previous question…").
It is one write, paced like the answer's own on the message's edit budget; a newer
status replaces one still waiting, and the answer's first text or its end withdraws a
waiting one, so a status never spends a token once it is moot.

A notice (what was left out of the question: a trimmed history, a file not read) is
different: it is said once, before the words, which wait for it (up to NOTICE_WAIT: a
notice starved of its budget must not hold the answer back). Notices join one another,
and a later status is shown after them, so neither hides what was left out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic

from core.observer import RelayObserver, WriteKind
from core.relay.calls import PlatformCalls
from core.relay.reader import ModelReader
from core.surface import Ref, ShowsStatus, Surface

__all__ = ["NOTICE_WAIT", "StatusLine"]

NOTICE_WAIT = 3.0  # seconds the answer's words wait, at most, for a notice to be said


def _joined(before: str | None, status: str) -> str:
    """Two statuses in one line ("a…" and "b…" read "a; b…")."""
    return status if before is None else f"{before.removesuffix('…')}; {status}"


class StatusLine(Generic[Ref]):
    """The statuses and notices of one answer, written to its first message."""

    __slots__ = (
        "_surface",
        "_calls",
        "_stream",
        "_first",
        "_observer",
        "_log",
        "_pending",
        "_task",
        "_writing",
        "_notice",
        "_notice_text",
    )

    def __init__(
        self,
        surface: Surface[Ref],
        *,
        calls: PlatformCalls,
        stream: ModelReader,
        first: Callable[[], Ref | None],
        observer: RelayObserver,
        log: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> None:
        self._surface = surface
        self._calls = calls
        self._stream = stream
        self._first = first  # the placeholder, once posted
        self._observer = observer
        self._log = log
        self._pending: tuple[str, bool] | None = None  # said before there was a placeholder
        self._task: asyncio.Task[bool] | None = None
        self._writing = False
        self._notice: asyncio.Task[bool] | None = None  # a notice the text waits for
        self._notice_text: str | None = None  # every notice so far, joined

    def __repr__(self) -> str:
        return f"<StatusLine notice={self._notice_text!r} pending={self._pending is not None}>"

    @property
    def holds_text_back(self) -> bool:
        """A notice waits to be said in the placeholder: no words may go up with it."""
        return self._pending is not None and self._pending[1]

    def show(self, status: str, notice: bool = False) -> None:
        """Show `status` (a `notice` when it says what was left out), if the surface can."""
        if not isinstance(self._surface, ShowsStatus) or (self._stream.length and not notice):
            return
        if notice:
            self._notice_text = _joined(self._notice_text, status)
            status = self._notice_text
        elif self._notice_text is not None:
            status = _joined(self._notice_text, status)
        ref = self._first()
        if ref is None:  # no placeholder yet: show it as soon as there is one
            self._pending = (status, notice or self._notice_text is not None)
            return
        self.withdraw()
        self._writing = False
        task = asyncio.get_running_loop().create_task(self._write(self._surface, ref, status, notice=notice))
        task.add_done_callback(self._written)
        self._task = task
        if notice:
            self._notice = task

    def placeholder_up(self) -> None:
        """The placeholder is posted: show what was said before it."""
        if self._pending is not None:
            self.show(*self._pending)

    def withdraw(self) -> None:
        """Cancel a status still waiting for its budget (one being written completes,
        and a notice is never withdrawn)."""
        task = self._task
        if task is not None and task is not self._notice and not task.done() and not self._writing:
            task.cancel()

    async def notice_said(self) -> None:
        """Wait for a notice on its way, NOTICE_WAIT at most; one not said by then is
        moot (the words go out now) and withdrawn, so nothing waits on it again."""
        notice = self._notice
        if notice is None or notice.done():
            return
        await asyncio.wait([notice], timeout=NOTICE_WAIT)
        if not notice.done():
            self._log.info("the notice was not shown within %g s; the answer goes on", NOTICE_WAIT)
            notice.cancel()  # a surface's status gives way to text even mid-write

    def close(self) -> None:
        """Nothing is said after the answer's end."""
        for task in (self._notice, self._task):
            if task is not None and not task.done():
                task.cancel()

    async def _write(self, surface: ShowsStatus[Ref], ref: Ref, status: str, *, notice: bool) -> bool:
        async def call() -> bool:
            self._writing = True
            if not notice and (self._stream.length or self._stream.done):
                return False  # granted as the answer's own text arrived: give way
            return await surface.show_status(ref, status)

        # A notice ranks with the answer's first write: the words wait for it.
        return await self._calls.run(call, self._surface.edit_budget(ref), final=lambda: False, first=notice)

    def _written(self, task: asyncio.Task[bool]) -> None:
        """Count a status that was written; a surface returns True only when it wrote one
        (it gives way once the answer's own text is on its way)."""
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            self._log.info("could not show a status: %s", exc)
        elif task.result():
            self._observer.wrote(WriteKind.STATUS)
