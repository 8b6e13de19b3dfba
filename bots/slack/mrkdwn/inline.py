"""Inline Markdown as Slack mrkdwn: emphasis, code spans and links, as edits of the text.

Rendering lists the spans of the model's text to replace (`Edit`) and leaves every other
character as typed, escaped. Offsets index an inline token's `content`, as recorded by
`parser` and `blocks`. Marks come in pairs from CommonMark's own matching, so an
unfinished `**bold` or `[link](ht` of a text cut mid-stream is simply left as typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from markdown_it.token import Token

from bots.slack.escaping import escape

__all__ = ["LABEL_BAR", "Edit", "apply", "inline_edits"]

Edit = tuple[int, int, str]  # replace text[start:end] with this (already escaped) text

LABEL_BAR = "¦"  # `|` would end a link's URL part early, so labels get a look-alike

_MARK = {"strong_open": "*", "em_open": "_", "s_open": "~"}
_CLOSE = frozenset({"strong_close", "em_close", "s_close"})
_LINK_TARGET = re.compile(r"(?i:https?://|mailto:)[^\s|]+")  # `|` would end Slack's URL
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_URL_UNSAFE = str.maketrans({"<": "%3C", ">": "%3E"})
_LINE_BREAK = re.compile(r"[ \t]*\n[ \t]*")


def apply(text: str, edits: Iterable[Edit], start: int = 0, end: int | None = None) -> str:
    """`text[start:end]` escaped, with each edit's text in place of its span.

    Edits come sorted; one that starts inside an edit already made lies within it
    (a mark inside a link, a line inside a dropped fence) and is skipped.
    """
    out: list[str] = []
    done = start
    for begin, stop, replacement in edits:
        if begin < done:
            continue
        out.append(escape(text[done:begin]))
        out.append(replacement)
        done = stop
    out.append(escape(text[done:end]))
    return "".join(out)


def inline_edits(children: Sequence[Token], content: str, *, bold: int = 0, plain: bool = False) -> list[Edit]:
    """The edits that turn one inline token's content into mrkdwn.

    `bold` counts the bold already around it (a heading is bold), since Slack cannot nest
    a mark in one of its own kind; `plain` drops every mark, for a link's label.
    """
    closer_of = _pairs(children)
    depth = {"*": bold, "_": 0, "~": 0}
    closing: dict[int, tuple[str, str]] = {}  # closer's index -> (mark, what it shows)
    edits: list[Edit] = []
    i = 0
    while i < len(children):
        token, kind = children[i], children[i].type
        if kind in _MARK:
            j = closer_of[i]
            if not _glued(content, token, children[j]):
                mark = _MARK[kind]
                shown = "" if plain or depth[mark] else mark
                depth[mark] += 1
                edits.append((*_span(token), shown))
                closing[j] = (mark, shown)
        elif kind in _CLOSE:
            if (pair := closing.pop(i, None)) is not None:
                depth[pair[0]] -= 1
                edits.append((*_span(token), pair[1]))
        elif kind == "code_inline":
            code = escape(token.content)
            edits.append((*token.meta["span"], code if plain else f"`{code}`"))
        elif kind == "link_open" and (url := _url(token)) is not None:
            j = closer_of[i]
            label = _label(content, inline_edits(children[i + 1 : j], content, plain=True), *token.meta["label"])
            # In a label (an image's alt text), a link is its label: Slack nests no links.
            edits.append((*token.meta["span"], label) if plain else _slack_link(token, url, label))
            i = j  # a link to anything else stays as typed, its label formatted as text
        elif kind == "image":
            edits.extend(_image(token, bold=depth["*"], plain=plain))
        i += 1
    return edits


def _pairs(children: Sequence[Token]) -> dict[int, int]:
    """Opening token's index -> its closing token's (marks and links nest properly)."""
    closer_of: dict[int, int] = {}
    openers: list[int] = []
    for i, token in enumerate(children):
        if token.nesting == 1:
            openers.append(i)
        elif token.nesting == -1 and openers:
            closer_of[openers.pop()] = i
    return closer_of


def _span(token: Token) -> tuple[int, int]:
    """The characters of a mark; CommonMark makes `**` of the inner `*` of a pair."""
    pos: int = token.meta["pos"]
    if token.type == "strong_open":
        return pos - 1, pos + 1
    return pos, pos + len(token.markup)


def _glued(content: str, opening: Token, closing: Token) -> bool:
    """Whether a pair touches a word on its outside (`2*3*4`, `**foo**bar`).

    Slack only formats marks at word boundaries, so `_3_` would show as typed: such a pair
    keeps the model's own characters.
    """
    before, after = opening.meta["run"][0] - 1, closing.meta["run"][1]
    return (before >= 0 and content[before].isalnum()) or (after < len(content) and content[after].isalnum())


def _label(content: str, edits: list[Edit], start: int, end: int) -> str:
    label = apply(content, edits, start, end)
    if "\n" in label:
        label = _LINE_BREAK.sub(" ", label)
    return label.replace("|", LABEL_BAR).strip()


def _url(token: Token) -> str | None:
    """A link's or image's target for Slack, if it is http(s) or mailto.

    Any other target (relative, `#anchor`, `javascript:`) does not make a Slack link.
    """
    target = _BACKSLASH_ESCAPE.sub(r"\1", token.meta["dest"])
    return escape(target.translate(_URL_UNSAFE)) if _LINK_TARGET.fullmatch(target) else None


def _slack_link(token: Token, url: str, label: str) -> Edit:
    return (*token.meta["span"], f"<{url}|{label}>" if label else f"<{url}>")


def _image(token: Token, *, bold: int, plain: bool) -> list[Edit]:
    """An image is a link to it; in a label, its alt text. Its label was parsed alone."""
    children, alt = token.children or [], token.content
    url = None if plain else _url(token)
    if plain or url is not None:
        label = _label(alt, inline_edits(children, alt, plain=True), 0, len(alt))
        return [(*token.meta["span"], label) if url is None else _slack_link(token, url, label)]
    base = token.meta["label"][0]
    edits = inline_edits(children, alt, bold=bold)
    return [(start + base, end + base, text) for start, end, text in edits]
