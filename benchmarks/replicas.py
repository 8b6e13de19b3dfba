"""Replicas benchmark: 50 answers in one Slack workspace, two replicas vs one.

    python -m benchmarks.replicas [--streams 50] [--tokens 400] [--rate 50]

Two `trickle slack` processes share a real redis-server (started here on a free
loopback port) and the fake Slack with its real per-workspace `chat.update` budget. The
question is whether two processes together stay inside one workspace's budget (edits
within it, no 429 in steady state) and what that costs in staleness against one process.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from benchmarks.measure import percentile, print_table
from benchmarks.slack import run_scenario
from tests.redis_server import RedisServer


async def main(streams: int, tokens: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        redis = RedisServer(Path(workdir))
        redis.start()
        try:
            one = await run_scenario("1 replica", streams, 1, tokens, rate, replicas=1, redis_url=redis.url)
            # A fresh FakeSlack hands out the same message ts values again; real Slack
            # never does. An empty Redis keeps the first run's claims from swallowing
            # every question of the second as "already answered".
            redis.restart()
            two = await run_scenario("2 replicas", streams, 1, tokens, rate, replicas=2, redis_url=redis.url)
        finally:
            redis.stop()
    print_table(f"Replicas: {streams} answers in one channel of one workspace, Slack's real limits", [one, two])
    allowed = 10 + 50 * max(one.wall, two.wall) / 60
    print(f"\nworkspace budget over the longer run: about {allowed:.0f} chat.update calls (burst 10 + 50/min)")
    for row in (one, two):
        print(f"  {row.name}: {row.edits} chat.update, {row.rate_limited} answered 429")
    p95 = [percentile([s for s in r.stale if s != float("inf")], 0.95) for r in (one, two)]
    print(f"staleness p95 ratio, 2 replicas / 1 replica: {p95[1] / p95[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.streams, args.tokens, args.rate))
