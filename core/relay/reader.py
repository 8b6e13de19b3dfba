"""The reader half of an answer: the model's stream drained into a buffer.

It never waits on the platform, so a slow edit cannot stall the stream; it only records
what arrived and when, and sets `dirty` for the writer. The writer reads the text, the
age of the oldest text not yet shown (which ranks the answer in a shared budget) and how
the stream ended.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator, Callable

from core.models import ErrorKind, Finish, StreamError, StreamEvent, TextDelta, Usage, Waiting
from core.observer import RelayObserver

__all__ = ["ModelReader"]

_log = logging.getLogger("trickle.relay")


class ModelReader:
    """What the model has said so far, and how its stream ended.

    Unlike a plain string buffer it remembers when each piece arrived until the writer
    has shown it, because the budget serves first the answer whose people waited longest.
    """

    __slots__ = (
        "_events",
        "_observer",
        "_on_status",
        "_log",
        "_chunks",
        "length",
        "_unshown",
        "dirty",
        "ended",
        "done",
        "finish_reason",
        "limit",
        "error",
        "usage",
        "person",
        "first_at",
        "shown_length",
        "posted",
    )

    def __init__(
        self,
        events: AsyncIterator[StreamEvent],
        *,
        observer: RelayObserver,
        on_status: Callable[[str, bool], None],
        person: str = "",
        log: logging.Logger | logging.LoggerAdapter[logging.Logger] = _log,
    ) -> None:
        self._events = events
        self._log = log
        self._observer = observer
        self._on_status = on_status
        self._chunks: list[str] = []
        self.length = 0
        self._unshown: collections.deque[tuple[int, float]] = collections.deque()
        self.dirty = asyncio.Event()
        self.ended = asyncio.Event()
        self.done = False
        self.finish_reason: str | None = None
        self.limit: int | None = None  # the answer cap a `length` finish reached
        self.error: StreamError | None = None
        self.usage: Usage | None = None
        # What a shared budget's planner reads (`core.pacing.candidates.Outlook`).
        self.person = person
        self.first_at: float | None = None
        self.shown_length = 0
        self.posted = False  # its first message is out: its first words would be an edit

    def __repr__(self) -> str:
        return (
            f"<ModelReader chars={self.length} unshown={len(self._unshown)} "
            f"done={self.done} finish={self.finish_reason!r}>"
        )

    @property
    def text(self) -> str:
        """The model's text so far."""
        if len(self._chunks) > 1:
            self._chunks[:] = ["".join(self._chunks)]
        return self._chunks[0] if self._chunks else ""

    def stale_since(self) -> float:
        """When the oldest text not yet shown arrived (now, if all of it is shown)."""
        since = self.unshown_since()
        return asyncio.get_running_loop().time() if since is None else since

    def unshown_since(self) -> float | None:
        """When the oldest text not yet shown arrived; None when all of it is shown."""
        return self._unshown[0][1] if self._unshown else None

    def anything_shown(self) -> bool:
        return self.shown_length > 0

    def pace(self, now: float) -> float | None:
        """Characters a second since the first text, once a quarter second has passed."""
        if self.first_at is None or now - self.first_at < 0.25:
            return None
        return self.length / (now - self.first_at)

    def shown(self, length: int) -> None:
        """The first `length` characters are on screen: they no longer make it stale.

        Each delta leaving the queue reports how long people waited to see it: the
        staleness an operator watches, weighted per delta (about a token each with the
        OpenAI-compatible servers), so a long answer counts for more than a short one.
        """
        self.shown_length = max(self.shown_length, length)
        now = asyncio.get_running_loop().time() if self._unshown else 0.0
        while self._unshown and self._unshown[0][0] <= length:
            self._observer.text_shown(now - self._unshown.popleft()[1])

    def end(self) -> None:
        """No more text will come: wake the writer so it writes the final text."""
        self.done = True
        self.dirty.set()
        self.ended.set()

    async def read(self, started_at: float) -> None:
        """Drain the stream until it ends, fails or is cancelled; then close it."""
        loop = asyncio.get_running_loop()
        try:
            async for event in self._events:
                if isinstance(event, TextDelta):
                    if not event.text:
                        continue
                    if not self._chunks:
                        self.first_at = loop.time()
                        self._observer.first_token(self.first_at - started_at)
                    self._chunks.append(event.text)
                    self.length += len(event.text)
                    self._unshown.append((self.length, loop.time()))
                    self._observer.tokens(1)
                    self.dirty.set()
                elif isinstance(event, Finish):
                    # The answer is whole: write the final text now rather than after
                    # the usage chunk and the end of the HTTP body, which may never come.
                    self.finish_reason = event.reason
                    self.limit = event.limit
                    self.end()
                elif isinstance(event, Usage):
                    self.usage = event
                elif isinstance(event, Waiting):
                    wait = f" (retrying in {event.seconds:.0f} s)" if event.seconds >= 1 else ""
                    self._on_status(f"{event.why}{wait}…", event.notice)
                elif isinstance(event, StreamError):
                    if self.finish_reason is None:  # after Finish the answer is whole
                        self.error = event
                    break
        except Exception as exc:
            # Sources yield their expected failures as `StreamError`s; anything raised is
            # a bug, told once with its traceback, and the answer ends with the notice.
            self._log.error("the completion source raised %s", type(exc).__name__, exc_info=True)
            self.error = StreamError(kind=ErrorKind.API, message=type(exc).__name__)
        finally:
            self.end()
            await self.close()

    async def close(self) -> None:
        """Close the stream if it can be closed; a broken stream may fail to, and that is fine."""
        closer = getattr(self._events, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception:  # closing a broken stream may fail too
                pass
