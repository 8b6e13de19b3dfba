"""`trickle slack` as a process and as a service: settings, signatures, the manifest."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bots.settings import Settings
from bots.slack.messages import STOP_ACTION
from bots.slack.service import check_settings
from bots.slack.shortcuts import ASK_ABOUT, SUMMARIZE
from core.settings import SettingsError
from tests.fakes.openai_server import FakeOpenAI, script_from_text
from tests.fakes.slack_server import FakeSlack, unescape
from tests.slack_harness import wait_until

ROOT = Path(__file__).resolve().parent.parent


async def test_a_bad_signature_is_refused_with_401(slack_bot):
    h = await slack_bot("http")
    event = h.fake.mention_event("UALICE", "forged", "C1")
    assert await h.fake.post_event(h.events_url, event, secret="not-the-secret") == 401
    assert await h.fake.post_interaction(h.events_url, {"type": "block_actions"}, secret="nope") == 401
    await asyncio.sleep(0.2)
    assert h.model.requests == [] and h.fake.calls_to("chat.postMessage") == []


async def test_a_stale_signature_is_refused_with_401(slack_bot):
    h = await slack_bot("http")
    event = h.fake.mention_event("UALICE", "replayed", "C1")
    assert await h.fake.post_event(h.events_url, event, timestamp=int(time.time()) - 600) == 401
    await asyncio.sleep(0.2)
    assert h.model.requests == []


def test_http_mode_needs_the_signing_secret():
    settings = Settings.from_mapping({"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        check_settings(settings)


def test_the_bot_token_is_required():
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        check_settings(Settings.from_mapping({"SLACK_APP_TOKEN": "xapp-1"}))


def test_socket_mode_needs_an_app_level_token():
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        check_settings(Settings.from_mapping({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}))


async def test_a_refused_bot_token_stops_the_start_with_a_clear_message(slack_bot, fake_slack):
    fake_slack.revoked_tokens.add("xoxb-test")
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN was refused by Slack \\(token_revoked\\)"):
        await slack_bot()


def yaml_list(text: str, key: str) -> set[str]:
    """The items of the block list under `key:` (the manifest is plain block YAML; the
    project has no YAML parser, and this is all the test needs)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    items = set()
    for line in lines[start + 1 :]:
        bare = line.split("#", 1)[0].strip()
        if not bare:
            continue
        if not bare.startswith("- "):
            break
        items.add(bare[2:].strip())
    return items


def test_the_manifest_asks_for_what_the_bot_uses():
    text = (ROOT / "bots/slack/manifest.yaml").read_text()
    assert {
        "app_mentions:read",
        "chat:write",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "users:read",
        "im:write",
        "assistant:write",
        "commands",
        "files:read",
    } <= yaml_list(text, "bot")
    events = yaml_list(text, "bot_events")
    assert events == {
        "app_mention",
        "message.channels",
        "message.groups",
        "message.im",
        "message.mpim",
        "assistant_thread_started",
        "assistant_thread_context_changed",
    }
    assert "command: /ask" in text and "assistant_view:" in text
    shortcuts = re.findall(r"callback_id: (\w+)", text.split("shortcuts:", 1)[1].split("slash_commands:", 1)[0])
    assert shortcuts == [SUMMARIZE, ASK_ABOUT] == ["summarize_thread", "ask_about_message"]  # CONTRACT.md
    interactivity = text.split("interactivity:", 1)[1].split(":", 1)[0].strip()
    assert interactivity == "is_enabled" and "is_enabled: true" in text
    assert "socket_mode_enabled: true" in text and "\t" not in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_trickle_slack(env: dict[str, str]) -> asyncio.subprocess.Process:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRICKLE_", "SLACK_"))}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "slack",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**clean, "TRICKLE_EDIT_INTERVAL": "0.2", **env},
        cwd=ROOT,
    )


async def stop_process(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, err.decode()


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_trickle_slack_answers_a_mention_end_to_end(fake_openai: FakeOpenAI, mode):
    text = "Hello from **trickle** & friends <3"
    fake_openai.default = script_from_text(text, delay=0.02)
    port = free_port()
    async with FakeSlack(users={"UALICE": "Alice"}) as fake:
        env = {
            "SLACK_API_URL": fake.api_url,
            "OPENAI_BASE_URL": fake_openai.base_url,
            "SLACK_BOT_TOKEN": "xoxb-e2e",
            "TRICKLE_HTTP_PORT": str(port),
            **({"SLACK_APP_TOKEN": "xapp-e2e"} if mode == "socket" else {"SLACK_SIGNING_SECRET": "secret"}),
        }
        proc = await run_trickle_slack(env)
        try:
            event = fake.mention_event("UALICE", "hello", "C1")
            if mode == "socket":
                await fake.wait_connected(timeout=20)
                await fake.send_event(event)
            else:
                url = f"http://127.0.0.1:{port}/slack/events"
                await wait_until(lambda: _listening(port), 20)
                assert await fake.post_event(url, event) == 200

            def done() -> bool:
                pages = fake.thread("C1", event["ts"])
                return bool(pages) and unescape(pages[0].visible) == text

            await wait_until(done, 15)
        finally:
            code, err = await stop_process(proc)
        assert code == 0, err
        assert "Traceback" not in err


async def test_trickle_slack_without_a_signing_secret_exits_with_a_clear_message():
    proc = await run_trickle_slack({"SLACK_BOT_TOKEN": "xoxb-1", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "SLACK_SIGNING_SECRET" in err.decode()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_events_nobody_handles_are_still_acknowledged(slack_bot):
    h = await slack_bot("http")
    reaction = {"type": "reaction_added", "user": "UALICE", "reaction": "tada", "item": {}}
    assert await h.fake.post_event(h.events_url, reaction) == 200


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_the_first_event_after_a_start_asks_slack_nothing_before_its_placeholder(slack_bot, mode):
    """bolt would ask `auth.test` again before acknowledging the first event; the start's
    own answer is reused, so the first question waits on no extra round trip."""
    h = await slack_bot(mode)
    assert len(h.fake.calls_to("auth.test")) == 1  # the start's own
    h.model.script_queue.append(script_from_text("hello there"))
    event = h.fake.mention_event("UALICE", "<@UBOT> hi", "C1")
    if mode == "http":
        assert await h.fake.post_event(h.events_url, event) == 200
    else:
        await h.fake.send_event(event)
    await wait_until(lambda: bool(h.fake.calls_to("chat.postMessage")))
    assert len(h.fake.calls_to("auth.test")) == 1


async def test_an_answer_left_behind_by_a_crashed_process_is_finished(slack_bot):
    from bots.slack import messages

    h = await slack_bot()
    posted = await h.bot.client.chat_postMessage(
        channel="C1", thread_ts="1.000100", **messages.streaming("Half an ans", "a1").kwargs()
    )
    location = {"team": "T1", "channel": "C1", "ts": posted["ts"]}
    await h.ctx.finalizers["slack"](location, "Half an ans\n\n_(interrupted by a restart — ask again)_")
    message = h.fake.message("C1", posted["ts"])
    assert unescape(message.visible) == "Half an ans\n\n_(interrupted by a restart — ask again)_"
    assert not any(b["type"] == "actions" for b in message.blocks)


async def test_socket_mode_reconnects_when_slack_recycles_the_connection(slack_bot, fake_slack):
    h = await slack_bot()
    opened = fake_slack.connections_opened
    await fake_slack.send_disconnect()
    await wait_until(lambda: fake_slack.connections_opened > opened and fake_slack.connections >= 1, 15)
    h.model.script_queue.append(script_from_text("Still here."))
    event = fake_slack.mention_event("UALICE", "are you there?", "C1")
    await h.deliver(event)
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    await h.settle()
    assert unescape(h.pages("C1", event["ts"])[0].visible) == "Still here."


async def test_a_process_shutting_down_refuses_new_http_events_so_slack_delivers_them_again(slack_bot):
    h = await slack_bot("http")
    h.ctx.stopping.set()
    event = h.fake.mention_event("UALICE", "are you there?", "C1")
    assert await h.deliver(event) == 503
    await asyncio.sleep(0.3)
    assert h.fake.calls_to("chat.postMessage") == [] and h.model.requests == []


def _signed(body: bytes, content_type: str, secret: str = "secret") -> dict[str, str]:
    """Headers Slack would send with `body`, signed with the harness's signing secret.

    Signed by hand: slack_sdk's signer decodes the body as UTF-8 first, and some of these
    bodies are not UTF-8 on purpose.
    """
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


async def _post_raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b'{"type": "event_callback", "text": "caf\xe9 \xff"}', "application/json", id="not-utf8"),
        pytest.param(b'{"type": "event_callback", "event": {', "application/json", id="not-json"),
        pytest.param(b"payload=%7Bnot+json", "application/x-www-form-urlencoded", id="form-payload-not-json"),
        pytest.param(b"[1, 2]", "application/json", id="json-not-an-object"),
        pytest.param(b'{"user": 5}', "application/json", id="json-of-another-shape"),
    ],
)
async def test_a_signed_body_that_is_not_a_slack_payload_is_a_400_and_one_log_line(
    slack_bot, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
):
    h = await slack_bot("http")
    caplog.set_level(logging.INFO)
    status, text = await _post_raw(h.events_url, body, _signed(body, content_type))
    assert status == 400 and "Traceback" not in text
    refused = [r for r in caplog.records if "not a Slack payload" in r.getMessage()]
    assert len(refused) == 1
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert h.model.requests == []


async def test_an_unsigned_body_that_is_not_utf8_is_a_400_too(slack_bot):
    h = await slack_bot("http")
    status, text = await _post_raw(h.events_url, b"\xff\xfe\x00", {"Content-Type": "application/json"})
    assert status == 400 and "Traceback" not in text


async def test_after_a_malformed_body_valid_events_and_clicks_still_work(slack_bot):
    h = await slack_bot("http")
    assert (await _post_raw(h.events_url, b"{", _signed(b"{", "application/json")))[0] == 400
    challenge = b'{"type": "url_verification", "token": "t", "challenge": "c-123"}'
    answered = await _post_raw(h.events_url, challenge, _signed(challenge, "application/json"))
    assert answered == (200, '{"challenge": "c-123"}')  # the signature is good: bolt read it
    h.model.script_queue.append(script_from_text("Still answering.", delay=0.01))
    event = h.fake.mention_event("UALICE", "are you there?", "C1")
    assert await h.deliver(event) == 200
    await wait_until(lambda: h.pages("C1", event["ts"]), 5)
    await h.settle()
    message = h.pages("C1", event["ts"])[0]
    assert unescape(message.visible) == "Still answering."
    stop = next(
        e["value"]
        for b in message.history[0].blocks or []
        for e in b.get("elements", [])
        if e.get("action_id") == STOP_ACTION
    )
    await h.click(h.fake.block_action_payload("UALICE", "C1", message.ts, STOP_ACTION, stop))  # a form body
    await wait_until(lambda: h.fake.ephemerals, 5)
    assert "already finished" in h.fake.ephemerals[0]["text"]


async def _raw_http(port: int, request: bytes) -> bytes:
    """One request written byte for byte (aiohttp's client would fix what is broken here)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return (await asyncio.wait_for(reader.read(200), 10)).split(b"\r\n", 1)[0]
    finally:
        writer.close()


async def test_hostile_http_requests_are_4xx_without_a_traceback_and_the_process_keeps_serving(fake_openai):
    """What anyone who can reach the URL may send, replayed against the real process: an
    unparsable or oversized timestamp (bolt's `int()` raised: 500), compressed garbage
    (aiohttp's decompressor raised: 500, two tracebacks), an `event` that is not an object,
    a body over 1 MiB, HTTP that does not parse; each a 4xx and a line, never a traceback."""
    port = free_port()
    ok = b'{"type": "url_verification", "token": "t", "challenge": "c-1"}'

    def post(body: bytes, headers: dict[str, str]) -> bytes:
        lines = {
            "Host": f"127.0.0.1:{port}",
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "Connection": "close",
            **headers,
        }
        head = "POST /slack/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in lines.items())
        return head.encode() + b"\r\n" + body

    async with FakeSlack(users={"UALICE": "Alice"}) as fake:
        proc = await run_trickle_slack(
            {
                "SLACK_API_URL": fake.api_url,
                "OPENAI_BASE_URL": fake_openai.base_url,
                "SLACK_BOT_TOKEN": "xoxb-e2e",
                "SLACK_SIGNING_SECRET": "secret",
                "TRICKLE_HTTP_PORT": str(port),
            }
        )
        try:
            await wait_until(lambda: _listening(port), 20)
            shapeless = b'{"type": "event_callback", "event": "x"}'
            statuses = [
                await _raw_http(port, post(ok, {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=0"})),
                await _raw_http(port, post(ok, {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=0"})),
                await _raw_http(port, post(b"\x1f\x8b\x08\x00garbage!", {"Content-Encoding": "gzip"})),
                await _raw_http(port, post(b"garbage!", {"Content-Encoding": "deflate"})),
                await _raw_http(port, post(shapeless, _signed(shapeless, "application/json"))),
                await _raw_http(port, post(b"{" + b" " * (2 << 20) + b"}", {})),
                await _raw_http(
                    port, b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
                ),
            ]
            assert all(s.startswith(b"HTTP/1.") and s[9:10] == b"4" for s in statuses), statuses
            assert await _raw_http(port, post(ok, _signed(ok, "application/json"))) == b"HTTP/1.1 200 OK"
        finally:
            code, err = await stop_process(proc)
        assert code == 0, err
        assert "Traceback" not in err and " ERROR " not in err, err
        refusals = [line for line in err.splitlines() if "refused" in line or "HTTP" in line]
        assert len(refusals) >= len(statuses), err
