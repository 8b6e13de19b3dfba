"""FakeSlack driven by the real slack_sdk / slack_bolt clients.

Why: the Slack bot's tests and benchmarks trust this fake to behave like Slack (rate
limits, errors, Socket Mode acks, signatures). These tests pin that behaviour with the
same client code the bot uses, so a fake that drifted from what the SDK expects fails here
rather than making the bot's tests lie.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_bolt.request.payload_utils import is_user_message_event_in_assistant_thread
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_server import FakeSlack, ManualClock, unescape, visible_text

TOKEN = "xoxb-test"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=clock) as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=fake.api_url, token=TOKEN)


async def api_error(call: Any) -> SlackApiError:
    """Await `call`, which must fail, and return the SDK's error."""
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


# ---------------------------------------------------------------- Web API basics


async def test_auth_test_and_token_checks(fake: FakeSlack, client: AsyncWebClient) -> None:
    me = await client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == ("UBOT", "BBOT", "T1")
    assert me["team"] and me["user"] and me["url"].startswith("https://")
    assert "chat:write" in me.headers["x-oauth-scopes"]

    err = await api_error(AsyncWebClient(base_url=fake.api_url, token="bogus").auth_test())
    assert err.response["error"] == "invalid_auth"
    fake.revoked_tokens.add("xoxb-old")
    err = await api_error(AsyncWebClient(base_url=fake.api_url, token="xoxb-old").auth_test())
    assert err.response["error"] == "token_revoked"
    app_level = AsyncWebClient(base_url=fake.api_url, token="xapp-1")
    err = await api_error(app_level.chat_postMessage(channel="C1", text="x"))
    assert err.response["error"] == "not_allowed_token_type"
    err = await api_error(client.api_call("nope.method"))
    assert err.response["error"] == "unknown_method"


async def test_post_update_round_trip_keeps_version_history(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="…", thread_ts="1700000000.000001")
    ts = posted["ts"]
    assert posted["channel"] == "C1" and posted["message"]["bot_id"] == "BBOT"
    clock.advance(0.5)
    updated = await client.chat_update(channel="C1", ts=ts, text="Hello")
    assert (updated["ts"], updated["text"]) == (ts, "Hello")
    clock.advance(0.5)
    blocks = [{"type": "markdown", "text": "Hello &amp; world"}, {"type": "actions", "elements": []}]
    await client.chat_update(channel="C1", ts=ts, text="Hello & world", blocks=blocks)

    [msg] = fake.thread("C1", "1700000000.000001")
    assert msg is fake.messages("C1")[0]
    assert [(t, text) for t, text, _ in msg.history] == [
        (1000.0, "…"),
        (1000.5, "Hello"),
        (1001.0, "Hello & world"),
    ]
    assert msg.history[-1].blocks == blocks
    assert visible_text(msg) == "Hello &amp; world"
    assert unescape(visible_text(msg)) == "Hello & world"
    assert msg.first_visible("Hello") == 1000.5
    assert msg.first_visible("world") == 1001.0
    # Without `blocks` an update keeps them; an empty list removes them.
    await client.chat_update(channel="C1", ts=ts, text="Final")
    assert visible_text(msg) == "Hello &amp; world"
    await client.chat_update(channel="C1", ts=ts, text="Final", blocks=[])
    assert visible_text(msg) == "Final" and msg.blocks is None
    # Later posts get later ts.
    second = await client.chat_postMessage(channel="C1", text="more", thread_ts="1700000000.000001")
    assert float(second["ts"]) > float(ts)
    assert [c.method for c in fake.calls].count("chat.update") == 4


async def test_section_blocks_are_joined_for_visible_text(client: AsyncWebClient, fake: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in ("part one", "part two")]
    await client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    [msg] = fake.messages("C1")
    assert visible_text(msg) == "part one\npart two"
    assert visible_text(msg, section_sep="") == "part onepart two"


async def test_chat_update_bucket_is_shared_by_the_workspace(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    ts1 = (await client.chat_postMessage(channel="C1", text="a"))["ts"]
    ts2 = (await client.chat_postMessage(channel="C2", text="b"))["ts"]
    for i in range(10):  # burst 10, across both channels
        await client.chat_update(channel="C1" if i % 2 else "C2", ts=ts1 if i % 2 else ts2, text=f"v{i}")

    err = await api_error(client.chat_update(channel="C1", ts=ts1, text="too fast"))
    assert err.response.status_code == 429
    assert err.response["error"] == "ratelimited"
    assert err.response.headers["Retry-After"] == "2"  # 1 token at 50/min is 1.2 s, rounded up
    assert fake.messages("C1")[0].text == "v9"  # a refused update changes nothing
    assert fake.rate_limited["chat.update"] == 1
    assert fake.calls[-1].status == 429 and fake.calls[-1].error == "ratelimited"

    clock.advance(1.2)  # one token back
    await client.chat_update(channel="C2", ts=ts2, text="after the wait")
    err = await api_error(client.chat_update(channel="C2", ts=ts2, text="again"))
    assert err.response.status_code == 429
    assert fake.rate_limited["chat.update"] == 2


async def test_post_message_bucket_is_per_channel(fake: FakeSlack, client: AsyncWebClient, clock: ManualClock) -> None:
    for i in range(5):
        await client.chat_postMessage(channel="C1", text=f"p{i}")
    err = await api_error(client.chat_postMessage(channel="C1", text="p5"))
    assert err.response.status_code == 429
    assert int(err.response.headers["Retry-After"]) >= 1
    assert len(fake.messages("C1")) == 5

    await client.chat_postMessage(channel="C2", text="other channel has its own bucket")
    clock.advance(1.0)
    await client.chat_postMessage(channel="C1", text="p6")
    assert len(fake.messages("C1")) == 6
    assert fake.rate_limited == {"chat.postMessage": 1}


async def test_size_limits(fake: FakeSlack, client: AsyncWebClient) -> None:
    err = await api_error(client.chat_postMessage(channel="C1", text="x" * 4001))
    assert err.response["error"] == "msg_too_long" and err.response.status_code == 200
    await client.chat_postMessage(channel="C1", text="x" * 4000)

    too_big_markdown = [{"type": "markdown", "text": "y" * 12_001}]
    err = await api_error(client.chat_postMessage(channel="C1", text="y", blocks=too_big_markdown))
    assert err.response["error"] == "msg_too_long"
    big_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "z" * 3001}}]
    err = await api_error(client.chat_postMessage(channel="C1", text="z", blocks=big_section))
    assert err.response["error"] == "invalid_blocks"

    ts = (await client.chat_postMessage(channel="C1", text="short"))["ts"]
    err = await api_error(client.chat_update(channel="C1", ts=ts, text="w" * 4001))
    assert err.response["error"] == "msg_too_long"
    assert [v.text for v in fake.message("C1", ts).history] == ["short"]  # type: ignore[union-attr]

    strict = FakeSlack(max_text=100, max_markdown_text=100)
    async with strict:
        small = AsyncWebClient(base_url=strict.api_url, token=TOKEN)
        markdown = [{"type": "markdown", "text": "m" * 101}]
        err = await api_error(small.chat_postMessage(channel="C1", text="ok", blocks=markdown))
        assert err.response["error"] == "msg_too_long"


async def test_ownership_membership_and_unknown_messages(fake: FakeSlack, client: AsyncWebClient) -> None:
    user_msg = fake.message_event("U1", "hi", "C1")
    fake.store_event(user_msg)  # as if it had been delivered
    err = await api_error(client.chat_update(channel="C1", ts=user_msg["ts"], text="edit"))
    assert err.response["error"] == "cant_update_message"
    err = await api_error(client.chat_update(channel="C1", ts="1.000000", text="edit"))
    assert err.response["error"] == "message_not_found"
    fake.not_in_channels.add("C9")
    err = await api_error(client.chat_postMessage(channel="C9", text="x"))
    assert err.response["error"] == "not_in_channel"

    await client.reactions_add(channel="C1", timestamp=user_msg["ts"], name="eyes")  # form/query encoded
    assert fake.message("C1", user_msg["ts"]).reactions == {"eyes": ["UBOT"]}  # type: ignore[union-attr]
    err = await api_error(client.reactions_add(channel="C1", timestamp=user_msg["ts"], name="eyes"))
    assert err.response["error"] == "already_reacted"

    ts = (await client.chat_postMessage(channel="C1", text="bye"))["ts"]
    await client.chat_delete(channel="C1", ts=ts)
    assert [m.ts for m in fake.messages("C1")] == [user_msg["ts"]]
    await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert fake.ephemerals[0]["text"] == "only you"


async def test_conversations_replies_and_history(fake: FakeSlack, client: AsyncWebClient) -> None:
    question = fake.mention_event("U1", "what is 2+2?", "C1")
    fake.store_event(question)
    parent = question["ts"]
    a = await client.chat_postMessage(channel="C1", text="4", thread_ts=parent)
    b = await client.chat_postMessage(channel="C1", text="(really)", thread_ts=parent)
    await client.chat_postMessage(channel="C1", text="unrelated")

    replies = await client.conversations_replies(channel="C1", ts=parent)
    msgs = replies["messages"]
    assert [m["ts"] for m in msgs] == [parent, a["ts"], b["ts"]]
    assert msgs[0]["user"] == "U1" and msgs[0]["text"] == "<@UBOT> what is 2+2?"
    assert msgs[0]["reply_count"] == 2 and msgs[0]["thread_ts"] == parent
    assert msgs[1]["bot_id"] == "BBOT" and msgs[1]["user"] == "UBOT" and msgs[1]["thread_ts"] == parent
    assert all(m["type"] == "message" for m in msgs)
    assert replies["has_more"] is False
    # Asking with a reply's ts returns the same thread; a limit pages like Slack.
    via_reply = await client.conversations_replies(channel="C1", ts=a["ts"])
    assert [m["ts"] for m in via_reply["messages"]] == [parent, a["ts"], b["ts"]]
    page = await client.conversations_replies(channel="C1", ts=parent, limit=2)
    assert len(page["messages"]) == 2 and page["has_more"] is True

    history = await client.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["unrelated", "<@UBOT> what is 2+2?"]
    err = await api_error(client.conversations_replies(channel="C1", ts="1.000000"))
    assert err.response["error"] == "thread_not_found"


async def test_users_status_and_injected_faults(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.users["U1"] = "Ada Lovelace"
    ada = (await client.users_info(user="U1"))["user"]
    assert ada["real_name"] == "Ada Lovelace" and ada["profile"]["display_name"] == "Ada Lovelace"
    assert (await client.users_info(user="U404"))["user"]["name"]

    await client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.000001", status="is thinking…")
    assert fake.statuses[0]["status"] == "is thinking…"
    fake.assistant_scope = False
    err = await api_error(client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.000001", status="x"))
    assert err.response["error"] == "missing_scope"

    fake.fail("chat.postMessage", "internal_error", status=500)
    err = await api_error(client.chat_postMessage(channel="C1", text="x"))
    assert err.response.status_code == 500
    await client.chat_postMessage(channel="C1", text="x")  # only once
    fake.fail("chat.update", "ratelimited", status=429, retry_after=30)
    err = await api_error(client.chat_update(channel="C1", ts="1.1", text="x"))
    assert err.response.headers["Retry-After"] == "30"
    assert fake.rate_limited["chat.update"] == 1


# ---------------------------------------------------------------- native streaming


async def test_native_streaming(fake: FakeSlack, client: AsyncWebClient, clock: ManualClock) -> None:
    err = await api_error(client.chat_startStream(channel="C1", thread_ts="1.000001"))
    assert err.response["error"] == "missing_recipient_user_id"
    started = await client.chat_startStream(
        channel="C1", thread_ts="1.000001", recipient_user_id="U1", recipient_team_id="T1", markdown_text="Hel"
    )
    ts = started["ts"]
    clock.advance(0.1)
    await client.chat_appendStream(channel="C1", ts=ts, markdown_text="lo")
    err = await api_error(client.chat_update(channel="C1", ts=ts, text="edit while live"))
    assert err.response["error"] == "streaming_state_conflict"
    clock.advance(0.1)
    buttons = [{"type": "actions", "elements": []}]
    await client.chat_stopStream(channel="C1", ts=ts, markdown_text="!", blocks=buttons)
    [msg] = fake.thread("C1", "1.000001")
    assert visible_text(msg) == "Hello!"
    assert msg.visible_history() == [(1000.0, "Hel"), (1000.1, "Hello"), (1000.2, "Hello!")]
    err = await api_error(client.chat_appendStream(channel="C1", ts=ts, markdown_text="more"))
    assert err.response["error"] == "message_not_in_streaming_state"

    # slack_sdk's chat_stream() helper sends `chunks`; a stream past its TTL refuses
    # appends and is finished with chat.update.
    stream = await client.chat_stream(channel="D1", thread_ts="1.000002", buffer_size=1)
    await stream.append(markdown_text="abc")
    [dm] = fake.thread("D1", "1.000002")
    assert dm.text == "abc"
    clock.advance(301)
    err = await api_error(stream.append(markdown_text="def"))
    assert err.response["error"] == "message_not_in_streaming_state"
    await client.chat_update(channel="D1", ts=dm.ts, text="abcdef")
    assert visible_text(dm) == "abcdef"

    fake.native_streaming = False
    err = await api_error(client.chat_startStream(channel="D1", thread_ts="1.000003"))
    assert err.response["error"] == "unknown_method"


async def test_append_stream_bucket(fake: FakeSlack, client: AsyncWebClient) -> None:
    ts = (await client.chat_startStream(channel="D1", thread_ts="1.000001"))["ts"]
    for _ in range(20):
        await client.chat_appendStream(channel="D1", ts=ts, markdown_text="x")
    err = await api_error(client.chat_appendStream(channel="D1", ts=ts, markdown_text="x"))
    assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "1"
    assert fake.messages("D1")[0].text == "x" * 20


# ---------------------------------------------------------------- Socket Mode


async def socket_client(fake: FakeSlack, received: list[SocketModeRequest], *, ack: bool = True) -> SocketModeClient:
    """A real SocketModeClient connected to the fake, recording (and acking) requests."""
    sm = SocketModeClient(app_token="xapp-test", web_client=AsyncWebClient(base_url=fake.api_url, token=TOKEN))

    async def on_request(c: SocketModeClient, req: SocketModeRequest) -> None:
        received.append(req)
        if ack:
            await c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    sm.socket_mode_request_listeners.append(on_request)  # type: ignore[arg-type]
    await sm.connect()
    return sm


async def test_socket_mode_round_trip(fake: FakeSlack, client: AsyncWebClient) -> None:
    err = await api_error(client.apps_connections_open(app_token="xoxb-wrong-kind"))
    assert err.response["error"] == "not_allowed_token_type"

    received: list[SocketModeRequest] = []
    sm = await socket_client(fake, received)
    try:
        await fake.wait_connected(1)
        event = fake.mention_event("U1", "hello", "C1")
        envelope_id = await fake.send_event(event)
        ack = await fake.wait_ack(envelope_id, timeout=5)
        assert ack["envelope_id"] == envelope_id
        [req] = received
        assert req.type == "events_api" and req.retry_attempt == 0
        assert req.payload["event"]["text"] == "<@UBOT> hello"
        assert req.payload["type"] == "event_callback" and req.payload["event_id"].startswith("Ev")
        assert fake.envelopes[envelope_id].acked_at is not None

        # The user's question is part of the thread history now.
        replies = await client.conversations_replies(channel="C1", ts=event["ts"])
        assert replies["messages"][0]["text"] == "<@UBOT> hello"

        click = fake.block_action_payload("U1", "C1", event["ts"], "stop", "answer-1")
        interaction_id = await fake.send_interaction(click)
        await fake.wait_ack(interaction_id)
        assert received[-1].type == "interactive"
        assert received[-1].payload["actions"][0]["action_id"] == "stop"
    finally:
        await sm.close()


async def test_socket_mode_round_robin_and_retries() -> None:
    async with FakeSlack(retry_unacked=True, ack_timeout=0.2, retry_delays=(0.0,)) as fake:
        first: list[SocketModeRequest] = []
        second: list[SocketModeRequest] = []
        a = await socket_client(fake, first, ack=False)
        b = await socket_client(fake, second, ack=False)
        try:
            await fake.wait_connected(2)
            envelope_id = await fake.send_event(fake.message_event("U1", "hi", "D1"), event_id="Ev1")
            for _ in range(100):
                if len(first) + len(second) >= 2:
                    break
                await asyncio.sleep(0.02)
            # Slack sends each envelope to one connection; the unacked one comes back
            # (to the other connection) with the same event_id and retry_attempt 1.
            assert len(first) == 1 and len(second) == 1
            retry = second[0]
            assert retry.payload["event_id"] == first[0].payload["event_id"] == "Ev1"
            assert retry.retry_attempt == 1 and retry.retry_reason == "timeout"
            assert fake.envelopes[envelope_id].ack is None
        finally:
            await a.close()
            await b.close()


# ---------------------------------------------------------------- HTTP events


async def test_signed_http_event_reaches_the_app(fake: FakeSlack) -> None:
    seen: list[dict[str, Any]] = []
    verifier = SignatureVerifier("secret")

    async def handler(request: web.Request) -> web.Response:
        body = await request.text()
        if not verifier.is_valid(
            body, request.headers.get("X-Slack-Request-Timestamp"), request.headers.get("X-Slack-Signature")
        ):
            return web.Response(status=401)
        seen.append({"body": json.loads(body), "retry": request.headers.get("X-Slack-Retry-Num")})
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/slack/events", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        event = fake.mention_event("U1", "hi", "C1")
        assert await fake.post_event(url, event, event_id="Ev9") == 200
        assert seen[0]["body"]["event"] == event and seen[0]["body"]["event_id"] == "Ev9"
        assert seen[0]["retry"] is None
        assert await fake.post_event(url, event, event_id="Ev9", retry_num=1) == 200
        assert seen[1]["retry"] == "1"
        assert await fake.post_event(url, event, secret="wrong") == 401
        assert fake.message("C1", event["ts"]) is not None
        assert [d.status for d in fake.http_deliveries] == [200, 200, 401]
    finally:
        await runner.cleanup()


async def test_bolt_app_over_http(fake: FakeSlack) -> None:
    """A bolt AsyncApp answers a mention in the thread, end to end through the fake."""
    app = AsyncApp(
        client=AsyncWebClient(base_url=fake.api_url, token=TOKEN),
        signing_secret="secret",
        process_before_response=True,
    )
    clicks: list[str] = []

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        await say(text="pong", thread_ts=event["ts"])

    @app.action("stop")
    async def on_stop(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicks.append(body["actions"][0]["value"])

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        event = fake.mention_event("U1", "ping", "C1")
        assert await fake.post_event(url, event) == 200
        [reply] = fake.thread("C1", event["ts"])
        assert reply.text == "pong"
        click = fake.block_action_payload("U1", "C1", reply.ts, "stop", "a1")
        assert await fake.post_interaction(url, click) == 200
        assert clicks == ["a1"]
        assert await fake.post_event(url, event, secret="wrong") == 401
        assert "auth.test" in [c.method for c in fake.calls]
    finally:
        await runner.cleanup()


async def test_echo_events_and_disconnect() -> None:
    async with FakeSlack(echo_events=True) as fake:
        bot = AsyncWebClient(base_url=fake.api_url, token=TOKEN)
        received: list[SocketModeRequest] = []
        sm = await socket_client(fake, received)
        try:
            await fake.wait_connected(1)
            ts = (await bot.chat_postMessage(channel="C1", text="hi"))["ts"]
            await bot.chat_update(channel="C1", ts=ts, text="hi there")
            for _ in range(100):
                if len(received) >= 2:
                    break
                await asyncio.sleep(0.02)
            posted, changed = (r.payload["event"] for r in received)
            assert posted["bot_id"] == "BBOT" and posted["ts"] == ts and "subtype" not in posted
            assert changed["subtype"] == "message_changed" and changed["message"]["text"] == "hi there"
            assert len(fake.messages("C1")) == 1

            # A `disconnect` makes the client open a fresh connection.
            await fake.send_disconnect()
            for _ in range(200):
                if fake.connections_opened >= 2 and fake.connections == 1:
                    break
                await asyncio.sleep(0.02)
            assert fake.connections_opened == 2 and fake.connections == 1
        finally:
            await sm.close()


async def test_stop_with_a_client_still_connected() -> None:
    fake = FakeSlack()
    await fake.start()
    received: list[SocketModeRequest] = []
    sm = await socket_client(fake, received)
    try:
        await fake.wait_connected(1)
        await asyncio.wait_for(fake.stop(), 5)
    finally:
        await sm.close()


# ---------------------------------------------------------------- agent surface: helpers


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for work the app does after its ack (Socket Mode acks first)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


@dataclass
class Served:
    """A bolt app the fake delivers to: over Socket Mode (`url` None) or signed HTTP."""

    fake: FakeSlack
    url: str | None

    async def event(self, event: dict[str, Any]) -> None:
        """Deliver an event and wait until the app has taken it."""
        if self.url is None:
            await self.fake.wait_ack(await self.fake.send_event(event))
        else:
            assert await self.fake.post_event(self.url, event) == 200

    async def interact(self, payload: dict[str, Any]) -> Any:
        """Deliver an interaction; returns the app's answer (ack payload / response body)."""
        if self.url is None:
            ack = await self.fake.wait_ack(await self.fake.send_interaction(payload))
            return ack.get("payload")
        assert await self.fake.post_interaction(self.url, payload) == 200
        body = self.fake.http_deliveries[-1].body
        return json.loads(body) if body else None

    async def command(self, command: str, text: str, *, user: str, channel: str) -> Any:
        """Run a slash command; returns the app's immediate answer (ack payload / response body)."""
        if self.url is None:
            ack = await self.fake.wait_ack(await self.fake.send_command(command, text, user=user, channel=channel))
            return ack.get("payload")
        assert await self.fake.post_command(command, text, user=user, channel=channel, app_url=self.url) == 200
        body = self.fake.http_deliveries[-1].body
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return {"text": body}  # a plain-text answer is a message's text, as on Slack


def bolt_app(fake: FakeSlack) -> AsyncApp:
    """A real bolt AsyncApp whose Web API client talks to the fake."""
    return AsyncApp(
        client=AsyncWebClient(base_url=fake.api_url, token=TOKEN),
        signing_secret="secret",
        process_before_response=True,
    )


@contextlib.asynccontextmanager
async def serve(fake: FakeSlack, app: AsyncApp, mode: str) -> AsyncIterator[Served]:
    """Connect `app` to the fake the way `mode` ("socket" / "http") says."""
    if mode == "socket":
        handler = AsyncSocketModeHandler(
            app, "xapp-test", web_client=AsyncWebClient(base_url=fake.api_url, token=TOKEN)
        )
        await handler.connect_async()
        try:
            await fake.wait_connected(1)
            yield Served(fake, None)
        finally:
            await handler.close_async()
        return
    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Served(fake, f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events")
    finally:
        await runner.cleanup()


MODES = pytest.mark.parametrize("mode", ["socket", "http"])

FEEDBACK = {
    "type": "context_actions",
    "block_id": "feedback",
    "elements": [
        {
            "type": "feedback_buttons",
            "action_id": "answer_feedback",
            "positive_button": {"text": {"type": "plain_text", "text": "👍"}, "value": "good"},
            "negative_button": {"text": {"type": "plain_text", "text": "👎"}, "value": "bad"},
        }
    ],
}


# ---------------------------------------------------------------- assistant thread methods


async def test_assistant_thread_methods_validate_and_record(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    await client.assistant_threads_setStatus(
        channel_id="D1", thread_ts="1.000001", status="is reading…", loading_messages=["Reading", "Thinking"]
    )
    clock.advance(1)
    await client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.000001", status="")  # clears
    assert [(s["status"], s["loading_messages"], s["time"]) for s in fake.statuses] == [
        ("is reading…", ["Reading", "Thinking"], 1000.0),
        ("", None, 1001.0),
    ]
    assert fake.statuses[0]["channel_id"] == fake.statuses[0]["channel"] == "D1"

    await client.assistant_threads_setTitle(channel_id="D1", thread_ts="1.000001", title="Trip planning")
    assert fake.titles == [{"time": 1001.0, "channel_id": "D1", "thread_ts": "1.000001", "title": "Trip planning"}]
    prompts = [{"title": "Summarise", "message": "Summarise this channel"}, {"title": "Ask", "message": "What?"}]
    await client.assistant_threads_setSuggestedPrompts(
        channel_id="D1", thread_ts="1.000001", prompts=prompts, title="Try one"
    )
    [recorded] = fake.suggested_prompts
    assert recorded["prompts"] == prompts and recorded["title"] == "Try one" and recorded["thread_ts"] == "1.000001"

    # Required arguments, as Slack names the refusal (form-encoded too, like api_call sends).
    err = await api_error(client.api_call("assistant.threads.setTitle", params={"channel_id": "D1", "title": "x"}))
    assert err.response["error"] == "invalid_arguments"
    assert "thread_ts" in err.response["response_metadata"]["messages"][0]
    no_title = {"channel_id": "D1", "thread_ts": "1.1"}
    err = await api_error(client.api_call("assistant.threads.setTitle", params=no_title))
    assert err.response["error"] == "invalid_arguments"
    err = await api_error(client.api_call("assistant.threads.setStatus", json={"thread_ts": "1.1", "status": "x"}))
    assert err.response["error"] == "invalid_arguments"
    fake.unknown_channels.add("D404")
    err = await api_error(client.assistant_threads_setTitle(channel_id="D404", thread_ts="1.1", title="x"))
    assert err.response["error"] == "channel_not_found"
    err = await api_error(
        client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.1", status="x", loading_messages=["m"] * 11)
    )
    assert err.response["error"] == "invalid_arguments"
    assert len(fake.statuses) == 2 and len(fake.titles) == 1  # refusals record nothing


@pytest.mark.parametrize(
    "prompts",
    [
        [],
        [{"title": f"t{i}", "message": f"m{i}"} for i in range(5)],
        [{"title": "only a title"}],
        [{"title": "", "message": "empty title"}],
        ["not an object"],
        {"title": "t", "message": "not a list"},
    ],
)
async def test_bad_suggested_prompts_are_refused(fake: FakeSlack, client: AsyncWebClient, prompts: Any) -> None:
    err = await api_error(
        client.assistant_threads_setSuggestedPrompts(channel_id="D1", thread_ts="1.000001", prompts=prompts)
    )
    assert err.response["error"] == "invalid_arguments"
    assert err.response["response_metadata"]["messages"]
    assert fake.suggested_prompts == []


async def test_assistant_methods_have_tier4_buckets_and_keep_the_scope_switch(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    for i in range(20):  # Tier 4: a burst of 20 for the workspace...
        await client.assistant_threads_setTitle(channel_id=f"D{i % 3}", thread_ts="1.000001", title=f"t{i}")
    err = await api_error(client.assistant_threads_setTitle(channel_id="D9", thread_ts="1.000001", title="late"))
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert err.response.headers["Retry-After"] == "1"  # ...then 100/min: 0.6 s, rounded up
    assert fake.rate_limited["assistant.threads.setTitle"] == 1 and len(fake.titles) == 20
    # Each method has its own bucket.
    await client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.000001", status="still fine")
    clock.advance(0.6)
    await client.assistant_threads_setTitle(channel_id="D9", thread_ts="1.000001", title="after the wait")

    fake.assistant_scope = False
    err = await api_error(
        client.assistant_threads_setSuggestedPrompts(
            channel_id="D1", thread_ts="1.000001", prompts=[{"title": "a", "message": "b"}]
        )
    )
    assert err.response["error"] == "missing_scope" and err.response["needed"] == "assistant:write"

    async with FakeSlack(clock=clock, method_limits={"assistant.threads.setStatus": (2, 60)}) as strict:
        small = AsyncWebClient(base_url=strict.api_url, token=TOKEN)
        for _ in range(2):
            await small.assistant_threads_setStatus(channel_id="D1", thread_ts="1.000001", status="x")
        err = await api_error(small.assistant_threads_setStatus(channel_id="D1", thread_ts="1.000001", status="x"))
        assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "1"


# ---------------------------------------------------------------- assistant events and bolt's AsyncAssistant


@MODES
async def test_bolt_assistant_gets_thread_started_and_user_message(fake: FakeSlack, mode: str) -> None:
    app = bolt_app(fake)
    assistant = AsyncAssistant()
    started: list[dict[str, Any]] = []
    seen: list[tuple[str, Any]] = []

    @assistant.thread_started
    async def on_started(payload: dict[str, Any], say: Any, set_suggested_prompts: Any) -> None:
        started.append(payload)
        await say("Hi! What can I do?")
        await set_suggested_prompts(prompts=[{"title": "Summarise", "message": "Summarise the channel"}], title="Try")

    @assistant.user_message
    async def on_message(
        payload: dict[str, Any], say: Any, set_status: Any, set_title: Any, get_thread_context: Any
    ) -> None:
        await set_status("is thinking…", loading_messages=["Reading the channel"])
        await set_title(payload["text"])
        context = await get_thread_context()
        seen.append((payload["text"], context))
        await say(f"echo: {payload['text']}")

    app.use(assistant)
    async with serve(fake, app, mode) as served:
        event = fake.assistant_thread_started_event("U1", context_channel="C1")
        thread = event["assistant_thread"]
        channel, thread_ts = thread["channel_id"], thread["thread_ts"]
        assert channel.startswith("D") and channel == fake.dm_channel("U1")
        assert thread["context"] == {"channel_id": "C1", "team_id": "T1", "enterprise_id": None}
        await served.event(event)
        await eventually(lambda: len(fake.suggested_prompts) == 1)
        assert started and started[0]["assistant_thread"]["thread_ts"] == thread_ts
        assert fake.suggested_prompts[0]["prompts"] == [{"title": "Summarise", "message": "Summarise the channel"}]
        assert (fake.suggested_prompts[0]["channel_id"], fake.suggested_prompts[0]["thread_ts"]) == (channel, thread_ts)

        question = fake.message_event("U1", "plan my trip", channel, thread_ts=thread_ts)
        assert is_user_message_event_in_assistant_thread(fake.event_callback(question))
        await served.event(question)
        await eventually(lambda: len(fake.thread(channel, thread_ts)) == 2)

    assert [m.text for m in fake.thread(channel, thread_ts)] == ["Hi! What can I do?", "echo: plan my trip"]
    # The thread context bolt saved in the first reply's metadata came back via conversations.replies.
    assert seen == [("plan my trip", {"channel_id": "C1", "team_id": "T1", "enterprise_id": None})]
    assert fake.statuses[-1]["status"] == "is thinking…" and fake.statuses[-1]["thread_ts"] == thread_ts
    assert fake.statuses[-1]["loading_messages"] == ["Reading the channel"]
    assert fake.titles[-1]["title"] == "plan my trip"
    parent = fake.message(channel, thread_ts)
    assert parent is not None and parent.subtype == "assistant_app_thread"
    assert parent.extra["assistant_app_thread"]["title"] == "plan my trip"


async def test_assistant_context_change_is_saved_by_bolt(fake: FakeSlack, client: AsyncWebClient) -> None:
    app = bolt_app(fake)
    assistant = AsyncAssistant()

    @assistant.thread_started
    async def on_started(say: Any) -> None:
        await say("Hello")

    app.use(assistant)  # bolt's default context_changed handler saves the new context
    async with serve(fake, app, "socket") as served:
        started = fake.assistant_thread_started_event("U2")
        assert started["assistant_thread"]["context"] == {}
        channel = started["assistant_thread"]["channel_id"]
        thread_ts = started["assistant_thread"]["thread_ts"]
        await served.event(started)
        await eventually(lambda: len(fake.thread(channel, thread_ts)) == 1)
        changed = fake.assistant_thread_context_changed_event(channel, thread_ts, "U2", context_channel="C7")
        assert changed["type"] == "assistant_thread_context_changed"
        await served.event(changed)
        await eventually(lambda: bool(fake.calls_to("chat.update")))

    [reply] = fake.thread(channel, thread_ts)
    assert reply.metadata == {
        "event_type": "assistant_thread_context",
        "event_payload": {"channel_id": "C7", "team_id": "T1", "enterprise_id": None},
    }
    replies = await client.conversations_replies(channel=channel, ts=thread_ts, include_all_metadata=True)
    assert replies["messages"][0]["subtype"] == "assistant_app_thread"
    assert replies["messages"][1]["metadata"]["event_payload"]["channel_id"] == "C7"
    plain = await client.conversations_replies(channel=channel, ts=thread_ts)
    assert "metadata" not in plain["messages"][1]
    opened = await client.conversations_open(users="U2")
    assert opened["channel"]["id"] == channel


# ---------------------------------------------------------------- slash commands


@MODES
async def test_slash_command_ack_body_and_response_url(fake: FakeSlack, mode: str) -> None:
    app = bolt_app(fake)
    received: list[dict[str, Any]] = []

    @app.command("/ask")
    async def on_ask(ack: Any, command: dict[str, Any], respond: Any) -> None:
        received.append(command)
        await ack(text=f"Thinking about: {command['text']}")
        await respond(text="Here is the answer.", response_type="in_channel")

    async with serve(fake, app, mode) as served:
        answer = await served.command("/ask", "why is the sky blue?", user="U1", channel="C1")
        assert answer == {"text": "Thinking about: why is the sky blue?"}
        await eventually(lambda: len(fake.messages("C1")) == 1)
        await served.command("/ask", "in private", user="U1", channel=fake.dm_channel("U1"))

    first, dm = received
    assert {k: first[k] for k in ("command", "text", "user_id", "channel_id", "team_id", "api_app_id")} == {
        "command": "/ask",
        "text": "why is the sky blue?",
        "user_id": "U1",
        "channel_id": "C1",
        "team_id": "T1",
        "api_app_id": "A1",
    }
    assert first["channel_name"] == "c1" and dm["channel_name"] == "directmessage"
    assert first["response_url"].startswith(fake.base_url) and first["trigger_id"] and first["team_domain"]
    assert first["user_name"] and first["token"]
    assert fake.commands == received
    # The ack is shown to the user alone; the response_url's in_channel reply is a message.
    ack_shown = [e for e in fake.ephemerals if e.get("via") == "ack"]
    assert ack_shown[0]["text"] == "Thinking about: why is the sky blue?" and ack_shown[0]["user"] == "U1"
    [posted] = fake.messages("C1")
    assert posted.text == "Here is the answer." and posted.is_bot
    assert [r["via"] for r in fake.responses].count("response_url") == 2


async def test_response_url_limits(fake: FakeSlack, clock: ManualClock) -> None:
    payload = fake.command_payload("/ask", "x", user="U1", channel="C1")
    hook = AsyncWebhookClient(payload["response_url"])
    for i in range(5):
        assert (await hook.send(text=f"update {i}")).status_code == 200
    used = await hook.send(text="sixth")
    assert (used.status_code, used.body) == (404, "used_url")
    assert (await AsyncWebhookClient(payload["response_url"]).send(text="")).status_code == 404  # still used up
    fresh = AsyncWebhookClient(fake.command_payload("/ask", "y", user="U1", channel="C1")["response_url"])
    assert (await fresh.send(text="")).body == "no_text"
    clock.advance(1801)
    expired = await fresh.send(text="too late")
    assert (expired.status_code, expired.body) == (404, "expired_url")
    assert [e["text"] for e in fake.ephemerals] == [f"update {i}" for i in range(5)]


# ---------------------------------------------------------------- shortcuts and modals


def modal(callback_id: str = "summary", **extra: Any) -> dict[str, Any]:
    """A small modal with one text input."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": "Summarise"},
        "submit": {"type": "plain_text", "text": "Go"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "focus",
                "label": {"type": "plain_text", "text": "Focus on"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
        **extra,
    }


@MODES
async def test_message_shortcut_modal_and_view_submission(fake: FakeSlack, mode: str) -> None:
    app = bolt_app(fake)
    submitted: list[dict[str, Any]] = []
    message = fake.message_event("U2", "a long discussion", "C1", thread_ts="1700000000.000001")
    fake.store_event(message)

    @app.shortcut("summarise")
    async def on_shortcut(ack: Any, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        where = json.dumps({"channel": shortcut["channel"]["id"], "ts": shortcut["message_ts"]})
        await client.views_open(trigger_id=shortcut["trigger_id"], view=modal(private_metadata=where))

    @app.view("summary")
    async def on_submit(ack: Any, view: dict[str, Any]) -> None:
        focus = view["state"]["values"]["focus"]["text"]["value"]
        if not focus.strip():
            await ack(response_action="errors", errors={"focus": "Say what to focus on"})
            return
        await ack()
        submitted.append({"focus": focus, "where": json.loads(view["private_metadata"]), "id": view["id"]})

    async with serve(fake, app, mode) as served:
        shortcut = fake.message_shortcut_payload("summarise", channel="C1", message_ts=message["ts"], user="U1")
        assert shortcut["type"] == "message_action" and shortcut["message"]["text"] == "a long discussion"
        assert shortcut["message"]["thread_ts"] == "1700000000.000001" and shortcut["channel"]["id"] == "C1"
        assert await served.interact(shortcut) is None
        await eventually(lambda: len(fake.views) == 1)
        [view] = fake.views
        assert view["id"].startswith("V") and view["callback_id"] == "summary"

        empty = fake.view_submission_payload(view["id"], {"focus": {"text": " "}}, user="U1")
        refused = await served.interact(empty)
        assert refused == {"response_action": "errors", "errors": {"focus": "Say what to focus on"}}
        assert submitted == []
        done = fake.view_submission_payload(view["id"], {"focus": {"text": "decisions"}}, user="U1")
        assert await served.interact(done) is None

    assert submitted == [{"focus": "decisions", "where": {"channel": "C1", "ts": message["ts"]}, "id": view["id"]}]


async def test_views_open_triggers_and_view_checks(fake: FakeSlack, client: AsyncWebClient, clock: ManualClock) -> None:
    fake.store_event(fake.message_event("U1", "hi", "C1", ts="1700000000.000001"))

    def trigger() -> str:
        payload = fake.message_shortcut_payload("s", channel="C1", message_ts="1700000000.000001", user="U1")
        return str(payload["trigger_id"])

    expired = trigger()
    clock.advance(3.1)  # Slack's triggers last 3 seconds
    err = await api_error(client.views_open(trigger_id=expired, view=modal()))
    assert err.response["error"] == "expired_trigger_id"
    err = await api_error(client.views_open(trigger_id="123.456.abc", view=modal()))
    assert err.response["error"] == "invalid_trigger_id"

    bad_views = {
        "invalid_arguments": [
            modal(title={"type": "plain_text", "text": "x" * 25}),
            modal(title={"type": "mrkdwn", "text": "*bold*"}),
            modal(submit=None),  # inputs need a submit button
            modal(private_metadata="m" * 3001),
            {**modal(), "type": "home"},
            {k: v for k, v in modal().items() if k != "blocks"},
        ],
        "view_too_large": [modal(blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "z" * 3000}}] * 90)],
    }
    for error, views in bad_views.items():
        for view in views:
            err = await api_error(client.views_open(trigger_id=trigger(), view=view))
            assert err.response["error"] == error, view
    assert fake.views == []

    good = trigger()
    opened = await client.views_open(trigger_id=good, view=modal(private_metadata="m" * 3000))
    assert opened["view"]["id"] == fake.views[0]["id"] and opened["view"]["private_metadata"] == "m" * 3000
    assert opened["view"]["state"] == {"values": {}} and opened["view"]["title"]["text"] == "Summarise"
    err = await api_error(client.views_open(trigger_id=good, view=modal()))
    assert err.response["error"] == "exchanged_trigger_id"  # a trigger opens one view
    # A slash command's trigger works too.
    command = fake.command_payload("/ask", "", user="U1", channel="C1")
    await client.views_open(trigger_id=command["trigger_id"], view=modal())
    assert len(fake.views) == 2
    with pytest.raises(KeyError):
        fake.view_submission_payload("V404", {}, user="U1")


# ---------------------------------------------------------------- feedback buttons


async def test_feedback_blocks_are_validated(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="answer", blocks=[FEEDBACK])
    assert posted["message"]["blocks"] == [FEEDBACK]
    buttons = FEEDBACK["elements"][0]
    mrkdwn_button = {"text": {"type": "mrkdwn", "text": "y"}, "value": "g"}
    broken = [
        {**FEEDBACK, "elements": []},
        {**FEEDBACK, "elements": [{k: v for k, v in buttons.items() if k != "negative_button"}]},
        {**FEEDBACK, "elements": [{**buttons, "positive_button": mrkdwn_button}]},
        {**FEEDBACK, "elements": [{**buttons, "negative_button": {"text": {"type": "plain_text", "text": "n"}}}]},
        {**FEEDBACK, "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b"}}]},
        {**FEEDBACK, "elements": [buttons] * 6},
    ]
    for i, block in enumerate(broken):  # a channel each: chat.postMessage's bucket is per channel
        err = await api_error(client.chat_postMessage(channel=f"C{10 + i}", text="x", blocks=[block]))
        assert err.response["error"] == "invalid_blocks", block
        assert err.response["response_metadata"]["messages"]
    err = await api_error(client.chat_update(channel="C1", ts=posted["ts"], text="x", blocks=[broken[1]]))
    assert err.response["error"] == "invalid_blocks"
    ts = (await client.chat_startStream(channel="D1", thread_ts="1.000001", markdown_text="hi"))["ts"]
    err = await api_error(client.chat_stopStream(channel="D1", ts=ts, blocks=[broken[3]]))
    assert err.response["error"] == "invalid_blocks"
    stopped = await client.chat_stopStream(channel="D1", ts=ts, blocks=[FEEDBACK])
    assert stopped["message"]["blocks"] == [FEEDBACK]
    assert len(fake.messages("C1")) == 1


@MODES
async def test_feedback_click_reaches_app_action(fake: FakeSlack, client: AsyncWebClient, mode: str) -> None:
    app = bolt_app(fake)
    clicks: list[dict[str, Any]] = []

    @app.action("answer_feedback")
    async def on_feedback(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        clicks.append({"action": action, "container": body["container"], "user": body["user"]["id"]})

    question = fake.mention_event("U1", "question", "C1")
    fake.store_event(question)
    answer = await client.chat_postMessage(channel="C1", text="answer", thread_ts=question["ts"], blocks=[FEEDBACK])
    async with serve(fake, app, mode) as served:
        click = fake.feedback_click_payload("C1", answer["ts"], user="U1", value="bad", action_id="answer_feedback")
        assert click["type"] == "block_actions" and click["message"]["ts"] == answer["ts"]
        assert click["channel"]["id"] == "C1" and click["team"]["id"] == "T1"
        await served.interact(click)
        await eventually(lambda: len(clicks) == 1)

    [seen] = clicks
    assert seen["action"]["type"] == "feedback_buttons" and seen["action"]["value"] == "bad"
    assert seen["action"]["block_id"] == "feedback" and seen["action"]["text"]["text"] == "👎"
    assert seen["container"] == {
        "type": "message",
        "message_ts": answer["ts"],
        "channel_id": "C1",
        "is_ephemeral": False,
        "thread_ts": question["ts"],
    }
    assert seen["user"] == "U1"
    with pytest.raises(ValueError):  # no such button on screen
        fake.feedback_click_payload("C1", answer["ts"], user="U1", value="meh", action_id="answer_feedback")


# ---------------------------------------------------------------- history for summaries


async def test_a_200_message_thread_pages_like_slack(fake: FakeSlack, client: AsyncWebClient) -> None:
    thread_ts = fake.seed_thread("C1", 200, users=("U1", "U2", "U3"))
    assert len(fake.messages("C1")) == 200

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        more = {"cursor": cursor} if cursor else {}
        page = await client.conversations_replies(channel="C1", ts=thread_ts, limit=50, **more)
        pages += 1
        seen.extend(page["messages"])
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert pages == 4
    assert [m["text"] for m in seen] == [f"message {i}" for i in range(200)]
    assert seen[0]["ts"] == thread_ts and seen[0]["reply_count"] == 199
    assert all(m["thread_ts"] == thread_ts for m in seen) and {m["user"] for m in seen} == {"U1", "U2", "U3"}

    whole = await client.conversations_replies(channel="C1", ts=thread_ts)  # default limit 1000
    assert len(whole["messages"]) == 200 and whole["has_more"] is False
    err = await api_error(client.conversations_replies(channel="C1", ts=thread_ts, cursor="not-a-cursor"))
    assert err.response["error"] == "invalid_cursor"
    later = await client.conversations_replies(channel="C1", ts=thread_ts, oldest=seen[197]["ts"])
    assert [m["text"] for m in later["messages"]] == ["message 198", "message 199"]

    fake.not_in_channels.add("C1")
    err = await api_error(client.conversations_replies(channel="C1", ts=thread_ts))
    assert err.response["error"] == "not_in_channel"
    err = await api_error(client.conversations_history(channel="C1"))
    assert err.response["error"] == "not_in_channel"


async def test_history_pages_newest_first(fake: FakeSlack, client: AsyncWebClient) -> None:
    stamps = fake.seed_messages("C2", 250, text="top {i}")
    first = await client.conversations_history(channel="C2")  # Slack's default page: 100
    assert len(first["messages"]) == 100 and first["has_more"] is True
    assert first["messages"][0]["ts"] == stamps[-1]  # newest first
    second = await client.conversations_history(channel="C2", cursor=first["response_metadata"]["next_cursor"])
    third = await client.conversations_history(
        channel="C2", cursor=second["response_metadata"]["next_cursor"], limit=5000
    )
    texts = [m["text"] for m in first["messages"] + second["messages"] + third["messages"]]
    assert texts == [f"top {i}" for i in reversed(range(250))]
    assert third["has_more"] is False and third["response_metadata"]["next_cursor"] == ""
    window = await client.conversations_history(channel="C2", oldest=stamps[10], latest=stamps[12], inclusive=True)
    assert [m["text"] for m in window["messages"]] == ["top 12", "top 11", "top 10"]


async def test_history_buckets_only_through_method_limits(clock: ManualClock) -> None:
    async with FakeSlack(clock=clock) as plain:
        client = AsyncWebClient(base_url=plain.api_url, token=TOKEN)
        thread_ts = plain.seed_thread("C1", 3)
        for _ in range(60):  # no bucket by default
            await client.conversations_replies(channel="C1", ts=thread_ts)
        assert plain.rate_limited["conversations.replies"] == 0

    async with FakeSlack(
        clock=clock, method_limits={"conversations.replies": (2, 50), "conversations.history": (1, 50)}
    ) as tier3:
        client = AsyncWebClient(base_url=tier3.api_url, token=TOKEN)
        thread_ts = tier3.seed_thread("C1", 3)
        for _ in range(2):
            await client.conversations_replies(channel="C1", ts=thread_ts)
        err = await api_error(client.conversations_replies(channel="C1", ts=thread_ts))
        assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "2"  # 1.2 s
        await client.conversations_history(channel="C1")
        err = await api_error(client.conversations_history(channel="C1"))
        assert err.response.status_code == 429
        assert tier3.rate_limited == {"conversations.replies": 1, "conversations.history": 1}
