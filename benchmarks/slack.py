"""Slack benchmark: 1, 10 and 50 concurrent answers streaming into one workspace.

    python -m benchmarks.slack [--quick] [--tokens 400] [--rate 50] [--native] [--http]

Besides @mentions in channels, the assistant pane: each person opens a pane thread (the
greeting and prompts go up before the clock starts) and asks in it; its extra line
counts calls to methods the fake does not know and thread statuses left showing.

`trickle slack` runs as its own process against a fake Slack with Slack's real limits
(chat.update 50/min per workspace with a burst of 10, chat.postMessage 1/s per channel
with a burst of 5) and a fake model streaming `--tokens` tokens at `--rate` tokens/s.
Both fakes live in this process, so emission and visibility share one clock.

Events arrive over Socket Mode, or with `--http` as the HTTP Events API sends them: the
bot runs without SLACK_APP_TOKEN, listening on a free port of 127.0.0.1, and each
question is a signed POST to /slack/events, all of a scenario's questions at once. Slack
gives an app 3 s to answer such a POST, so each scenario's extra line has the HTTP ack
times (median and max) and any answer that was not a 200.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.bot_process import start_bot_process
from benchmarks.measure import Scenario, answer_tokens, clean, emissions_by_tag, print_table, solid, staleness
from benchmarks.slack_http import ack_notes, events_url, free_port, wait_listening
from core.conversation.suggestions import GREETING
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack, unescape, visible_text

SIGNING_SECRET = "bench-signing-secret"


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a scenario: its tag, the thread its answer goes in, its event."""

    tag: str
    channel: str
    ts: str
    event: dict[str, Any]


async def start_bot(
    fake_slack: FakeSlack,
    model_url: str,
    redis_url: str | None = None,
    *,
    env: dict[str, str] | None = None,
    http_port: int | None = None,
) -> asyncio.subprocess.Process:
    """`trickle slack` against `fake_slack`: over Socket Mode, or given `http_port`, as an
    HTTP Events API app listening there and checking `fake_slack.signing_secret`."""
    receiving = (
        {"SLACK_APP_TOKEN": "xapp-bench"}
        if http_port is None
        else {
            "SLACK_SIGNING_SECRET": fake_slack.signing_secret,
            "TRICKLE_HTTP_HOST": "127.0.0.1",
            "TRICKLE_HTTP_PORT": str(http_port),
        }
    )
    return await start_bot_process(
        "slack",
        {
            "SLACK_API_URL": fake_slack.api_url,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            **receiving,
            "OPENAI_BASE_URL": model_url,
            **({"TRICKLE_REDIS_URL": redis_url} if redis_url else {}),
            **(env or {}),
        },
    )


async def run_scenario(
    name: str,
    streams: int,
    channels: int,
    tokens: int,
    rate: float,
    *,
    replicas: int = 1,
    redis_url: str | None = None,
    pane: bool = False,
    env: dict[str, str] | None = None,
    http: bool = False,
) -> Scenario:
    """Ask `streams` questions over `channels` channels (or `pane`: in as many assistant
    pane threads) at once and measure the answers; `http`: over the HTTP Events API."""
    if http and replicas != 1:
        raise ValueError("HTTP mode runs one bot: nothing here balances POSTs over replicas")
    texts: dict[str, list[str]] = {}

    def responder(body: dict) -> Script:
        tag = body["messages"][-1]["content"].split()[-1]
        texts[tag] = answer_tokens(tag, tokens)
        return Script(tokens=texts[tag], delay=1 / rate)

    model = FakeOpenAI(responder=responder)
    port = free_port() if http else None
    slack = FakeSlack() if port is None else FakeSlack(events_url=events_url(port), signing_secret=SIGNING_SECRET)
    await model.start()
    await slack.start()
    bots = [await start_bot(slack, model.base_url, redis_url, env=env, http_port=port) for _ in range(replicas)]
    result = Scenario(name, streams)
    try:
        if port is not None:
            await wait_listening(port, bots[0], timeout=60)
        else:
            await slack.wait_connected(replicas, timeout=60)
        loop = asyncio.get_running_loop()
        threads = await _open_pane_threads(slack, streams) if pane else []
        questions = [_question(slack, n, channels, threads[n] if pane else None) for n in range(streams)]
        posted_before = len(slack.http_deliveries)
        start = loop.time()
        asked = await (_send_all(slack, questions) if port is None else _post_all(slack, questions))
        sent = {q.tag: (q.channel, q.ts, sent_at) for q, sent_at in zip(questions, asked, strict=True)}
        deadline = loop.time() + 60 + streams * 3
        while loop.time() < deadline:
            await asyncio.sleep(0.25)
            if all(_finished(slack, channel, ts, texts.get(tag)) for tag, (channel, ts, _) in sent.items()):
                break
        result.wall = loop.time() - start
        emitted = emissions_by_tag(model.emitted)
        for tag, (channel, ts, sent_at) in sent.items():
            replies = _answer_pages(slack, channel, ts)
            if not replies:
                result.unfinished += 1
                continue
            history = [(t, solid(unescape(v))) for t, v in replies[0].visible_history()]
            result.to_placeholder.append(history[0][0] - sent_at)
            expected = "".join(texts.get(tag, []))
            final = unescape(visible_text(replies[-1]))
            result.exact += final == expected
            result.unfinished += any(_still_streaming(m) for m in replies)
            marks = emitted.get(tag, [])
            if marks:
                stale = staleness(marks, history)
                result.to_first_token.append(stale[0])
                result.stale.extend(stale)
        result.edits = len([c for c in slack.calls_to("chat.update") if c.ok])
        result.rate_limited = sum(slack.rate_limited.values())
        notes = [] if port is None else [ack_notes(slack.http_deliveries[posted_before:])]
        if pane:
            unknown = sum(1 for c in slack.calls if c.error == "unknown_method")
            showing = sum(1 for channel, ts, _ in sent.values() if _status_left(slack, channel, ts))
            notes.append(f"calls to unknown methods: {unknown}; thread statuses left showing: {showing}")
        result.notes = "; ".join(notes)
    finally:
        for bot in bots:
            bot.terminate()
        for bot in bots:
            try:
                await asyncio.wait_for(bot.wait(), 30)
            except TimeoutError:
                bot.kill()
        await slack.stop()
        await model.stop()
    return result


def _question(slack: FakeSlack, n: int, channels: int, pane_thread: tuple[str, str] | None) -> Question:
    """Person n's question: a mention in one of `channels` channels, or a message in
    their `pane_thread` (DM, thread_ts)."""
    tag = f"q{n:03d}"
    if pane_thread is not None:
        channel, thread_ts = pane_thread
        event = slack.message_event(f"U{n:03d}", f"please answer {tag}", channel, thread_ts=thread_ts)
        return Question(tag, channel, thread_ts, event)
    channel = f"C{n % channels:03d}"
    event = slack.mention_event(f"U{n:03d}", f"please answer {tag}", channel)
    return Question(tag, channel, event["ts"], event)


async def _send_all(slack: FakeSlack, questions: Sequence[Question]) -> list[float]:
    """Socket Mode: each question in its envelope, one after the other down the one
    socket (as Slack does); the time each was sent."""
    loop = asyncio.get_running_loop()
    sent = []
    for question in questions:
        sent.append(loop.time())
        await slack.send_event(question.event)
    return sent


async def _post_all(slack: FakeSlack, questions: Sequence[Question]) -> list[float]:
    """HTTP: every question POSTed at once, as Slack's concurrent deliveries would arrive;
    the time each POST started (its ack, however slow, is not waited for first)."""
    loop = asyncio.get_running_loop()

    async def post(question: Question) -> float:
        sent_at = loop.time()
        await _deliver(slack, question.event)
        return sent_at

    return list(await asyncio.gather(*(post(q) for q in questions)))


async def _deliver(slack: FakeSlack, event: dict[str, Any]) -> None:
    """Send `event` the way the bot receives events: POSTed to `events_url` if there is
    one, else over Socket Mode. A refused POST is kept in `http_deliveries` for the notes."""
    if slack.events_url:
        await slack.post_event(slack.events_url, event)
    else:
        await slack.send_event(event)


async def _open_pane_threads(slack: FakeSlack, count: int) -> list[tuple[str, str]]:
    """`count` people open the assistant pane; their (DM, thread_ts) once greeted."""
    threads = []
    for n in range(count):
        started = slack.assistant_thread_started_event(f"U{n:03d}")
        thread = started["assistant_thread"]
        threads.append((thread["channel_id"], thread["thread_ts"]))
        await _deliver(slack, started)
    deadline = asyncio.get_running_loop().time() + 30
    while sum(c.ok for c in slack.calls_to("assistant.threads.setSuggestedPrompts")) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the pane threads were not greeted")
        await asyncio.sleep(0.05)
    return threads


def _answer_pages(slack: FakeSlack, channel: str, ts: str) -> list:
    """The bot's answer in the thread `ts`: its replies there, the pane's greeting aside."""
    return [m for m in slack.thread(channel, ts) if m.is_bot and unescape(visible_text(m)) != GREETING]


def _status_left(slack: FakeSlack, channel: str, ts: str) -> bool:
    """Whether the thread's status still shows (its last setStatus was not a clear)."""
    last = [s for s in slack.statuses if s["channel"] == channel and s["thread_ts"] == ts]
    return bool(last) and bool(last[-1]["status"])


def _still_streaming(message) -> bool:
    shown = unescape(visible_text(message)).rstrip()
    return shown != clean(shown) or shown.endswith("thinking…_")


def _finished(slack: FakeSlack, channel: str, ts: str, tokens: list[str] | None) -> bool:
    if tokens is None:
        return False
    replies = _answer_pages(slack, channel, ts)
    return bool(replies) and unescape(visible_text(replies[-1])) == "".join(tokens)


async def main(quick: bool, tokens: int, rate: float, native: bool = False, http: bool = False) -> None:
    plans = [
        ("1 stream", 1, 1, False),
        ("10 in one channel", 10, 1, False),
        ("10 over 10 channels", 10, 10, False),
        ("pane, 1 question", 1, 1, True),
        ("pane, 10 people", 10, 10, True),
    ]
    if not quick:
        plans += [("50 in one channel", 50, 1, False), ("50 over 10 channels", 50, 10, False)]
    env = {"TRICKLE_SLACK_STREAM": "native"} if native else None
    rows = []
    for name, streams, channels, pane in plans:
        started = time.perf_counter()
        rows.append(await run_scenario(name, streams, channels, tokens, rate, pane=pane, env=env, http=http))
        print(f"  {name}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    mode = "native streaming (Tier 2 starts and stops)" if native else "edit mode"
    events = "HTTP Events API" if http else "Socket Mode"
    print_table(f"Slack, {mode} over {events}: {tokens} tokens at {rate:g} tokens/s per answer, one workspace", rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the 50-answer scenarios")
    parser.add_argument("--tokens", type=int, default=400, help="tokens per answer (default 400)")
    parser.add_argument("--rate", type=float, default=50.0, help="tokens/s per answer (default 50)")
    parser.add_argument("--native", action="store_true", help="TRICKLE_SLACK_STREAM=native")
    parser.add_argument(
        "--http",
        action="store_true",
        help="events as signed POSTs to /slack/events (no SLACK_APP_TOKEN) instead of Socket Mode",
    )
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.tokens, args.rate, args.native, args.http))
