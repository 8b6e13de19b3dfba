"""The fake model server in a process of its own, for benchmarks of the bot's event loop.

    python -m benchmarks.model_process --tokens 400 --delay 0.02

Prints the base URL on one line, then serves until stdin closes. In production the model
runs elsewhere; serving it from the loop being measured would bill its cost to the relay.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tests.fakes.openai_server import FakeOpenAI, Script


def bench_tokens(count: int) -> list[str]:
    """The scripted answer every core benchmark streams: `count` short tokens."""
    return [f"tok{i % 97} " for i in range(count)]


async def _serve(tokens: int, delay: float) -> None:
    server = FakeOpenAI(default=Script(tokens=bench_tokens(tokens), delay=delay))
    print(await server.start(), flush=True)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent hangs up
    finally:
        await server.stop()


class ModelProcess:
    """`async with ModelProcess(tokens=400, delay=0.02) as base_url: ...`"""

    def __init__(self, *, tokens: int, delay: float) -> None:
        self.tokens, self.delay = tokens, delay
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> str:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.model_process",
            "--tokens",
            str(self.tokens),
            "--delay",
            str(self.delay),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        return (await asyncio.wait_for(self._proc.stdout.readline(), 30)).decode().strip()

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            await asyncio.wait_for(self._proc.wait(), 10)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.02)
    args = parser.parse_args()
    asyncio.run(_serve(args.tokens, args.delay))
