"""Files in Discord questions end to end: the real discord.py adapter against FakeDiscord
(whose CDN serves the attachments on loopback), the real OpenAI SDK against FakeOpenAI.

A mention's own files and those of its reply chain reach the model (text inlined, images
as image parts for a model that sees); `/ask file:` does the same; a file Discord's CDN
refuses is said in the placeholder and the answer is still exactly the model's.
"""

from __future__ import annotations

import functools
import io

from PIL import Image

import core.attachments.question_files as question_files
from bots.discord.messages import INDICATOR, PLACEHOLDER
from core.question import about_files
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.openai_server import script_from_text
from tests.test_attachments import _pdf as tiny_pdf

VISION = {"TRICKLE_MODEL": "gpt-4o"}


def png(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def parts(request: dict) -> list[dict]:
    """The question's content parts as the model received them."""
    content = request["messages"][-1]["content"]
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def question_text(request: dict) -> str:
    return "".join(p["text"] for p in parts(request) if p["type"] == "text")


def finished(message: FakeMessage) -> bool:
    return not message.components and not message.content.endswith(INDICATOR) and message.content != PLACEHOLDER


async def ask_by_mention(fake: FakeDiscord, text: str, **options: object) -> FakeMessage:
    return await fake.send_message(fake.channel_id, f"<@{fake.bot_user_id}> {text}", **options)  # type: ignore[arg-type]


async def reply_to(fake: FakeDiscord, question: FakeMessage, text: str, timeout: float = 10.0) -> FakeMessage:
    """The bot's finished reply to `question`, once it shows exactly `text`."""

    def reply() -> FakeMessage | None:
        return next(
            (
                m
                for m in fake.channel_messages(question.channel_id)
                if m.author["id"] == str(fake.bot_user_id)
                and (m.message_reference or {}).get("message_id") == question.id
            ),
            None,
        )

    await fake.wait_until(lambda: (m := reply()) is not None and finished(m) and m.content == text, timeout)
    found = reply()
    assert found is not None
    return found


def no_429(fake: FakeDiscord) -> bool:
    return sum(fake.rate_limited.values()) == 0


async def test_a_mention_with_an_image_and_a_log_sends_both_to_a_model_that_sees(discord_bot) -> None:
    bot = await discord_bot(env=VISION)
    bot.model.script_queue.append(script_from_text("A blue rectangle, and the job was killed.", delay=0.01))
    question = await ask_by_mention(
        bot.fake,
        "what happened here?",
        attachments=[("screen.png", png()), ("build.log", b"step 3/7\nERROR: exit code 137 (OOM)\n")],
    )
    await reply_to(bot.fake, question, "A blue rectangle, and the job was killed.")

    [request] = bot.model.requests
    assert request["model"] == "gpt-4o"
    text = question_text(request)
    assert text.startswith("what happened here?") and "build.log" in text and "exit code 137 (OOM)" in text
    [image] = [p for p in parts(request) if p["type"] == "image_url"]
    assert image["image_url"]["url"].startswith("data:image/png;base64,")
    assert no_429(bot.fake) and bot.fake.mention_violations() == []


async def test_a_reply_to_a_message_holding_a_pdf_asks_about_the_pdf(discord_bot) -> None:
    bot = await discord_bot()
    bob = bot.fake.add_user("bob")
    shared = await bot.fake.send_message(
        bot.fake.channel_id,
        "the contract, fyi",
        author=bob,
        attachments=[("contract.pdf", tiny_pdf(["Rent is due on the 3rd of each month."]))],
    )
    bot.model.script_queue.append(script_from_text("On the 3rd of each month."))
    question = await ask_by_mention(bot.fake, "when is rent due?", message_reference=shared.id)
    await reply_to(bot.fake, question, "On the 3rd of each month.")

    [request] = bot.model.requests
    assert request["messages"][1] == {"role": "user", "content": "the contract, fyi"}  # the chain, as history
    text = question_text(request)
    assert "contract.pdf" in text and "Rent is due on the 3rd of each month." in text
    assert no_429(bot.fake)


async def test_the_questions_own_files_come_first_then_the_chain_newest_first(discord_bot) -> None:
    bot = await discord_bot()
    oldest = await bot.fake.send_message(bot.fake.channel_id, "first", attachments=[("oldest.txt", b"OLDEST")])
    newer = await bot.fake.send_message(
        bot.fake.channel_id, "second", message_reference=oldest.id, attachments=[("newer.txt", b"NEWER")]
    )
    bot.model.script_queue.append(script_from_text("Three files."))
    question = await ask_by_mention(
        bot.fake, "compare them", message_reference=newer.id, attachments=[("own.txt", b"OWN")]
    )
    await reply_to(bot.fake, question, "Three files.")

    text = question_text(bot.model.requests[0])
    assert text.index("OWN") < text.index("NEWER") < text.index("OLDEST")


async def test_a_file_the_cdn_refuses_is_said_in_the_placeholder_and_the_answer_is_exact(discord_bot) -> None:
    bot = await discord_bot()
    notes = bot.fake.add_attachment("notes.txt", b"secret plans")
    bot.fake.fail_attachment(notes, 403)  # an expired link
    # A status waits for an interim edit's slot (about 1.25 s after the placeholder on a
    # fresh channel budget) and gives way to the answer's text: the model takes longer here.
    bot.model.script_queue.append(script_from_text("I could not see the file, but here goes.", first_delay=3.0))
    question = await ask_by_mention(bot.fake, "summarise my notes", attachments=[notes])
    reply = await reply_to(bot.fake, question, "I could not see the file, but here goes.")

    shown = [content for _, content in reply.versions]
    assert "_notes.txt could not be downloaded (403)…_" in shown  # "…": still waiting
    assert shown[-1] == "I could not see the file, but here goes."
    assert "secret plans" not in question_text(bot.model.requests[0])
    assert [c.status for c in bot.fake.cdn_calls] == [403]
    assert no_429(bot.fake)


async def test_a_download_that_hangs_is_given_up_and_the_question_answered(discord_bot, monkeypatch) -> None:
    # The core gives a download 15 s; a hung CDN must not hold the answer past that.
    monkeypatch.setattr(question_files, "fetch_all", functools.partial(question_files.fetch_all, timeout=0.3))
    bot = await discord_bot()
    slow = bot.fake.add_attachment("slow.txt", b"never arrives")
    bot.fake.fail_attachment(slow, "hang")
    bot.model.script_queue.append(script_from_text("Answered without it.", first_delay=3.0))
    question = await ask_by_mention(bot.fake, "read this", attachments=[slow])
    reply = await reply_to(bot.fake, question, "Answered without it.")
    assert any("slow.txt could not be downloaded (it took too long)" in c for _, c in reply.versions)


async def test_a_mention_with_only_a_file_is_a_question_about_it(discord_bot) -> None:
    bot = await discord_bot()
    bot.model.script_queue.append(script_from_text("It is a shopping list."))
    question = await ask_by_mention(bot.fake, "", attachments=[("list.txt", b"eggs\nmilk\n")])
    await reply_to(bot.fake, question, "It is a shopping list.")
    asked = question_text(bot.model.requests[0])
    assert asked.startswith(about_files(1)) and "eggs" in asked


async def test_ask_with_a_file_option_reads_the_file(discord_bot) -> None:
    bot = await discord_bot(env=VISION)
    command = bot.fake.guild_commands[str(bot.fake.guild_id)][0]
    assert [o["name"] for o in command["options"]] == ["prompt", "model", "private", "file"]
    assert next(o for o in command["options"] if o["name"] == "file")["type"] == 11

    report = bot.fake.add_attachment("q3.csv", b"quarter,revenue\nQ3,4.2M\n", ephemeral=True)
    chart = bot.fake.add_attachment("chart.png", png(), ephemeral=True)
    bot.model.script_queue.append(script_from_text("Revenue was 4.2M in Q3.", delay=0.01))
    bot.model.script_queue.append(script_from_text("A chart."))
    inter = await bot.fake.send_interaction("ask", {"prompt": "what was revenue?", "file": report})
    pictured = await bot.fake.send_interaction("ask", {"prompt": "what is this?", "file": chart, "private": True})

    def final(token: str) -> str | None:
        message = bot.fake.original(token)
        return None if message is None or message.loading or not finished(message) else message.content

    await bot.fake.wait_until(lambda: final(inter.token) == "Revenue was 4.2M in Q3.", timeout=10)
    await bot.fake.wait_until(lambda: final(pictured.token) == "A chart.", timeout=10)
    by_prompt = {question_text(r).split("\n", 1)[0]: r for r in bot.model.requests}
    assert "Q3,4.2M" in question_text(by_prompt["what was revenue?"])
    assert [p["type"] for p in parts(by_prompt["what is this?"])] == ["text", "image_url"]
    assert pictured.ephemeral and report.downloads == 1 and chart.downloads == 1
    assert no_429(bot.fake) and bot.fake.mention_violations() == []
