"""The real bot as a separate process, the way a deployment runs it (`trickle slack`).

The Slack, Discord and files benchmarks start it against their fake platforms; its own
settings come only from what the benchmark passes, never from the caller's environment.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping


async def start_bot_process(platform: str, settings: Mapping[str, str]) -> asyncio.subprocess.Process:
    """`python -m bots.cli <platform>` with `settings`, on an ephemeral HTTP port, quiet.

    The caller's own platform, model and trickle variables are dropped first, so a key in
    the shell can never point a benchmark at a real service.
    """
    inherited = (f"{platform.upper()}_", "OPENAI_", "TRICKLE_")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(inherited)},
        "TRICKLE_HTTP_PORT": "0",
        "TRICKLE_LOG_LEVEL": "WARNING",
        **settings,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        platform,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
