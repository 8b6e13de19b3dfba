"""The one protocol every completion source satisfies.

A source turns a conversation into an async iterator of `StreamEvent`s. Failures are
yielded as a `StreamError` (after any text already yielded) rather than raised, so the
relay has one code path for every way a stream can end. Closing the iterator
(`aclose()`, or cancelling the task iterating it) must close the underlying stream.
A source that can never take image parts says so with `sees_images = False`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from core.models import ChatMessage, StreamEvent


@runtime_checkable
class CompletionSource(Protocol):
    """Something that streams chat completions."""

    def stream(self, messages: Sequence[ChatMessage], *, model: str | None = None) -> AsyncIterator[StreamEvent]:
        """Stream the answer to `messages` as events, ending after a Finish or StreamError."""
        ...

    async def aclose(self) -> None:
        """Release clients, threads or models the source holds."""
        ...
