"""Fenced code blocks across pages: which block is open where a page ends, and its repair.

A page cut inside a fenced code block would leave the block open on that page, and the
next page would start as prose in the middle of the code. So the pager closes the block
where the page ends and reopens it, same marker and language, at the top of the next one
(the page's `closer` and `opener`, which the answer text does not contain). A fence line
is known only once it is whole: an unfinished last line may still become one, or grow an
info string, so it does not count until the text is final.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FENCE_MAYBE", "FENCE_START", "Fence", "FenceRepair", "fence_at"]

_FENCE_LINE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})([^\n]*)(\n|\Z)", re.MULTILINE)
FENCE_START = re.compile(r"[ ]{0,3}(?:```|~~~)")  # a line that is, or may be, a fence
FENCE_MAYBE = re.compile(r"[ ]{0,3}(?:`{1,2}|~{1,2})?")  # may still become one


@dataclass(frozen=True, slots=True)
class Fence:
    """An open fenced code block: its marker (```` ``` ````, `~~~~`...) and language."""

    marker: str
    lang: str


def fence_at(text: str, start: int, fence: Fence | None, at: int, final: bool) -> Fence | None:
    """The code block open at `at`, given the one open at `start`; an unfinished last
    line does not count until the text is final (it may still grow an info string)."""
    for line in _FENCE_LINE.finditer(text, start, at):
        if not line.group(3) and not (final and at == len(text)):
            break
        marker, info = line.group(1), line.group(2).strip()
        if fence is None:
            if marker[0] == "~" or "`" not in info:
                fence = Fence(marker, info.split()[0] if info else "")
        elif marker[0] == fence.marker[0] and len(marker) >= len(fence.marker) and not info:
            fence = None
    return fence


class FenceRepair:
    """How an open block is closed at a page's end and reopened on the next page.

    The reopener of each fence is remembered: every edit lays the open page out again.
    """

    __slots__ = ("_limit", "_measure", "_holdback", "_repairs")

    def __init__(self, *, limit: int, measure: Callable[[str], int], holdback: int) -> None:
        self._limit = limit
        self._measure = measure
        self._holdback = holdback
        self._repairs: dict[Fence, str | None] = {}

    def __repr__(self) -> str:
        return f"FenceRepair(limit={self._limit}, holdback={self._holdback}, fences={len(self._repairs)})"

    def closer(self, head: str, fence: Fence | None) -> str:
        """The fence line that closes `fence` after `head`: none when no block is open
        there, or when the block is not repaired."""
        if fence is None or self.reopener(fence) is None:
            return ""
        return fence.marker if head.endswith("\n") else "\n" + fence.marker

    def reopener(self, fence: Fence) -> str | None:
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
