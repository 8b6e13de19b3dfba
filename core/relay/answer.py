"""The relay: one answer, from placeholder to final edit.

Two tasks per answer. The reader drains the model stream into a buffer and never waits
on the platform. The writer turns "the buffer changed" into paced edits: leading edge
first, then at most one edit per interval per message, always carrying the newest text
(never a queue of stale edits), each edit drawn from the shared budget of its scope.
Whatever happens, a `finally` writes the final text so no placeholder is left behind.
An answer ended before it began (refused by a quota, interrupted by a shutdown) posts
no placeholder: its final text, the notice, is its one message, and it spends no edit.

The reader lives in `core.relay.reader`, the retried platform call in `core.relay.calls`
and the choice of end and notice in `core.relay.ending`; this module runs the answer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Generic

from core.relay.ending import answer_end
from core.models import EndReason, Outcome, StreamEvent
from core.notices import with_notice
from core.observer import NullObserver, RelayObserver, WriteKind
from core.relay.paging import Pager
from core.relay.calls import PlatformCalls
from core.relay.reader import ModelReader
from core.surface import EditsOnOneBudget, OpensWithText, Ref, ShowsStatus, Surface, SurfaceError

log = logging.getLogger("trickle.relay")

NOTICE_WAIT = 3.0  # seconds the answer's words wait, at most, for a notice to be said


def _joined(before: str | None, status: str) -> str:
    """Two statuses in one line ("a…" and "b…" read "a; b…")."""
    return status if before is None else f"{before.removesuffix('…')}; {status}"


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """How an answer is paced; `interval` is TRICKLE_EDIT_INTERVAL.

    `finish_timeout` is only a backstop against a platform that never accepts the final
    edit: a final may rightly queue for a minute or more behind the finals of many other
    answers on one shared budget (fifty at Slack's 50 edits a minute).
    """

    interval: float = 0.5
    call_timeout: float = 30.0
    finish_timeout: float = 600.0
    final_attempts: int = 6


@dataclass(slots=True)
class _Shown:
    text: str
    final: bool


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
        on_page: Callable[[int, Ref, str, bool], None] | None = None,
        person: str = "",
    ) -> None:
        self.surface = surface
        self._on_page = on_page
        self.config = config or RelayConfig()
        self.observer: RelayObserver = observer or NullObserver()
        self.answer_id = answer_id or uuid.uuid4().hex[:12]
        self.log = logging.LoggerAdapter(log, {"answer_id": self.answer_id})
        self._stream = ModelReader(
            events, observer=self.observer, on_status=self._show_status, person=person, log=self.log
        )
        self._calls = PlatformCalls(
            timeout=self.config.call_timeout,
            attempts=self.config.final_attempts,
            stale_since=self._stream.stale_since,
            observer=self.observer,
            log=self.log,
            outlook=self._stream,
        )
        self._pager = Pager(limit=surface.page_limit, measure=surface.measure)
        self._override: tuple[EndReason, str] | None = None
        self._final_text: str | None = None
        self._refs: list[Ref] = []
        self._shown: list[_Shown] = []
        self._last_edit_at = float("-inf")
        self._edits = 0
        self._reader: asyncio.Task[None] | None = None
        self._finished = False
        self._pending_status: tuple[str, bool] | None = None
        self._status_task: asyncio.Task[bool] | None = None
        self._status_writing = False
        self._notice: asyncio.Task[bool] | None = None  # a notice the text waits for
        self._notice_text: str | None = None  # every notice so far, joined
        self._decided = False  # ended before it began: one final post, no placeholder

    def __repr__(self) -> str:
        return (
            f"<Answer {self.answer_id} chars={self._stream.length} pages={len(self._refs)} "
            f"edits={self._edits} done={self._stream.done}>"
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
                await self._post_placeholder()
                await self._write_while_streaming()
        except asyncio.CancelledError:
            self.abort(EndReason.INTERRUPTED)
            raise
        except Exception as exc:
            if isinstance(exc, (SurfaceError, TimeoutError, OSError)):  # retries did not fix it
                self.log.error("surface failed: %s", exc)
            else:  # a bug in the adapter: its traceback, once
                self.log.error("the surface raised %s", type(exc).__name__, exc_info=True)
            self.abort(EndReason.PLATFORM_ERROR, getattr(exc, "code", type(exc).__name__))
        finally:
            if self._stream.finish_reason is None or self._override is not None:
                await self._stop_reader()  # the text must stop growing before the final
            await self._finish()
            await self._stop_reader()
            for task in (self._notice, self._status_task):  # nothing is said after the end
                if task is not None and not task.done():
                    task.cancel()
        return self._outcome()

    def _show_status(self, status: str, notice: bool = False) -> None:
        """Tell people why nothing is happening yet, if the surface can.

        One write, paced like the answer's own on the message's edit budget; a newer
        status replaces one still waiting, and the answer's first text or its end
        withdraws a waiting one, so a status never spends a token once it is moot.

        A `notice` (what was left out of the question) is different: it is said once,
        before the words, which wait for it (up to NOTICE_WAIT: a notice starved of its
        budget must not hold the answer back). Notices join one another, and a later
        status is shown after them, so neither hides what was left out.
        """
        if not isinstance(self.surface, ShowsStatus) or (self._stream.length and not notice):
            return
        if notice:
            self._notice_text = _joined(self._notice_text, status)
            status = self._notice_text
        elif self._notice_text is not None:
            status = _joined(self._notice_text, status)
        if not self._refs:  # no placeholder yet: show it as soon as there is one
            self._pending_status = (status, notice or self._notice_text is not None)
            return
        self._withdraw_status()
        self._status_writing = False
        task = asyncio.get_running_loop().create_task(
            self._write_status(self.surface, self._refs[0], status, notice=notice)
        )
        task.add_done_callback(self._status_shown)
        self._status_task = task
        if notice:
            self._notice = task

    async def _write_status(self, surface: ShowsStatus[Ref], ref: Ref, status: str, *, notice: bool = False) -> bool:
        async def call() -> bool:
            self._status_writing = True
            if not notice and (self._stream.length or self._stream.done):
                return False  # granted as the answer's own text arrived: give way
            return await surface.show_status(ref, status)

        # A notice ranks with the answer's first write: the words wait for it.
        return await self._calls.run(call, self.surface.edit_budget(ref), final=lambda: False, first=notice)

    def _withdraw_status(self) -> None:
        """Cancel a status still waiting for its budget (one being written completes,
        and a notice is never withdrawn: see `_show_status`)."""
        task = self._status_task
        if task is not None and task is not self._notice and not task.done() and not self._status_writing:
            task.cancel()

    async def _notice_said(self) -> None:
        """Wait for a notice on its way, NOTICE_WAIT at most; one not said by then is
        moot (the words go out now) and withdrawn, so nothing waits on it again."""
        notice = self._notice
        if notice is None or notice.done():
            return
        await asyncio.wait([notice], timeout=NOTICE_WAIT)
        if not notice.done():
            self.log.info("the notice was not shown within %g s; the answer goes on", NOTICE_WAIT)
            notice.cancel()  # a surface's status gives way to text even mid-write

    def _status_shown(self, task: asyncio.Task[bool]) -> None:
        """Count a status that was written; a surface returns True only when it wrote one
        (it gives way once the answer's own text is on its way)."""
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            self.log.info("could not show a status: %s", exc)
        elif task.result():
            self.observer.wrote(WriteKind.STATUS)

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

    async def _post_placeholder(self) -> None:
        budget = self.surface.post_budget()
        surface = self.surface
        shown: list[tuple[str, int]] = []

        def text_so_far() -> str:
            """What the model wrote while the post waited for its budget (often nothing;
            nothing at all while a notice waits to be said in the placeholder)."""
            if self._pending_status is not None and self._pending_status[1]:
                return ""
            page = self._pager.layout(self.text)[0]
            shown[:] = [(page.text, len(page.body))]
            return page.text

        ref = await self._calls.run(
            (lambda: surface.post_opening(text_so_far))
            if isinstance(surface, OpensWithText)
            else surface.post_placeholder,
            budget,
            final=lambda: False,
            first=True,
        )
        text, length = shown[0] if shown else ("", 0)
        self._refs.append(ref)
        self._stream.posted = True
        edits = self.surface.edit_budget(ref)
        if edits is not None:  # its planner reserves for this answer's final from now on
            edits.join(self._stream)
        self._shown.append(_Shown(text, False))
        if text:  # the placeholder went up with text: it counts as the first edit
            self._stream.shown(length)
            self._last_edit_at = asyncio.get_running_loop().time()
        self.observer.wrote(WriteKind.OPENING if text else WriteKind.PLACEHOLDER)
        if self._on_page is not None:
            self._on_page(0, ref, text, False)
        if self._pending_status is not None:
            self._show_status(*self._pending_status)
        self.observer.placeholder(asyncio.get_running_loop().time() - self._started_at)

    async def _write_while_streaming(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._stream.dirty.wait()
            if self._stream.done:
                return
            floor = self._last_edit_at + self.config.interval - loop.time()
            if floor > 0:
                # Wait out the per-message floor, but not past the end of the stream:
                # the final edit is the one people wait for.
                try:
                    await asyncio.wait_for(self._stream.ended.wait(), floor)
                except TimeoutError:
                    pass
                if self._stream.done:
                    return
            self._stream.dirty.clear()
            try:
                await self._sync(final=False)
            except (SurfaceError, TimeoutError, OSError) as exc:
                if isinstance(exc, SurfaceError) and not exc.transient:
                    raise
                # The platform is having a bad moment: the answer goes on, and the next
                # edit carries everything written meanwhile.
                self.log.warning("edit failed (%s); the next one carries the text", exc)

    # -- writing -------------------------------------------------------------------------
    def _current_text(self) -> str:
        return self._final_text if self._final_text is not None else self.text

    async def _sync(self, *, final: bool) -> None:
        """Bring every page up to date once, in order; later pages may appear meanwhile."""
        self._withdraw_status()  # the answer's own text replaces any status
        await self._notice_said()
        index = 0
        sealed = -1
        while True:
            pages = self._pager.layout(self._current_text(), final=final)
            if index >= len(pages):
                return
            page = pages[index]
            known = index < len(self._shown)
            if known and self._shown[index] == _Shown(page.text, page.complete):
                index += 1
                continue
            if (
                not final
                and known
                and not page.complete
                and sealed != index
                and self.surface.must_leave(self._refs[index])
            ):
                # Freeze this page where it is and go on in a new message; sealing a
                # page that shows nothing yet changes nothing, hence `sealed`.
                self._pager.seal()
                sealed = index
                continue
            await self._write_page(index, final)
            index += 1

    async def _write_page(self, index: int, final: bool) -> None:
        posting = index >= len(self._refs)
        budget = self.surface.post_budget() if posting else self.surface.edit_budget(self._refs[index])
        snapshot: list[object] = []

        def is_final() -> bool:
            return final or self._stream.done

        async def call() -> Ref | None:
            # Snapshot only now, after the budget granted the call: latest text wins.
            # If the stream ended while we waited, this call carries the final text
            # rather than spending the grant on one last interim edit.
            final_now = is_final()
            if final_now:
                self._settle()
            pages = self._pager.layout(self._current_text(), final=final_now)
            page = pages[index]
            # Shown once this call lands: the pages up to this one (those before it are
            # up to date: `_sync` writes in order), not text held back or on later pages.
            snapshot[:] = [page, sum(len(p.body) for p in pages[: index + 1])]
            if posting:
                return await self.surface.post_page(page.text, final=page.complete)
            await self.surface.edit(self._refs[index], page.text, final=page.complete)
            return None

        ref = await self._calls.run(call, budget, final=is_final, persist=final)
        page, length = snapshot
        if posting:
            self._refs.append(ref)  # type: ignore[arg-type]
            self._shown.append(_Shown(page.text, page.complete))  # type: ignore[attr-defined]
        else:
            self._shown[index] = _Shown(page.text, page.complete)  # type: ignore[attr-defined]
        if self._on_page is not None:
            self._on_page(index, self._refs[index], page.text, page.complete)  # type: ignore[attr-defined]
        self._edits += 1
        self._last_edit_at = asyncio.get_running_loop().time()
        self._stream.shown(length)  # type: ignore[arg-type]
        self.observer.edit()
        # A continuation message is a `page` whatever it carries; a first message posted
        # here (an answer decided before it began) is its final text.
        complete = page.complete  # type: ignore[attr-defined]
        continuation = posting and index > 0
        self.observer.wrote(
            WriteKind.PAGE if continuation else WriteKind.FINAL if complete else WriteKind.INTERIM
        )

    async def _finish(self) -> None:
        """Write the final text (with its notice) into every page; runs exactly once."""
        if self._finished:
            return
        self._finished = True
        self._settle()
        try:
            if not self._refs and not self._decided:
                self.log.error("no message could be posted; the answer is lost (%s)", self._end()[0].value)
                return
            # The final edit skips the per-message floor: it is the one edit people wait
            # for, and the shared budget still paces it (finals first).
            async with asyncio.timeout(self.config.finish_timeout):
                await self._sync(final=True)
        except (SurfaceError, TimeoutError, OSError) as exc:
            self.log.error("final edit failed: %s", exc)
            if isinstance(exc, SurfaceError) and not exc.transient:
                await self._rescue(exc.code)
        finally:
            self.observer.ended(self._end()[0].value)

    async def _rescue(self, code: str) -> None:
        """The platform refuses the final text (e.g. `msg_too_long`): end every open page
        with what it already shows, which the platform accepted, and say why.

        Without this the page would keep its streaming indicator and Stop button for good.
        """
        self._override = (EndReason.PLATFORM_ERROR, code)
        notice = self._end()[1]
        last = len(self._shown) - 1
        for index, shown in enumerate(self._shown):
            if shown.final:
                continue
            # The notice goes on the last page only (text is only ever appended), and it
            # may be what tips the page over the limit: then the shown text alone, which
            # still drops the indicator and the button.
            texts = (with_notice(shown.text, notice), shown.text) if index == last else (shown.text,)
            for text in dict.fromkeys(texts):
                if await self._end_page(index, text):
                    self._shown[index] = _Shown(text, True)
                    break

    async def _end_page(self, index: int, text: str) -> bool:
        """One final edit of page `index` with `text`, paced like any other; True if done."""
        ref = self._refs[index]

        async def call() -> None:
            await self.surface.edit(ref, text, final=True)

        try:
            async with asyncio.timeout(self.config.call_timeout):
                await self._calls.run(call, self.surface.edit_budget(ref), final=lambda: True)
        except (SurfaceError, TimeoutError, OSError) as exc:
            self.log.error("could not end page %d: %s", index, exc)
            return False
        self.observer.wrote(WriteKind.FINAL)
        return True

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
            edits=self._edits,
            pages=len(self._refs),
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
