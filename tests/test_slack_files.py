"""Files shared with a question on Slack reach the model: real bolt and slack_sdk against
FakeSlack (which serves the files as Slack does, sign-in page included) and FakeOpenAI."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bots.slack.files import SIGN_IN_PAGE
from core.question import about_files
from tests.fakes.openai_server import script_from_text
from tests.fakes.slack_server import unescape
from tests.slack_harness import wait_until

LOG = b"2026-12-03 12:00:01 ERROR worker-3 exited with code 137 (out of memory)\n"


def png(width: int = 80, height: int = 60) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def with_files(event: dict, *files: dict) -> dict:
    """A message event carrying files, as Slack sends it (a plain message becomes a
    `file_share`; an `app_mention` keeps no subtype)."""
    event["files"] = list(files)
    if event["type"] == "message":
        event["subtype"] = "file_share"
    return event


def parts(request: dict) -> list[dict]:
    content = request["messages"][-1]["content"]
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def shown(h, channel: str, thread_ts: str) -> list[str]:
    """Every version the bot's first reply in the thread showed, oldest first."""
    [first, *_] = h.fake.thread(channel, thread_ts)
    return [unescape(text) for _, text in first.visible_history()]


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_a_mention_with_a_png_and_a_log_sends_both_to_a_vision_model(slack_bot, mode):
    h = await slack_bot(mode, TRICKLE_MODEL="gpt-4o")
    h.model.script_queue.append(script_from_text("The worker ran out of memory; the chart agrees.", delay=0.01))
    image = h.fake.add_file("chart.png", png(), mimetype="image/png", user="UALICE")
    log = h.fake.add_file("worker.log", LOG, mimetype="text/plain", user="UALICE")
    event = with_files(h.fake.mention_event("UALICE", "why did it die?", "C1"), image, log)
    await h.deliver(event)
    await wait_until(
        lambda: h.fake.thread("C1", event["ts"]) and "agrees" in h.fake.thread("C1", event["ts"])[-1].visible, 10
    )
    await h.settle()

    [request] = h.model.requests
    sent = parts(request)
    assert (
        sent[0]["text"].startswith("why did it die?")
        and "worker.log" in sent[0]["text"]
        and "code 137" in sent[0]["text"]
    )
    assert [p["image_url"]["url"][:22] for p in sent if p["type"] == "image_url"] == ["data:image/png;base64,"]
    assert unescape(h.fake.thread("C1", event["ts"])[-1].visible) == "The worker ran out of memory; the chart agrees."
    assert h.fake.file_downloads == {image["id"]: 1, log["id"]: 1}
    assert sum(h.fake.rate_limited.values()) == 0


async def test_files_slack_will_not_give_are_said_in_the_placeholder_and_the_question_answered(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("Without the files, then.", first_delay=0.5, delay=0.01))
    gone = h.fake.add_file("expired.txt", b"secret plans", mimetype="text/plain")
    h.fake.file_errors[gone["id"]] = 404
    elsewhere = dict(h.fake.add_file("other.txt", b"x"), url_private_download="http://127.0.0.1:9/steal-the-token")
    event = with_files(h.fake.mention_event("UALICE", "read these", "C1"), gone, elsewhere)
    await h.deliver(event)
    await wait_until(
        lambda: h.fake.thread("C1", event["ts"]) and "then." in h.fake.thread("C1", event["ts"])[-1].visible, 10
    )
    await h.settle()

    versions = shown(h, "C1", event["ts"])
    assert versions[-1] == "Without the files, then."  # exactly the model's text
    notice = next(v for v in versions if "could not be downloaded" in v)
    assert "expired.txt could not be downloaded (Slack answered 404)" in notice
    assert "other.txt could not be downloaded (it is not on Slack's file host)" in notice
    assert "secret plans" not in str(h.model.requests)


async def test_without_files_read_the_sign_in_page_is_said_not_read_as_the_file(slack_bot):
    h = await slack_bot()
    h.fake.files_scope = False
    h.model.script_queue.append(script_from_text("No file for me.", first_delay=0.5, delay=0.01))
    log = h.fake.add_file("worker.log", LOG, mimetype="text/plain")
    event = with_files(h.fake.mention_event("UALICE", "what went wrong?", "C1"), log)
    await h.deliver(event)
    await wait_until(
        lambda: h.fake.thread("C1", event["ts"]) and "for me." in h.fake.thread("C1", event["ts"])[-1].visible, 10
    )
    await h.settle()
    assert any(SIGN_IN_PAGE in v for v in shown(h, "C1", event["ts"]))
    assert "Sign in" not in str(h.model.requests)


async def test_a_file_alone_in_a_dm_is_a_question_about_it(slack_bot):
    h = await slack_bot()
    h.model.script_queue.append(script_from_text("It is a log of a crash.", delay=0.01))
    log = h.fake.add_file("worker.log", LOG, mimetype="text/plain")
    event = with_files(h.fake.message_event("UALICE", "", "D1"), log)
    await h.deliver(event)
    await wait_until(lambda: any("crash" in m.visible for m in h.fake.messages("D1") if m.is_bot), 10)
    await h.settle()
    [request] = h.model.requests
    assert parts(request)[0]["text"].startswith(about_files(1)) and "code 137" in parts(request)[0]["text"]


async def test_files_shared_earlier_in_the_thread_are_read_again_for_a_later_question(slack_bot):
    h = await slack_bot()
    # Shared before the bot was asked: read from Slack with the thread (conversations.replies).
    log = h.fake.add_file("worker.log", LOG, mimetype="text/plain", user="UBOB")
    parent = with_files(h.fake.message_event("UBOB", "the nightly job died again", "C1"), log)
    h.fake.store_event(parent)
    h.model.script_queue.append(script_from_text("Out of memory.", delay=0.01))
    mention = h.fake.mention_event("UALICE", "why?", "C1", thread_ts=parent["ts"])
    await h.deliver(mention)
    await wait_until(lambda: any("memory." in m.visible for m in h.fake.thread("C1", parent["ts"])), 10)
    await h.settle()
    # A follow-up: the thread now comes from the cached copy, and the file is read again.
    h.model.script_queue.append(script_from_text("Exit code 137.", delay=0.01))
    await h.deliver(h.fake.message_event("UALICE", "which exit code?", "C1", thread_ts=parent["ts"]))
    await wait_until(lambda: any("137." in m.visible for m in h.fake.thread("C1", parent["ts"])), 10)
    await h.settle()

    first, second = h.model.requests
    for request in (first, second):
        assert "worker.log" in parts(request)[0]["text"] and "code 137" in parts(request)[0]["text"]
    assert len(h.fake.calls_to("conversations.replies")) == 1 and h.fake.file_downloads[log["id"]] == 2
