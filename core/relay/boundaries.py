"""Where the open page may end: the boundary search behind the pager.

A page may end only between user-perceived characters (UAX #29 clusters), never inside a
line that is (or may become) a code fence, nor where the next page would start with what
reads as one, nor inside a surrogate pair. Among those places it prefers, late on the
page, the end of a blank line, then of a line, then a space, then any cluster. An
unfinished text's last cluster may still grow, so it is not a boundary until it is
followed by another or the text is final.

The search looks only at the page being written, and a bounded stretch of the text after
it, with measures binary-searched over the boundaries it knows: it relies on `measure`
never measuring a string less than its prefixes (see `core.relay.paging`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex

from core.relay.fences import FENCE_MAYBE, FENCE_START, Fence, FenceRepair, fence_at

__all__ = ["BoundarySearch", "Cursor"]

_CLUSTER = regex.compile(r"\X")  # a user-perceived character (UAX #29)
_BLANKS = re.compile(r"[^\S\xa0\u2007\u202f]+")  # breakable whitespace (not NBSP)


@dataclass(slots=True)
class Cursor:
    """The page being written; a copy of it lets a final layout leave the pager as it was."""

    start: int  # where its answer text starts
    fence: Fence | None  # the code block open at `start`, if any
    opener: str  # the fence line shown first to reopen that block
    line_start: int  # start of the line `start` is on
    bounds: list[int]  # cluster boundaries after `start` known for good, ascending
    scanned: int  # the last of them (or `start`)


class BoundarySearch:
    """Where a page of one size and measure may end, given the page being written.

    Holds only the page's geometry and its fences' repair; what it learns of a text (the
    cluster boundaries) it keeps in the `Cursor`, which the pager owns.
    """

    __slots__ = ("_limit", "_measure", "_holdback", "fences")

    def __init__(self, *, limit: int, measure: Callable[[str], int], holdback: int) -> None:
        self._limit = limit
        self._measure = measure
        self._holdback = holdback
        self.fences = FenceRepair(limit=limit, measure=measure, holdback=holdback)

    def __repr__(self) -> str:
        return f"BoundarySearch(limit={self._limit}, holdback={self._holdback})"

    def shows_all(self, text: str, cur: Cursor) -> bool:
        """Far from the limit, the open page may show everything, last cluster included:
        no split can come before the text has grown past the holdback, and splits never
        go before what was shown. This puts the first token on screen at once."""
        if not text or text[-1] == "\n":
            return False  # a newline already is a cluster boundary; nothing held back
        nl = text.rfind("\n", cur.line_start)
        line = cur.line_start if nl < 0 else nl + 1
        if FENCE_START.match(text, line) or (len(text) - line <= 5 and FENCE_MAYBE.fullmatch(text, line)):
            return False  # a (possible) fence line is shown only once it is whole
        return self._measure(cur.opener + text[cur.start :]) <= self._limit - self._holdback

    def probe(self, text: str, cur: Cursor) -> tuple[int, bool]:
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

    def scan(self, text: str, cur: Cursor, upto: int, final: bool) -> None:
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

    def _within(self, text: str, cur: Cursor, budget: int, spots: Sequence[int]) -> int:
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

    def hold(self, text: str, cur: Cursor, final: bool) -> int:
        """The furthest the page may show while unfinished: the holdback boundary."""
        count = self._within(text, cur, self._limit - self._holdback, cur.bounds)
        for j in range(count - 1, -1, -1):
            if _splittable(text, cur.bounds[j], cur.line_start, final):
                return cur.bounds[j]
        return cur.start

    def fit_end(self, text: str, cur: Cursor, lo: int, final: bool) -> int:
        """The last place at or after `lo` where the page, closer included, fits."""
        for j in range(self._within(text, cur, self._limit, cur.bounds) - 1, -1, -1):
            if (at := cur.bounds[j]) <= lo:
                break
            if _splittable(text, at, cur.line_start, final):
                head, closer, _ = self.close(text, cur, at, final)
                if self._measure(head + closer) <= self._limit:
                    return at
        return lo

    def choose(self, text: str, cur: Cursor, lo: int, end: int, final: bool) -> int:
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

    def force(self, text: str, cur: Cursor, hi: int, final: bool) -> int:
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

    def close(self, text: str, cur: Cursor, at: int, final: bool) -> tuple[str, str, Fence | None]:
        """The page up to `at`, the closer it needs there, and the code block open there."""
        head = cur.opener + text[cur.start : at]
        fence = fence_at(text, cur.start, cur.fence, at, final)
        return head, self.fences.closer(head, fence), fence


def _splittable(text: str, at: int, floor: int, final: bool) -> bool:
    """Whether a page may end at `at`: never inside a line that is (or may become) a fence,
    nor where the next page would start with what reads as one, nor inside a surrogate pair."""
    if _in_pair(text, at):
        return False
    if text[at - 1] == "\n":
        return True
    nl = text.rfind("\n", floor, at)
    for start in (floor if nl < 0 else nl + 1, at):
        if FENCE_START.match(text, start):
            return False
        if not final and len(text) - start <= 5 and FENCE_MAYBE.fullmatch(text, start):
            return False
    return True


def _in_pair(text: str, at: int) -> bool:
    """Whether `at` falls between the halves of a surrogate pair left in the string."""
    if not 0 < at < len(text):
        return False
    return "\ud800" <= text[at - 1] <= "\udbff" and "\udc00" <= text[at] <= "\udfff"
