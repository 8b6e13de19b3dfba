"""Fitting a conversation into the model's context: newest turns win.

Token counts are estimated (about four characters a token) rather than computed with a
tokenizer: the budget is a safety margin, not an exact science, and a tokenizer per
model would tie core/ to one vendor.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.models import ChatMessage

TRIMMED_STATUS = "the conversation was too long: its oldest part was left out to fit the model's context"


def estimate_tokens(text: str) -> int:
    """A rough token count: ~4 characters a token, at least 1 per message."""
    return max(1, (len(text) + 3) // 4)


def trim_history(history: Sequence[ChatMessage], budget: int) -> tuple[list[ChatMessage], bool]:
    """Keep the newest turns whose estimated tokens fit `budget`; say if any were cut."""
    kept: list[ChatMessage] = []
    used = 0
    for message in reversed(history):
        cost = estimate_tokens(message.content) + 4
        if used + cost > budget:
            return list(reversed(kept)), True
        kept.append(message)
        used += cost
    return list(reversed(kept)), False


def trim_question(question: str, budget: int) -> tuple[str, bool]:
    """Cut a question that alone exceeds the budget, keeping its start and end."""
    limit = budget * 4
    if len(question) <= limit:
        return question, False
    half = limit // 2
    return question[:half] + "\n…\n" + question[-half:], True
