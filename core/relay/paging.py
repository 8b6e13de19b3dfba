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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import regex

MIN_LIMIT = 40
_MIN_HOLDBACK = 8  # room for a closer ("\n```"..."\n```````"): keeps the prefix promise
_CLUSTER = regex.compile(r"\X")  # a user-perceived character (UAX #29)
_FENCE_LINE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})([^\n]*)(\n|\Z)", re.MULTILINE)
_FENCE_START = re.compile(r"[ ]{0,3}(?:```|~~~)")  # a line that is, or may be, a fence
_FENCE_MAYBE = re.compile(r"[ ]{0,3}(?:`{1,2}|~{1,2})?")  # may still become one
_BLANKS = re.compile(r"[^\S\xa0\u2007\u202f]+")  # breakable whitespace (not NBSP)


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


@dataclass(frozen=True, slots=True)
class _Fence:
    """An open fenced code block: its marker (```` ``` ````, `~~~~`...) and language."""

    marker: str
    lang: str


@dataclass(slots=True)
class _Open:
    """The page being written; a copy of it lets a final layout leave the pager as it was."""

    start: int  # where its answer text starts
    fence: _Fence | None  # the code block open at `start`, if any
    opener: str  # the fence line shown first to reopen that block
    line_start: int  # start of the line `start` is on
    bounds: list[int]  # cluster boundaries after `start` known for good, ascending
    scanned: int  # the last of them (or `start`)


class Pager:
    """Lays out a growing answer as pages; complete pages are frozen and never revisited.

    Each call examines only the text after the last frozen page, and a bounded stretch of
    it, so a long answer costs the same per call as a short one. `holdback` defaults to
    max(limit // 8, 16) and is clamped to [8, limit - limit // 2]: at least room for a
    fence closer, at most half a page held back.
    """

    __slots__ = ("_limit", "_measure", "_holdback", "_done", "_open", "_text", "_cut", "_repairs")

    def __init__(self, *, limit: int, measure: Callable[[str], int] = len, holdback: int | None = None) -> None:
        if limit < MIN_LIMIT:
            raise ValueError(f"limit must be at least {MIN_LIMIT} to fit fences, got {limit}")
        wanted = max(limit // 8, 16) if holdback is None else holdback
        self._limit = limit
        self._measure = measure
        self._holdback = max(min(wanted, limit - limit // 2), _MIN_HOLDBACK)
        self._done: list[Page] = []
        self._open = _Open(0, None, "", 0, [], 0)
        self._text = ""  # the text last laid out, which the next must extend
        self._cut = 0  # where the open page's shown text last ended
        self._repairs: dict[_Fence, str | None] = {}

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
                head, closer, _ = self._close(text, cur, len(text), final=True)
                pages.append(Page(head + closer, True, cur.opener if head else "", closer))
            return pages
        while (page := self._split(text, cur, final=False)) is not None:
            self._done.append(page)
        self._text = text
        self._scan(text, cur, len(text), final=False)
        cut = self._hold(text, cur, final=False)
        if cut < len(text) and self._shows_all(text, cur):
            cut = len(text)
        self._cut = cut = max(cut, self._cut if self._cut > cur.start else cur.start)
        if cut == cur.start:
            return [*self._done, Page("", False)]
        return [*self._done, Page(cur.opener + text[cur.start : cut], False, cur.opener)]

    def _shows_all(self, text: str, cur: _Open) -> bool:
        """Far from the limit, the open page may show everything, last cluster included:
        no split can come before the text has grown past the holdback, and splits never
        go before what was shown. This puts the first token on screen at once."""
        if not text or text[-1] == "\n":
            return False  # a newline already is a cluster boundary; nothing held back
        nl = text.rfind("\n", cur.line_start)
        line = cur.line_start if nl < 0 else nl + 1
        if _FENCE_START.match(text, line) or (len(text) - line <= 5 and _FENCE_MAYBE.fullmatch(text, line)):
            return False  # a (possible) fence line is shown only once it is whole
        return self._measure(cur.opener + text[cur.start :]) <= self._limit - self._holdback

    def seal(self) -> None:
        """Complete the open page as last shown; the text after it goes to a new page."""
        if self._cut > self._open.start:
            self._done.append(self._freeze(self._text, self._open, self._cut, final=False))

    # -- splitting -------------------------------------------------------------------------

    def _split(self, text: str, cur: _Open, *, final: bool) -> Page | None:
        """Complete the open page if the rest of the text can no longer fit on it."""
        if cur.start >= len(text):
            return None
        hi, over = self._probe(text, cur)
        if not over:
            head, closer, _ = self._close(text, cur, len(text), final)
            if self._measure(head + closer) <= self._limit:
                return None
        self._scan(text, cur, hi, final)
        # Never split before what the open page already showed (the prefix promise).
        lo = max(self._hold(text, cur, final), self._cut if self._cut > cur.start else cur.start)
        end = self._fit_end(text, cur, lo, final)
        if end > cur.start:
            at = self._choose(text, cur, lo, end, final)
        else:
            at = self._force(text, cur, hi, final)
        return self._freeze(text, cur, at, final)

    def _probe(self, text: str, cur: _Open) -> tuple[int, bool]:
        """A position past which the page surely overflows (and True), or the end (False).

        Doubling keeps the measured stretch within a few pages however long the rest is.
        """
        span = self._limit
        while True:
            hi = min(len(text), cur.start + span)
            if self._measure(cur.opener + text[cur.start : hi]) > self._limit:
                return hi, True
            if hi == len(text):
                return hi, False
            span *= 2

    def _scan(self, text: str, cur: _Open, upto: int, final: bool) -> None:
        """Learn cluster boundaries up to `upto`. An unfinished text's last cluster may
        still grow (a combining mark, a joiner) unless it is a newline (UAX #29 GB4)."""
        if cur.scanned >= upto:
            return
        for match in _CLUSTER.finditer(text, cur.scanned):
            if (end := match.end()) == len(text) and not final and text[-1] != "\n":
                return
            cur.bounds.append(end)
            cur.scanned = end
            if end >= upto:
                return

    def _within(self, text: str, cur: _Open, budget: int, spots: Sequence[int]) -> int:
        """How many of `spots` (ascending) end the page's text within `budget`."""

        def fits(at: int) -> bool:
            return self._measure(cur.opener + text[cur.start : at]) <= budget

        if not spots or fits(spots[-1]):
            return len(spots)
        lo, hi = 0, len(spots) - 1  # the count is in [lo, hi]; spots[hi] does not fit
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (mid + 1, hi) if fits(spots[mid]) else (lo, mid)
        return lo

    def _hold(self, text: str, cur: _Open, final: bool) -> int:
        """The furthest the page may show while unfinished: the holdback boundary."""
        count = self._within(text, cur, self._limit - self._holdback, cur.bounds)
        for j in range(count - 1, -1, -1):
            if _splittable(text, cur.bounds[j], cur.line_start, final):
                return cur.bounds[j]
        return cur.start

    def _fit_end(self, text: str, cur: _Open, lo: int, final: bool) -> int:
        """The last place at or after `lo` where the page, closer included, fits."""
        for j in range(self._within(text, cur, self._limit, cur.bounds) - 1, -1, -1):
            if (at := cur.bounds[j]) <= lo:
                break
            if _splittable(text, at, cur.line_start, final):
                head, closer, _ = self._close(text, cur, at, final)
                if self._measure(head + closer) <= self._limit:
                    return at
        return lo

    def _choose(self, text: str, cur: _Open, lo: int, end: int, final: bool) -> int:
        """Pick the page end in [lo, end]: after a blank line, a newline, a space, or any
        cluster, in that order of preference, and the latest of the best kind."""
        best, bounds = (0, end), cur.bounds
        for run in _BLANKS.finditer(text, cur.start, end):
            first, last = run.span()
            j = bisect.bisect_right(bounds, last) - 1
            while j >= 0 and bounds[j] > first and bounds[j] >= max(lo, cur.start + 1):
                if _splittable(text, bounds[j], cur.line_start, final):
                    kind = 1 + min(text.count("\n", first, bounds[j]), 2)
                    best = max(best, (kind, bounds[j]))
                    break
                j -= 1
        return best[1]

    def _force(self, text: str, cur: _Open, hi: int, final: bool) -> int:
        """Nowhere fits that a page may end (a fence line or a cluster longer than a page):
        end it at the last cluster, else code point, that fits, and always move on."""
        budget = self._limit - self._holdback
        count = self._within(text, cur, budget, cur.bounds)
        while count and _in_pair(text, cur.bounds[count - 1]):
            count -= 1
        if count:
            return cur.bounds[count - 1]
        points = range(cur.start + 1, hi + 1 if final else min(hi + 1, len(text)))
        count = self._within(text, cur, budget, points)
        at = points[count - 1] if count else cur.start + 1
        return at - 1 if at - 1 > cur.start and _in_pair(text, at) else at

    def _close(self, text: str, cur: _Open, at: int, final: bool) -> tuple[str, str, _Fence | None]:
        """The page up to `at`, the closer it needs there, and the code block open there."""
        head = cur.opener + text[cur.start : at]
        fence = _fence_at(text, cur.start, cur.fence, at, final)
        if fence is None or self._reopener(fence) is None:
            return head, "", fence
        return head, fence.marker if head.endswith("\n") else "\n" + fence.marker, fence

    def _freeze(self, text: str, cur: _Open, at: int, final: bool) -> Page:
        """Complete the open page at `at` and start the next one there."""
        head, closer, fence = self._close(text, cur, at, final)
        page = Page(head + closer, True, cur.opener, closer)
        nl = text.rfind("\n", cur.line_start, at)
        cur.line_start = cur.line_start if nl < 0 else nl + 1
        cur.start, cur.fence = at, fence
        cur.opener = (self._reopener(fence) or "") if fence else ""
        del cur.bounds[: bisect.bisect_right(cur.bounds, at)]
        cur.scanned = max(cur.scanned, at)
        if cur is self._open:
            self._cut = at
        return page

    def _reopener(self, fence: _Fence) -> str | None:
        """The line that reopens `fence` on the next page, or None when the fences would
        crowd out the text (a huge marker): then the block is cut without repair."""
        if fence not in self._repairs:
            opener = None
            if self._measure("\n" + fence.marker) <= self._holdback:
                for line in (f"{fence.marker}{fence.lang}\n", f"{fence.marker}\n"):
                    if self._measure(line) <= self._limit // 4:
                        opener = line
                        break
            self._repairs[fence] = opener
        return self._repairs[fence]


def _fence_at(text: str, start: int, fence: _Fence | None, at: int, final: bool) -> _Fence | None:
    """The code block open at `at`, given the one open at `start`; an unfinished last
    line does not count until the text is final (it may still grow an info string)."""
    for line in _FENCE_LINE.finditer(text, start, at):
        if not line.group(3) and not (final and at == len(text)):
            break
        marker, info = line.group(1), line.group(2).strip()
        if fence is None:
            if marker[0] == "~" or "`" not in info:
                fence = _Fence(marker, info.split()[0] if info else "")
        elif marker[0] == fence.marker[0] and len(marker) >= len(fence.marker) and not info:
            fence = None
    return fence


def _splittable(text: str, at: int, floor: int, final: bool) -> bool:
    """Whether a page may end at `at`: never inside a line that is (or may become) a fence,
    nor where the next page would start with what reads as one, nor inside a surrogate pair."""
    if _in_pair(text, at):
        return False
    if text[at - 1] == "\n":
        return True
    nl = text.rfind("\n", floor, at)
    for start in (floor if nl < 0 else nl + 1, at):
        if _FENCE_START.match(text, start):
            return False
        if not final and len(text) - start <= 5 and _FENCE_MAYBE.fullmatch(text, start):
            return False
    return True


def _in_pair(text: str, at: int) -> bool:
    """Whether `at` falls between the halves of a surrogate pair left in the string."""
    if not 0 < at < len(text):
        return False
    return "\ud800" <= text[at - 1] <= "\udbff" and "\udc00" <= text[at] <= "\udfff"
