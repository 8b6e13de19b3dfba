"""Building the message list the model sees: system prompt, history, question."""

from __future__ import annotations

from collections.abc import Sequence

from core.models import ChatMessage


def conversation(system_prompt: str, history: Sequence[ChatMessage], question: str) -> list[ChatMessage]:
    """The system prompt, then the history, then the question as the last user turn."""
    messages = [ChatMessage("system", system_prompt)] if system_prompt else []
    messages.extend(history)
    messages.append(ChatMessage("user", question))
    return messages
