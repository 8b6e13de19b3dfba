"""`trickle discord` as a real process: environment in, streamed answers out, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import discord

from bots.discord.service import PERMISSIONS
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, script_from_text

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "Bots that edit one message as the model writes feel fast, even @everyone agrees."


async def test_trickle_discord_answers_ask_and_mentions_then_stops_on_sigterm(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake = FakeDiscord(webhook_bucket=(50, 1.0), channel_bucket=(50, 1.0))
    await fake.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRICKLE_", "DISCORD_", "SLACK_"))}
    env.update(
        DISCORD_BOT_TOKEN=fake.bot_token,
        DISCORD_API_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        DISCORD_GUILD_ID=str(fake.guild_id),
        OPENAI_BASE_URL=fake_openai.base_url,
        TRICKLE_HTTP_PORT="0",
        TRICKLE_EDIT_INTERVAL="0.05",
        PYTHONPATH=str(ROOT),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "discord",
        cwd=tmp_path,  # no stray .env
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_ready(timeout=30)
        await fake.wait_until(lambda: bool(fake.guild_commands.get(str(fake.guild_id))), timeout=10)
        command = fake.guild_commands[str(fake.guild_id)][0]
        assert command["name"] == "ask"
        assert [o["name"] for o in command["options"]] == ["prompt", "model", "private", "file"]

        fake_openai.script_queue.append(script_from_text(ANSWER, delay=0.01))
        inter = await fake.send_interaction("ask", {"prompt": "why stream?"})
        await fake.wait_until(lambda: (m := fake.original(inter.token)) is not None and m.content == ANSWER, timeout=10)

        fake_openai.script_queue.append(script_from_text("Yes.", delay=0.01))
        question = await fake.send_message(fake.channel_id, f"<@{fake.bot_user_id}> really?")
        await fake.wait_until(
            lambda: any(
                m.content == "Yes." and (m.message_reference or {}).get("message_id") == question.id
                for m in fake.channel_messages(fake.channel_id)
            ),
            timeout=10,
        )
        assert fake.mention_violations() == []
        assert sum(fake.rate_limited.values()) == 0
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 40)
        await fake.stop()
    log = err.decode()
    assert proc.returncode == 0, log
    invite = f"permissions={PERMISSIONS.value}"
    assert invite in log and "scope=bot+applications.commands" in log
    assert discord.Permissions(274877975552) == PERMISSIONS  # view, send, send in threads, history
