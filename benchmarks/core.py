"""Core benchmarks: relay overhead and many concurrent streams.

    python -m benchmarks.core            # full run (about two minutes)
    python -m benchmarks.core --quick    # smaller, for a smoke test

(a) Overhead: tokens/s through the full relay (OpenAI source -> Answer -> fake surface)
    against a bare `async for chunk in stream` over the same fake server, interleaved
    runs in one process, medians and their ratio.
(b) Concurrency: N streams at 50 tokens/s through the relay; event-loop lag p99 (a
    10 ms ticker's overshoot, measured without tracemalloc), memory per active stream
    (tracemalloc, in a second pass), edits per stream. `sdk` rows go through the real
    AsyncOpenAI client to the fake HTTP server, which runs in its own process as a model
    server would; `scripted` rows use an in-process source to isolate the relay's cost.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tracemalloc
from collections.abc import Awaitable, Callable

import openai

from benchmarks.model_process import ModelProcess, bench_tokens
from core.models import ChatMessage
from core.pacing.budget import Budget
from core.relay.answer import Answer
from core.relay.config import RelayConfig
from core.sources.openai_client import build_openai_client
from core.sources.openai_source import OpenAISource
from tests.fakes.model import ScriptedSource
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.surface import FakeSurface

QUESTION = [ChatMessage("user", "benchmark")]


async def _bare(client, tokens: int, *, typed: bool = True) -> float:
    """Tokens/s until the last token is in hand (what a terminal could show).

    `typed` is the SDK's usual loop; without it, the chunks come as dicts, the way
    `OpenAISource` asks for them, so the relay's own cost can be read off too.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    seen = 0
    last = start
    body = {"model": "bench", "messages": [{"role": "user", "content": "x"}], "stream": True}
    if typed:
        stream = await client.chat.completions.create(**body)
    else:
        stream = await client.post(
            "/chat/completions", body=body, cast_to=object, stream=True, stream_cls=openai.AsyncStream[object]
        )
    async for chunk in stream:
        content = chunk.choices[0].delta.content if typed else chunk["choices"][0]["delta"].get("content")
        if content:
            seen += 1
            last = loop.time()
    assert seen == tokens, seen
    return tokens / (last - start)


async def _through_relay(client, tokens: int) -> float:
    """Tokens/s until the final text is visible on the (fake) platform."""
    loop = asyncio.get_running_loop()
    source = OpenAISource(client, model="bench")
    surface = FakeSurface(page_limit=1_000_000, latency=0.02)
    start = loop.time()
    outcome = await Answer(surface, source.stream(QUESTION), config=RelayConfig(interval=0.5)).run()
    assert outcome.end.value == "stop", outcome
    final_at = max(t for m in surface.messages for t, _, final in m.versions if final)
    return tokens / (final_at - start)


async def overhead(rounds: int, tokens: int) -> None:
    server = FakeOpenAI(default=Script(tokens=bench_tokens(tokens)))
    base = await server.start()
    client = build_openai_client(api_key=None, base_url=base)
    bare, raw, relay = [], [], []
    try:
        for _ in range(rounds):
            bare.append(await _bare(client, tokens))
            raw.append(await _bare(client, tokens, typed=False))
            relay.append(await _through_relay(client, tokens))
    finally:
        await client.close()
        await server.stop()
    b, d, r = statistics.median(bare), statistics.median(raw), statistics.median(relay)
    print(f"\n(a) relay overhead, {tokens} tokens x {rounds} interleaved rounds")
    print(f"{'path':<30}{'median tokens/s':>18}")
    print(f"{'bare SDK loop (typed chunks)':<30}{b:>18,.0f}")
    print(f"{'bare SDK loop (dict chunks)':<30}{d:>18,.0f}")
    print(f"{'full relay':<30}{r:>18,.0f}")
    print(f"{'ratio relay/bare typed':<30}{r / b:>18.2f}   (target >= 0.80)")
    print(f"{'ratio relay/bare dicts':<30}{r / d:>18.2f}   (the relay's own cost)")


async def _lag_probe(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.01)
        lags.append(max(0.0, loop.time() - before - 0.01))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def concurrency(streams: int, tokens: int, mode: str, base_url: str | None, *, memory: bool) -> dict:
    """One pass of `streams` answers; with `memory`, tracemalloc runs (and slows it)."""
    rate = 50.0
    budget = Budget(rate=1000.0, burst=1000)  # a generous platform: measure our own cost
    client = build_openai_client(api_key=None, base_url=base_url) if base_url else None

    def make_source():
        if client is not None:
            return OpenAISource(client, model="bench").stream(QUESTION)
        return ScriptedSource(bench_tokens(tokens), delay=1 / rate).stream()

    surfaces = [FakeSurface(page_limit=4000, edit_budget=budget) for _ in range(streams)]
    gc.collect()
    if memory:
        tracemalloc.start()
    base_mem = tracemalloc.get_traced_memory()[0] if memory else 0
    stop = asyncio.Event()
    lags: list[float] = []
    probe = asyncio.create_task(_lag_probe(stop, lags))
    peak_active = 0

    async def sample_memory() -> None:
        nonlocal peak_active
        await asyncio.sleep(tokens / rate / 2)
        if memory:
            peak_active = tracemalloc.get_traced_memory()[0] - base_mem

    sampler = asyncio.create_task(sample_memory())
    config = RelayConfig(interval=0.5)
    outcomes = await asyncio.gather(*(Answer(s, make_source(), config=config).run() for s in surfaces))
    stop.set()
    await probe
    await sampler
    if memory:
        tracemalloc.stop()
    if client is not None:
        await client.close()
    exact = sum(
        1 for o, s in zip(outcomes, surfaces, strict=True) if o.end.value == "stop" and s.messages[0].text == o.text
    )
    return {
        "streams": streams,
        "mode": mode,
        "lag_p99_ms": _percentile(lags, 0.99) * 1000,
        "kib_per_stream": peak_active / streams / 1024,
        "edits_per_stream": statistics.mean(s.edits for s in surfaces),
        "exact": f"{exact}/{streams}",
    }


async def main(quick: bool) -> None:
    await overhead(rounds=3 if quick else 7, tokens=2000 if quick else 6000)
    tokens = 100 if quick else 400
    plans: list[tuple[int, str]] = [(10, "sdk"), (100, "sdk"), (10, "scripted"), (100, "scripted")]
    plans.append((1000, "scripted"))
    rows = []
    # The model server runs in a process of its own, as it would in production.
    async with ModelProcess(tokens=tokens, delay=1 / 50) as base_url:
        for streams, mode in plans:
            url = base_url if mode == "sdk" else None
            row = await concurrency(streams, tokens, mode, url, memory=False)
            row["kib_per_stream"] = (await concurrency(streams, tokens, mode, url, memory=True))["kib_per_stream"]
            rows.append(row)
    print(f"\n(b) concurrent streams at 50 tokens/s, {tokens} tokens each (model server in its own process)")
    header = (
        f"{'streams':>8} {'source':>9} {'loop lag p99':>13} {'memory/stream':>14} {'edits/stream':>13} {'exact':>10}"
    )
    print(header)
    for row in rows:
        print(
            f"{row['streams']:>8} {row['mode']:>9} {row['lag_p99_ms']:>10.1f} ms "
            f"{row['kib_per_stream']:>10.1f} KiB {row['edits_per_stream']:>13.1f} {row['exact']:>10}"
        )
    print("target: loop lag p99 < 20 ms at 100 streams (measured without tracemalloc; memory in a second pass)")


def run(argv: list[str] | None = None, runner: Callable[[Awaitable[None]], None] = asyncio.run) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run for smoke tests")
    args = parser.parse_args(argv)
    runner(main(args.quick))


if __name__ == "__main__":
    run()
