"""Render the model's Markdown as Slack mrkdwn, and escape text for Slack.

Slack reads `<...>` as control sequences (`<!channel>`, `<@U123>`, `<#C1>`, `<url|label>`),
so every piece of model text goes through `escape`, and the only `<` this module ever
emits opens a link it built itself from a Markdown `[label](http...)`. Quotes survive the
escaping: Slack sends quotes as `&gt;` itself and shows a leading `&gt;` as a block quote.

`to_mrkdwn` runs on every interim edit of a growing answer, so it works line by line in
linear time (code spans and brackets are paired in one pass each; emphasis, in
`bots.slack.emphasis`, uses the CommonMark delimiter algorithm with its lower bounds) and
accepts a text cut anywhere: an unmatched `**`, `[` or backtick stays literal text; an
open code fence is code to the end.
"""

from __future__ import annotations

import re

from bots.slack.emphasis import Delim, match_emphasis, render

__all__ = [
    "FALLBACK_LIMIT",
    "LABEL_BAR",
    "RULE",
    "escape",
    "escaped_length",
    "to_mrkdwn",
    "to_plain_fallback",
]

FALLBACK_LIMIT = 3900  # above any page (3,500), so `text` carries the whole page; below msg_too_long
RULE = "———"  # Slack has no horizontal rule; as long as the `---` it replaces
LABEL_BAR = "¦"  # `|` would end a link's URL part early, so labels get a look-alike

_URL_UNSAFE = str.maketrans({"<": "%3C", ">": "%3E"})

_FENCE = re.compile(r"([ \t]*)(`{3,}|~{3,})(.*)")
_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*))?")
_HEADING_TAIL = re.compile(r"(?:^|[ \t])#+[ \t]*$")
_RULE_LINE = re.compile(r" {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})")
_QUOTES = re.compile(r"(?: {0,3}>[ ]?)+")
_BULLET = re.compile(r"([ \t]*)[-*+]([ \t].*)")
_ORDERED = re.compile(r"([ \t]*\d{1,9}[.)])([ \t].*)")

_INLINE = re.compile(  # the look-ahead lets the engine skip plain text at C speed
    r"(?=[\\`*_~\[!hHmM])(?:(?P<esc>\\[!-/:-@\[-`{-~])|(?P<ticks>`+)|(?P<delim>\*+|_+|~+)"
    r"|(?P<open>!?\[)|(?P<url>(?i:https?://|mailto:)[^\s<>]*[^\s<>?!.,:;*_~'\"()]))"
)
_TICKS_OR_ESCAPE = re.compile(r"\\.|`+")
_BRACKETS_OR_SKIP = re.compile(r"\\.|`+|[\[\]]")
_LINK_TAIL = re.compile(  # what follows `]`: `(dest "optional title")`, dest possibly <...>
    r"\(\s*(?:<(?P<angle>(?:[^<>\\]|\\.)*+)>"
    r"|(?P<dest>(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*+\))*+))"
    r"""(?:\s+(?:"(?:[^"\\]|\\.)*+"|'(?:[^'\\]|\\.)*+'|\((?:[^()\\]|\\.)*+\)))?\s*\)"""
)
_LINK_TARGET = re.compile(r"(?i:https?://|mailto:)[^\s|]+")  # `|` would end Slack's URL
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def escape(text: str) -> str:
    """Escape `&`, `<` and `>` as Slack asks; entities the model wrote stay visible as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_length(text: str) -> int:
    """`len(escape(text))` without building the escaped copy: the pager's measure."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def to_plain_fallback(markdown: str, *, limit: int = FALLBACK_LIMIT) -> str:
    """The notification `text` for an answer shown in blocks: escaped, cut to `limit`."""
    text = escape(markdown)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.find("&", len(cut) - 4)  # an entity is at most 5 chars: never leave half of one
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def to_mrkdwn(markdown: str) -> str:
    """Convert the model's Markdown (complete or cut anywhere) to escaped Slack mrkdwn."""
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.fullmatch(lines[i])
        if fence and not (fence[2][0] == "`" and "`" in fence[3]):
            i = _code_block(lines, i, fence, out)
        else:
            out.append(_block_line(lines[i]))
            i += 1
    return "\n".join(out)


def _code_block(lines: list[str], start: int, fence: re.Match[str], out: list[str]) -> int:
    """Emit one fenced block verbatim (escaped, no language tag); return the next line."""
    indent, marker = fence[1], fence[2]
    end = start + 1
    while end < len(lines):
        bare = lines[end].strip()
        if len(bare) >= len(marker) and bare == marker[0] * len(bare):
            break
        end += 1
    body = lines[start + 1 : end]
    if end == len(lines):  # still being written: the last line may be a newline or half a fence
        if body and not body[-1].strip().strip(marker[0]):
            body.pop()
        if not body:
            return end
        closing_indent = ""
    else:
        closing_indent = lines[end][: len(lines[end]) - len(lines[end].lstrip())]
    out.append(indent + "```")
    out.extend(escape(line) for line in body)
    out.append(closing_indent + "```")
    return end + 1


def _block_line(line: str) -> str:
    first = line.lstrip(" \t")[:1]  # dispatch on it: most lines are plain text
    quotes = _QUOTES.match(line) if first == ">" else None
    if quotes is None:
        return _unquoted_line(line, first)
    # Flush left, or Slack would not see a quote. Slack quotes do not nest, and its `>>>`
    # would quote the rest of the message, so a nested quote becomes one plain quote.
    prefix = quotes[0].lstrip(" ")
    prefix = escape(prefix) if prefix.count(">") == 1 else "&gt; "
    rest = line[quotes.end() :]
    return prefix + _unquoted_line(rest, rest.lstrip(" \t")[:1])


def _unquoted_line(line: str, first: str) -> str:
    if first == "#" and (heading := _HEADING.fullmatch(line)):
        title = _HEADING_TAIL.sub("", heading[2] or "").strip()
        return f"*{_inline(title, bold=1)}*" if title else ""
    if first in ("-", "*", "_") and _RULE_LINE.fullmatch(line):
        return RULE
    if first in ("-", "*", "+") and (bullet := _BULLET.fullmatch(line)):
        return f"{bullet[1]}•{_inline(bullet[2])}"
    if first.isdigit() and (ordered := _ORDERED.fullmatch(line)):
        return ordered[1] + _inline(ordered[2])
    return _inline(line)


def _inline(line: str, *, plain: bool = False, bold: int = 0) -> str:
    """Convert one line's inline Markdown; `plain` drops all marks (for link labels)."""
    m = _INLINE.search(line)
    if m is None:
        return escape(line)
    spans = _code_spans(line) if "`" in line else {}
    brackets: dict[int, int] | None = None
    parts: list[str | Delim] = []  # escaped output, or delimiter runs resolved below
    delims: list[Delim] = []
    pos = 0
    while m is not None:
        start, pos, kind = m.start(), m.end(), m.lastgroup
        if start > m.pos:
            parts.append(escape(line[m.pos : start]))
        text = m[0]
        if kind == "esc":  # kept as typed: Slack has no escapes, a bare `*` would format
            parts.append(escape(text))
        elif kind == "ticks":
            end = spans.get(start)
            if end is None:
                parts.append(text)
            else:
                parts.append(_code(line[pos : end - len(text)], plain))
                pos = end
        elif kind == "delim":
            if text[0] == "~" and len(text) != 2:  # a lone `~` means "about", not strike
                parts.append(text)
            else:  # the line's ends count as whitespace
                before, after = line[start - 1 : start] or " ", line[pos : pos + 1] or " "
                delim = Delim(text, before, after)
                parts.append(delim)
                delims.append(delim)
        elif kind == "url":  # a token only so that `_` and `*` in it are not emphasis
            parts.append(escape(text))
        else:  # `[` or `![`
            if brackets is None:
                brackets = {} if plain else _pair_brackets(line, spans)  # no links in labels
            link = _link(line, pos, brackets.get(pos - 1))
            if link is None:
                parts.append(escape(text))
            else:
                parts.append(link[0])
                pos = link[1]
        m = _INLINE.search(line, pos)
    parts.append(escape(line[pos:]))
    if not delims:
        return "".join(parts)  # type: ignore[arg-type]  # without delims, parts are all str
    match_emphasis(delims)
    return render(parts, plain=plain, bold=bold)


def _link(line: str, start: int, close: int | None) -> tuple[str, int] | None:
    """The Slack link for `[label](target)` (label from `start`) and where it ends, if any.

    Only http(s) and mailto targets become links; anything else stays text as written.
    """
    tail = _LINK_TAIL.match(line, close + 1) if close is not None else None
    if tail is None:
        return None
    target = _BACKSLASH_ESCAPE.sub(r"\1", tail["angle"] or tail["dest"] or "")
    if not _LINK_TARGET.fullmatch(target):
        return None
    label = _inline(line[start:close], plain=True).replace("|", LABEL_BAR).strip()
    url = escape(target.translate(_URL_UNSAFE))
    return (f"<{url}|{label}>" if label else f"<{url}>"), tail.end()


def _code(content: str, plain: bool) -> str:
    if len(content) > 1 and content[0] == content[-1] == " " and content.strip(" "):
        content = content[1:-1]  # CommonMark: one space each side is padding, not code
    return escape(content) if plain else f"`{escape(content)}`"


def _code_spans(line: str) -> dict[int, int]:
    """Start -> end of each code span: a backtick run closed by the next run as long."""
    runs = [(m.start(), m.end()) for m in _TICKS_OR_ESCAPE.finditer(line) if m[0][0] == "`"]
    next_same: list[int | None] = [None] * len(runs)
    last_seen: dict[int, int] = {}
    for i in range(len(runs) - 1, -1, -1):
        width = runs[i][1] - runs[i][0]
        next_same[i] = last_seen.get(width)
        last_seen[width] = i
    spans: dict[int, int] = {}
    i = 0
    while i < len(runs):
        j = next_same[i]
        if j is None:
            i += 1
        else:
            spans[runs[i][0]] = runs[j][1]
            i = j + 1
    return spans


def _pair_brackets(line: str, spans: dict[int, int]) -> dict[int, int]:
    """Position of each `[` -> its balanced `]`, ignoring escaped ones and code spans."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    skip_to = 0
    for m in _BRACKETS_OR_SKIP.finditer(line):
        start = m.start()
        if start < skip_to:
            continue
        if m[0] == "[":
            stack.append(start)
        elif m[0] == "]":
            if stack:
                pairs[stack.pop()] = start
        elif m[0][0] == "`":
            skip_to = spans.get(start, 0)
    return pairs
