"""A scripted in-process completion source: exact tokens, timing and faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from core.models import ChatMessage, ErrorKind, Finish, StreamError, StreamEvent, TextDelta


@dataclass
class ScriptedSource:
    """Yields `tokens` `delay` seconds apart, then a finish reason or a failure."""

    tokens: Sequence[str]
    delay: float = 0.0
    finish_reason: str | None = "stop"
    fail: ErrorKind | None = None
    fail_after: int | None = None
    hang_after: int | None = None
    closed: bool = False
    emitted: list[tuple[float, int]] = field(default_factory=list)
    requests: list[Sequence[ChatMessage]] = field(default_factory=list)

    def stream(self, messages: Sequence[ChatMessage] = (), *, model: str | None = None) -> AsyncIterator[StreamEvent]:
        self.requests.append(messages)
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        loop = asyncio.get_running_loop()
        length = 0
        try:
            for index, token in enumerate(self.tokens):
                if self.fail is not None and index == self.fail_after:
                    yield StreamError(self.fail, "scripted failure")
                    return
                if index == self.hang_after:
                    await asyncio.Event().wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                length += len(token)
                self.emitted.append((loop.time(), length))
                yield TextDelta(token)
            if self.fail is not None and self.fail_after is None:
                yield StreamError(self.fail, "scripted failure")
                return
            if self.finish_reason is not None:
                yield Finish(self.finish_reason)
        finally:
            self.closed = True

    async def aclose(self) -> None:
        pass


def words(text: str) -> list[str]:
    """Split `text` into word-sized tokens that join back exactly."""
    tokens: list[str] = []
    current = ""
    for char in text:
        if char == " " and current.strip():
            tokens.append(current)
            current = ""
        current += char
    if current:
        tokens.append(current)
    return tokens
