"""Escaping model text for Slack, where `<...>` is a control sequence.

Slack reads `<!channel>`, `<!here>`, `<@U123>`, `<#C1>` and `<url|label>` as commands, so
every piece of model text goes through `escape`, and a rendering may only emit a `<` that
opens a link it built itself. Quotes survive the escaping: Slack sends quotes as `&gt;`
itself and shows a leading `&gt;` as a block quote.
"""

from __future__ import annotations

__all__ = ["escape", "escaped_length"]


def escape(text: str) -> str:
    """Escape `&`, `<` and `>` as Slack asks; entities the model wrote stay visible as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_length(text: str) -> int:
    """`len(escape(text))` without building the escaped copy: the pager's measure."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))
