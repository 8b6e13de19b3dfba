"""Fitting a conversation into the model's context: newest turns win.

Token counts are estimated rather than computed with a tokenizer: a tokenizer per model
would tie core/ to one vendor. The estimate errs high, because an estimate too low is
what fails: a prompt past the model's context is refused, or (llama.cpp) answered with
nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.models import ChatMessage

TRIMMED_STATUS = "the conversation was too long: its oldest part was left out to fit the model's context"


MESSAGE_OVERHEAD = 4  # tokens a chat template spends on each message's role and marks


def estimate_tokens(text: str) -> int:
    """A cautious token count: three ASCII characters a token, one for any other character.

    Tokenizers give English prose about four characters a token and code about three;
    other scripts often take a token (or more) per character. At least 1 per message.
    """
    other = 0 if text.isascii() else sum(1 for char in text if char > "\x7f")
    return max(1, (len(text) - other + 2) // 3 + other)


def trim_history(history: Sequence[ChatMessage], budget: int) -> tuple[list[ChatMessage], bool]:
    """Keep the newest turns whose estimated tokens fit `budget`; say if any were cut."""
    kept: list[ChatMessage] = []
    used = 0
    for message in reversed(history):
        cost = estimate_tokens(message.content) + MESSAGE_OVERHEAD
        if used + cost > budget:
            return list(reversed(kept)), True
        kept.append(message)
        used += cost
    return list(reversed(kept)), False


def trim_question(question: str, budget: int) -> tuple[str, bool]:
    """Cut a question that alone exceeds the budget, keeping its start and end."""
    tokens = estimate_tokens(question)
    if tokens <= budget:
        return question, False
    half = len(question) * budget // tokens // 2
    return question[:half] + "\n…\n" + question[-half:], True
