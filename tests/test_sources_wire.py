"""OpenAI-compatible servers that bend the wire format: the text must still come through.

Each test serves hand-written SSE lines from a tiny aiohttp app on loopback and reads
them with the real SDK through `OpenAISource`, because these are the shapes that proxies
and home-grown servers send and the main fake (which mimics OpenAI) never does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from core.models import ChatMessage, Finish, StreamEvent, TextDelta
from core.sources.openai_client import build_openai_client
from core.sources.openai_source import OpenAISource

QUESTION = [ChatMessage("user", "hi")]
Serve = Callable[..., Awaitable[OpenAISource]]


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **choice: Any) -> bytes:
    body = {"index": 0, "delta": delta or {}, "finish_reason": finish, **choice}
    body = {k: v for k, v in body.items() if v is not ...}
    payload = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [body]}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """`await serve(lines, hold=event)`: an OpenAISource reading `lines` from a server.

    With `hold`, the server keeps the connection open after the last line until the
    event is set (the test sets it at the end), like a server that never sends [DONE].
    """
    runners: list[web.AppRunner] = []
    sources: list[OpenAISource] = []
    release = asyncio.Event()

    async def start(lines: list[bytes], *, hold: bool = False) -> OpenAISource:
        async def completions(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for line in lines:
                await response.write(line)
            if hold:
                await release.wait()
            await response.write_eof()
            return response

        app = web.Application()
        app.router.add_post("/v1/chat/completions", completions)
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        client = build_openai_client(api_key=None, base_url=f"http://{host}:{port}/v1")
        source = OpenAISource(client, model="m", idle_timeout=60.0)
        sources.append(source)
        return source

    yield start
    release.set()
    for source in sources:
        await source.aclose()
    for runner in runners:
        await runner.cleanup()


async def collect(source: OpenAISource) -> list[StreamEvent]:
    async with asyncio.timeout(20):  # far below the 60 s idle timeout the source was given
        return [event async for event in source.stream(QUESTION)]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_a_finish_on_a_connection_left_open_ends_the_answer_without_the_idle_timeout(serve):
    source = await serve([chunk({"content": "All done."}), chunk(finish="stop")], hold=True)
    events = await collect(source)
    assert text_of(events) == "All done." and events[-1] == Finish("stop")


async def test_choices_without_an_index_are_read(serve):
    lines = [chunk({"content": "No "}, index=...), chunk({"content": "index."}, index=...), chunk(finish="stop")]
    events = await collect(await serve([*lines, b"data: [DONE]\n\n"]))
    assert text_of(events) == "No index."


async def test_a_surrogate_pair_split_across_chunks_is_rejoined(serve):
    # JSON spells U+1F600 as two escapes; this server cuts between them.
    lines = [
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"smile \\ud83d"},"finish_reason":null}]}\n\n',
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"\\ude00!"},"finish_reason":null}]}\n\n',
        chunk(finish="stop"),
        b"data: [DONE]\n\n",
    ]
    events = await collect(await serve(lines))
    assert text_of(events) == "smile \U0001f600!"


async def test_a_lone_surrogate_becomes_a_replacement_character(serve):
    lines = [
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"broken \\ud83d"},"finish_reason":"stop"}]}\n\n',
        b"data: [DONE]\n\n",
    ]
    events = await collect(await serve(lines))
    assert text_of(events) == "broken \ufffd"
