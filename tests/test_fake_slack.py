"""FakeSlack driven by the real slack_sdk / slack_bolt clients.

Why: the Slack bot's tests and benchmarks trust this fake to behave like Slack (rate
limits, errors, Socket Mode acks, signatures). These tests pin that behaviour with the
same client code the bot uses, so a fake that drifted from what the SDK expects fails here
rather than making the bot's tests lie.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

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


async def test_post_message_bucket_is_per_channel(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
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


async def socket_client(
    fake: FakeSlack, received: list[SocketModeRequest], *, ack: bool = True
) -> SocketModeClient:
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
