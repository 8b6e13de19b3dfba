"""The relay: one answer, from placeholder to final edit.

Two tasks per answer. The reader drains the model stream into a buffer and never waits
on the platform. The writer turns "the buffer changed" into paced edits: leading edge
first, then at most one edit per interval per message, always carrying the newest text
(never a queue of stale edits), each edit drawn from the shared budget of its scope.
Whatever happens, a `finally` writes the final text so no placeholder is left behind.
An answer ended before it began (refused by a quota, interrupted by a shutdown) posts
no placeholder: its final text, the notice, is its one message, and it spends no edit.

The reader lives in `core.relay.reader`, the writes of the pages in `core.relay.writer`
(what each shows in `core.relay.ledger`), the statuses in `core.relay.status`, the
retried platform call in `core.relay.calls` and the choice of end and notice in
`core.relay.ending`; this module runs the answer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Generic

from core.models import EndReason, Outcome, StreamEvent
from core.notices import with_notice
from core.observer import NullObserver, RelayObserver
from core.relay.calls import PlatformCalls
from core.relay.config import RelayConfig
from core.relay.ending import answer_end
from core.relay.reader import ModelReader
from core.relay.status import NOTICE_WAIT, StatusLine
from core.relay.writer import OnPage, PageWriter
from core.surface import EditsOnOneBudget, Ref, Surface, SurfaceError

log = logging.getLogger("trickle.relay")

__all__ = ["NOTICE_WAIT", "Answer", "relay"]


class Answer(Generic[Ref]):
    """One answer streaming into one or more messages of a surface.

    Adapters keep the handle to offer Stop (`stop`) or to end it early (`abort`, e.g. a
    private Discord answer whose token is about to expire). `run` returns the outcome.
    """

    def __init__(
        self,
        surface: Surface[Ref],
        events: AsyncIterator[StreamEvent],
        *,
        config: RelayConfig | None = None,
        observer: RelayObserver | None = None,
        answer_id: str | None = None,
        on_page: OnPage[Ref] | None = None,
        person: str = "",
    ) -> None:
        self.surface = surface
        self.config = config or RelayConfig()
        self.observer: RelayObserver = observer or NullObserver()
        self.answer_id = answer_id or uuid.uuid4().hex[:12]
        self.log = logging.LoggerAdapter(log, {"answer_id": self.answer_id})
        self._stream = ModelReader(
            events,
            observer=self.observer,
            on_status=lambda status, notice: self._status.show(status, notice),
            person=person,
            log=self.log,
        )
        calls = PlatformCalls(
            timeout=self.config.call_timeout,
            attempts=self.config.final_attempts,
            stale_since=self._stream.stale_since,
            observer=self.observer,
            log=self.log,
            outlook=self._stream,
        )
        self._status: StatusLine[Ref] = StatusLine(
            surface,
            calls=calls,
            stream=self._stream,
            first=lambda: self._pages.ledger.first,
            observer=self.observer,
            log=self.log,
        )
        self._pages: PageWriter[Ref] = PageWriter(
            surface,
            calls=calls,
            stream=self._stream,
            status=self._status,
            observer=self.observer,
            text_for=self._text_for,
            on_page=on_page,
            log=self.log,
        )
        self._override: tuple[EndReason, str] | None = None
        self._final_text: str | None = None
        self._reader: asyncio.Task[None] | None = None
        self._finished = False
        self._decided = False  # ended before it began: one final post, no placeholder
        self._bug_logged = False

    def __repr__(self) -> str:
        return (
            f"<Answer {self.answer_id} chars={self._stream.length} pages={len(self._pages.ledger)} "
            f"edits={self._pages.edits} done={self._stream.done}>"
        )

    # -- control ---------------------------------------------------------------------
    def stop(self, by: str = "") -> None:
        """Stop generating (the Stop button): the stream is closed, the text kept."""
        self.abort(EndReason.STOPPED, by)

    def abort(self, end: EndReason, detail: str = "") -> None:
        """End the answer now with `end`'s notice, keeping the text so far."""
        if self._override is None and self._final_text is None:
            self._override = (end, detail)
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()

    @property
    def settled(self) -> bool:
        """Whether every message of the answer was written as final and, where the
        platform needs it, ended (a Slack stream stopped)."""
        ledger = self._pages.ledger
        return self._finished and bool(ledger) and not ledger.open_pages() and not self._pages.unended()

    @property
    def text(self) -> str:
        """The model's text so far."""
        return self._stream.text

    # -- the two tasks -----------------------------------------------------------------
    async def run(self) -> Outcome:
        """Post the placeholder and stream the answer into it; never raises on faults."""
        loop = asyncio.get_running_loop()
        self._started_at = loop.time()
        if self._override is None:  # an answer refused or aborted up front never calls the model
            self._reader = asyncio.create_task(
                self._stream.read(self._started_at), name=f"trickle-read-{self.answer_id}"
            )
        else:
            self._decided = True
            self._stream.end()
        if not self._decided and isinstance(self.surface, EditsOnOneBudget):
            edits = self.surface.answer_edit_budget()
            if edits is not None:
                edits.join(self._stream)
        try:
            if not self._decided:  # else `_finish` posts the one final message
                await self._pages.post_first()
                self.observer.placeholder(loop.time() - self._started_at)
                await self._pages.follow(self.config.interval)
        except asyncio.CancelledError:
            self.abort(EndReason.INTERRUPTED)
            raise
        except Exception as exc:
            if isinstance(exc, (SurfaceError, TimeoutError, OSError)):  # retries did not fix it
                self.log.error("surface failed: %s", exc)
            else:
                self._log_bug(exc, "while streaming")
            self.abort(EndReason.PLATFORM_ERROR, getattr(exc, "code", type(exc).__name__))
        finally:
            if self._stream.finish_reason is None or self._override is not None:
                await self._stop_reader()  # the text must stop growing before the final
            await self._finish()
            await self._stop_reader()
            self._status.close()
        return self._outcome()

    async def _stop_reader(self) -> None:
        reader = self._reader
        if reader is None:
            await self._stream.close()
            return
        if not reader.done() and self._stream.finish_reason is not None and self._override is None:
            # Finished: give the usage chunk a moment, then close the stream.
            await asyncio.wait([reader], timeout=0.25)
        elif not reader.done() and self._override is None:
            self._override = (EndReason.INTERRUPTED, "")
        if not reader.done():
            reader.cancel()
        try:
            await reader
        except asyncio.CancelledError:
            pass
        await self._stream.close()  # the reader may have been cancelled before it started

    # -- the end -------------------------------------------------------------------------
    async def _finish(self) -> None:
        """Write the final text (with its notice) into every page; runs exactly once."""
        if self._finished:
            return
        self._finished = True
        self._settle()
        try:
            if not self._pages.ledger and not self._decided:
                self.log.error("no message could be posted; the answer is lost (%s)", self._end()[0].value)
                return
            # The final edit skips the per-message floor: it is the one edit people wait
            # for, and the shared budget still paces it (finals first).
            async with asyncio.timeout(self.config.finish_timeout):
                await self._pages.sync(final=True)
        except Exception as exc:
            expected = isinstance(exc, (SurfaceError, TimeoutError, OSError))
            if expected:
                self.log.error("final edit failed: %s", exc)
            else:
                self._log_bug(exc, "in the final edit")
            if not expected or (isinstance(exc, SurfaceError) and not exc.transient):
                self._override = (EndReason.PLATFORM_ERROR, getattr(exc, "code", type(exc).__name__))
                await self._pages.rescue(self._end()[1], self.config.call_timeout)
        finally:
            self.observer.ended(self._end()[0].value)
            if self._pages.ledger:  # the text is final: what is left shows nothing new
                await self._pages.end_messages(self.config.finish_timeout)

    def _log_bug(self, exc: Exception, where: str) -> None:
        """A surface raised what no retry policy expects: a bug in the adapter. Its
        traceback is logged once per answer; the same bug again is one line."""
        if self._bug_logged:
            self.log.error("the surface raised %s again %s", type(exc).__name__, where)
            return
        self._bug_logged = True
        self.log.error("the surface raised %s %s", type(exc).__name__, where, exc_info=exc)

    def _text_for(self, final: bool) -> str:
        """The text the pages lay out: the model's so far, or, once final, the final text
        (fixed from then on)."""
        if final:
            self._settle()
        return self._final_text if self._final_text is not None else self.text

    def _settle(self) -> None:
        """Fix the final text once the stream is over; later aborts no longer change it."""
        if self._final_text is None:
            _, notice = self._end()
            self._final_text = with_notice(self.text, notice)

    def _end(self) -> tuple[EndReason, str | None]:
        return answer_end(
            override=self._override,
            error=self._stream.error,
            finish_reason=self._stream.finish_reason,
            text=self.text,
            limit=self._stream.limit,
        )

    def _outcome(self) -> Outcome:
        end, notice = self._end()
        return Outcome(
            text=self.text,
            end=end,
            notice=notice,
            usage=self._stream.usage,
            edits=self._pages.edits,
            pages=len(self._pages.ledger),
        )


async def relay(
    surface: Surface[Ref],
    events: AsyncIterator[StreamEvent],
    *,
    config: RelayConfig | None = None,
    observer: RelayObserver | None = None,
) -> Outcome:
    """Stream `events` into `surface` and return how the answer ended."""
    return await Answer(surface, events, config=config, observer=observer).run()
