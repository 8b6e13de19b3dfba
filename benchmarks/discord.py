"""Discord benchmark: 1, 10 and 50 concurrent `/ask` answers (and mentions) streaming.

    python -m benchmarks.discord [--quick] [--tokens 400] [--rate 50]

`trickle discord` runs as its own process against a fake Discord with Discord's observed
limits (5 calls per 5 s per channel, and per interaction token, with `X-RateLimit-*`
headers and 429s) and a fake model streaming `--tokens` tokens at `--rate` tokens/s. Both
fakes live in this process, so emission and visibility share one clock.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from benchmarks.bot_process import start_bot_process
from benchmarks.measure import Scenario, answer_tokens, emissions_by_tag, print_table, solid, staleness
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.openai_server import FakeOpenAI, Script

PLACEHOLDER = "…"


def _timeline(messages: list[FakeMessage]) -> list[tuple[float, str]]:
    """(time, what the answer's messages show together) after every write of any of them."""
    writes = sorted((w.time, i, w.content) for i, m in enumerate(messages) for w in m.writes)
    current = [""] * len(messages)
    out = []
    for at, i, content in writes:
        current[i] = solid(content, placeholders=(PLACEHOLDER,))
        out.append((at, "".join(current)))
    return out


async def start_bot(fake: FakeDiscord, model_url: str) -> asyncio.subprocess.Process:
    return await start_bot_process(
        "discord",
        {
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DISCORD_BOT_TOKEN": fake.bot_token,
            "DISCORD_GUILD_ID": str(fake.guild_id),
            "OPENAI_BASE_URL": model_url,
        },
    )


async def run_scenario(name: str, streams: int, channels: int, tokens: int, rate: float, *, mentions: bool) -> Scenario:
    texts: dict[str, list[str]] = {}

    def responder(body: dict) -> Script:
        tag = body["messages"][-1]["content"].split()[-1]
        texts[tag] = answer_tokens(tag, tokens)
        return Script(tokens=texts[tag], delay=1 / rate)

    model = FakeOpenAI(responder=responder)
    fake = FakeDiscord()
    places = [fake.channel_id] + [fake.add_text_channel(fake.guild_id, f"c{n}") for n in range(1, channels)]
    people = [fake.add_user(f"person{n}") for n in range(streams)]
    await model.start()
    await fake.start()
    bot = await start_bot(fake, model.base_url)
    result = Scenario(name, streams)
    try:
        await fake.wait_ready(timeout=30)
        await fake.wait_until(lambda: bool(fake.guild_commands.get(str(fake.guild_id))), timeout=30)
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = await asyncio.gather(
            *(_ask(fake, f"q{n:03d}", people[n], places[n % channels], mentions) for n in range(streams))
        )
        deadline = loop.time() + 60 + streams * 3
        while loop.time() < deadline:
            await asyncio.sleep(0.25)
            if all(_text(fake, key, mentions) == "".join(texts.get(tag, ["?"])) for tag, key, _ in sent):
                break
        result.wall = loop.time() - start
        emitted = emissions_by_tag(model.emitted)
        for tag, key, sent_at in sent:
            pages = _pages(fake, key, mentions)
            if not pages:
                result.unfinished += 1
                continue
            result.to_placeholder.append(pages[0].writes[0].time - sent_at)
            result.exact += _text(fake, key, mentions) == "".join(texts.get(tag, []))
            result.unfinished += any(m.content.endswith("▌") or m.content == PLACEHOLDER or m.loading for m in pages)
            marks = emitted.get(tag, [])
            if marks:
                stale = staleness(marks, _timeline(pages))
                result.to_first_token.append(stale[0])
                result.stale.extend(stale)
        result.edits = len([c for c in fake.calls if c.method == "PATCH" and c.status == 200])
        result.rate_limited = sum(fake.rate_limited.values())
    finally:
        bot.terminate()
        try:
            await asyncio.wait_for(bot.wait(), 40)
        except TimeoutError:
            bot.kill()
        await fake.stop()
        await model.stop()
    return result


async def _ask(fake: FakeDiscord, tag: str, person: dict, channel: int, mention: bool) -> tuple[str, str, float]:
    """Ask as `person`; returns (tag, interaction token or message id, fake-clock time)."""
    at = fake.clock()
    if mention:
        message = await fake.send_message(channel, f"<@{fake.bot_user_id}> please answer {tag}", author=person)
        return tag, message.id, at
    inter = await fake.send_interaction("ask", {"prompt": f"please answer {tag}"}, user=person, channel_id=channel)
    return tag, inter.token, at


def _pages(fake: FakeDiscord, key: str, mention: bool) -> list[FakeMessage]:
    if mention:  # the reply, then each page replying to the page before
        pages: list[FakeMessage] = []
        parent = key
        while (
            child := next(
                (m for m in fake.messages.values() if (m.message_reference or {}).get("message_id") == parent), None
            )
        ) is not None:
            pages.append(child)
            parent = child.id
        return pages
    original = fake.original(key)
    return [original, *fake.followups(key)] if original is not None else []


def _text(fake: FakeDiscord, key: str, mention: bool) -> str:
    return "".join(m.content for m in _pages(fake, key, mention))


async def main(quick: bool, tokens: int, rate: float) -> None:
    plans = [
        ("1 /ask", 1, 1, False),
        ("1 mention", 1, 1, True),
        ("10 /ask in one channel", 10, 1, False),
        ("10 /ask over 10 channels", 10, 10, False),
        ("10 mentions in one channel", 10, 1, True),
    ]
    if not quick:
        plans += [("50 /ask in one channel", 50, 1, False), ("50 /ask over 10 channels", 50, 10, False)]
    rows = []
    for name, streams, channels, mentions in plans:
        started = time.perf_counter()
        rows.append(await run_scenario(name, streams, channels, tokens, rate, mentions=mentions))
        print(f"  {name}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print_table(f"Discord: {tokens} tokens at {rate:g} tokens/s per answer, Discord's 5-per-5-s buckets", rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.tokens, args.rate))
