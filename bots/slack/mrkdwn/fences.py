"""markdown-it's fence rule, lenient about where a model closes a fence in a list or quote.

Models often open a fence in a list item and close it less indented than the item's
text (at the margin, say), or open it in a quote and close it without the `>`. CommonMark
ends the item or quote at that line, which ends the fence there unclosed; the closing
line then opens a fence of its own, and the rest of the answer renders as code. Here, a
fence that its list item or quote cut short is closed by the line that cut it, if that
line is a closing fence: the fence's marker, at least as long, then only spaces, and
indented at most 3 columns past the opening marker, in columns as typed (`>`s included).
Any other line still ends the item or quote, and the fence with it.

It wraps CommonMark's rule, which stops either past the fence's closing line or at the
line that ended the fence unclosed: a line less indented than the item's text, or the
line after its quote (a closing fence ends a quote, as any fence does). Only in the
second case, and only for a closing fence there, does the fence take that line too; the
list, quote and block tokenizers all go on from `state.line`, so the item or quote ends
after it. The token's meta gets the closing line's number (None while open), which
`blocks` turns into offsets. The text itself is left alone: a pre-pass re-indenting such
lines (or adding the `>`) would shift every offset after them, and `render` edits the
text as typed. For `pieces`, such a line is at most the first line at the margin after
the fence's piece, so joining that one piece still decides the fence.

A closing fence half typed at the end of a cut text (`` ` `` or ``` `` ```) is taken as
the fence's last line, not as the end of its item: so a code block does not turn into
text and back while its closing line streams in. The rendering drops that line, as it
does for a fence at the margin.
"""

from __future__ import annotations

from markdown_it.rules_block import StateBlock

from bots.slack.mrkdwn.blocks import BlockRule

__all__ = ["lenient"]


def lenient(rule: BlockRule) -> BlockRule:
    """The fence rule, closed by a closing line its list item or quote would end at."""

    def fence(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        if not rule(state, start, end, silent):
            return False
        if silent:
            return True
        token, line = state.tokens[-1], state.line  # `line`: past the fence
        if line - 1 > start and _closes(state, line - 1, token.markup):
            token.meta = {"close": line - 1}
            return True
        token.meta = {"close": None}
        if _column(state, line) <= _column(state, start) + 3:
            run = _marker_run(state, line, token.markup[0])
            if run >= len(token.markup):
                token.meta = {"close": line}
            elif not run or state.eMarks[line] < len(state.src):
                return True  # not even half a closing line at the text's end
            state.line = line + 1
            token.map = [start, line + 1]
        return True

    return fence


def _closes(state: StateBlock, line: int, markup: str) -> bool:
    """Whether `line` closes the fence as CommonMark has it (as the rule itself decided)."""
    return _marker_run(state, line, markup[0]) >= len(markup) and not state.is_code_block(line)


def _marker_run(state: StateBlock, line: int, marker: str) -> int:
    """How long the run of `marker` is that makes up the line: 0 if anything else is on it."""
    pos = state.bMarks[line] + state.tShift[line]
    after = state.skipCharsStr(pos, marker)
    return after - pos if state.skipSpaces(after) >= state.eMarks[line] else 0


def _column(state: StateBlock, line: int) -> int:
    """Where the line's text starts, counted from the line's start as typed."""
    pos = state.bMarks[line] + state.tShift[line]
    return pos - (state.src.rfind("\n", 0, pos) + 1)
