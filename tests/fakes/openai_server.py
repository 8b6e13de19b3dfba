"""A fake OpenAI-compatible server on loopback, scripted per request.

Tests, benchmarks and other fakes point the *real* `AsyncOpenAI` client at it, so the
SDK's own SSE parsing, error mapping and connection handling are exercised rather than
mocked away. Each request takes the next `Script`, which says which tokens to stream, how
fast, and how to fail (SSE error, dropped connection, stall, 429, 500, any status with any
error body, a 200 with an empty body as llama.cpp sends past its context). Every emitted token
is recorded with the loop time it left, so a benchmark can measure how stale the text on
screen was.

Cheap per request on purpose (one small `json.dumps` per chunk, no per-request tasks):
a thousand concurrent streams must be limited by the code under test, not by the fake.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

Failure = Literal["error_event", "drop", "stall", "http_429", "http_500", "http_error", "empty"]
Responder = Callable[[dict[str, Any]], "Script"]

_CREATED = 1_700_000_000  # a fixed timestamp: nothing reads it, and tests stay deterministic
_WORD = re.compile(r"\s*\S+|\s+$")


@dataclass(frozen=True, slots=True)
class Script:
    """What the next completion does; see the module docstring for the failure modes."""

    tokens: list[str]
    delay: float = 0.0
    first_delay: float = 0.0
    finish_reason: str | None = "stop"
    usage: bool = True
    fail: Failure | None = None
    fail_after: int = 0
    retry_after: str = "0.001"
    status: int = 400  # for "http_error"
    error_body: Any = None  # for "http_error" (JSON; a str is sent as text) and "error_event"


def words(text: str) -> list[str]:
    """Split `text` into word-sized tokens that join back to exactly `text`.

    Leading whitespace sticks to the following word, like most BPE tokenisers do.
    """
    return _WORD.findall(text)


def script_from_text(text: str, *, chunk_size: int | None = None, delay: float = 0.0, **options: Any) -> Script:
    """A script streaming exactly `text`, by words or by `chunk_size` characters."""
    if chunk_size is None:
        tokens = words(text)
    else:
        tokens = [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    return Script(tokens=tokens, delay=delay, **options)


class FakeOpenAI:
    """An aiohttp app serving `/v1/chat/completions` and `/v1/models` from scripts.

    Which script answers a request: the head of `script_queue` if any, else
    `responder(request_json)` if set, else `default`. Records what happened so tests can
    assert on the server's side of the conversation: `requests` (bodies received),
    `emitted` (completion id, token index, loop time, token), `completed` (streams that
    reached `[DONE]`) and `disconnects` (streams the client abandoned before the end).
    """

    def __init__(self, *, default: Script | None = None, responder: Responder | None = None) -> None:
        self.script_queue: deque[Script] = deque()
        self.default = default or Script(tokens=words("Hello from the fake model."))
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.emitted: list[tuple[str, int, float, str]] = []
        self.completed: list[str] = []
        self.disconnects: list[str] = []
        self.active = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.base_url = ""

    def __repr__(self) -> str:
        return (
            f"<FakeOpenAI {self.base_url or 'stopped'} requests={len(self.requests)} "
            f"active={self.active} queued={len(self.script_queue)}>"
        )

    async def start(self) -> str:
        """Listen on a random loopback port; returns the base URL (`.../v1`)."""
        self._stopping = False
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        # handler_cancellation: a client that hangs up cancels its handler, which is how
        # `disconnects` learns about abandoned streams even while the script is stalled.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        """Cancel streams still running (stalled ones never end) and close the server."""
        self._stopping = True
        for task in list(self._handlers):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _next_script(self, body: dict[str, Any]) -> Script:
        if self.script_queue:
            return self.script_queue.popleft()
        if self.responder is not None:
            return self.responder(body)
        return self.default

    async def _models(self, request: web.Request) -> web.Response:
        model = {"id": "fake-model", "object": "model", "created": _CREATED, "owned_by": "fake"}
        return web.json_response({"object": "list", "data": [model]})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        script = self._next_script(body)
        if script.fail == "http_429":
            return _error_response(429, "Rate limit reached (fake)", "rate_limit_exceeded", script.retry_after)
        if script.fail == "http_500":
            return _error_response(500, "The server had an error (fake)", "server_error")
        if script.fail == "http_error":
            if isinstance(script.error_body, str):
                return web.Response(status=script.status, text=script.error_body)
            return web.json_response(script.error_body, status=script.status)
        if script.fail == "empty" and body.get("stream"):
            # llama.cpp's server, for a prompt past its context: 200, then nothing at all.
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            await response.write_eof()
            return response
        completion_id = f"chatcmpl-fake{next(self._ids)}"
        if not body.get("stream"):
            return web.json_response(_completion(completion_id, body, script))
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.active += 1
        try:
            return await self._stream(request, completion_id, body, script)
        finally:
            self.active -= 1
            self._handlers.discard(task)

    async def _stream(
        self, request: web.Request, completion_id: str, body: dict[str, Any], script: Script
    ) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        model = str(body.get("model", "fake-model"))
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        finished = False
        try:
            role = {"role": "assistant", "content": ""}
            await response.write(_sse(_chunk(completion_id, model, role)))
            for index, token in enumerate(script.tokens):
                if script.fail is not None and index == script.fail_after:
                    # A scripted failure is the stream's ending, not the client's; a stall
                    # only ends when the client hangs up, which is a disconnect.
                    finished = script.fail != "stall"
                    return await self._fail(request, response, script)
                pause = script.first_delay if index == 0 else script.delay
                if pause > 0:
                    await asyncio.sleep(pause)
                await response.write(_sse(_chunk(completion_id, model, {"content": token})))
                self.emitted.append((completion_id, index, loop.time(), token))
            if script.fail is not None:  # fail_after >= len(tokens): fail at the end
                finished = script.fail != "stall"
                return await self._fail(request, response, script)
            if script.finish_reason is not None:
                await response.write(_sse(_chunk(completion_id, model, {}, script.finish_reason)))
            options = body.get("stream_options") or {}
            if script.usage and options.get("include_usage"):
                await response.write(_sse(_usage_chunk(completion_id, model, body, script)))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            finished = True
            self.completed.append(completion_id)
            return response
        except (asyncio.CancelledError, ConnectionResetError):
            if not finished and not self._stopping:
                self.disconnects.append(completion_id)
            raise

    async def _fail(self, request: web.Request, response: web.StreamResponse, script: Script) -> web.StreamResponse:
        """End a stream the way `script.fail` says, after the tokens already written."""
        if script.fail == "error_event":
            error = script.error_body or {"error": {"message": "The model crashed (fake)", "type": "server_error"}}
            await response.write(_sse(error))
            await response.write_eof()
        elif script.fail == "drop":
            # Abort (RST) rather than a clean FIN: the chunked body is cut mid-way, so the
            # client sees an incomplete read, as with a crashed proxy.
            if request.transport is not None:
                request.transport.abort()
        elif script.fail == "stall":
            await asyncio.Event().wait()  # until the client hangs up or the server stops
        return response


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _chunk(completion_id: str, model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def _usage(body: dict[str, Any], script: Script) -> dict[str, int]:
    """Rough token counts: words in the prompt, tokens in the script. Cheap and stable."""
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(script.tokens)
    total = prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def _usage_chunk(completion_id: str, model: str, body: dict[str, Any], script: Script) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": model,
        "choices": [],
        "usage": _usage(body, script),
    }


def _completion(completion_id: str, body: dict[str, Any], script: Script) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": _CREATED,
        "model": str(body.get("model", "fake-model")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(script.tokens)},
                "logprobs": None,
                "finish_reason": script.finish_reason or "stop",
            }
        ],
        "usage": _usage(body, script),
    }


def _error_response(status: int, message: str, code: str, retry_after: str | None = None) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    error = {"error": {"message": message, "type": code, "code": code, "param": None}}
    return web.json_response(error, status=status, headers=headers)
