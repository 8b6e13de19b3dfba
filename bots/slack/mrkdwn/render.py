"""One text's Markdown as mrkdwn: markdown-it's tokens turned into edits of the text.

A heading becomes a bold line, a bullet `•`, a rule `———`, a fence a plain ``` block, a
nested quote one quote; inline marks are `inline`'s. Everything else stays as typed,
escaped: whitespace, list numbers, tables. Slack reads `<...>` as commands, so the only
`<` emitted opens a link built from a Markdown link to http(s) or mailto.

The text may be cut anywhere. A half-written `**bold` or `[link](ht` is left as typed,
since CommonMark pairs nothing; a fence still open at the end is closed, or left out
while it has no code yet, so every interim text renders as balanced mrkdwn.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from markdown_it.token import Token

from bots.slack.escaping import escape
from bots.slack.mrkdwn.inline import Edit, apply, inline_edits
from bots.slack.mrkdwn.parser import parser

__all__ = ["RULE", "OpenFence", "render"]

RULE = "———"  # Slack has no horizontal rule; as long as the `---` it replaces
_BULLETS = ("-", "*", "+")


@dataclass(frozen=True, slots=True)
class OpenFence:
    """A fence still open where a rendered text ends: more text may hold its body."""

    marker: str
    length: int
    at_margin: bool  # outside any list or quote, so only its own closing line ends it


def render(markdown: str) -> tuple[str, OpenFence | None]:
    """The whole text's mrkdwn, and the fence left open at its end, if any."""
    edits: list[Edit] = []
    markers: list[int] = []
    fence = None
    bold = 0
    for token in parser().parse(markdown):
        kind = token.type
        if kind == "inline":
            edits.extend(_inline(token, bold))
        elif kind == "paragraph_open":
            bold = 0
        elif kind == "heading_open":
            bold = 1
            edits.extend(_heading(token))
        elif kind == "list_item_open" and token.markup in _BULLETS:
            marker = token.meta["marker"]
            if marker + 1 < len(markdown):  # the text's last `*` may start `**bold**`
                edits.append((marker, marker + 1, "•"))
        elif kind == "blockquote_open":
            markers.extend(token.meta["markers"])
        elif kind == "hr":
            edits.append((token.meta["from"], token.meta["to"], RULE))
        elif kind == "fence":
            fence = _fence(token, markdown, edits)
    edits.extend(_quotes(markdown, sorted(markers)))
    # At one offset the wider edit goes first, and `apply` skips what it holds: a fence
    # with no code yet drops its whole line, bullet or `>` included, even on the first line.
    edits.sort(key=lambda edit: (edit[0], -edit[1]))
    return apply(markdown, edits), fence


def _inline(token: Token, bold: int) -> list[Edit]:
    """The inline edits, moved from the token's content to the text."""
    ends, content = token.meta.get("ends"), token.content
    if not ends or not token.children:
        return []  # nothing to format, or lines that did not line up: shown as typed
    edits = inline_edits(token.children, content, bold=bold)
    if len(ends) == 1:
        shift = ends[0] - len(content)
        return [(start + shift, end + shift, text) for start, end, text in edits]
    starts = [0]
    while (newline := content.find("\n", starts[-1])) != -1:
        starts.append(newline + 1)
    stops = [*(start - 1 for start in starts[1:]), len(content)]
    shifts = [end - stop for end, stop in zip(ends, stops, strict=True)]

    def moved(pos: int) -> int:
        return pos + shifts[bisect.bisect_right(starts, pos) - 1]

    return [(moved(start), moved(end), text) for start, end, text in edits]


def _heading(token: Token) -> list[Edit]:
    """`# Title #` -> `*Title*`, flush left; a heading with no title yet shows nothing."""
    if not token.meta:
        return []
    start, title, end = token.meta["from"], token.meta["title"], token.meta["to"]
    if title is None:
        return [(start, end, "")]
    return [(start, title[0], "*"), (title[1], end, "*")]


def _quotes(markdown: str, markers: list[int]) -> list[Edit]:
    """Each quoted line's `>` marks as one Slack quote, flush left.

    Slack quotes do not nest, and its `>>>` would quote the rest of the message, so a
    nested quote becomes one plain quote. A `>` after other marks on its line (`- > a`)
    cannot start a Slack quote and stays text.
    """
    edits: list[Edit] = []
    i = 0
    while i < len(markers):
        first = last = markers[i]
        line = markdown.rfind("\n", 0, first) + 1
        i += 1
        while i < len(markers) and not markdown[last + 1 : markers[i]].strip(" \t"):
            last = markers[i]
            i += 1
        while i < len(markers) and "\n" not in markdown[last : markers[i]]:
            i += 1  # a later `>` on the same line, after other text
        if markdown[line:first].strip(" \t"):
            continue
        end = last + 1 + (markdown[last + 1 : last + 2] == " ")
        edits.append((line, end, escape(markdown[first:end]) if first == last else "&gt; "))
    return edits


def _fence(token: Token, markdown: str, edits: list[Edit]) -> OpenFence | None:
    """A fence as a ``` block without its language; the open fence it leaves, if any."""
    (start, eol), body, closing = token.meta["open"], token.meta["body"], token.meta["close"]
    if closing is not None:
        edits += [(start, eol, "```"), (closing[0], closing[1], "```")]
        return None
    end = body[-1][1] if body else eol
    if markdown[end:].strip(" \t\n"):  # its list or quote ended: the marks go, the text stays
        edits.append((start, eol, ""))
        return None
    # Still being written: its last line may be a newline or half a closing fence.
    if body and not markdown[body[-1][0] : body[-1][1]].strip().strip(token.markup[0]):
        body = body[:-1]
    if body:
        edits += [(start, eol, "```"), (body[-1][1], len(markdown), "\n```")]
    else:  # no code yet: nothing to show, not even the line
        edits.append((max(markdown.rfind("\n", 0, start), 0), len(markdown), ""))
    return OpenFence(token.markup[0], len(token.markup), at_margin=token.level == 0)
