"""`trickle serve`: every configured platform in one process, with /healthz and /metrics."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys

import aiohttp

from tests.fakes.openai_server import FakeOpenAI, script_from_text
from tests.fakes.slack_server import FakeSlack

ANSWER = "Metrics are numbers you watch while things happen. " * 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(text: str, name: str) -> float:
    match = re.search(rf'^{name}\{{platform="slack"\}} ([0-9.e+]+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


async def _get_when_up(http: aiohttp.ClientSession, url: str) -> dict:
    for _ in range(200):
        try:
            async with http.get(url) as response:
                assert response.status == 200
                return await response.json()
        except aiohttp.ClientConnectorError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def test_serve_runs_slack_and_exposes_health_and_metrics_while_streaming(fake_openai: FakeOpenAI):
    fake_openai.default = script_from_text(ANSWER, delay=0.08)
    port = free_port()
    async with FakeSlack() as slack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "TRICKLE_"))}
        env.update(
            SLACK_API_URL=slack.api_url,
            SLACK_BOT_TOKEN="xoxb-serve",
            SLACK_APP_TOKEN="xapp-serve",
            OPENAI_BASE_URL=fake_openai.base_url,
            TRICKLE_HTTP_PORT=str(port),
            TRICKLE_EDIT_INTERVAL="0.2",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bots.cli",
            "serve",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await slack.wait_connected(1, timeout=30)
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                health = await _get_when_up(http, f"{base}/healthz")
                assert health == {"ok": True, "platforms": ["slack"], "active_answers": 0}
                event = slack.mention_event("U1", "what are metrics?", "C1")
                await slack.send_event(event)
                during = ""
                for _ in range(100):
                    async with http.get(f"{base}/metrics") as response:
                        during = await response.text()
                    if metric(during, "trickle_active_streams") == 1 and metric(during, "trickle_tokens_total") > 0:
                        break
                    await asyncio.sleep(0.05)
                assert metric(during, "trickle_active_streams") == 1
                for _ in range(200):
                    replies = [m for m in slack.thread("C1", event["ts"]) if m.is_bot]
                    if replies and slack.unescape(slack.visible_text(replies[-1])) == ANSWER:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)
                async with http.get(f"{base}/metrics") as response:
                    after = await response.text()
            assert metric(after, "trickle_active_streams") == 0
            assert metric(after, "trickle_edits_total") >= 2
            assert metric(after, "trickle_tokens_total") == len(fake_openai.emitted)
            assert 'trickle_answers_total{end="stop",platform="slack"} 1.0' in after
            assert "trickle_time_to_first_token_seconds_count" in after
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_serve_without_any_platform_is_a_clear_settings_error():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "TRICKLE_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"SLACK_BOT_TOKEN" in err and b"DISCORD_BOT_TOKEN" in err


async def test_a_busy_port_stops_slack_http_mode_with_a_clear_message():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "TRICKLE_"))}
        env.update(
            SLACK_API_URL="http://127.0.0.1:9/api/",
            SLACK_BOT_TOKEN="xoxb-x",
            SLACK_SIGNING_SECRET="s",
            OPENAI_BASE_URL="http://127.0.0.1:9/v1",
            TRICKLE_HTTP_PORT=str(port),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bots.cli",
            "slack",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert f"TRICKLE_HTTP_PORT: cannot listen on 127.0.0.1:{port}".encode() in err


async def test_a_busy_port_costs_socket_mode_only_its_health_endpoint(fake_openai: FakeOpenAI):
    fake_openai.default = script_from_text("Still here.")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        async with FakeSlack() as slack:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "TRICKLE_"))}
            env.update(
                SLACK_API_URL=slack.api_url,
                SLACK_BOT_TOKEN="xoxb-p",
                SLACK_APP_TOKEN="xapp-p",
                OPENAI_BASE_URL=fake_openai.base_url,
                TRICKLE_HTTP_PORT=str(busy.getsockname()[1]),
            )
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bots.cli",
                "slack",
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                await slack.wait_connected(1, timeout=30)
                event = slack.mention_event("U1", "there?", "C1")
                await slack.send_event(event)
                for _ in range(200):
                    replies = [m for m in slack.thread("C1", event["ts"]) if m.is_bot]
                    if replies and slack.unescape(slack.visible_text(replies[-1])) == "Still here.":
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("the bot did not answer")
                proc.send_signal(signal.SIGTERM)
                _, err = await asyncio.wait_for(proc.communicate(), 30)
                assert proc.returncode == 0
                assert b"no /healthz or /metrics: cannot listen" in err
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
