"""Completion sources, driven through the real OpenAI SDK against a loopback fake.

The embedded-model tests need llama_cpp; they skip without it on a laptop, but in CI
(`CI` set) they run and fail loudly, because the project claims the embedded model works.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import os
import sys
from collections.abc import AsyncIterator, Callable

import openai
import pytest

from core.models import ChatMessage, ErrorKind, Finish, StreamError, StreamEvent, TextDelta, Usage, Waiting
from core.sources.base import CompletionSource
from core.sources.idle import with_idle_timeout
from core.sources.local_model import MISSING_EXTRA
from core.sources.local_source import LocalSource
from core.sources.openai_client import PLACEHOLDER_API_KEY, build_openai_client
from core.sources.openai_source import OpenAISource
from core.sources.rate_limit_retry import rate_limit_wait
from tests.fakes.openai_server import FakeOpenAI, Script, script_from_text, words

QUESTION = [
    ChatMessage("system", "You are terse."),
    ChatMessage("user", "What is the capital of France?"),
]

MakeSource = Callable[..., OpenAISource]

needs_local_model = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None and not os.environ.get("CI"),
    reason="llama_cpp is not installed (pip install 'trickle[local]'); required in CI",
)


@pytest.fixture
async def make_source(fake_openai: FakeOpenAI) -> AsyncIterator[MakeSource]:
    """Build OpenAISources on a real AsyncOpenAI client aimed at the fake; close them after."""
    sources: list[OpenAISource] = []

    def make(**options: object) -> OpenAISource:
        client = build_openai_client(api_key=None, base_url=fake_openai.base_url)
        source = OpenAISource(client, model="fake-model", **options)  # type: ignore[arg-type]
        sources.append(source)
        return source

    yield make
    for source in sources:
        await source.aclose()


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def wait_for(condition: Callable[[], bool], *, within: float = 2.0) -> None:
    """Poll a server-side condition that follows a client action asynchronously."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


# --- the happy path ---------------------------------------------------------------------


async def test_scripted_answer_arrives_as_exact_text(fake_openai: FakeOpenAI, make_source: MakeSource) -> None:
    answer = "Paris — *la capitale*.\n\n```py\nprint('é')\n```  "
    fake_openai.script_queue.append(script_from_text(answer))
    events = await collect(make_source().stream(QUESTION))
    assert text_of(events) == answer
    assert Finish("stop") in events
    assert isinstance(make_source(), CompletionSource)


async def test_request_asks_for_usage_and_omits_unset_options(fake_openai: FakeOpenAI, make_source: MakeSource) -> None:
    await collect(make_source().stream(QUESTION))
    body = fake_openai.requests[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"][1] == {"role": "user", "content": "What is the capital of France?"}
    assert "max_tokens" not in body and "temperature" not in body


async def test_max_tokens_temperature_and_model_override_are_sent(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    await collect(make_source(max_tokens=64, temperature=0.2).stream(QUESTION, model="other-model"))
    body = fake_openai.requests[-1]
    assert (body["max_tokens"], body["temperature"], body["model"]) == (64, 0.2, "other-model")


@pytest.mark.parametrize("reason", ["stop", "length", "content_filter"])
async def test_each_finish_reason_comes_through(reason: str, fake_openai: FakeOpenAI, make_source: MakeSource) -> None:
    fake_openai.script_queue.append(Script(tokens=words("cut here"), finish_reason=reason))
    events = await collect(make_source().stream(QUESTION))
    assert [e for e in events if isinstance(e, Finish)] == [Finish(reason)]
    assert not any(isinstance(e, StreamError) for e in events)


async def test_usage_comes_through_after_finish(fake_openai: FakeOpenAI, make_source: MakeSource) -> None:
    fake_openai.script_queue.append(Script(tokens=["a", "b", "c"]))
    events = await collect(make_source().stream(QUESTION))
    assert events[-2:] == [Finish("stop"), Usage(prompt_tokens=9, completion_tokens=3)]


async def test_missing_usage_chunk_is_not_an_error(fake_openai: FakeOpenAI, make_source: MakeSource) -> None:
    fake_openai.script_queue.append(Script(tokens=["a"], usage=False))
    events = await collect(make_source().stream(QUESTION))
    assert events == [TextDelta("a"), Finish("stop")]


async def test_slow_but_steady_stream_outlives_the_idle_timeout(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    fake_openai.script_queue.append(Script(tokens=list("abcdefgh"), delay=0.1, first_delay=0.1))
    events = await collect(make_source(idle_timeout=0.3).stream(QUESTION))
    assert text_of(events) == "abcdefgh"  # about 0.8 s in all, never 0.3 s silent
    assert not any(isinstance(e, StreamError) for e in events)


# --- rate limits -------------------------------------------------------------------------


def waits_in(events: list[StreamEvent]) -> list[float]:
    """The 429 waits a source told of, in seconds."""
    return [e.seconds for e in events if isinstance(e, Waiting)]


async def test_429_before_the_stream_is_retried_after_retry_after(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    fake_openai.script_queue.extend([Script(tokens=[], fail="http_429", retry_after="0.1")] * 2)
    fake_openai.script_queue.append(script_from_text("finally"))
    events = await collect(make_source().stream(QUESTION))
    assert waits_in(events) == [0.1, 0.1]
    assert text_of(events) == "finally" and Finish("stop") in events
    assert len(fake_openai.requests) == 3


async def test_429_forever_gives_up_with_rate_limited_by_the_deadline(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    fake_openai.default = Script(tokens=[], fail="http_429", retry_after="0.1")
    loop = asyncio.get_running_loop()
    started = loop.time()
    events = await collect(make_source(rate_limit_deadline=0.3).stream(QUESTION))
    assert loop.time() - started < 0.6
    assert events[-1] == StreamError(ErrorKind.RATE_LIMITED, "rate limited by the model")
    assert all(isinstance(e, Waiting) for e in events[:-1]) and events[:-1]  # shown as waiting
    assert len(fake_openai.requests) >= 3  # it did retry until the deadline


async def test_retry_after_beyond_the_deadline_gives_up_without_waiting(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    fake_openai.script_queue.append(Script(tokens=[], fail="http_429", retry_after="60"))
    source = make_source(rate_limit_deadline=5)
    events = await collect(source.stream(QUESTION))
    assert [e.kind for e in events if isinstance(e, StreamError)] == [ErrorKind.RATE_LIMITED]
    assert waits_in(events) == []


# --- failures ----------------------------------------------------------------------------


async def test_retry_after_zero_still_waits_a_little(fake_openai: FakeOpenAI, make_source: MakeSource) -> None:
    fake_openai.script_queue.append(Script(tokens=[], fail="http_429", retry_after="0"))
    events = await collect(make_source().stream(QUESTION))
    assert waits_in(events) == [0.1] and Finish("stop") in events


@pytest.mark.parametrize(
    ("retry_after", "remaining", "backoff", "wait"),
    [
        (2.0, 5.0, 1.0, 2.0),  # the server's word, when it fits the deadline
        (9.0, 5.0, 1.0, None),  # past the deadline: give up now, not later
        (0.0, 5.0, 1.0, 0.1),  # Retry-After: 0 still waits a little
        (None, 5.0, 4.0, 4.0),  # no header: exponential backoff...
        (None, 1.5, 4.0, 1.5),  # ...clamped so the last try lands on the deadline
        (None, 0.01, 1.0, None),  # nothing left
    ],
)
def test_rate_limit_wait(retry_after: float | None, remaining: float, backoff: float, wait: float | None) -> None:
    assert rate_limit_wait(retry_after, remaining=remaining, backoff=backoff) == wait


async def test_http_500_is_a_server_error_whose_words_go_only_to_the_log(
    fake_openai: FakeOpenAI, make_source: MakeSource, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.script_queue.append(Script(tokens=[], fail="http_500"))
    events = await collect(make_source().stream(QUESTION))
    assert events == [StreamError(ErrorKind.API, "server error")]
    assert "answered 500 for model 'fake-model': The server had an error (fake)" in caplog.text


async def test_sse_error_event_mid_stream_keeps_the_text_before_it(
    fake_openai: FakeOpenAI, make_source: MakeSource, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(tokens=["one ", "two ", "three"], fail="error_event", fail_after=2)
    fake_openai.script_queue.append(script)
    events = await collect(make_source().stream(QUESTION))
    crashed = StreamError(ErrorKind.API, "server error")
    assert events == [TextDelta("one "), TextDelta("two "), crashed]
    assert "The model crashed (fake)" in caplog.text


async def test_dropped_connection_keeps_the_text_before_it(fake_openai: FakeOpenAI, make_source: MakeSource) -> None:
    fake_openai.script_queue.append(Script(tokens=list("abcdef"), fail="drop", fail_after=3))
    events = await collect(make_source().stream(QUESTION))
    assert text_of(events) == "abc"
    assert events[-1] == StreamError(ErrorKind.LOST, "connection lost")


async def test_stream_ending_without_a_finish_reason_is_an_error(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    fake_openai.script_queue.append(Script(tokens=["half an ans"], finish_reason=None))
    events = await collect(make_source().stream(QUESTION))
    assert events[0] == TextDelta("half an ans")
    assert events[-1] == StreamError(ErrorKind.LOST, "the stream ended before the model finished")


async def test_stall_times_out_after_the_idle_timeout_and_hangs_up(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    fake_openai.script_queue.append(Script(tokens=list("abcdef"), fail="stall", fail_after=2))
    loop = asyncio.get_running_loop()
    started = loop.time()
    events = await collect(make_source(idle_timeout=0.3).stream(QUESTION))
    assert 0.3 <= loop.time() - started < 1.5
    assert text_of(events) == "ab"
    assert isinstance(events[-1], StreamError) and events[-1].kind is ErrorKind.TIMEOUT
    await wait_for(lambda: len(fake_openai.disconnects) == 1)


async def test_silence_before_the_first_token_is_a_timeout(fake_openai: FakeOpenAI, make_source: MakeSource) -> None:
    fake_openai.script_queue.append(Script(tokens=["late"], first_delay=1.0))
    events = await collect(make_source(idle_timeout=0.2).stream(QUESTION))
    assert [type(e) for e in events] == [StreamError] and events[0].kind is ErrorKind.TIMEOUT


# --- closing -----------------------------------------------------------------------------


async def test_cancelling_the_consumer_closes_the_server_side_stream(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    fake_openai.script_queue.append(Script(tokens=["x"] * 200, delay=0.02))
    seen: list[StreamEvent] = []

    async def consume() -> None:
        async for event in make_source().stream(QUESTION):
            seen.append(event)  # noqa: PERF401 - the test watches `seen` grow while it streams

    task = asyncio.create_task(consume())
    await wait_for(lambda: len(seen) >= 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: len(fake_openai.disconnects) == 1)
    assert fake_openai.completed == []


async def test_closing_the_iterator_early_closes_the_server_side_stream(
    fake_openai: FakeOpenAI, make_source: MakeSource
) -> None:
    fake_openai.script_queue.append(Script(tokens=["x"] * 200, delay=0.02))
    events = make_source().stream(QUESTION)
    assert await anext(events) == TextDelta("x")
    await events.aclose()  # type: ignore[attr-defined]
    await wait_for(lambda: len(fake_openai.disconnects) == 1)


# --- the idle-timeout wrapper on its own -------------------------------------------------


async def test_idle_wrapper_closes_the_inner_stream_when_the_consumer_cancels() -> None:
    closed = asyncio.Event()

    async def inner() -> AsyncIterator[StreamEvent]:
        try:
            yield TextDelta("a")
            await asyncio.sleep(10)
        finally:
            closed.set()

    async def consume() -> None:
        async for _ in with_idle_timeout(inner(), 5):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed.is_set()


async def test_idle_wrapper_ends_quietly_when_silence_follows_finish() -> None:
    async def inner() -> AsyncIterator[StreamEvent]:
        yield Finish("stop")
        await asyncio.sleep(10)  # a usage chunk that never comes
        yield Usage(1, 1)

    assert await collect(with_idle_timeout(inner(), 0.05)) == [Finish("stop")]


# --- the client builder and the fake itself ----------------------------------------------


def test_client_for_a_local_server_gets_a_placeholder_key_and_no_sdk_retries() -> None:
    client = build_openai_client(api_key=None, base_url="http://127.0.0.1:9/v1", idle_timeout=30)
    assert client.api_key == PLACEHOLDER_API_KEY
    assert client.max_retries == 0
    assert isinstance(client.timeout, openai.Timeout) and client.timeout.read == 35


async def test_fake_answers_non_streaming_requests_and_lists_models(fake_openai: FakeOpenAI) -> None:
    fake_openai.script_queue.append(script_from_text("whole answer"))
    client = build_openai_client(api_key=None, base_url=fake_openai.base_url)
    try:
        messages = [{"role": "user", "content": "hi"}]
        completion = await client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
        models = await client.models.list()
    finally:
        await client.close()
    assert completion.choices[0].message.content == "whole answer"
    assert [m.id for m in models.data] == ["fake-model"]


# --- the embedded model ------------------------------------------------------------------


async def test_local_source_without_the_extra_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    source = LocalSource()
    try:
        events = await collect(source.stream(QUESTION))
    finally:
        await source.aclose()
    assert events == [StreamError(ErrorKind.CONFIG, MISSING_EXTRA)]


@needs_local_model
async def test_local_model_streams_deltas_then_finish() -> None:
    source = LocalSource(max_tokens=24)
    try:
        events = await collect(source.stream(QUESTION))
    finally:
        await source.aclose()
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 3 and text_of(events).strip()
    assert isinstance(events[-1], Finish) and events[-1].reason in ("stop", "length")


@needs_local_model
async def test_local_generation_never_blocks_the_event_loop() -> None:
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(loop.time())
            await asyncio.sleep(0.01)

    source = LocalSource(max_tokens=24)
    ticking = asyncio.create_task(ticker())
    try:
        events = await collect(source.stream(QUESTION))  # includes loading the model
    finally:
        ticking.cancel()
        await source.aclose()
    assert isinstance(events[-1], Finish)
    assert len(ticks) > 5
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.2


@needs_local_model
async def test_local_answer_closed_early_lets_the_next_one_run() -> None:
    source = LocalSource(max_tokens=24)
    try:
        first = source.stream(QUESTION)
        assert isinstance(await anext(first), TextDelta)
        await first.aclose()  # type: ignore[attr-defined]
        async with asyncio.timeout(10):
            events = await collect(source.stream(QUESTION))
    finally:
        await source.aclose()
    assert isinstance(events[-1], Finish)
