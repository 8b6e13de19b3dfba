"""The OpenAI streaming wire format, read from plain dicts into stream events.

Pure, so every shape a server may send is a one-line test. The source asks the SDK for
plain dicts rather than its typed chunks (see `OpenAISource`), and servers that call
themselves OpenAI-compatible differ in what they leave out: `index`, `delta`, `content`
as null, `usage` on every chunk or never. Only choice 0 is read.
"""

from __future__ import annotations

import re
from typing import Any

from core.models import ChatMessage, Finish, StreamEvent, TextDelta, Usage

__all__ = ["ChunkReader"]

_SURROGATE = re.compile("[\ud800-\udfff]")


class ChunkReader:
    """Turns successive chunks into `TextDelta`, `Finish` and `Usage` events.

    It also rejoins a UTF-16 surrogate pair that a server split across two chunks: JSON
    may spell an emoji as two `\\u` escapes, and a cut between them gives two lone
    surrogates, which no platform (nor a UTF-8 terminal) accepts. A high surrogate at the
    end of a delta waits for the next one; one left unpaired becomes U+FFFD.

    `limit` is the answer cap the request carried: a `length` finish names it, so the
    notice can say which limit was reached. `texted` tells an answer cut short from one
    that never started (llama.cpp's empty body for a prompt past its context).
    `cut_after` ends the answer with a `length` finish after that many text deltas, for
    a request sent without `max_tokens` (`cut` then says the rest is not wanted).
    """

    __slots__ = ("finished", "texted", "cut", "_held", "_limit", "_cut_after", "_deltas")

    def __init__(self, *, limit: int | None = None, cut_after: int | None = None) -> None:
        self.finished = False
        self.texted = False
        self.cut = False
        self._held = ""
        self._limit = limit
        self._cut_after = cut_after
        self._deltas = 0

    def __repr__(self) -> str:
        return f"<ChunkReader finished={self.finished} texted={self.texted} held={len(self._held)}>"

    def read(self, chunk: Any) -> list[StreamEvent]:
        """The events in one chunk (an SSE `data:` object), in order."""
        events: list[StreamEvent] = []
        if not isinstance(chunk, dict):
            return events
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index") not in (0, None):
                continue
            delta = choice.get("delta")
            content = delta.get("content") if isinstance(delta, dict) else None
            if content and isinstance(content, str) and (text := self._join(content)):
                self.texted = True
                events.append(TextDelta(text))
                self._deltas += 1
            reason = choice.get("finish_reason")
            if not reason and self._cut_after is not None and self._deltas >= self._cut_after:
                reason, self.cut = "length", True
            if reason and not self.finished:
                self.finished = True
                events.extend(self.end())
                reason = str(reason)
                events.append(Finish(reason, self._limit if reason == "length" else None))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.append(Usage(_count(usage, "prompt_tokens"), _count(usage, "completion_tokens")))
        return events

    def end(self) -> list[StreamEvent]:
        """What is still held back once the text is over (an unpaired surrogate)."""
        held, self._held = self._held, ""
        return [TextDelta("\ufffd")] if held else []

    def _join(self, text: str) -> str:
        text, self._held = self._held + text, ""
        if "\ud800" <= text[-1] <= "\udbff":
            text, self._held = text[:-1], text[-1]
        if _SURROGATE.search(text):
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return text


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) else 0


def wire_message(message: ChatMessage, *, images: bool = True) -> dict[str, Any]:
    """A message as the chat completions API takes it; its images as `image_url` parts
    unless the model reads none (the embedded one)."""
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if images and message.images:
        wire["content"] = [
            {"type": "text", "text": message.content},
            *({"type": "image_url", "image_url": {"url": url}} for url in message.images),
        ]
    if message.name is not None:
        wire["name"] = message.name
    return wire
