"""What each message of an answer shows, as the platform last accepted it.

The relay compares this with the pages the text lays out now to decide which messages
need a write, and, when the platform refuses a final text, which pages are still open
and what they show (the rescue ends them with that). Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic

from core.surface import Ref

__all__ = ["OpenPage", "PageLedger", "Shown"]


@dataclass(frozen=True, slots=True)
class Shown:
    """A message's text as accepted, and whether it was written as complete."""

    text: str
    final: bool


@dataclass(frozen=True, slots=True)
class OpenPage:
    """A message not yet written as complete: where it is and what it shows."""

    index: int
    text: str
    last: bool


class PageLedger(Generic[Ref]):
    """The messages of one answer, in order, each with what it shows.

    Unlike the pager, which says what the pages *should* show, this says what they *do*
    show: a page is only recorded once its write went through.
    """

    __slots__ = ("_refs", "_shown")

    def __init__(self) -> None:
        self._refs: list[Ref] = []
        self._shown: list[Shown] = []

    def __repr__(self) -> str:
        finals = sum(s.final for s in self._shown)
        return f"<PageLedger pages={len(self._refs)} complete={finals}>"

    def __len__(self) -> int:
        return len(self._refs)

    @property
    def first(self) -> Ref | None:
        """The answer's first message (its placeholder), once it is posted."""
        return self._refs[0] if self._refs else None

    def ref(self, index: int) -> Ref:
        return self._refs[index]

    def posted(self, ref: Ref, text: str, *, final: bool) -> int:
        """Record a new message; returns its index."""
        self._refs.append(ref)
        self._shown.append(Shown(text, final))
        return len(self._refs) - 1

    def wrote(self, index: int, text: str, *, final: bool) -> None:
        """Record an edit of message `index`."""
        self._shown[index] = Shown(text, final)

    def shows(self, index: int, text: str, *, final: bool) -> bool:
        """Whether message `index` exists and already shows exactly this."""
        return index < len(self._shown) and self._shown[index] == Shown(text, final)

    def open_pages(self) -> list[OpenPage]:
        """The messages not yet written as complete, in order."""
        last = len(self._shown) - 1
        return [
            OpenPage(index, shown.text, index == last) for index, shown in enumerate(self._shown) if not shown.final
        ]
