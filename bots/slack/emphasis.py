"""Emphasis for Slack mrkdwn: pair `*`, `_` and `~~` runs the way CommonMark does.

`formatting` cuts a line into escaped text and delimiter runs; this module decides which
runs open or close emphasis and renders the marks Slack can show. It uses CommonMark's
delimiter algorithm with its lower bounds (`openers_bottom`), so it stays linear on every
interim edit of a growing answer, and an unmatched run simply stays literal text.
"""

from __future__ import annotations

import string
import unicodedata

__all__ = ["Delim", "match_emphasis", "render"]

_ASCII_PUNCT = frozenset(string.punctuation)


class Delim:
    """A run of `*`, `_` or `~~` that may open or close emphasis (CommonMark 6.2).

    The CommonMark algorithm consumes a run from its inner side, so marks it closes go
    before the chars left over, and marks it opens go after them, outermost first.
    """

    __slots__ = ("ch", "count", "orig", "can_open", "can_close", "word_before", "word_after",
                 "closes", "opens")

    def __init__(self, run: str, before: str, after: str) -> None:
        self.ch, self.count, self.orig = run[0], len(run), len(run)
        ws_before, ws_after = before.isspace(), after.isspace()
        p_before, p_after = _is_punct(before), _is_punct(after)
        left = not ws_after and (not p_after or ws_before or p_before)
        right = not ws_before and (not p_before or ws_after or p_after)
        if self.ch == "_":  # `_` must not open or close inside a word
            self.can_open = left and (not right or p_before)
            self.can_close = right and (not left or p_after)
        else:
            self.can_open, self.can_close = left, right
        self.word_before, self.word_after = before.isalnum(), after.isalnum()
        self.closes: list[tuple[str, int]] = []
        self.opens: list[tuple[str, int]] = []

    def __repr__(self) -> str:
        run = self.ch * self.orig
        return f"<Delim {run!r} unused={self.count} open={self.can_open} close={self.can_close}>"


def _is_punct(char: str) -> bool:
    if char < "\x80":
        return char in _ASCII_PUNCT
    return unicodedata.category(char)[0] in "PS"


def match_emphasis(delims: list[Delim]) -> None:
    """CommonMark's "process emphasis", with its openers_bottom so it stays linear.

    A pair glued to a word on the outside (`2*3*4`, `**foo**bar`) keeps the model's own
    characters: Slack only formats marks at word boundaries, so `_3_` would show as is.
    """
    count = len(delims)
    prev = list(range(-1, count - 1))
    nxt = [*range(1, count), -1]

    def unlink(i: int) -> None:
        if prev[i] != -1:
            nxt[prev[i]] = nxt[i]
        if nxt[i] != -1:
            prev[nxt[i]] = prev[i]

    bottoms: dict[tuple[str, bool, int], int] = {}
    c = 0 if count else -1
    while c != -1:
        closer = delims[c]
        if not closer.can_close:
            c = nxt[c]
            continue
        key = (closer.ch, closer.can_open, closer.orig % 3)
        o, bottom = prev[c], bottoms.get(key, -1)
        while o > bottom and not _can_pair(delims[o], closer):
            o = prev[o]
        if o <= bottom:  # nothing below can ever close with a closer of this kind
            bottoms[key] = prev[c]
            if not closer.can_open:
                unlink(c)
            c = nxt[c]
            continue
        opener = delims[o]
        used = 2 if opener.count >= 2 and closer.count >= 2 else 1
        mark = "~" if closer.ch == "~" else "*" if used == 2 else "_"
        if opener.word_before or closer.word_after:
            opener.opens.insert(0, (closer.ch * used, 0))
            closer.closes.append((closer.ch * used, 0))
        else:
            opener.opens.insert(0, (mark, 1))
            closer.closes.append((mark, -1))
        opener.count -= used
        closer.count -= used
        nxt[o], prev[c] = c, o  # whatever lay between them can no longer match
        if not opener.count:
            unlink(o)
        if not closer.count:
            unlink(c)
            c = nxt[c]


def _can_pair(opener: Delim, closer: Delim) -> bool:
    if opener.ch != closer.ch or not opener.can_open:
        return False
    if closer.ch == "~":
        return True
    # CommonMark's rule of 3: a run that could both open and close only pairs with
    # lengths not summing to a multiple of 3, so `*a**b*` is one emphasis, not two.
    either_way = opener.can_close or closer.can_open
    sum_of_3 = (opener.orig + closer.orig) % 3 == 0
    return not (either_way and sum_of_3 and (opener.orig % 3 or closer.orig % 3))


def render(parts: list[str | Delim], *, plain: bool, bold: int) -> str:
    """Join the parts; a mark nested in one of its own kind is dropped (Slack can't nest)."""
    depth = {"*": bold, "_": 0, "~": 0}
    out: list[str] = []

    def emit(marks: list[tuple[str, int]]) -> None:
        for mark, step in marks:
            if not step:
                out.append(mark)
                continue
            depth[mark] += step
            if not plain and depth[mark] == (1 if step > 0 else 0):
                out.append(mark)

    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            emit(part.closes)
            out.append(part.ch * part.count)
            emit(part.opens)
    return "".join(out)
