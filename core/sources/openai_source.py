"""The completion source for OpenAI and every OpenAI-compatible server.

It owns two policies the SDK gets wrong for a chat bot: the 429 retry (the SDK retries
silently inside `create()`, so nobody can tell the user "waiting for the model", and it
ignores a Retry-After over 120 s; the decisions are `core.sources.rate_limit_retry`'s) and
the timeout (the SDK's 600 s read timeout leaves a stalled answer hanging for ten
minutes). Build the client with `core.sources.openai_client.build_openai_client`, which
sets `max_retries=0` so the retry here is the only one. What each failure becomes is
`core.sources.openai_failures`' job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import openai
from openai import AsyncOpenAI

from core.models import ChatMessage, ErrorKind, StreamError, StreamEvent, Waiting
from core.sources.chunks import ChunkReader, wire_message
from core.sources.failures import server_words
from core.sources.idle import with_idle_timeout
from core.sources.openai_failures import failure, unfinished
from core.sources.rate_limit_retry import FIRST_BACKOFF, rate_limit_wait, retry_after

_log = logging.getLogger(__name__)
# What the endpoint said when it failed: one line a failure, the server's words (redacted
# by the log's formatter), since chat only ever shows a fixed notice.
_model_log = logging.getLogger("trickle.model")

_USAGE_GRACE = 0.5  # seconds to wait for the usage chunk after finish_reason


class _RateLimited(Exception):
    """`create()` answered 429 before any token: the caller may wait and try again."""

    def __init__(self, retry_after: float | None, words: str = "") -> None:
        super().__init__(f"rate limited (retry after {retry_after})")
        self.retry_after = retry_after
        self.words = words


class OpenAISource:
    """Streams chat completions from an `AsyncOpenAI` client as `StreamEvent`s.

    The client is passed in (built by the entry point with `max_retries=0`), so tests and
    benchmarks can aim the real SDK at a fake server. Each 429 wait is
    yielded as `Waiting(seconds)` first, so the surface says the model is busy, not stuck.
    `cut_after` ends an answer sent without `max_tokens` after that many text chunks (a
    server streams about one token a chunk), as a `length` finish: the request keeps the
    model's own default, and a server that would write until its context is full stops
    when the stream is closed.
    """

    __slots__ = (
        "_client",
        "_model",
        "_max_tokens",
        "_cut_after",
        "_temperature",
        "_idle_timeout",
        "_rate_limit_deadline",
    )

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        max_tokens: int | None = None,
        cut_after: int | None = None,
        temperature: float | None = None,
        idle_timeout: float = 60.0,
        rate_limit_deadline: float = 30.0,
    ) -> None:
        self._client = client
        self._model = model
        self._max_tokens = max_tokens
        self._cut_after = None if max_tokens is not None else cut_after
        self._temperature = temperature
        self._idle_timeout = idle_timeout
        self._rate_limit_deadline = rate_limit_deadline

    def __repr__(self) -> str:
        base_url = str(self._client.base_url)
        idle = f"{self._idle_timeout:g}s"
        return f"<OpenAISource model={self._model!r} base_url={base_url!r} idle={idle}>"

    def stream(self, messages: Sequence[ChatMessage], *, model: str | None = None) -> AsyncIterator[StreamEvent]:
        """Stream the answer; failures arrive as a final `StreamError`, never raised."""
        return self._with_rate_limit_retry(self._request(messages, model or self._model))

    async def aclose(self) -> None:
        """Close the client's connection pool."""
        await self._client.close()

    def _request(self, messages: Sequence[ChatMessage], model: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": model,
            "messages": [wire_message(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self._max_tokens is not None:
            request["max_tokens"] = self._max_tokens
        if self._temperature is not None:
            request["temperature"] = self._temperature
        return request

    async def _with_rate_limit_retry(self, request: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        """Run attempts until one is not rate limited or the deadline says give up.

        The idle timeout wraps each attempt rather than the whole: a 429 wait is governed
        by `rate_limit_deadline` and must not be reported as a timeout.
        """
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._rate_limit_deadline
        backoff = FIRST_BACKOFF
        while True:
            try:
                attempt = with_idle_timeout(self._attempt(request), self._idle_timeout)
                async with aclosing(attempt) as events:
                    async for event in events:
                        yield event
                return
            except _RateLimited as limited:
                remaining = give_up_at - loop.time()
                wait = rate_limit_wait(limited.retry_after, remaining=remaining, backoff=backoff)
                if wait is None:
                    _model_log.warning(
                        "%s kept answering 429 for model %r: %s",
                        self._client.base_url,
                        request["model"],
                        limited.words or "(no reason given)",
                    )
                    yield StreamError(ErrorKind.RATE_LIMITED, "rate limited by the model")
                    return
                if limited.retry_after is None:
                    backoff *= 2
                yield Waiting(wait)
                await asyncio.sleep(wait)

    async def _open(self, request: dict[str, Any]) -> openai.AsyncStream[object]:
        """`chat.completions.create(stream=True)`, with chunks as plain dicts.

        The SDK's typed chunks cost about 150 µs each to build (pydantic construction):
        at 100 answers of 50 tokens/s that is a whole core, and the event loop lags. The
        request, its errors, the SSE decoding and mid-stream error events stay the SDK's;
        reading the dicts is `ChunkReader`'s job.
        """
        return await self._client.post(
            "/chat/completions",
            body=request,
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )

    async def _attempt(self, request: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        """One request: events as they come, a `StreamError` for any failure.

        Raises `_RateLimited` only for a 429 before any token, the one failure worth
        retrying here (a mid-stream failure would repeat text the user already saw).
        """
        model = request["model"]
        try:
            stream = await self._open(request)
        except openai.RateLimitError as err:
            raise _RateLimited(retry_after(err), server_words(err.body)) from err
        except Exception as err:
            yield failure(err, self._client, model, started=False)
            return
        reader = ChunkReader(limit=request.get("max_tokens") or self._cut_after, cut_after=self._cut_after)
        chunks = stream.__aiter__()
        try:
            while not reader.cut:
                try:
                    chunk = await _next_chunk(chunks, finished=reader.finished)
                except StopAsyncIteration:
                    break
                for event in reader.read(chunk):
                    yield event
            if not reader.finished:
                for event in reader.end():
                    yield event
                # The SDK ends quietly when the body ends, [DONE] or not: a proxy closing
                # the connection cleanly mid-answer looks like a short, finished answer.
                yield unfinished(self._client, model, texted=reader.texted)
        except Exception as err:
            if reader.finished:
                # Lost while waiting for the optional usage chunk: the answer is whole.
                _log.debug("error after finish_reason ignored: %r", err)
                return
            yield failure(err, self._client, model, started=True)
        finally:
            await _close_quietly(stream)


async def _next_chunk(chunks: AsyncIterator[Any], *, finished: bool) -> Any:
    """The next chunk; after `finish_reason`, only briefly.

    All that may follow the finish is the optional usage chunk: a server that keeps the
    connection open after it must not hold a finished answer for the idle timeout.
    """
    if not finished:
        return await anext(chunks)
    async with asyncio.timeout(_USAGE_GRACE):
        return await anext(chunks)


async def _close_quietly(stream: openai.AsyncStream[Any]) -> None:
    """Release the connection; a failure to close must not turn into a raised error."""
    try:
        await stream.close()
    except Exception:
        _log.debug("closing the OpenAI stream failed", exc_info=True)
