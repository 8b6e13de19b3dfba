"""Files attached in the playground: posted over HTTP to the real app, read by the real
assistant, sent by the real OpenAI SDK to FakeOpenAI.

A tab first connects its WebSocket (that is who it is, and where its answer arrives),
then posts `multipart/form-data` to `/say` with its key in `X-Trickle-Key`.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import io
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bots.playground.service import FILES_UNREAD, NOT_CONNECTED, NOTHING_TO_SEND, Playground, build_app
from bots.playground.uploads import KEY_HEADER, MAX_FILES, MAX_NAME, file_label
from bots.settings import Settings
from core.assistant import Assistant
from core.question import about_files
from core.sources.factory import build_source
from tests.fakes.openai_server import FakeOpenAI, script_from_text
from tests.test_playground import until_answered

Socket = aiohttp.ClientWebSocketResponse
Upload = tuple[str, bytes, str]  # name, bytes, content type

LOG = b"2024-05-01 12:00:03 ERROR worker-7 exited with code 137 (out of memory)\n"
HOSTILE = "<img src=x onerror=alert(1)>.txt"


@asynccontextmanager
async def playground(fake: FakeOpenAI | None, max_upload: int | None = None, **env: str) -> AsyncIterator[TestClient]:
    """The playground app on a test server, answered by `fake` (None: the embedded model)."""
    given = {"OPENAI_BASE_URL": fake.base_url} if fake is not None else {}
    settings = Settings.from_mapping({**given, "TRICKLE_EDIT_INTERVAL": "0.05", **env})
    source = build_source(settings)
    try:
        assistant = Assistant(source=source, settings=settings)
        served = Playground(assistant) if max_upload is None else Playground(assistant, max_upload=max_upload)
        async with TestClient(TestServer(build_app(served))) as client:
            yield client
    finally:
        await source.aclose()


@pytest.fixture
async def client(fake_openai: FakeOpenAI) -> AsyncIterator[TestClient]:
    async with playground(fake_openai) as test_client:
        yield test_client


async def connect(client: TestClient) -> tuple[Socket, dict[str, Any]]:
    """Open a tab: its socket and the history event it got first."""
    socket = await client.ws_connect("/ws")
    history = await socket.receive_json(timeout=5)
    assert history["type"] == "history"
    return socket, history


def form(text: str, files: Iterable[Upload], name: str = "ada") -> aiohttp.FormData:
    # As a browser sends it: multipart with or without files, names not percent-encoded.
    data = aiohttp.FormData(quote_fields=False, default_to_multipart=True)
    data.add_field("name", name)
    data.add_field("text", text)
    for filename, content, mime in files:
        data.add_field("file", content, filename=filename, content_type=mime)
    return data


async def post(
    client: TestClient, key: str, text: str, files: Iterable[Upload] = (), **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """`POST /say` as the page does it: its status and JSON body."""
    headers = {KEY_HEADER: key, **kwargs.pop("headers", {})}
    data = kwargs.pop("data", None) or form(text, files)
    async with client.post("/say", data=data, headers=headers, **kwargs) as response:
        return response.status, await response.json()


async def quiet(socket: Socket, seconds: float = 0.2) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await socket.receive_json(timeout=seconds)


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def sent_parts(request: dict[str, Any]) -> list[dict[str, Any]]:
    content = request["messages"][-1]["content"]
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def sent_text(request: dict[str, Any]) -> str:
    return "\n".join(p["text"] for p in sent_parts(request) if p["type"] == "text")


# -- what reaches the model ----------------------------------------------------------------
async def test_a_text_files_content_reaches_the_model_and_its_name_shows_under_the_question(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text("Worker 7 ran out of memory."))
    ada, history = await connect(client)
    assert history["uploads"]["max_files"] == MAX_FILES and history["uploads"]["max_bytes"] > 0
    status, body = await post(
        client, history["you"]["key"], "@trickle why did it crash?", [("worker.log", LOG, "text/plain")]
    )
    assert (status, body) == (200, {"ok": True})
    events = await until_answered(ada)
    question = events[0]
    assert (question["author"], question["text"], question["files"]) == (
        "ada",
        "@trickle why did it crash?",
        ["worker.log"],
    )
    assert events[-1]["text"] == "Worker 7 ran out of memory."  # exactly the model's
    text = sent_text(fake_openai.requests[0])
    assert text.startswith("why did it crash?") and "worker.log" in text and "exited with code 137" in text


async def test_an_image_reaches_a_vision_model_as_an_image_part(fake_openai: FakeOpenAI) -> None:
    fake_openai.script_queue.append(script_from_text("A blue rectangle."))
    async with playground(fake_openai, TRICKLE_MODEL="gpt-4o", TRICKLE_MODELS="gpt-4o,gpt-4o-mini") as client:
        ada, history = await connect(client)
        status, _ = await post(
            client, history["you"]["key"], "@trickle what is this?", [("shape.png", png(), "image/png")]
        )
        events = await until_answered(ada)
    assert status == 200 and events[-1]["text"] == "A blue rectangle."
    assert fake_openai.requests[0]["model"] == "gpt-4o"
    [image] = [p for p in sent_parts(fake_openai.requests[0]) if p["type"] == "image_url"]
    header, data = image["image_url"]["url"].split(",", 1)
    assert header.startswith("data:image/")
    assert Image.open(io.BytesIO(base64.b64decode(data))).size == (64, 48)


async def test_a_model_without_vision_says_in_the_placeholder_that_the_image_was_left_out(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.script_queue.append(script_from_text("I only read text.", first_delay=0.5))
    async with playground(fake_openai, TRICKLE_MODEL="gpt-3.5-turbo") as client:
        ada, history = await connect(client)
        await post(client, history["you"]["key"], "@trickle what is this?", [("my_shape.png", png(), "image/png")])
        events = await until_answered(ada)
    shown = [e["text"] for e in events if e["type"].startswith("message.") and e["bot"] and not e["final"]]
    assert any("my_shape.png was left out: this model does not read images" in t for t in shown), shown
    assert events[-1]["text"] == "I only read text."
    assert all(p["type"] == "text" for p in sent_parts(fake_openai.requests[0]))


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None and not os.environ.get("CI"),
    reason="llama_cpp is not installed (pip install 'trickle[local]'); required in CI",
)
async def test_the_embedded_model_leaves_an_image_out_and_still_answers() -> None:
    async with playground(None, TRICKLE_MAX_TOKENS="16") as client:
        ada, history = await connect(client)
        await post(client, history["you"]["key"], "@trickle say hello", [("photo.png", png(), "image/png")])
        events = await until_answered(ada, timeout=120)
    shown = [e["text"] for e in events if e["type"].startswith("message.") and e["bot"]]
    assert any("photo.png was left out" in t for t in shown), shown
    assert events[-1]["stats"]["end"] in {"stop", "length"} and events[-1]["text"].strip()


async def test_a_mention_with_files_and_no_words_asks_what_is_in_them(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text("A log line."))
    ada, history = await connect(client)
    await post(client, history["you"]["key"], "@trickle", [("worker.log", LOG, "text/plain")])
    events = await until_answered(ada)
    assert [e for e in events if e["type"] == "notice"] == []
    assert sent_text(fake_openai.requests[0]).startswith(about_files(1))


async def test_files_without_a_question_are_only_shared_and_the_sender_is_told(
    client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_queue.append(script_from_text("It says worker 7 died."))
    ada, history = await connect(client)
    key = history["you"]["key"]
    assert (await post(client, key, "", [("worker.log", LOG, "text/plain")]))[0] == 200
    shared = await ada.receive_json(timeout=5)
    assert (shared["type"], shared["text"], shared["files"]) == ("message.create", "", ["worker.log"])
    assert await ada.receive_json(timeout=5) == {"type": "notice", "text": FILES_UNREAD}
    await quiet(ada)
    assert fake_openai.requests == []
    # Later the model is told the file was there, not what was in it.
    await ada.send_json({"type": "say", "name": "ada", "text": "@trickle what did I share?"})
    await until_answered(ada)
    turns = fake_openai.requests[0]["messages"]
    assert {"role": "user", "content": "ada: (attached: worker.log)"} in turns
    assert all("exited with code" not in str(t["content"]) for t in turns)


# -- what is refused -----------------------------------------------------------------------
async def test_an_oversize_upload_gets_a_clear_413_and_changes_nothing(fake_openai: FakeOpenAI) -> None:
    async with playground(fake_openai, max_upload=50_000) as client:
        ada, history = await connect(client)
        key = history["you"]["key"]
        assert history["uploads"]["max_bytes"] == 50_000
        status, body = await post(client, key, "@trickle read this", [("big.log", b"x" * 60_000, "text/plain")])
        assert status == 413
        assert body["error"].startswith("That message is too large to send") and "50 KB at most" in body["error"]

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.log"\r\n\r\n'
            for _ in range(10):
                yield b"y" * 10_000
            yield b"\r\n--b--\r\n"

        headers = {"Content-Type": "multipart/form-data; boundary=b"}
        status, body = await post(client, key, "", data=chunked(), headers=headers)
        assert status == 413 and "too large" in body["error"]
        await quiet(ada)
        # The playground carries on: the same tab can still send within the cap.
        status, _ = await post(client, key, "hello", [("small.log", LOG, "text/plain")])
        assert status == 200 and (await ada.receive_json(timeout=5))["files"] == ["small.log"]
    assert fake_openai.requests == []


async def test_more_files_than_the_safety_cap_are_refused(client: TestClient) -> None:
    ada, history = await connect(client)
    files = [(f"f{i}.txt", b"hi", "text/plain") for i in range(MAX_FILES + 1)]
    status, body = await post(client, history["you"]["key"], "@trickle read these", files)
    assert status == 413 and f"{MAX_FILES} at most" in body["error"]
    await quiet(ada)


async def test_a_post_must_come_from_a_connected_tab_of_this_site(client: TestClient, fake_openai: FakeOpenAI) -> None:
    ada, history = await connect(client)
    key = history["you"]["key"]
    files = [("worker.log", LOG, "text/plain")]
    for wrong in ("", "not-a-key", "A" * 24):  # none, malformed, well formed but not connected
        assert await post(client, wrong, "@trickle hi", files) == (403, {"error": NOT_CONNECTED})
    other_port = {"Origin": f"http://{client.host}:1"}
    status, _ = await post(client, key, "@trickle hi", files, headers=other_port)
    assert status == 403
    assert await post(client, key, "   ") == (400, {"error": NOTHING_TO_SEND})
    status, body = await post(client, key, "", data=b"{}", headers={"Content-Type": "application/json"})
    assert status == 415 and "multipart/form-data" in body["error"]
    await quiet(ada)
    assert fake_openai.requests == []


async def test_hostile_file_names_are_only_labels(client: TestClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script_queue.append(script_from_text("Two small files."))
    ada, history = await connect(client)
    files = [(HOSTILE, b"just a note\n", "text/plain"), ("../../etc/passwd", b"not the real one\n", "text/plain")]
    status, _ = await post(client, history["you"]["key"], "@trickle what are these?", files)
    events = await until_answered(ada)
    assert status == 200
    # The name is data in the event (the page sets it as text), and a path is cut to its
    # last part: nothing is read from or written to the disk under either name.
    assert events[0]["files"] == [HOSTILE, "passwd"]
    text = sent_text(fake_openai.requests[0])
    assert "just a note" in text and "not the real one" in text and "root:" not in text
    assert events[-1]["text"] == "Two small files."


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ada\\notes.txt", "notes.txt"),
        ("line\nbreak.txt", "line break.txt"),
        ("evil\u202etxt.exe", "evil txt.exe"),  # a right-to-left override cannot hide the type
        ("..", "file"),
        ("", "file"),
        (None, "file"),
        (HOSTILE, HOSTILE),
    ],
)
def test_how_a_file_name_is_shown(raw: str | None, shown: str) -> None:
    assert file_label(raw) == shown


def test_a_very_long_file_name_keeps_its_extension() -> None:
    label = file_label("a" * 500 + ".csv")
    assert len(label) == MAX_NAME and label.endswith("….csv")
