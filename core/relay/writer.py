"""The writing half of an answer: its messages brought up to date with its text.

Each write is drawn from the surface's budget through `PlatformCalls` and snapshots the
text only once the budget granted it, so the newest text always wins and a write granted
after the stream ended carries the final text. Pages are written in order; a page the
platform will not let grow (`must_leave`) is sealed and the answer goes on in a new
message. What each message shows is kept in a `PageLedger`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Generic

from core.notices import with_notice
from core.observer import RelayObserver, WriteKind
from core.relay.calls import PlatformCalls
from core.relay.ledger import PageLedger
from core.relay.paging import Page, Pager
from core.relay.reader import ModelReader
from core.relay.status import StatusLine
from core.surface import EndsAfterFinal, OpensWithText, Ref, Surface, SurfaceError

__all__ = ["PageWriter"]

OnPage = Callable[[int, Ref, str, bool], None]


class PageWriter(Generic[Ref]):
    """Posts and edits the messages of one answer; counts its edits."""

    __slots__ = (
        "_surface",
        "_calls",
        "_stream",
        "_status",
        "_observer",
        "_on_page",
        "_log",
        "_text_for",
        "pager",
        "ledger",
        "edits",
        "last_edit_at",
        "_endings",
    )

    def __init__(
        self,
        surface: Surface[Ref],
        *,
        calls: PlatformCalls,
        stream: ModelReader,
        status: StatusLine[Ref],
        observer: RelayObserver,
        text_for: Callable[[bool], str],
        on_page: OnPage[Ref] | None,
        log: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> None:
        self._surface = surface
        self._calls = calls
        self._stream = stream
        self._status = status
        self._observer = observer
        self._text_for = text_for  # the text to lay out, final (and then fixed) or not
        self._on_page = on_page
        self._log = log
        self.pager = Pager(limit=surface.page_limit, measure=surface.measure)
        self.ledger: PageLedger[Ref] = PageLedger()
        self.edits = 0
        self.last_edit_at = float("-inf")
        self._endings: list[asyncio.Task[None]] = []  # pages left behind, being ended

    def __repr__(self) -> str:
        return f"<PageWriter {self.ledger!r} edits={self.edits}>"

    async def post_first(self) -> None:
        """Post the answer's first message: a placeholder, or the text so far where the
        surface opens with text (what the model wrote while the post waited)."""
        surface = self._surface
        shown: list[tuple[str, int]] = []

        def text_so_far() -> str:
            # Nothing at all while a notice waits to be said in the placeholder.
            if self._status.holds_text_back:
                return ""
            page = self.pager.layout(self._stream.text)[0]
            shown[:] = [(page.text, len(page.body))]
            return page.text

        ref = await self._calls.run(
            (lambda: surface.post_opening(text_so_far))
            if isinstance(surface, OpensWithText)
            else surface.post_placeholder,
            surface.post_budget(),
            final=lambda: False,
            first=True,
        )
        text, length = shown[0] if shown else ("", 0)
        self.ledger.posted(ref, text, final=False)
        self._stream.posted = True
        edits = surface.edit_budget(ref)
        if edits is not None:  # its planner reserves for this answer's final from now on
            edits.join(self._stream)
        if text:  # the placeholder went up with text: it counts as the first edit
            self._stream.shown(length)
            self.last_edit_at = asyncio.get_running_loop().time()
        self._observer.wrote(WriteKind.OPENING if text else WriteKind.PLACEHOLDER)
        if self._on_page is not None:
            self._on_page(0, ref, text, False)
        self._status.placeholder_up()

    async def follow(self, interval: float) -> None:
        """Edit as the text grows until the stream ends: the first words at once, then at
        most one edit per `interval`, each carrying everything written meanwhile."""
        loop = asyncio.get_running_loop()
        stream = self._stream
        while True:
            await stream.dirty.wait()
            if stream.done:
                return
            floor = self.last_edit_at + interval - loop.time()
            if floor > 0:
                # Wait out the per-message floor, but not past the end of the stream:
                # the final edit is the one people wait for.
                try:
                    await asyncio.wait_for(stream.ended.wait(), floor)
                except TimeoutError:
                    pass
                if stream.done:
                    return
            stream.dirty.clear()
            try:
                await self.sync(final=False)
            except (SurfaceError, TimeoutError, OSError) as exc:
                if isinstance(exc, SurfaceError) and not exc.transient:
                    raise
                # The platform is having a bad moment: the answer goes on, and the next
                # edit carries everything written meanwhile.
                self._log.warning("edit failed (%s); the next one carries the text", exc)

    async def sync(self, *, final: bool) -> None:
        """Bring every page up to date once, in order; later pages may appear meanwhile.

        The text is laid out again only after a write (the text grew while it waited)
        or a seal, not for every page found up to date.
        """
        self._status.withdraw()  # the answer's own text replaces any status
        await self._status.notice_said()
        index = 0
        sealed = -1
        pages = self.pager.layout(self._text_for(final), final=final)
        while index < len(pages):
            page = pages[index]
            if self.ledger.shows(index, page.text, final=page.complete):
                index += 1
                continue
            known = index < len(self.ledger)
            if (
                not final
                and known
                and not page.complete
                and sealed != index
                and self._surface.must_leave(self.ledger.ref(index))
            ):
                # Freeze this page where it is and go on in a new message; sealing a
                # page that shows nothing yet changes nothing, hence `sealed`.
                self.pager.seal()
                sealed = index
            else:
                await self._write_page(index, final)
                index += 1
            pages = self.pager.layout(self._text_for(final), final=final)

    async def _write_page(self, index: int, final: bool) -> None:
        posting = index >= len(self.ledger)
        surface = self._surface
        budget = surface.post_budget() if posting else surface.edit_budget(self.ledger.ref(index))
        written: list[tuple[Page, int]] = []

        def is_final() -> bool:
            return final or self._stream.done

        async def call() -> Ref | None:
            # Snapshot only now, after the budget granted the call: latest text wins.
            # If the stream ended while we waited, this call carries the final text
            # rather than spending the grant on one last interim edit.
            final_now = is_final()
            pages = self.pager.layout(self._text_for(final_now), final=final_now)
            page = pages[index]
            # Shown once this call lands: the pages up to this one (those before it are
            # up to date: `sync` writes in order), not text held back or on later pages.
            written[:] = [(page, sum(len(p.body) for p in pages[: index + 1]))]
            if posting:
                return await surface.post_page(page.text, final=page.complete)
            await surface.edit(self.ledger.ref(index), page.text, final=page.complete)
            return None

        ref = await self._calls.run(call, budget, final=is_final, persist=final)
        page, length = written[0]
        if posting:
            assert ref is not None, "a post returns the message it made"
            self.ledger.posted(ref, page.text, final=page.complete)
        else:
            self.ledger.wrote(index, page.text, final=page.complete)
        if self._on_page is not None:
            self._on_page(index, self.ledger.ref(index), page.text, page.complete)
        self.edits += 1
        self.last_edit_at = asyncio.get_running_loop().time()
        self._stream.shown(length)
        self._observer.edit()
        # A continuation message is a `page` whatever it carries; a first message posted
        # here (an answer decided before it began) is its final text.
        continuation = posting and index > 0
        if continuation:  # the page before is final now: end it while the answer goes on
            self._end_soon(index - 1)
        self._observer.wrote(
            WriteKind.PAGE if continuation else WriteKind.FINAL if page.complete else WriteKind.INTERIM
        )

    async def rescue(self, notice: str | None, timeout: float) -> None:
        """The platform refuses the final text (e.g. `msg_too_long`): end every open page
        with what it already shows, which the platform accepted, and say why.

        Without this the page would keep its streaming indicator and Stop button for good.
        """
        for page in self.ledger.open_pages():
            # The notice goes on the last page only (text is only ever appended), and it
            # may be what tips the page over the limit: then the shown text alone, which
            # still drops the indicator and the button.
            texts = (with_notice(page.text, notice), page.text) if page.last else (page.text,)
            for text in dict.fromkeys(texts):
                if await self._end_page(page.index, text, timeout):
                    self.ledger.wrote(page.index, text, final=True)
                    break

    def unended(self) -> list[int]:
        """The pages still to be ended once final (`EndsAfterFinal`: a live Slack stream)."""
        surface = self._surface
        if not isinstance(surface, EndsAfterFinal):
            return []
        return [i for i in range(len(self.ledger)) if surface.must_end(self.ledger.ref(i))]

    async def end_messages(self, timeout: float) -> None:
        """The calls some messages still need once final (`EndsAfterFinal`: a Slack
        stream's stop), each paced on its own budget; a failure costs only the ending,
        since the text is shown already. Pages left behind mid-answer were being ended
        meanwhile (`_end_soon`); they get `timeout` too."""
        try:
            if self._endings:
                done, _ = await asyncio.wait(self._endings, timeout=timeout)
                for task in done:
                    if not task.cancelled() and task.exception() is not None:  # a bug, not a refusal
                        self._log.error("ending a page failed", exc_info=task.exception())
        finally:
            for task in self._endings:
                task.cancel()
        for index in self.unended():
            try:
                async with asyncio.timeout(timeout):
                    await self._end_one(index)
            except TimeoutError:
                self._log.warning("could not end page %d in time", index)

    def _end_soon(self, index: int) -> None:
        """End page `index`, final and left behind, without holding up the pages after it."""
        if index in self.unended():
            task = asyncio.get_running_loop().create_task(self._end_one(index))
            self._endings.append(task)

    async def _end_one(self, index: int) -> None:
        surface = self._surface
        assert isinstance(surface, EndsAfterFinal), "only pages that must end are ended"
        ref = self.ledger.ref(index)
        try:
            await self._calls.run(partial(surface.end, ref), surface.end_budget(ref), final=lambda: True)
        except (SurfaceError, OSError) as exc:  # logged by the paced call as a refusal
            self._log.warning("could not end page %d: %s", index, exc or type(exc).__name__)

    async def _end_page(self, index: int, text: str, timeout: float) -> bool:
        """One final edit of page `index` with `text`, paced like any other; True if done."""
        ref = self.ledger.ref(index)

        async def call() -> None:
            await self._surface.edit(ref, text, final=True)

        try:
            async with asyncio.timeout(timeout):
                await self._calls.run(call, self._surface.edit_budget(ref), final=lambda: True)
        except Exception as exc:  # the final edit's own failure was logged already
            self._log.error("could not end page %d: %s", index, exc or type(exc).__name__)
            return False
        self._observer.wrote(WriteKind.FINAL)
        return True
