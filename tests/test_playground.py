"""The playground server, driven over real WebSockets against the fake model server.

Each test is one tab (or two) in the shared channel: what they send, what every tab sees.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bots.context import ServiceContext
from bots.metrics import Metrics
from bots.playground.channel import Channel
from bots.playground.feedback import ALREADY, NO_ANSWER, NO_VERDICT, NOT_ENDED, THANKS
from bots.playground.service import STATIC, Playground, build_app, question_in, setup
from bots.playground.surface import INDICATOR, PLACEHOLDER, AnswerStats, PlaygroundSurface, channel_budget
from bots.settings import Settings
from core.assistant import Assistant
from core.conversation.suggestions import GREETING, title_for
from core.question import USAGE_HINT
from core.sources.factory import build_source
from core.state.store import MemoryState
from tests.fakes.openai_server import FakeOpenAI, script_from_text

POEM = (
    "Rain on the window,\nletters of light on the glass —\n"
    "the kettle **sings** back.\n\nA `cursor` blinks, and the *answer* grows."
)
LONG = " ".join(f"word{i}" for i in range(400))

Socket = aiohttp.ClientWebSocketResponse


@pytest.fixture
async def assistant(fake_openai: FakeOpenAI) -> AsyncIterator[Assistant]:
    settings = Settings.from_mapping({"OPENAI_BASE_URL": fake_openai.base_url, "TRICKLE_EDIT_INTERVAL": "0.05"})
    source = build_source(settings)
    try:
        yield Assistant(source=source, settings=settings)
    finally:
        await source.aclose()


@pytest.fixture
async def client(assistant: Assistant) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(Playground(assistant)))) as test_client:
        yield test_client


async def join(client: TestClient) -> Socket:
    """Open a tab and swallow the history it gets first."""
    socket, _ = await join_as(client)
    return socket


async def join_as(client: TestClient, key: str | None = None) -> tuple[Socket, dict[str, str]]:
    """Open a tab (resuming `key`'s identity if given): its socket and who it was told it is."""
    socket = await client.ws_connect("/ws", params={"key": key} if key else None)
    first = await socket.receive_json(timeout=5)
    assert first["type"] == "history"
    return socket, first["you"]


async def say(socket: Socket, name: str, text: str) -> None:
    await socket.send_json({"type": "say", "name": name, "text": text})


async def next_event(socket: Socket, kind: str | None = None, timeout: float = 10) -> dict[str, Any]:
    while True:
        event = await socket.receive_json(timeout=timeout)
        if kind is None or event["type"] == kind:
            return event


async def answer_events(socket: Socket, timeout: float = 15, answers: int = 1) -> list[dict[str, Any]]:
    """The bot's events up to the one carrying the final figures of `answers` answers."""
    events: list[dict[str, Any]] = []
    ended: set[str] = set()
    async with asyncio.timeout(timeout):
        while True:
            event = await socket.receive_json()
            if event["type"].startswith("message.") and event["bot"]:
                events.append(event)
                if event["final"] and event["stats"]["end"] is not None:
                    ended.add(event["answer_id"])
                    if len(ended) == answers:
                        return events


async def wait_for(condition: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# -- asking ----------------------------------------------------------------------------------
async def test_a_question_streams_into_a_placeholder_and_ends_with_the_exact_text(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text(POEM, delay=0.02))
    ada = await join(client)
    await say(ada, "ada", "@trickle write a poem")
    human = await next_event(ada, "message.create")
    assert (human["author"], human["bot"], human["text"]) == ("ada", False, "@trickle write a poem")

    events = await answer_events(ada)
    assert events[0]["type"] == "message.create"
    assert events[0]["text"] == PLACEHOLDER and not events[0]["final"]
    assert {e["id"] for e in events} == {events[0]["id"]}
    assert {e["answer_id"] for e in events} == {events[0]["answer_id"]}
    interim = [e["text"] for e in events[1:] if not e["final"]]
    assert len(set(interim)) >= 3, interim
    for text in interim:
        assert text.endswith(INDICATOR)
        assert POEM.startswith(text[: -len(INDICATOR)])
    finals = [e for e in events if e["final"]]
    assert {e["text"] for e in finals} == {POEM}
    stats = events[-1]["stats"]
    assert stats["end"] == "stop"
    assert stats["tokens"] == len(fake_openai.emitted)
    assert stats["ttft_s"] is not None and stats["ttft_s"] > 0
    assert stats["tokens_per_s"] is not None and stats["tokens_per_s"] > 0
    assert stats["edits"] == len(events) - 2  # all but the placeholder and the figures


async def test_slash_ask_asks_too(client: TestClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script_queue.append(script_from_text("Yes."))
    ada = await join(client)
    await say(ada, "ada", "/ask is this on?")
    events = await answer_events(ada)
    assert events[-1]["text"] == "Yes."
    assert fake_openai.requests[0]["messages"][-1] == {"role": "user", "content": "is this on?"}


async def test_an_empty_question_gets_the_usage_hint_and_no_model_call(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    ada = await join(client)
    await say(ada, "ada", "@trickle   ")
    assert (await next_event(ada))["type"] == "message.create"
    hint = await next_event(ada)
    assert hint == {"type": "notice", "text": USAGE_HINT}
    await asyncio.sleep(0.1)
    assert fake_openai.requests == []


async def test_other_text_is_just_a_message(client: TestClient, fake_openai: FakeOpenAI) -> None:
    ada = await join(client)
    await say(ada, "ada", "lunch at noon? <b>not bold</b>")
    event = await next_event(ada)
    assert event["type"] == "message.create" and event["text"] == "lunch at noon? <b>not bold</b>"
    with pytest.raises(asyncio.TimeoutError):
        await ada.receive_json(timeout=0.2)
    assert fake_openai.requests == []


# -- stopping --------------------------------------------------------------------------------
async def test_the_asker_stops_their_answer_and_the_model_stream_is_closed(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text(LONG, delay=0.02))
    ada = await join(client)
    await say(ada, "ada", "@trickle write a long essay")
    await next_event(ada, "message.create")
    while True:  # wait until some answer text is showing
        event = await next_event(ada)
        if event.get("bot") and event["text"].endswith(INDICATOR):
            break
    await ada.send_json({"type": "stop", "name": "ada", "answer_id": event["answer_id"]})
    events = await answer_events(ada)
    final = events[-1]["text"]
    assert final.endswith("\n\n_(stopped by ada)_")
    assert LONG.startswith(final.removesuffix("\n\n_(stopped by ada)_"))
    assert events[-1]["stats"]["end"] == "stopped"
    await wait_for(lambda: len(fake_openai.disconnects) == 1)
    assert fake_openai.completed == []


async def test_someone_else_cannot_stop_an_answer_even_by_sending_the_askers_name(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text(POEM, delay=0.03))
    (ada, ada_is), (grace, _) = await join_as(client), await join_as(client)
    await say(ada, "ada", "@trickle write a poem")
    placeholder = await next_event(grace, "message.create")  # ada's message
    placeholder = await next_event(grace, "message.create")
    assert placeholder["bot"] and placeholder["asker"] == "ada"
    assert placeholder["asker_id"] == ada_is["id"]
    await grace.send_json({"type": "stop", "name": "ada", "answer_id": placeholder["answer_id"]})
    refused = await next_event(grace, "notice")
    assert refused["text"] == "Only ada can stop this answer."
    events = await answer_events(ada)
    assert events[-1]["text"] == POEM
    assert fake_openai.disconnects == []


async def test_every_connection_is_its_own_person(client: TestClient) -> None:
    (_, first), (_, second) = await join_as(client), await join_as(client)
    assert first["id"] != second["id"] and first["key"] != second["key"]
    assert first["id"].startswith("tab-") and first["name"].startswith("guest-")
    assert first["key"] not in first["id"]


async def test_two_tabs_with_one_name_are_still_two_people(client: TestClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script_queue.append(script_from_text(LONG, delay=0.02))
    ada, copy = await join(client), await join(client)  # e.g. a duplicated tab
    await say(ada, "ada", "@trickle write a long essay")
    await next_event(copy, "message.create")
    placeholder = await next_event(copy, "message.create")
    await copy.send_json({"type": "stop", "name": "ada", "answer_id": placeholder["answer_id"]})
    assert (await next_event(copy, "notice"))["text"] == "Only ada can stop this answer."
    await ada.send_json({"type": "stop", "name": "ada", "answer_id": placeholder["answer_id"]})
    events = await answer_events(ada)
    assert events[-1]["stats"]["end"] == "stopped"


async def test_a_tab_that_reconnects_with_its_key_can_still_stop_its_answer(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text(LONG, delay=0.02))
    ada, ada_is = await join_as(client)
    await say(ada, "ada", "@trickle write a long essay")
    await next_event(ada, "message.create")
    placeholder = await next_event(ada, "message.create")
    await ada.close()
    _stranger, stranger_is = await join_as(client, key="not-a-key-it-was-given")
    assert stranger_is["id"] != ada_is["id"]
    back, back_is = await join_as(client, key=ada_is["key"])
    assert back_is["id"] == ada_is["id"]
    await back.send_json({"type": "stop", "name": "ada", "answer_id": placeholder["answer_id"]})
    events = await answer_events(back)
    assert events[-1]["text"].endswith("_(stopped by ada)_")


async def test_stopping_an_answer_that_has_ended_says_so(client: TestClient) -> None:
    ada = await join(client)
    await ada.send_json({"type": "stop", "name": "ada", "answer_id": "gone"})
    assert (await next_event(ada, "notice"))["text"] == "That answer has already ended."


async def test_a_second_question_from_the_same_person_waits_its_turn(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.extend([script_from_text(POEM, delay=0.02), script_from_text("Second.")])
    ada = await join(client)
    await say(ada, "ada", "@trickle write a poem")
    await say(ada, "ada", "@trickle and another")
    events = await answer_events(ada, answers=2)
    finals = {e["answer_id"]: e["text"] for e in events if e["final"]}
    assert sorted(finals.values()) == sorted([POEM, "Second."])
    assert len({e["id"] for e in events}) == 2  # one message each
    second = next(e["answer_id"] for e in events if e["final"] and e["text"] == "Second.")
    shown_while_waiting = [e["text"] for e in events if e["answer_id"] == second and not e["final"]]
    assert any("queued" in text for text in shown_while_waiting), shown_while_waiting
    # The assistant queues one person's questions: the model heard the second only
    # after it had finished the first.
    first, second = (
        [at for completion, _, at, _ in fake_openai.emitted if completion == c]
        for c in ("chatcmpl-fake1", "chatcmpl-fake2")
    )
    assert max(first) < min(second)


# -- the shared channel ------------------------------------------------------------------------
async def test_two_tabs_see_the_same_events(client: TestClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script_queue.append(script_from_text(POEM, delay=0.02))
    ada, grace = await join(client), await join(client)
    await say(ada, "ada", "@trickle write a poem")
    seen_by_ada, seen_by_grace = await asyncio.gather(answer_events(ada), answer_events(grace))
    assert seen_by_ada == seen_by_grace
    assert seen_by_grace[-1]["text"] == POEM


async def test_a_new_tab_gets_the_channel_so_far(client: TestClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script_queue.append(script_from_text(POEM))
    ada = await join(client)
    await say(ada, "ada", "@trickle write a poem")
    await answer_events(ada)
    late = await client.ws_connect("/ws")
    history = await late.receive_json(timeout=5)
    assert history["type"] == "history"
    assert [(m["author"], m["text"]) for m in history["messages"]] == [
        ("ada", "@trickle write a poem"),
        ("trickle", POEM),
    ]


async def test_the_model_sees_the_recent_channel(client: TestClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script_queue.extend([script_from_text("Noon works."), script_from_text("Pizza.")])
    ada = await join(client)
    await say(ada, "grace", "lunch at noon?")
    await say(ada, "ada", "@trickle does noon work?")
    await answer_events(ada)
    await say(ada, "ada", "@trickle what should we eat?")
    await answer_events(ada)
    messages = fake_openai.requests[1]["messages"]
    assert messages[0]["role"] == "system"
    assert messages[1:] == [
        {"role": "user", "content": "grace: lunch at noon?"},
        {"role": "user", "content": "ada: @trickle does noon work?"},
        {"role": "assistant", "content": "Noon works."},
        {"role": "user", "content": "what should we eat?"},
    ]


async def test_a_page_of_another_site_cannot_open_the_socket(client: TestClient) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403


async def test_the_page_and_its_files_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = await client.get("/")
    assert page.status == 200 and "#playground" in await page.text()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for name in ("app.js", "style.css"):
        assert (await client.get(f"/static/{name}")).status == 200
    assert (await client.get("/static/../service.py")).status == 404


def test_the_composer_is_the_first_text_field_on_the_page() -> None:
    """Scripts that drive the page pick `input, textarea`: that must be the message box."""
    fields: list[dict[str, str | None]] = []

    class Fields(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in {"input", "textarea"}:
                fields.append({"tag": tag, **dict(attrs)})

    Fields().feed((STATIC / "index.html").read_text())
    first = fields[0]
    assert (first["tag"], first["id"], first["name"]) == ("textarea", "input", "message")
    assert first["aria-label"] and (first["placeholder"] or "").startswith("Ask @trickle")


# -- what Slack's AI-app pane adds: suggested prompts, a title, feedback -----------------------
PROMPTS = "Rain haiku | @trickle write a haiku about rain; Lunch | what should we eat today?"


@pytest.fixture
async def ctx(fake_openai: FakeOpenAI) -> AsyncIterator[ServiceContext]:
    """A service context as `trickle playground` builds one, with prompts of our own."""
    settings = Settings.from_mapping(
        {
            "OPENAI_BASE_URL": fake_openai.base_url,
            "TRICKLE_EDIT_INTERVAL": "0.05",
            "TRICKLE_SUGGESTED_PROMPTS": PROMPTS,
        }
    )
    source = build_source(settings)
    try:
        yield ServiceContext(
            settings=settings,
            assistant=Assistant(source=source, settings=settings),
            state=MemoryState(),
            metrics=Metrics(),
            stopping=asyncio.Event(),
            web_app=web.Application(),
        )
    finally:
        await source.aclose()


@pytest.fixture
async def served(ctx: ServiceContext) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(Playground.serving(ctx)))) as test_client:
        yield test_client


async def first_frame(client: TestClient, key: str | None = None) -> tuple[Socket, dict[str, Any]]:
    """Open a tab: its socket and the whole `history` event it got first."""
    socket = await client.ws_connect("/ws", params={"key": key} if key else None)
    history = await socket.receive_json(timeout=5)
    assert history["type"] == "history"
    return socket, history


async def until_answered(socket: Socket, timeout: float = 15) -> list[dict[str, Any]]:
    """Every event a tab gets up to the one carrying an answer's final figures."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            events.append(event := await socket.receive_json())
            if event["type"].startswith("message.") and event["bot"] and event["final"] and event["stats"]["end"]:
                return events


def feedback_count(ctx: ServiceContext, verdict: str) -> float:
    value = ctx.metrics.registry.get_sample_value(
        "trickle_feedback_total", {"platform": "playground", "verdict": verdict}
    )
    return value or 0.0


async def quiet(socket: Socket, seconds: float = 0.2) -> None:
    """Nothing more arrives at this tab for a while."""
    with pytest.raises(asyncio.TimeoutError):
        await socket.receive_json(timeout=seconds)


async def test_an_empty_channel_offers_the_greeting_and_the_configured_prompts(
    served: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text("Soup."))
    ada, history = await first_frame(served)
    assert history["messages"] == [] and history["title"] is None
    assert history["suggestions"] == {
        "greeting": GREETING,
        "prompts": [
            {
                "title": "Rain haiku",
                "message": "@trickle write a haiku about rain",
                "text": "@trickle write a haiku about rain",
            },
            {"title": "Lunch", "message": "what should we eat today?", "text": "@trickle what should we eat today?"},
        ],
    }
    # Clicking "Lunch" posts its text as the person's message; the model hears its message.
    await say(ada, "ada", history["suggestions"]["prompts"][1]["text"])
    events = await until_answered(ada)
    assert events[0]["type"] == "message.create" and events[0]["author"] == "ada"
    assert events[-1]["text"] == "Soup."
    assert fake_openai.requests[0]["messages"][-1] == {"role": "user", "content": "what should we eat today?"}
    _, later = await first_frame(served)
    assert later["suggestions"] is None  # the conversation has begun


async def test_the_first_question_titles_the_conversation_for_every_tab_and_for_good(
    served: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.extend([script_from_text("A box."), script_from_text("Also a box.")])
    (ada, ada_history), (grace, _) = await first_frame(served), await first_frame(served)
    await say(ada, "ada", "lunch at noon?")  # chat between people asks nothing: no title
    await say(ada, "ada", "@trickle what is a **monad**, really?\nplease be brief")
    first = await until_answered(ada)
    titles = [e for e in first if e["type"] == "title"]
    assert titles == [{"type": "title", "title": "what is a monad, really?"}]
    assert titles[0]["title"] == title_for("what is a **monad**, really?\nplease be brief")
    assert [e for e in await until_answered(grace) if e["type"] == "title"] == titles

    await say(ada, "ada", "@trickle and what is a functor?")
    second = await until_answered(ada)
    assert [e for e in second if e["type"] == "title"] == []
    await ada.close()
    _, back = await first_frame(served, key=ada_history["you"]["key"])
    assert back["title"] == "what is a monad, really?"


async def test_a_vote_on_a_finished_answer_counts_once_per_person_and_changes_nothing(
    ctx: ServiceContext, served: TestClient, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.script_queue.append(script_from_text(POEM))
    (ada, _), (grace, _) = await first_frame(served), await first_frame(served)
    await say(ada, "ada", "@trickle write a poem")
    answer = (await until_answered(ada))[-1]
    await until_answered(grace)
    answer_id = answer["answer_id"]

    with caplog.at_level(logging.INFO, logger="trickle.playground"):
        await ada.send_json({"type": "feedback", "name": "ada", "answer_id": answer_id, "verdict": "bad"})
        thanks = await next_event(ada)
    assert thanks == {
        "type": "feedback",
        "answer_id": answer_id,
        "verdict": "bad",
        "status": "counted",
        "text": THANKS,
    }
    assert feedback_count(ctx, "bad") == 1 and feedback_count(ctx, "good") == 0
    logged = [r for r in caplog.records if getattr(r, "answer_id", None) == answer_id and "feedback" in r.getMessage()]
    assert len(logged) == 1
    await quiet(grace)  # a vote is private, and the answer is not edited

    await ada.send_json({"type": "feedback", "name": "ada", "answer_id": answer_id, "verdict": "good"})
    again = await next_event(ada)
    assert (again["status"], again["verdict"], again["text"]) == ("already", "bad", ALREADY)
    assert feedback_count(ctx, "bad") == 1 and feedback_count(ctx, "good") == 0

    await grace.send_json({"type": "feedback", "name": "grace", "answer_id": answer_id, "verdict": "good"})
    assert (await next_event(grace))["status"] == "counted"
    assert feedback_count(ctx, "good") == 1

    _, reloaded = await first_frame(served)
    shown = [m for m in reloaded["messages"] if m["answer_id"] == answer_id]
    assert [m["text"] for m in shown] == [POEM]


async def test_a_vote_on_no_finished_answer_of_this_channel_is_refused_and_not_counted(
    ctx: ServiceContext, served: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text(LONG, delay=0.02))
    (ada, _), (grace, _) = await first_frame(served), await first_frame(served)
    await ada.send_json({"type": "feedback", "name": "ada", "answer_id": "a-made-up-id", "verdict": "bad"})
    refused = await next_event(ada)
    assert (refused["type"], refused["status"], refused["text"]) == ("feedback", "refused", NO_ANSWER)

    await say(ada, "ada", "@trickle write a long essay")
    await next_event(ada, "message.create")
    streaming = await next_event(ada, "message.create")
    for verdict, why in (("bad", NOT_ENDED), ("meh", NO_VERDICT), (None, NO_VERDICT)):
        vote = {"type": "feedback", "name": "ada", "answer_id": streaming["answer_id"], "verdict": verdict}
        await ada.send_json(vote)
        refused = await next_event(ada, "feedback")
        assert (refused["status"], refused["text"]) == ("refused", why)
    await ada.send_json({"type": "feedback", "name": "ada", "answer_id": ["m1"], "verdict": "good"})
    assert (await next_event(ada, "feedback"))["text"] == NO_ANSWER
    assert feedback_count(ctx, "bad") == 0 and feedback_count(ctx, "good") == 0
    await ada.send_json({"type": "stop", "name": "ada", "answer_id": streaming["answer_id"]})
    await until_answered(ada)
    seen_by_grace = await until_answered(grace)
    assert [e for e in seen_by_grace if e["type"] == "feedback"] == []  # only the voter is told


# -- the command -------------------------------------------------------------------------------
async def test_setup_listens_prints_one_url_line_and_stops(
    assistant: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = ServiceContext(
        settings=assistant.settings,
        assistant=assistant,
        state=MemoryState(),
        metrics=Metrics(),
        stopping=asyncio.Event(),
        web_app=web.Application(),
        args=argparse.Namespace(host="127.0.0.1", port=0),
    )
    serving = asyncio.create_task(await setup(ctx))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Playground: http://127.0.0.1:")
    url = lines[0].removeprefix("Playground: ")
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    assert port > 0 and url == f"http://127.0.0.1:{port}/"
    async with aiohttp.ClientSession() as session, session.get(url) as page:
        assert page.status == 200
    await ctx.shut_down(5)
    await asyncio.wait_for(serving, 5)


# -- pure parts --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("@trickle what is a monad?", "what is a monad?"),
        ("@Trickle: hi", "hi"),
        ("hey @trickle, how are you", "hey how are you"),
        ("/ask why\nis the sky blue", "why\nis the sky blue"),
        ("/ask", ""),
        ("@trickle", ""),
        ("hello team", None),
        ("mail me@trickle.dev", None),
        ("/asking nothing", None),
    ],
)
def test_which_messages_ask_the_bot(text: str, question: str | None) -> None:
    assert question_in(text) == question


def test_tokens_per_second_counts_from_the_first_token() -> None:
    now = [10.0]
    stats = AnswerStats(clock=lambda: now[0])
    assert stats.snapshot()["tokens_per_s"] is None
    for _ in range(11):
        stats.tokens(1)
        now[0] += 0.1
    stats.first_token(0.25)
    stats.edit()
    snapshot = stats.snapshot()
    assert snapshot["tokens"] == 11 and snapshot["edits"] == 1 and snapshot["ttft_s"] == 0.25
    assert snapshot["tokens_per_s"] == pytest.approx(10.0)


async def test_a_status_replaces_the_placeholder_until_text_arrives() -> None:
    channel = Channel()
    surface = PlaygroundSurface(channel, budget=channel_budget(), answer_id="a1", asker="ada", stats=AnswerStats())
    ref = await surface.post_placeholder()
    await surface.show_status(ref, "waiting for the model (retrying in 3 s)…")
    shown = channel.get(ref)
    assert shown is not None and shown.text == "_waiting for the model (retrying in 3 s)…_"
    await surface.edit(ref, "Hello", final=False)
    await surface.show_status(ref, "waiting for the model (retrying in 1 s)…")
    assert shown.text == "Hello" + INDICATOR


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None and not os.environ.get("CI"),
    reason="llama_cpp is not installed (pip install 'trickle[local]'); required in CI",
)
async def test_with_no_key_the_embedded_model_answers() -> None:
    """The newcomer's path: no OPENAI_* at all, so the model inside the package answers."""
    settings = Settings.from_mapping({"TRICKLE_MAX_TOKENS": "24", "TRICKLE_EDIT_INTERVAL": "0.05"})
    source = build_source(settings)
    try:
        app = build_app(Playground(Assistant(source=source, settings=settings)))
        async with TestClient(TestServer(app)) as local:
            ada = await join(local)
            await say(ada, "ada", "@trickle say hello")
            events = await answer_events(ada, timeout=120)
    finally:
        await source.aclose()
    assert events[-1]["stats"]["end"] in {"stop", "length"}, events[-1]
    assert events[-1]["stats"]["tokens"] > 0
    assert events[-1]["text"].strip()
