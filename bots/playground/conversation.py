"""What makes channel messages a conversation with the bot, and what an empty one offers.

Slack's AI-app pane greets a new conversation with suggested prompts and gives every
conversation a title; the playground shows both so they can be seen without Slack. Unlike
that one-on-one pane, the playground's channel is shared: only a message that mentions
`@trickle` or starts with `/ask` asks the bot anything, and a suggested prompt posts its
question the same way a person would type it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from core.conversation.suggestions import GREETING, SuggestedPrompt

_ASK = re.compile(r"^\s*/ask(?:\s+|$)", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@trickle\b[:,]?", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")
MENTION = "@trickle"


def question_in(text: str) -> str | None:
    """The question a message asks the bot (maybe blank), or None if it asks nothing.

    `/ask ...` at the start, or a mention of `@trickle` anywhere, as on Slack.
    """
    if match := _ASK.match(text):
        return text[match.end() :].strip()
    if _MENTION.search(text):
        return _SPACES.sub(" ", _MENTION.sub(" ", text)).strip()
    return None


def as_typed(message: str) -> str:
    """The channel message a suggested prompt posts: its question, addressed to the bot.

    Why the mention: in a shared channel a message without it is chat between people, so
    a prompt that does not already ask the bot would get no answer. The question the
    model then hears is the prompt's message itself (`question_in` drops the mention).
    """
    return message if question_in(message) is not None else f"{MENTION} {message}"


def offer(prompts: Iterable[SuggestedPrompt], greeting: str = GREETING) -> dict[str, Any]:
    """What a tab opening an empty channel is offered, as `history.suggestions` carries it.

    `text` is what the page posts when the button is clicked, so the page never has to
    know how a message asks the bot.
    """
    return {
        "greeting": greeting,
        "prompts": [{"title": p.title, "message": p.message, "text": as_typed(p.message)} for p in prompts],
    }
