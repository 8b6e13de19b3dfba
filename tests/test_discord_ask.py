"""`/ask` end to end: the real discord.py adapter against FakeDiscord, the real SDK against FakeOpenAI."""

from __future__ import annotations

import asyncio
import itertools
import re

from bots.discord.messages import INDICATOR
from bots.discord.stop import NOT_YOURS
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.openai_server import Script, script_from_text, words

ANSWER = (
    "Streaming means the answer appears while the model is still writing it, "
    "one edit at a time, so nobody stares at a spinner for thirty seconds. "
    "Each edit only ever adds text to the end."
)

# Discord drops an interaction not answered (deferred) within 3 s. How much sooner it is
# deferred is a speed, measured by `python -m benchmarks.discord`, not asserted here.
INTERACTION_DEADLINE = 3.0


def contents(message: FakeMessage) -> list[str]:
    return [content for _, content in message.versions]


def deferral_latency(fake: FakeDiscord, token: str) -> float:
    """From the interaction leaving the fake to the bot's deferral arriving there."""
    inter = fake.interactions[token]
    callback = fake.calls_to("POST", rf"/interactions/{inter.id}/.+/callback")[0]
    return callback.time - inter.created


def final_of(fake: FakeDiscord, token: str) -> str | None:
    message = fake.original(token)
    if message is None or message.loading or message.content.endswith(INDICATOR) or message.components:
        return None
    return message.content


async def test_ask_defers_at_once_then_streams_into_the_original(discord_bot) -> None:
    bot = await discord_bot(webhook_bucket=(50, 1.0))  # pacing is not the point here
    bot.model.script_queue.append(script_from_text(ANSWER, delay=0.02))
    inter = await bot.fake.send_interaction("ask", {"prompt": "What is streaming?"})
    await bot.fake.wait_until(lambda: final_of(bot.fake, inter.token) == ANSWER, timeout=10)

    assert deferral_latency(bot.fake, inter.token) < INTERACTION_DEADLINE
    assert inter.response_type == 5 and not inter.ephemeral
    original = bot.fake.original(inter.token)
    assert original is not None
    shown = contents(original)
    assert shown[0] == ""  # the deferral: Discord shows "thinking..."
    interim = [c for c in shown[1:-1] if c != "…"]
    assert len(interim) >= 3, shown
    for text in interim:
        assert text.endswith(INDICATOR) and ANSWER.startswith(text.removesuffix(INDICATOR))
    assert shown[-1] == ANSWER
    # The Stop button came with the first text and left with the final edit.
    components = [w.payload.get("components") for w in original.writes]
    assert any(c and c[0]["components"][0]["custom_id"].startswith("trickle:stop:") for c in components)
    assert original.components == []
    assert bot.fake.mention_violations() == []
    assert bot.model.requests[0]["messages"][-1] == {"role": "user", "content": "What is streaming?"}


async def test_ask_with_a_model_option_uses_that_model(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_MODELS": "gpt-4o-mini,other-model"})
    bot.model.script_queue.append(script_from_text("Fine."))
    inter = await bot.fake.send_interaction("ask", {"prompt": "hi", "model": "other-model"})
    await bot.fake.wait_until(lambda: final_of(bot.fake, inter.token) == "Fine.")
    assert bot.model.requests[0]["model"] == "other-model"


async def test_ten_people_asking_at_once_in_one_channel_all_exact_without_429(discord_bot) -> None:
    bot = await discord_bot()  # Discord's real-world buckets: 5 per 5 s per interaction token
    people = [bot.fake.add_user(f"person{i}") for i in range(10)]
    texts = {f"question {i}": " ".join(f"word{i}-{n}" for n in range(60)) + "." for i in range(10)}
    bot.model.responder = lambda body: script_from_text(texts[body["messages"][-1]["content"]], delay=0.01)
    inters = await asyncio.gather(
        *(bot.fake.send_interaction("ask", {"prompt": f"question {i}"}, user=people[i]) for i in range(10))
    )
    expected = {inter.token: texts[f"question {i}"] for i, inter in enumerate(inters)}
    await bot.fake.wait_until(lambda: all(final_of(bot.fake, t) == text for t, text in expected.items()), timeout=20)
    assert sum(bot.fake.rate_limited.values()) == 0
    assert max(deferral_latency(bot.fake, inter.token) for inter in inters) < INTERACTION_DEADLINE
    for token, text in expected.items():
        shown = contents(bot.fake.original(token))  # type: ignore[arg-type]
        assert all(text.startswith(c.removesuffix(INDICATOR)) for c in shown if c != "…")
        assert len(shown) >= 3  # deferral, at least one interim edit, the final edit
    assert bot.fake.mention_violations() == []


async def test_model_output_with_everyone_and_ids_is_shown_literally_and_pings_nobody(discord_bot) -> None:
    bot = await discord_bot()
    loud = "@everyone look <@123> and <@&456> and @here, also <@!789>"
    bot.model.script_queue.append(script_from_text(loud, delay=0.01))
    inter = await bot.fake.send_interaction("ask", {"prompt": "ping them"})
    await bot.fake.wait_until(lambda: final_of(bot.fake, inter.token) == loud)
    assert bot.fake.mention_violations() == []
    assert bot.fake.mention_violations(strict=False) == []
    assert bot.fake.pings(bot.fake.original(inter.token)) == set()  # type: ignore[arg-type]


async def test_model_failing_mid_stream_keeps_the_partial_text_and_adds_a_notice(discord_bot) -> None:
    bot = await discord_bot()
    bot.model.script_queue.append(
        script_from_text("one two three four five six", delay=0.01, fail="error_event", fail_after=3)
    )
    inter = await bot.fake.send_interaction("ask", {"prompt": "count"})
    await bot.fake.wait_until(lambda: (final_of(bot.fake, inter.token) or "").endswith("ask again)_"))
    final = final_of(bot.fake, inter.token)
    assert final is not None
    text, notice = final.split("\n\n")
    assert text == "one two three"
    assert notice.startswith("_(the model failed")


async def test_stop_by_the_asker_closes_the_model_stream(discord_bot) -> None:
    bot = await discord_bot()
    bot.model.script_queue.append(Script(tokens=words("one two three four five"), fail="stall", fail_after=3))
    inter = await bot.fake.send_interaction("ask", {"prompt": "go on forever"})
    original = await _wait_for_stop_button(bot.fake, inter.token)
    button = original.components[0]["components"][0]["custom_id"]

    click = await bot.fake.send_component_click(original.id, button)
    await bot.fake.wait_until(lambda: (final_of(bot.fake, inter.token) or "").endswith("_(stopped by alice)_"))
    assert final_of(bot.fake, inter.token) == "one two three\n\n_(stopped by alice)_"
    assert click.response_type == 6  # acknowledged without a message of its own
    await bot.fake.wait_until(lambda: len(bot.model.disconnects) == 1)
    assert bot.fake.mention_violations() == []


async def test_stop_by_someone_else_is_refused_privately(discord_bot) -> None:
    bot = await discord_bot()
    bob = bot.fake.add_user("bob")
    bot.model.script_queue.append(Script(tokens=words("one two three four five"), fail="stall", fail_after=3))
    inter = await bot.fake.send_interaction("ask", {"prompt": "go on"})
    original = await _wait_for_stop_button(bot.fake, inter.token)
    button = original.components[0]["components"][0]["custom_id"]

    click = await bot.fake.send_component_click(original.id, button, user=bob)
    await bot.fake.wait_until(lambda: bot.fake.original(click.token) is not None)
    refusal = bot.fake.original(click.token)
    assert refusal is not None and refusal.ephemeral and refusal.content == NOT_YOURS
    assert bot.model.disconnects == []
    assert original.components  # still streaming, still stoppable by the asker

    await bot.fake.send_component_click(original.id, button)  # alice ends it, for a clean teardown
    await bot.fake.wait_until(lambda: (final_of(bot.fake, inter.token) or "").endswith("_(stopped by alice)_"))


async def _wait_for_stop_button(fake: FakeDiscord, token: str) -> FakeMessage:
    # All three words the script sends before it stalls: a click before the last one is
    # shown would rightly end the answer with less (a race under load, not a fault).
    await fake.wait_until(lambda: bool((m := fake.original(token)) and m.components and "three" in m.content))
    original = fake.original(token)
    assert original is not None
    return original


def joins_exactly(pages: list[str], text: str) -> bool:
    """True when the pages give back `text`, undoing only what paging may add (CONTRACT):
    a code fence closed at a page's end (with or without its own newline) and reopened
    at the start of the next."""
    pos = 0
    for i, page in enumerate(pages):
        if (
            i > 0
            and (opener := re.match(r"(`{3,}|~{3,})[^\n]*\n", page))
            and not text.startswith(page[: opener.end()], pos)
        ):
            page = page[opener.end() :]
        candidates = [page]
        if i < len(pages) - 1 and (closer := re.search(r"(`{3,}|~{3,})$", page)):
            candidates += [page[: closer.start()], page[: closer.start()].removesuffix("\n")]
        body = next((c for c in candidates if text.startswith(c, pos)), None)
        if body is None:
            return False
        pos += len(body)
    return pos == len(text)


LONG = (
    "Here is a long explanation. " * 50
    + "\n\n```python\n"
    + "".join(f"print('line {n} of the example, which is long enough')\n" for n in range(60))
    + "```\n\nAnd some closing words. " * 1
    + "More prose follows here. " * 40
)


async def test_long_answer_continues_in_follow_ups_with_fences_repaired(discord_bot) -> None:
    assert len(LONG) > 4000
    bot = await discord_bot(webhook_bucket=(50, 1.0))
    bot.model.script_queue.append(script_from_text(LONG, chunk_size=40))
    inter = await bot.fake.send_interaction("ask", {"prompt": "write a lot"})

    def pages() -> list[str]:
        original = bot.fake.original(inter.token)
        return [m.content for m in [original, *bot.fake.followups(inter.token)] if m is not None]

    await bot.fake.wait_until(lambda: joins_exactly(pages(), LONG), timeout=15)
    original = bot.fake.original(inter.token)
    assert original is not None
    messages = [original, *bot.fake.followups(inter.token)]
    assert len(messages) >= 3
    assert all(len(m.content) <= 2000 for m in messages)
    assert any(m.content.startswith("```python\n") for m in messages[1:])  # the block went on
    # A finished page is never edited again once the next one exists.
    for page, following in itertools.pairwise(messages):
        assert page.writes[-1].time <= following.writes[0].time
    assert bot.fake.mention_violations() == []


async def test_ask_streams_when_the_callback_answers_204_without_a_body(discord_bot) -> None:
    # Discord documents 204 for the callback when with_response is not honoured; discord.py
    # 2.7 then fails to read the (empty) body after the deferral went out.
    bot = await discord_bot(webhook_bucket=(50, 1.0), callback_with_response=False)
    bot.model.script_queue.append(script_from_text(ANSWER, delay=0.01))
    inter = await bot.fake.send_interaction("ask", {"prompt": "What is streaming?"})
    await bot.fake.wait_until(lambda: final_of(bot.fake, inter.token) == ANSWER, timeout=10)
    assert inter.response_type == 5
    assert bot.fake.calls_to("POST", rf"/interactions/{inter.id}/.+/callback")[0].status == 204
    assert bot.fake.mention_violations() == []


async def test_a_lone_answer_spends_all_but_one_call_of_each_window_on_its_text(discord_bot) -> None:
    bot = await discord_bot()  # 5 calls per 5 s for the interaction token, as on Discord
    text = " ".join(f"word{n}" for n in range(72)) + "."
    bot.model.script_queue.append(script_from_text(text, delay=0.1))  # streams for about 7 s
    inter = await bot.fake.send_interaction("ask", {"prompt": "talk for a while"})
    await bot.fake.wait_until(lambda: final_of(bot.fake, inter.token) == text, timeout=20)

    interim = [c for c in contents(bot.fake.original(inter.token))[1:] if c.endswith(INDICATOR)]  # type: ignore[arg-type]
    # Four interim edits a window (one call kept for the final), so six in the first two
    # windows; keeping two calls back would show only five.
    assert len(interim) >= 6, interim
    assert sum(bot.fake.rate_limited.values()) == 0


async def test_a_fifth_quick_ask_from_one_person_is_one_private_reply_and_no_edit(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_USER_CONCURRENCY": "1", "TRICKLE_USER_QUEUE": "3"}, webhook_bucket=(50, 1.0))
    bot.model.responder = lambda body: script_from_text(
        f"Answer to {body['messages'][-1]['content']}.", first_delay=0.3
    )
    inters = [await bot.fake.send_interaction("ask", {"prompt": f"question {n}"}) for n in range(5)]
    await bot.fake.wait_until(lambda: all(i.response_type is not None for i in inters))
    refused = [i for i in inters if i.response_type == 4]  # answered at once: no deferral
    assert len(refused) == 1
    (inter,) = refused
    assert inter.ephemeral
    assert inter.response_data["content"] == (
        "_(you already have 3 questions waiting — ask again when one is answered)_"
    )
    answered = [i for i in inters if i is not inter]
    await bot.fake.wait_until(
        lambda: all(final_of(bot.fake, i.token) == f"Answer to {i.data['options'][0]['value']}." for i in answered),
        timeout=20,
    )
    writes = [c for c in bot.fake.calls if c.method in ("POST", "PATCH", "DELETE")]
    mine = [c for c in writes if inter.token in c.path or inter.id in c.path]
    assert [(c.method, c.path.endswith("/callback")) for c in mine] == [("POST", True)]  # the one reply
    assert not [c for c in writes if c.path.startswith("/channels/")]  # nothing in the channel either
    assert len(bot.model.requests) == 4


async def test_a_refusal_known_only_after_the_deferral_is_the_deferred_response(discord_bot, monkeypatch) -> None:
    monkeypatch.setattr("bots.discord.handlers.ADMIT_BEFORE_DEFER", 0)  # the quotas are "slow"
    bot = await discord_bot(env={"TRICKLE_USER_RPM": "1"})
    bot.model.script_queue.append(script_from_text("First."))
    first = await bot.fake.send_interaction("ask", {"prompt": "one"})
    await bot.fake.wait_until(lambda: final_of(bot.fake, first.token) == "First.")
    inter = await bot.fake.send_interaction("ask", {"prompt": "two"})
    notice = "_(you are asking faster than the limit allows — try again in a minute)_"
    await bot.fake.wait_until(lambda: final_of(bot.fake, inter.token) == notice)
    assert inter.response_type == 5  # deferred, then the notice in that response: no follow-up
    assert contents(bot.fake.original(inter.token)) == ["", notice]  # type: ignore[arg-type]
    assert bot.fake.followups(inter.token) == []
