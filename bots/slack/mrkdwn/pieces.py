"""`to_mrkdwn` for a growing answer: its text in pieces, each rendered once.

A streaming answer is converted again on every edit, and almost all of it is text
already converted. So a text is cut where CommonMark parses both sides alike: after a
blank line and before a line at the margin, which ends every paragraph, list and quote.
Only a fence reaches past such a line: one at the margin up to its closing line, one in
a list or quote to that line at most, which closes it if it is a closing fence (see
`fences`). And a fence left open renders differently when more text follows, so a
piece ending inside a fence is joined to the next ones. Each piece's rendering is
remembered, so an edit parses only what changed at its end.
"""

from __future__ import annotations

import bisect
import functools
import re

from bots.slack.escaping import escape
from bots.slack.mrkdwn.render import OpenFence, render

__all__ = ["to_mrkdwn"]

_PIECE_END = re.compile(r"\n[ \t]*(?=\n[^ \t\n])")  # ends on the blank line's own newline
_MARKUP = re.compile(r"[*_~`\[#>+-]")  # without any of these, mrkdwn is the escaped text


def to_mrkdwn(markdown: str) -> str:
    """Convert the model's Markdown (complete or cut anywhere) to escaped Slack mrkdwn."""
    ends = [m.end() for m in _PIECE_END.finditer(markdown)]
    ends.append(len(markdown))
    out: list[str] = []
    start = i = 0
    while True:
        rendered, fence = _render_piece(markdown[start : ends[i]])
        if fence is not None and i < len(ends) - 1:
            i = _past(fence, markdown, ends, i)  # parse it again with the fence's body
            continue
        out.append(rendered)
        if i == len(ends) - 1:
            return "".join(out)
        start, i = ends[i], i + 1


def _past(fence: OpenFence, markdown: str, ends: list[int], i: int) -> int:
    """The first piece end after the line that can close `fence`."""
    if not fence.at_margin:
        return i + 1  # the next piece starts at the margin: its first line closes the fence or ends it
    marker = re.escape(fence.marker)
    closing = re.compile(rf"^ {{0,3}}{marker}{{{fence.length},}}[ \t]*$", re.MULTILINE)
    found = closing.search(markdown, ends[i])
    return len(ends) - 1 if found is None else bisect.bisect_left(ends, found.end(), i + 1)


# A module-level memo is safe here: `render` is pure (text in, immutable values out, no
# state kept between calls), and the memo is bounded (1,024 pieces, a few answers' worth).
@functools.lru_cache(maxsize=1024)
def _render_piece(piece: str) -> tuple[str, OpenFence | None]:
    """`render`, remembered: a streaming answer's finished pieces are rendered once."""
    if _MARKUP.search(piece) is None:
        return escape(piece), None
    return render(piece)
