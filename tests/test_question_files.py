"""A question's files reach the model: the real OpenAI SDK against FakeOpenAI, through
the assistant (download, read, redact, fit, image parts, notices, vision retries)."""

from __future__ import annotations

import asyncio
import base64
import io

import pytest
from PIL import Image

from bots.settings import Settings
from core.assistant import Assistant
from core.attachments import AttachmentLimits, FetchFailed, RemoteFile, fetch_all
from core.attachments.question_files import BLIND_SECONDS, REFUSED_IMAGES, QuestionFiles
from core.models import EndReason
from core.question import Asker, Question
from core.sources.factory import build_source
from tests.fakes.openai_server import FakeOpenAI, Script, script_from_text
from tests.fakes.surface import FakeSurface

ADA = Asker("U1", "Ada")


class StatusSurface(FakeSurface):
    """Records the statuses its placeholder shows, as the platforms' surfaces show them."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[str] = []

    async def show_status(self, ref, status: str) -> bool:
        self.statuses.append(status)
        await self.edit(ref, f"_{status}_", final=False)
        return True


def served(data: bytes, *, delay: float = 0.0):
    """A `fetch` that hands over `data` (at most cap + 1 bytes), after `delay`."""

    async def fetch(cap: int) -> bytes:
        await asyncio.sleep(delay)
        return data[: cap + 1]

    return fetch


def refused(reason: str):
    async def fetch(cap: int) -> bytes:
        raise FetchFailed(reason)

    return fetch


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def ask(fake: FakeOpenAI, files: list[RemoteFile], text: str = "what is in these?", **env: str):
    s = Settings.from_mapping({"OPENAI_BASE_URL": fake.base_url, "TRICKLE_EDIT_INTERVAL": "0.05", **env})
    source = build_source(s)
    try:
        surface = StatusSurface()
        outcome = await Assistant(source=source, settings=s).answer(surface, Question(text, ADA, files=files))
    finally:
        await source.aclose()
    return outcome, surface


def parts(request: dict) -> list[dict]:
    content = request["messages"][-1]["content"]
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


async def test_a_log_file_is_inlined_redacted_and_an_image_sent_as_an_image_part(fake_openai):
    fake_openai.script_queue.append(script_from_text("A red square and a crash."))
    files = [
        RemoteFile("crash.log", served(b"ERROR mail ops@example.com: exit 137\n"), "text/plain"),
        RemoteFile("square.png", served(png()), "image/png"),
    ]
    outcome, surface = await ask(fake_openai, files, TRICKLE_MODEL="gpt-4o", TRICKLE_REDACT="email")
    assert outcome.end is EndReason.STOP and surface.final_texts() == ["A red square and a crash."]
    sent = parts(fake_openai.requests[0])
    text = sent[0]["text"]
    assert text.startswith("what is in these?") and "crash.log" in text and "exit 137" in text
    assert "ops@example.com" not in text and "[email]" in text
    [image] = [p for p in sent if p["type"] == "image_url"]
    header, data = image["image_url"]["url"].split(",", 1)
    assert header.startswith("data:image/") and Image.open(io.BytesIO(base64.b64decode(data))).size == (64, 48)


async def test_a_model_without_vision_gets_no_image_and_the_placeholder_says_so(fake_openai):
    fake_openai.script_queue.append(script_from_text("I can only read text.", first_delay=0.3))
    files = [RemoteFile("square.png", served(png()), "image/png")]
    _outcome, surface = await ask(fake_openai, files, TRICKLE_MODEL="gpt-3.5-turbo")
    assert surface.final_texts() == ["I can only read text."]  # exactly the model's text
    assert all(p["type"] == "text" for p in parts(fake_openai.requests[0]))
    assert any("square.png was left out: this model does not read images" in s for s in surface.statuses)


async def test_a_failed_download_is_said_and_the_question_still_answered(fake_openai):
    fake_openai.script_queue.append(script_from_text("Answered anyway.", first_delay=0.3))
    files = [RemoteFile("notes.txt", refused("403")), RemoteFile("slow.txt", served(b"late", delay=5))]
    qf = QuestionFiles()
    fetched = await fetch_all(files, limits=AttachmentLimits(), timeout=0.2)
    assert [(a.name, a.failed) for a in fetched] == [("notes.txt", "403"), ("slow.txt", "it took too long")]
    outcome, surface = await ask(fake_openai, files[:1])
    assert outcome.end is EndReason.STOP and surface.final_texts() == ["Answered anyway."]
    assert any("notes.txt could not be downloaded (403)" in s for s in surface.statuses)
    assert qf.sees("gpt-4o") and not QuestionFiles(source_sees=False).sees("gpt-4o")


async def test_a_file_declared_too_large_is_not_downloaded():
    fetched_at_all = []

    async def fetch(cap: int) -> bytes:
        fetched_at_all.append(cap)
        return b""

    [got] = await fetch_all([RemoteFile("huge.csv", fetch, size=50_000_000)], limits=AttachmentLimits())
    assert fetched_at_all == [] and "larger than 10 MB" in (got.failed or "")


@pytest.mark.parametrize("mode", ["auto", "on"])
async def test_an_endpoint_that_refuses_images_is_asked_again_without_them_under_auto(fake_openai, mode):
    def responder(body: dict) -> Script:
        if any(p.get("type") == "image_url" for p in parts(body)):
            return Script(
                tokens=[],
                fail="http_error",
                status=400,
                error_body={"error": {"message": "image input is not supported"}},
            )
        return script_from_text("Text only, then.")

    fake_openai.responder = responder
    files = [RemoteFile("square.png", served(png()), "image/png")]
    outcome, surface = await ask(fake_openai, files, TRICKLE_MODEL="gpt-4o", TRICKLE_VISION=mode)
    if mode == "auto":
        assert outcome.end is EndReason.STOP and surface.final_texts() == ["Text only, then."]
        assert len(fake_openai.requests) == 2 and any(s.startswith(REFUSED_IMAGES) for s in surface.statuses)
    else:  # the operator said the model sees: its refusal is the answer's error
        assert outcome.end is EndReason.ERROR and len(fake_openai.requests) == 1


async def test_a_refusal_is_remembered_for_the_model_under_auto_for_a_while():
    now = [0.0]
    files = QuestionFiles("auto", clock=lambda: now[0])
    assert files.sees("gpt-4o") and files.refused("gpt-4o")
    assert not files.sees("gpt-4o") and files.sees("gpt-4.1")
    now[0] += BLIND_SECONDS + 1  # one 400 (a content filter?) does not blind it for good
    assert files.sees("gpt-4o")
    assert not QuestionFiles("on").refused("gpt-4o") and QuestionFiles("on").sees("llama3")
    assert not QuestionFiles("off").sees("gpt-4o")
