"""Where a growing answer breaks into platform messages ("pages").

A posted message can only be edited, and a reader sees every edit, so a page must never
take back text it has shown: what the open page shows now has to be a prefix of what it
finally shows. The pager keeps that promise by showing the open page only up to a
*holdback* short of the limit, and by ending a page only at or after that point, in the
holdback window, where a closing code fence still fits. Whitespace stays on the earlier
page, so the pages joined (minus the fences the pager adds) give back the answer exactly.

Assumed of `measure`: a string never measures less than its prefixes, and concatenation
adds up (true of `len` and of Slack's escaped length); the limit guarantee relies on it.

Known limits, all far from real answers: a fence line or a single cluster longer than the
holdback window is cut like text (limit and join still hold; fences on those pages may not
balance), and a fence whose marker or opener line would crowd the page is not repaired.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.relay.boundaries import BoundarySearch, Cursor

__all__ = ["MIN_LIMIT", "Page", "Pager"]

MIN_LIMIT = 40
_MIN_HOLDBACK = 8  # room for a closer ("\n```"..."\n```````"): keeps the prefix promise


@dataclass(frozen=True, slots=True)
class Page:
    """What one platform message shows; `opener`/`closer` are fences the pager added."""

    text: str
    complete: bool
    opener: str = ""
    closer: str = ""

    @property
    def body(self) -> str:
        """The answer text on this page: joined in order, the pages give the answer back."""
        return self.text[len(self.opener) : len(self.text) - len(self.closer)]


class Pager:
    """Lays out a growing answer as pages; complete pages are frozen and never revisited.

    Each call examines only the text after the last frozen page, and a bounded stretch of
    it, so a long answer costs the same per call as a short one. `holdback` defaults to
    max(limit // 8, 16) and is clamped to [8, limit - limit // 2]: at least room for a
    fence closer, at most half a page held back.
    """

    __slots__ = ("_limit", "_measure", "_holdback", "_search", "_done", "_open", "_text", "_cut")

    def __init__(self, *, limit: int, measure: Callable[[str], int] = len, holdback: int | None = None) -> None:
        if limit < MIN_LIMIT:
            raise ValueError(f"limit must be at least {MIN_LIMIT} to fit fences, got {limit}")
        wanted = max(limit // 8, 16) if holdback is None else holdback
        self._limit = limit
        self._measure = measure
        self._holdback = max(min(wanted, limit - limit // 2), _MIN_HOLDBACK)
        self._search = BoundarySearch(limit=limit, measure=measure, holdback=self._holdback)
        self._done: list[Page] = []
        self._open = Cursor(0, None, "", 0, [], 0)
        self._text = ""  # the text last laid out, which the next must extend
        self._cut = 0  # where the open page's shown text last ended

    def __repr__(self) -> str:
        return (
            f"Pager(limit={self._limit}, holdback={self._holdback}, "
            f"complete={len(self._done)}, open_at={self._open.start}, shown_to={self._cut})"
        )

    def layout(self, text: str, *, final: bool = False) -> list[Page]:
        """Return every page for `text`, which must extend the text of the previous call.

        Interim layouts end with the open page; a final one completes every page but
        changes nothing in the pager, so it can be asked again with the same text.
        """
        cur = self._open
        if len(text) < len(self._text) or not text.startswith(self._text[cur.start :], cur.start):
            raise ValueError("layout() text must extend the previous text")
        if final:
            cur, pages = replace(cur, bounds=list(cur.bounds)), list(self._done)
            while (page := self._split(text, cur, final=True)) is not None:
                pages.append(page)
            if cur.start < len(text) or not pages:
                head, closer, _ = self._search.close(text, cur, len(text), final=True)
                pages.append(Page(head + closer, True, cur.opener if head else "", closer))
            return pages
        while (page := self._split(text, cur, final=False)) is not None:
            self._done.append(page)
        self._text = text
        self._search.scan(text, cur, len(text), final=False)
        cut = self._search.hold(text, cur, final=False)
        if cut < len(text) and self._search.shows_all(text, cur):
            cut = len(text)
        self._cut = cut = max(cut, self._cut if self._cut > cur.start else cur.start)
        if cut == cur.start:
            return [*self._done, Page("", False)]
        return [*self._done, Page(cur.opener + text[cur.start : cut], False, cur.opener)]

    def seal(self) -> None:
        """Complete the open page as last shown; the text after it goes to a new page."""
        if self._cut > self._open.start:
            self._done.append(self._freeze(self._text, self._open, self._cut, final=False))

    # -- splitting -------------------------------------------------------------------------

    def _split(self, text: str, cur: Cursor, *, final: bool) -> Page | None:
        """Complete the open page if the rest of the text can no longer fit on it."""
        if cur.start >= len(text):
            return None
        hi, over = self._search.probe(text, cur)
        if not over:
            head, closer, _ = self._search.close(text, cur, len(text), final)
            if self._measure(head + closer) <= self._limit:
                return None
        self._search.scan(text, cur, hi, final)
        # Never split before what the open page already showed (the prefix promise).
        lo = max(self._search.hold(text, cur, final), self._cut if self._cut > cur.start else cur.start)
        end = self._search.fit_end(text, cur, lo, final)
        if end > cur.start:
            at = self._search.choose(text, cur, lo, end, final)
        else:
            at = self._search.force(text, cur, hi, final)
        return self._freeze(text, cur, at, final)

    def _freeze(self, text: str, cur: Cursor, at: int, final: bool) -> Page:
        """Complete the open page at `at` and start the next one there."""
        head, closer, fence = self._search.close(text, cur, at, final)
        page = Page(head + closer, True, cur.opener, closer)
        nl = text.rfind("\n", cur.line_start, at)
        cur.line_start = cur.line_start if nl < 0 else nl + 1
        cur.start, cur.fence = at, fence
        cur.opener = (self._search.fences.reopener(fence) or "") if fence else ""
        del cur.bounds[: bisect.bisect_right(cur.bounds, at)]
        cur.scanned = max(cur.scanned, at)
        if cur is self._open:
            self._cut = at
        return page
