"""Render the model's Markdown for Slack: mrkdwn for messages, escaped text for notifications.

The work lives beside this module, in `escaping` (what keeps model text from pinging)
and the `mrkdwn` package (Markdown to mrkdwn on CommonMark's parse); other code imports
it from here.
"""

from __future__ import annotations

from bots.slack.escaping import escape, escaped_length
from bots.slack.mrkdwn import LABEL_BAR, RULE, to_mrkdwn

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
