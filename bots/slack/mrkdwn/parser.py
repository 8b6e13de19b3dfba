"""markdown-it-py set up for Slack: CommonMark's parse, and where each mark sits.

mrkdwn is made by editing the model's own text, not by printing tokens (see `render`),
so the rules whose marks get replaced are wrapped to record their offsets in
`Token.meta`: the inline ones here, into the inline token's `content`; the block ones in
`blocks`, into the whole text. The fence rule is `fences`' lenient one.

Left out on purpose: raw HTML and autolinks (a `<` is text to escape), entities (an
`&amp;` the model typed is shown as typed), reference definitions (a link would change
when its definition arrives later in the stream), setext headings (Slack shows their
underline as typed) and the normalize step, which would shift offsets. Strikethrough is
`~~` only: a lone `~` means "about".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.state_inline import Delimiter

from bots.slack.mrkdwn.blocks import RECORDERS, recorded
from bots.slack.mrkdwn.fences import lenient

__all__ = ["parser"]

InlineRule = Callable[[StateInline, bool], bool]

_OFF = ["normalize", "text_join", "reference", "html_block", "lheading"]
_OFF_INLINE = ["html_inline", "autolink", "entity", "fragments_join"]

_INLINE_MARK = re.compile(r"[*_~`\[]")  # without one, inline parsing finds only text
# What ends plain text: a character some inline rule starts at, or a bare URL.
_STOP = re.compile(r"[\n\\`*_~\[\]!]|(?i:https?://|mailto:)")
# A bare URL stays text, so that `_` and `*` in it are not emphasis; it ends before
# trailing punctuation and before `]`, which may close the link label it sits in.
_BARE_URL = re.compile(r"(?i:https?://|mailto:)[^\s<>\]]*[^\s<>\]?!.,:;*_~'\"()]")


# A module-level memo is safe here: no arguments, so it holds one value, and a markdown-it
# instance keeps no state between parses (each `parse` makes its own state and tokens).
@functools.cache
def parser() -> MarkdownIt:
    """The parser, built on first use rather than at import."""
    md = MarkdownIt("commonmark", {"html": False})
    md.disable(_OFF + _OFF_INLINE)
    md.enable("strikethrough")
    inline, block = md.inline.ruler, md.block.ruler
    inline.at("text", _text)
    inline.at("strikethrough", _strikethrough)
    _wrap(inline, "emphasis", _emphasis)
    _wrap(inline, "backticks", _code_span)
    _wrap(inline, "link", functools.partial(_link, image=False))
    _wrap(inline, "image", functools.partial(_link, image=True))
    _wrap(block, "fence", lenient)  # before its recorder, which reads where it closed
    for name, record in RECORDERS.items():
        _wrap(block, name, functools.partial(recorded, record=record))
    md.core.ruler.at("inline", _inlines)
    return md


def _inlines(state: StateCore) -> None:
    """Parse each inline token's content, unless it holds no mark at all (most lines)."""
    for token in state.tokens:
        if token.type == "inline" and _INLINE_MARK.search(token.content):
            token.children = []
            state.md.inline.parse(token.content, state.md, state.env, token.children)


def _wrap(ruler: Any, name: str, wrapper: Callable[[Any], Any]) -> None:
    rule = ruler.__rules__[ruler.__find__(name)]
    ruler.at(name, wrapper(rule.fn), {"alt": rule.alt})  # `at` forgets `alt` unless given


# --- inline rules ---------------------------------------------------------------------


def _text(state: StateInline, silent: bool) -> bool:
    """Plain text up to the next mark; a bare URL in one piece."""
    pos, end = state.pos, state.posMax
    stop = _STOP.search(state.src, pos, end)
    if stop is None:
        after = end
    elif stop.start() > pos:
        after = stop.start()
    elif state.src[pos] not in "hHmM":
        return False
    else:
        url = _BARE_URL.match(state.src, pos, end)
        after = url.end() if url else stop.end()  # a scheme with no address yet
    if not silent:
        state.pending += state.src[pos:after]
    state.pos = after
    return True


def _strikethrough(state: StateInline, silent: bool) -> bool:
    """`~~` may open or close a strikethrough; a run of any other length is text."""
    start = state.pos
    if silent or state.src[start] != "~":
        return False
    scanned = state.scanDelims(start, True)
    if scanned.length != 2:
        state.pending += "~" * scanned.length
    else:
        token = state.push("text", "", 0)
        token.content = "~~"
        token.meta = {"pos": start, "run": (start, start + 2)}
        state.delimiters.append(
            Delimiter(
                marker=ord("~"),
                length=0,  # no "rule of 3" for strikethrough
                token=len(state.tokens) - 1,
                end=-1,
                open=scanned.can_open,
                close=scanned.can_close,
            )
        )
    state.pos += scanned.length
    return True


def _emphasis(rule: InlineRule) -> InlineRule:
    """Each `*` or `_` of a run gets its offset and its run's; pairing makes em/strong marks."""

    def emphasis(state: StateInline, silent: bool) -> bool:
        start = state.pos
        if not rule(state, silent):
            return False
        run = (start, state.pos)
        for offset, delimiter in enumerate(state.delimiters[start - state.pos :]):
            state.tokens[delimiter.token].meta = {"pos": start + offset, "run": run}
        return True

    return emphasis


def _code_span(rule: InlineRule) -> InlineRule:
    """A code span's whole span, backticks included."""

    def code_span(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        if not rule(state, silent):
            return False
        if len(state.tokens) > count and state.tokens[-1].type == "code_inline":
            state.tokens[-1].meta = {"span": (start, state.pos)}
        return True

    return code_span


def _link(rule: InlineRule, *, image: bool) -> InlineRule:
    """A link's or image's span, its label's span, and its destination as typed."""

    def link(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        found = rule(state, silent)
        if not found or silent:
            return found
        end = state.pos
        label_end = state.md.helpers.parseLinkLabel(state, start + image, not image)
        if image:
            token = state.tokens[-1]
        else:
            token = next(t for t in state.tokens[count:] if t.type == "link_open")
        token.meta = {
            "span": (start, end),
            "label": (start + 1 + image, label_end),
            "dest": _destination(state, label_end + 2, end),
        }
        return True

    return link


def _destination(state: StateInline, pos: int, end: int) -> str:
    """The destination between `(` and `)` as the model typed it (`<...>` unwrapped)."""
    src = state.src
    while pos < end and src[pos] in " \t\n":
        pos += 1
    found = state.md.helpers.parseLinkDestination(src, pos, end)
    if not found.ok:
        return ""
    typed = src[pos : found.pos]
    return typed[1:-1] if typed.startswith("<") else typed
