"""What a new conversation offers before anyone asks: suggested prompts, and its title.

Slack's assistant pane shows up to four suggested prompts under a greeting and a title
per conversation; the playground shows the same. Both come from here so they agree.
Pure: no platform, no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = ["DEFAULT_PROMPTS", "GREETING", "MAX_PROMPTS", "SuggestedPrompt", "parse_prompts", "title_for"]

MAX_PROMPTS = 4  # Slack shows at most four
TITLE_LIMIT = 60  # characters: a sidebar line, not a sentence
GREETING = "Hi! Ask me anything: I answer as I write, right here."


@dataclass(frozen=True, slots=True)
class SuggestedPrompt:
    """A button's label (`title`) and the question it sends (`message`)."""

    title: str
    message: str


DEFAULT_PROMPTS: tuple[SuggestedPrompt, ...] = (
    SuggestedPrompt("Summarize this channel", "Summarize the recent conversation in the channel I'm looking at."),
    SuggestedPrompt("What did we decide?", "What decisions were made in the channel I'm looking at?"),
    SuggestedPrompt("Draft a reply", "Help me draft a short, friendly reply to the last message here."),
    SuggestedPrompt("Explain simply", "Explain the last topic discussed here in plain words."),
)


def parse_prompts(raw: str) -> tuple[SuggestedPrompt, ...]:
    """Read a setting's prompts: a JSON list of `{"title": ..., "message": ...}` objects,
    or lines of `title | message` (a line without `|` is both). Raises ValueError with
    what is wrong; the caller names the setting."""
    text = raw.strip()
    if not text:
        raise ValueError("no prompts given")
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError('expected a list of {"title": ..., "message": ...} objects')
        pairs = [(str(i.get("title") or ""), str(i.get("message") or i.get("title") or "")) for i in items]
    else:
        pairs = []
        for line in re.split(r"[\n;]", text):
            if line.strip():
                title, _, message = line.partition("|")
                pairs.append((title.strip(), (message or title).strip()))
    prompts = tuple(SuggestedPrompt(t.strip(), m.strip()) for t, m in pairs)
    if not prompts or any(not p.title or not p.message for p in prompts):
        raise ValueError("every prompt needs a title and a message")
    if len(prompts) > MAX_PROMPTS:
        raise ValueError(f"at most {MAX_PROMPTS} prompts (Slack shows no more)")
    return prompts


_MENTIONS = re.compile(r"<[@#!][^>]*>")
_MARKS = re.compile(r"[*_~`>#]+")
_SPACES = re.compile(r"\s+")


def title_for(question: str, limit: int = TITLE_LIMIT) -> str:
    """A short, plain title for a conversation that starts with `question`: its first
    line without markup or mentions, cut at a word with an ellipsis when too long."""
    first = next((line for line in question.strip().splitlines() if line.strip()), "")
    plain = _SPACES.sub(" ", _MARKS.sub("", _MENTIONS.sub(" ", first))).strip()
    if not plain:
        return "New question"
    if len(plain) <= limit:
        return plain
    cut = plain[: limit - 1]
    word_end = cut.rfind(" ")
    if word_end >= limit // 2:
        cut = cut[:word_end]
    return cut.rstrip(" ,.;:-") + "…"
