"""Where block marks sit in the text: markdown-it's block rules, wrapped to record it.

Offsets index the whole text and land in `Token.meta`: a heading's `#`s and title, a
rule's line, a fence's marker lines and body, each bullet's marker, each quoted line's
`>`. A paragraph's or heading's inline token gets `meta["ends"]`, where each of its
content's lines ends in the text, which maps the inline offsets back.
"""

from __future__ import annotations

from collections.abc import Callable

from markdown_it.rules_block import StateBlock

__all__ = ["RECORDERS", "BlockRule", "recorded"]

BlockRule = Callable[[StateBlock, int, int, bool], bool]
Recorder = Callable[[StateBlock, int], None]


def recorded(rule: BlockRule, *, record: Recorder) -> BlockRule:
    """The rule, and `record(state, first new token)` whenever it emits tokens."""

    def wrapped(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        if silent:  # a look-ahead: is a paragraph, list or quote interrupted here?
            return rule(state, start, end, silent)
        count = len(state.tokens)
        if not rule(state, start, end, silent):
            return False
        record(state, count)
        return True

    return wrapped


def _record_paragraph(state: StateBlock, first: int) -> None:
    inline = state.tokens[first + 1]
    start, end = inline.map or (0, 0)
    inline.meta = {"ends": _line_ends(state, start, end, inline.content)}


def _line_ends(state: StateBlock, start: int, end: int, content: str) -> list[int] | None:
    """Where each line of `content` ends in the text, or None if they do not line up.

    Each content line is the end of its source line, less indentation; the last one is
    trimmed, and a line of trimmed whitespace may have gone at either end.
    """
    lines = content.split("\n")
    src = state.src
    for skip in range(end - start - len(lines) + 1):
        ends: list[int] = []
        for number, text in enumerate(lines, start + skip):
            core = text.lstrip(" \t")
            begin, stop = state.bMarks[number], state.eMarks[number]
            if number == start + skip + len(lines) - 1:  # trailing whitespace was trimmed
                stop = src.rfind(core, begin, stop) + len(core)
            if stop - len(core) < begin or not src.startswith(core, stop - len(core)):
                break
            ends.append(stop)
        else:
            return ends
    return None


def _record_heading(state: StateBlock, first: int) -> None:
    opening, inline = state.tokens[first], state.tokens[first + 1]
    line = (opening.map or (0, 0))[0]
    hashes = state.bMarks[line] + state.tShift[line]
    title = inline.content
    start = state.src.find(title, hashes + len(opening.markup), state.eMarks[line])
    if start < 0:
        return  # cannot happen (the title is cut from this line); shown as typed if it did
    opening.meta = {
        "from": _flush_left(state, line, hashes),
        "title": (start, start + len(title)) if title else None,
        "to": state.eMarks[line],
    }
    inline.meta = {"ends": [start + len(title)]}


def _record_rule(state: StateBlock, first: int) -> None:
    token = state.tokens[first]
    line = (token.map or (0, 0))[0]
    marks = state.bMarks[line] + state.tShift[line]
    token.meta = {"from": _flush_left(state, line, marks), "to": state.eMarks[line]}


def _flush_left(state: StateBlock, line: int, pos: int) -> int:
    """Where a line's marks start once the indentation before them is dropped."""
    begin = state.bMarks[line]
    return pos if state.src[begin:pos].strip(" \t") else begin


def _record_fence(state: StateBlock, first: int) -> None:
    """The marker lines and body; the closing line is the one the rule found (`fences`)."""
    token = state.tokens[first]
    start, end = token.map or (0, 0)
    closing = token.meta.get("close")
    body = range(start + 1, end - 1 if closing is not None else end)
    token.meta = {
        "open": _marks_to_end(state, start),
        "body": [(state.bMarks[line], state.eMarks[line]) for line in body],
        "close": _marks_to_end(state, closing) if closing is not None else None,
    }


def _marks_to_end(state: StateBlock, line: int) -> tuple[int, int]:
    return state.bMarks[line] + state.tShift[line], state.eMarks[line]


def _record_bullets(state: StateBlock, first: int) -> None:
    """Each item's marker; items of nested lists were recorded by their own list's call."""
    for token in state.tokens[first:]:
        if token.type == "list_item_open" and not token.meta:
            line = (token.map or (0, 0))[0]
            token.meta = {"marker": state.bMarks[line] + state.tShift[line]}


def _record_quote(state: StateBlock, first: int) -> None:
    """The `>` of each line in the quote (lazy lines have none)."""
    token = state.tokens[first]
    start, end = token.map or (0, 0)
    markers = []
    for line in range(start, end):
        pos = state.bMarks[line] + state.tShift[line]
        inside = line == start or state.sCount[line] >= state.blkIndent
        if pos < state.eMarks[line] and state.src[pos] == ">" and inside:
            markers.append(pos)
    token.meta = {"markers": markers}


# The block rules whose marks get replaced, and what each records.
RECORDERS: dict[str, Recorder] = {
    "paragraph": _record_paragraph,
    "heading": _record_heading,
    "fence": _record_fence,
    "hr": _record_rule,
    "list": _record_bullets,
    "blockquote": _record_quote,
}
