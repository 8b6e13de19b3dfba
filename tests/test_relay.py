"""The relay's promises, on a fake surface and a fake clock."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from core.models import EndReason, ErrorKind, Finish, TextDelta, Waiting
from core.observer import NullObserver
from core.pacing.budget import Budget
from core.relay.answer import NOTICE_WAIT, Answer, relay
from core.relay.config import RelayConfig
from core.surface import SurfaceError
from tests.fakes.model import ScriptedSource, words
from tests.fakes.surface import INDICATOR, PLACEHOLDER, FakeSurface

POEM = (
    "Spring wakes the meadow, soft and green,\n"
    "with blossoms bright where frost has been.\n\n"
    "The robin sings, the brook runs free, & <everyone> hears the melody."
)

pytestmark = pytest.mark.looptime


def interim_texts(surface: FakeSurface, index: int = 0) -> list[str]:
    return [text for _, text, final in surface.messages[index].versions if not final][1:]


async def test_normal_end_leaves_exactly_the_model_text():
    surface = FakeSurface()
    outcome = await relay(surface, ScriptedSource(words(POEM), delay=0.05).stream())
    assert outcome.end is EndReason.STOP
    assert surface.final_texts() == [POEM]
    assert surface.unfinished() == []


async def test_every_interim_edit_shows_a_prefix_of_the_final_text():
    surface = FakeSurface()
    await relay(surface, ScriptedSource(words(POEM * 3), delay=0.02).stream())
    final = surface.messages[0].text
    shown = interim_texts(surface)
    assert len(shown) >= 2
    for text in shown:
        assert text.endswith(INDICATOR)
        assert final.startswith(text[: -len(INDICATOR)])


async def test_first_token_is_shown_at_once_then_at_most_once_per_interval():
    surface = FakeSurface()
    source = ScriptedSource(words(POEM * 4), delay=0.01)
    await relay(surface, source.stream(), config=RelayConfig(interval=0.5))
    versions = surface.messages[0].versions
    first_token_at = source.emitted[0][0]
    first_edit_at = versions[1][0]
    assert first_edit_at - first_token_at < 0.01
    edit_times = [t for t, _, final in versions[1:] if not final]
    gaps = [b - a for a, b in itertools.pairwise(edit_times)]
    assert min(gaps) >= 0.5 - 1e-6


async def test_edits_are_coalesced_never_queued():
    surface = FakeSurface(latency=0.3)
    source = ScriptedSource(words(POEM * 4), delay=0.005)
    await relay(surface, source.stream(), config=RelayConfig(interval=0.1))
    tokens = len(source.tokens)
    assert surface.edits < tokens / 5
    assert surface.overlapping_edits == 0
    assert surface.final_texts() == [POEM * 4]


async def test_reading_the_model_never_waits_on_a_slow_edit():
    surface = FakeSurface(latency=5.0)
    source = ScriptedSource(words(POEM), delay=0.01)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await relay(surface, source.stream())
    last_token_at = source.emitted[-1][0]
    assert last_token_at - start < 0.01 * len(source.tokens) + 0.05


async def test_length_end_keeps_the_text_and_adds_a_notice():
    surface = FakeSurface()
    outcome = await relay(surface, ScriptedSource(words(POEM), finish_reason="length").stream())
    assert outcome.end is EndReason.LENGTH
    assert surface.final_texts()[0].startswith(POEM + "\n\n_(")


async def test_content_filter_end_adds_its_notice():
    surface = FakeSurface()
    outcome = await relay(surface, ScriptedSource(["Hi"], finish_reason="content_filter").stream())
    assert outcome.end is EndReason.CONTENT_FILTER
    assert "content filter" in surface.final_texts()[0]


async def test_model_error_mid_stream_keeps_the_partial_text():
    surface = FakeSurface()
    source = ScriptedSource(words(POEM), delay=0.01, fail=ErrorKind.LOST, fail_after=5)
    outcome = await relay(surface, source.stream())
    partial = "".join(words(POEM)[:5])
    assert outcome.end is EndReason.ERROR
    assert surface.final_texts()[0].startswith(partial.rstrip() + "\n\n_(the model failed")
    assert surface.unfinished() == []


async def test_timeout_gets_the_timeout_notice():
    surface = FakeSurface()
    source = ScriptedSource(["Hello", " there"], fail=ErrorKind.TIMEOUT)
    outcome = await relay(surface, source.stream())
    assert outcome.end is EndReason.TIMEOUT
    assert surface.final_texts() == ["Hello there\n\n_(the model failed: timeout — ask again)_"]


async def test_stop_closes_the_stream_and_marks_the_message():
    surface = FakeSurface()
    source = ScriptedSource(words(POEM), delay=0.05, hang_after=6)
    answer = Answer(surface, source.stream())
    task = asyncio.create_task(answer.run())
    await asyncio.sleep(1.0)
    answer.stop(by="Ada")
    outcome = await task
    assert outcome.end is EndReason.STOPPED
    assert source.closed
    assert surface.final_texts()[0].endswith("\n\n_(stopped by Ada)_")
    assert surface.final_texts()[0].startswith("".join(words(POEM)[:6]).rstrip())


async def test_cancelling_the_answer_still_finishes_the_placeholder():
    surface = FakeSurface()
    source = ScriptedSource(words(POEM), delay=0.05, hang_after=3)
    task = asyncio.create_task(relay(surface, source.stream()))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.closed
    assert surface.unfinished() == []
    assert "interrupted" in surface.final_texts()[0]


async def test_empty_answer_is_not_left_as_a_placeholder():
    surface = FakeSurface()
    outcome = await relay(surface, ScriptedSource([]).stream())
    assert outcome.end is EndReason.ERROR
    assert surface.final_texts()[0] != PLACEHOLDER
    assert surface.unfinished() == []


async def test_rate_limited_edits_are_retried_with_the_latest_text():
    budget = Budget(rate=5.0, burst=5)
    surface = FakeSurface(edit_budget=budget, rate_limit_edits=3, retry_after=1.0)
    source = ScriptedSource(words(POEM * 2), delay=0.02)
    outcome = await relay(surface, source.stream())
    assert outcome.end is EndReason.STOP
    assert surface.final_texts() == [POEM * 2]
    assert budget.stats.rate_limited == 3


async def test_placeholder_failure_closes_the_stream_and_names_the_platform_error():
    surface = FakeSurface(fail_placeholder="not_in_channel", latency=0.05)
    source = ScriptedSource(words(POEM), delay=0.01)
    outcome = await relay(surface, source.stream())
    assert outcome.end is EndReason.PLATFORM_ERROR
    assert "not_in_channel" in (outcome.notice or "")
    assert source.closed
    assert surface.messages == []


async def test_an_answer_that_could_not_post_anything_still_reports_its_end():
    ends: list[str] = []

    class Ends(NullObserver):
        def ended(self, end: str) -> None:
            ends.append(end)

    surface = FakeSurface(fail_placeholder="not_in_channel")
    await relay(surface, ScriptedSource(words(POEM)).stream(), observer=Ends())
    assert ends == ["platform_error"]  # else an "active streams" gauge never comes down


@pytest.mark.looptime
async def test_many_finals_queued_on_one_shared_budget_all_get_written():
    # Eighty answers end together on a budget of one edit a second: the last final
    # waits over a minute, and must still be written rather than given up on.
    budget = Budget(rate=1.0, burst=2)
    surfaces = [FakeSurface(edit_budget=budget) for _ in range(80)]
    sources = [ScriptedSource(words(POEM), delay=0.01) for _ in surfaces]
    outcomes = await asyncio.gather(*(relay(f, s.stream()) for f, s in zip(surfaces, sources, strict=False)))
    assert all(o.end is EndReason.STOP for o in outcomes)
    assert [f.final_texts() for f in surfaces] == [[POEM]] * 80
    assert all(f.unfinished() == [] for f in surfaces)


async def test_long_answers_continue_on_further_pages():
    text = "\n\n".join(f"Paragraph {n}: " + "word " * 40 for n in range(30))
    surface = FakeSurface(page_limit=500)
    outcome = await relay(surface, ScriptedSource(words(text), delay=0.002).stream())
    assert outcome.pages == len(surface.messages) > 1
    assert all(len(t) <= 500 for t in surface.final_texts())
    assert "".join(surface.final_texts()).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    assert surface.errors == []
    assert surface.unfinished() == []


async def test_a_page_that_must_be_left_continues_on_a_new_message():
    surface = FakeSurface(leave_after=2.0)
    text = "".join(words(POEM * 3))
    outcome = await relay(surface, ScriptedSource(words(text), delay=0.1).stream())
    assert outcome.end is EndReason.STOP
    assert len(surface.messages) >= 2
    assert "".join(surface.final_texts()) == text
    assert surface.errors == []


async def test_concurrent_answers_share_one_budget_within_its_rate():
    budget = Budget.per_minute(50, burst=10)
    loop = asyncio.get_running_loop()
    surfaces = [FakeSurface(edit_budget=budget) for _ in range(10)]
    sources = [ScriptedSource(words(POEM * 3), delay=0.05) for _ in range(10)]
    start = loop.time()
    await asyncio.gather(*(relay(s, src.stream()) for s, src in zip(surfaces, sources, strict=False)))
    elapsed = loop.time() - start
    edits = sum(s.edits for s in surfaces)
    assert edits <= 10 + elapsed * 50 / 60 + 1
    assert all(s.final_texts() == [POEM * 3] for s in surfaces)
    # The planner shows an answer's first words early only where that costs no final
    # its token (six of the ten here); the others are shown whole at their final.
    assert sum(s.edits >= 2 for s in surfaces) >= 6, [s.edits for s in surfaces]


async def test_a_transient_platform_error_is_retried_and_the_answer_ends_exact():
    class FlakySurface(FakeSurface):
        failures = 2

        async def edit(self, ref, text, *, final):
            if self.failures:
                self.failures -= 1
                raise SurfaceError("internal_error", transient=True)
            await super().edit(ref, text, final=final)

    surface = FlakySurface()
    outcome = await relay(surface, ScriptedSource(words(POEM), delay=0.05).stream())
    assert outcome.end is EndReason.STOP
    assert surface.final_texts() == [POEM]


@pytest.mark.looptime
async def test_a_platform_outage_longer_than_the_retries_still_ends_exact():
    # Every edit fails for 40 s (longer than the interim retries last): the answer keeps
    # streaming, and the final edit is retried until the platform is back.
    class DownForAWhile(FakeSurface):
        async def edit(self, ref, text, *, final):
            if asyncio.get_running_loop().time() - self.started < 40:
                raise SurfaceError("internal_error", transient=True)
            await super().edit(ref, text, final=final)

    surface = DownForAWhile()
    surface.started = asyncio.get_running_loop().time()
    outcome = await relay(surface, ScriptedSource(words(POEM * 4), delay=0.5).stream())
    assert outcome.end is EndReason.STOP
    assert surface.final_texts() == [POEM * 4]
    assert surface.unfinished() == []


@pytest.mark.looptime
async def test_a_platform_that_never_recovers_ends_the_answer_at_the_finish_timeout():
    class Down(FakeSurface):
        async def edit(self, ref, text, *, final):
            raise SurfaceError("internal_error", transient=True)

    loop = asyncio.get_running_loop()
    started = loop.time()
    config = RelayConfig(finish_timeout=120.0)
    outcome = await relay(Down(), ScriptedSource(words(POEM), delay=0.05).stream(), config=config)
    # Interim edits gave up after their retries; only the final retried, and not for ever.
    assert outcome.text == POEM
    assert loop.time() - started < 120.0 + 60.0


async def test_a_permanent_platform_error_mid_stream_is_named_in_the_message():
    class BrokenSurface(FakeSurface):
        edits_before_failure = 1

        async def edit(self, ref, text, *, final):
            if not final and self.edits_before_failure == 0:
                raise SurfaceError("msg_too_long")
            self.edits_before_failure -= 1
            await super().edit(ref, text, final=final)

    surface = BrokenSurface()
    source = ScriptedSource(words(POEM), delay=0.05)
    outcome = await relay(surface, source.stream())
    assert outcome.end is EndReason.PLATFORM_ERROR
    assert source.closed
    assert surface.final_texts()[0].endswith("_(this message could not be updated: msg_too_long — ask again)_")
    assert surface.unfinished() == []


async def test_a_page_refused_as_too_long_even_when_final_ends_with_what_it_showed():
    class SmallerThanItSays(FakeSurface):
        async def edit(self, ref, text, *, final):
            if len(text) > 60:  # the platform's real limit is below the page limit
                raise SurfaceError("msg_too_long")
            await super().edit(ref, text, final=final)

    surface = SmallerThanItSays()
    source = ScriptedSource(words(POEM * 3), delay=0.01)
    outcome = await relay(surface, source.stream(), config=RelayConfig(interval=0.05))
    assert outcome.end is EndReason.PLATFORM_ERROR
    assert surface.unfinished() == []
    (final,) = surface.final_texts()
    assert final and (POEM * 3).startswith(final)  # the notice did not fit


async def test_a_grant_that_arrives_after_the_stream_ended_carries_the_final_text():
    budget = Budget(rate=1.0, burst=1, reserve=0)
    surface = FakeSurface(edit_budget=budget)
    source = ScriptedSource(["Hello", " there", " friend."], delay=0.2)
    await relay(surface, source.stream(), config=RelayConfig(interval=0.1))
    versions = surface.messages[0].versions
    # placeholder, the leading-edge edit, then one edit that is already the final one
    assert [final for _, _, final in versions] == [False, False, True]
    assert surface.final_texts() == ["Hello there friend."]


async def test_the_final_edit_does_not_wait_out_the_interval():
    surface = FakeSurface()
    source = ScriptedSource(["One", " two", " three."], delay=0.1)
    await relay(surface, source.stream(), config=RelayConfig(interval=5.0))
    last_token_at = source.emitted[-1][0]
    final_at = surface.messages[0].versions[-1][0]
    assert surface.final_texts() == ["One two three."]
    assert final_at - last_token_at < 0.05


async def test_a_placeholder_kept_waiting_by_its_budget_goes_up_with_the_text_so_far():
    class Opening(FakeSurface):
        async def post_opening(self, text):
            shown = text()
            return await (self.post_page(shown, final=False) if shown else self.post_placeholder())

    budget = Budget(rate=1.0, burst=1, reserve=0)
    surface = Opening(post_budget=budget)
    await budget.acquire(stale_since=0.0)  # another answer just took the channel's post
    source = ScriptedSource(words(POEM), delay=0.01)
    outcome = await relay(surface, source.stream(), config=RelayConfig(interval=0.1))
    first = surface.messages[0].versions[0][1]
    assert first != PLACEHOLDER and POEM.startswith(first.removesuffix(INDICATOR))
    assert outcome.end is EndReason.STOP and surface.final_texts() == [POEM]


class StatusSurface(FakeSurface):
    """Shows statuses in its placeholder, as Slack's and Discord's surfaces do."""

    async def show_status(self, ref, status: str) -> bool:
        await self.edit(ref, f"_{status}_", final=False)
        return True


async def test_a_status_still_waiting_for_its_budget_is_withdrawn_when_the_text_arrives():
    budget = Budget(rate=0.5, burst=1)
    await budget.acquire(stale_since=0.0, final=True)  # someone else took the only token

    async def queued_then_answered():
        yield Waiting(0.0, why="queued")
        await asyncio.sleep(1.0)
        yield TextDelta("Hello.")
        yield Finish("stop")

    surface = StatusSurface(edit_budget=budget)
    outcome = await relay(surface, queued_then_answered())
    assert outcome.end is EndReason.STOP
    assert surface.final_texts() == ["Hello."]
    await asyncio.sleep(10.0)  # time for a status left waiting to be granted
    assert not any("queued" in text for _, text, _ in surface.messages[0].versions)
    # Ours, then the final: the withdrawn status spent nothing.
    assert budget.stats.granted == 2


async def test_a_notice_is_said_before_the_words_however_fast_they_come():
    # The same slow budget as above: a plain status gives way to the text; a notice
    # (what was cut from the question) is written first, and the text waits for it.
    budget = Budget(rate=0.5, burst=1)
    await budget.acquire(stale_since=0.0, final=True)

    async def noticed_then_answered():
        yield Waiting(0.0, why="report.pdf: only the first 50 of 120 pages were read", notice=True)
        yield Waiting(0.0, why="queued")  # a plain status never displaces a notice
        yield TextDelta("Hello.")
        yield Finish("stop")

    surface = StatusSurface(edit_budget=budget)
    outcome = await relay(surface, noticed_then_answered())
    assert outcome.end is EndReason.STOP and surface.final_texts() == ["Hello."]
    shown = [text for _, text, _ in surface.messages[0].versions]
    said = [i for i, text in enumerate(shown) if "only the first 50 of 120 pages" in text]
    assert said and said[0] < shown.index("Hello.")
    assert not any("queued" in text for text in shown)


class StuckStatusSurface(StatusSurface):
    """A platform that never answers a status write (the text's own writes go through)."""

    async def show_status(self, ref, status: str) -> bool:
        await asyncio.Event().wait()
        return True


async def test_a_notice_that_cannot_be_said_holds_the_words_back_for_seconds_not_for_ever():
    async def noticed_then_answered():
        yield Waiting(0.0, why="photo.png could not be downloaded (403)", notice=True)
        yield TextDelta("Hello.")
        yield Finish("stop")

    surface = StuckStatusSurface()
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await relay(surface, noticed_then_answered())
    assert outcome.end is EndReason.STOP and surface.final_texts() == ["Hello."]
    assert loop.time() - started <= NOTICE_WAIT + 1.0


async def test_a_status_after_a_notice_shows_both_and_notices_join():
    async def posted_then_noticed():
        await asyncio.sleep(1.0)  # the placeholder is up
        yield Waiting(0.0, why="notes.txt could not be downloaded (404)", notice=True)
        yield Waiting(0.0, why="the model did not take the images", notice=True)
        yield Waiting(0.0, why="queued behind your previous question")
        await asyncio.sleep(5.0)
        yield TextDelta("Done.")
        yield Finish("stop")

    surface = StatusSurface()
    outcome = await relay(surface, posted_then_noticed(), config=RelayConfig(interval=0.1))
    assert outcome.end is EndReason.STOP and surface.final_texts() == ["Done."]
    shown = [text for _, text, _ in surface.messages[0].versions]
    before_text = shown[: shown.index("Done.")]
    assert before_text[-1].startswith(
        "_notes.txt could not be downloaded (404); the model did not take the images; "
        "queued behind your previous question…_"
    )


class Staleness(NullObserver):
    def __init__(self) -> None:
        self.values: list[float] = []

    def text_shown(self, seconds: float) -> None:
        self.values.append(seconds)


async def test_staleness_counts_text_on_a_later_page_only_once_that_page_shows_it():
    # Continuation pages wait for a slow post budget while the first page keeps being
    # edited: its edits must not count the text waiting for the next page as shown.
    posts = Budget(rate=0.5, burst=2, reserve=0)
    surface = FakeSurface(page_limit=60, post_budget=posts)
    source = ScriptedSource([f"w{n:02d} " for n in range(60)], delay=0.05)
    seen = Staleness()
    await relay(surface, source.stream(), observer=seen, config=RelayConfig(interval=0.1))
    assert len(surface.messages) >= 3

    def shown_at(time: float) -> str:
        texts = []
        for message in surface.messages:
            versions = [text for at, text, _ in message.versions if at <= time]
            texts.append(versions[-1].removesuffix(INDICATOR).replace(PLACEHOLDER, "") if versions else "")
        return "".join(texts)

    times = sorted({at for message in surface.messages for at, _, _ in message.versions})
    visible = []
    for emitted_at, length in source.emitted:
        first = next(at for at in times if len(shown_at(at)) >= length)
        visible.append(first - emitted_at)
    assert sorted(seen.values) == pytest.approx(sorted(visible), abs=1e-6)


# -- bugs are visible: a traceback once, and the answer still ends -------------------------------
async def _broken_source():
    yield TextDelta("Half an ")
    raise ZeroDivisionError("a bug in the source")


class BrokenEditSurface(FakeSurface):
    """An adapter with a bug: its interim edits raise what no retry policy expects."""

    async def edit(self, ref, text, *, final):
        if not final:
            raise KeyError("a bug in the adapter")
        await super().edit(ref, text, final=final)


async def test_a_source_that_raises_logs_its_traceback_once_and_the_answer_ends_with_a_notice(caplog):
    surface = FakeSurface()
    with caplog.at_level("ERROR", logger="trickle.relay"):
        outcome = await relay(surface, _broken_source())
    assert outcome.end is EndReason.ERROR
    assert surface.final_texts()[0].startswith("Half an") and surface.unfinished() == []
    bugs = [r for r in caplog.records if r.exc_info]
    assert len(bugs) == 1 and bugs[0].exc_info[0] is ZeroDivisionError


async def test_an_adapter_bug_logs_its_traceback_while_an_expected_failure_logs_one_line(caplog):
    with caplog.at_level("ERROR", logger="trickle.relay"):
        broken = BrokenEditSurface()
        outcome = await relay(broken, ScriptedSource(words(POEM), delay=0.05).stream())
        expected = FakeSurface(fail_placeholder="not_in_channel")
        await relay(expected, ScriptedSource(words(POEM), delay=0.05).stream())
    assert outcome.end is EndReason.PLATFORM_ERROR and broken.unfinished() == []
    with_trace = [r for r in caplog.records if r.exc_info]
    assert len(with_trace) == 1 and with_trace[0].exc_info[0] is KeyError
    assert any("not_in_channel" in r.getMessage() and not r.exc_info for r in caplog.records)


class BrokenFinalSurface(FakeSurface):
    """An adapter whose every edit raises what no retry policy expects."""

    async def edit(self, ref, text, *, final):
        raise KeyError("a bug in the adapter")


async def test_an_adapter_bug_in_the_final_edit_is_logged_once_and_never_raised(caplog):
    surface = BrokenFinalSurface()
    with caplog.at_level("ERROR", logger="trickle.relay"):
        outcome = await relay(surface, ScriptedSource(words(POEM), delay=0.05).stream())
    assert outcome.end is EndReason.PLATFORM_ERROR
    with_trace = [r for r in caplog.records if r.exc_info]
    assert len(with_trace) == 1 and with_trace[0].exc_info[0] is KeyError


class EndingSurface(FakeSurface):
    """A surface whose messages need one more call once final (a Slack stream's stop)."""

    def __init__(self, *, end_budget: Budget, fail_end: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ended: list[tuple[float, int, bool]] = []  # when, which message, final by then
        self._end_budget = end_budget
        self._fail_end = fail_end
        self.end_attempts = 0

    def must_end(self, ref: object) -> bool:
        assert isinstance(ref, type(self.messages[0]))
        return all(m != ref.id for _, m, _ in self.ended)

    def end_budget(self, ref: object) -> Budget | None:
        return self._end_budget

    async def end(self, ref: object) -> None:
        self.end_attempts += 1
        if self._fail_end:
            raise SurfaceError("channel_not_found")
        assert isinstance(ref, type(self.messages[0]))
        self.ended.append((asyncio.get_running_loop().time(), ref.id, ref.final))


async def test_a_message_that_must_be_ended_is_ended_once_after_its_final_text():
    loop = asyncio.get_running_loop()
    ends = Budget(rate=1.0, burst=1, reserve=0)
    await ends.acquire(stale_since=0.0)  # spent: the ends wait on it, a second apart
    surface = EndingSurface(end_budget=ends, page_limit=60)
    outcome = await relay(surface, ScriptedSource(words(POEM), delay=0.05).stream())
    assert outcome.end is EndReason.STOP and outcome.pages >= 3
    assert "".join(surface.final_texts()) == POEM
    assert sorted(message for _, message, _ in surface.ended) == [m.id for m in surface.messages]
    for when, message, final in surface.ended:
        final_at = next(t for t, _, is_final in surface.messages[message].versions if is_final)
        assert final and when >= final_at
    ended_at = sorted(when for when, _, _ in surface.ended)
    assert all(later - earlier >= 1.0 - 1e-6 for earlier, later in itertools.pairwise(ended_at))
    # A page left behind is ended while the answer goes on, not held until its end.
    last_final = max(when for m in surface.messages for when, _, final in m.versions if final)
    assert ended_at[0] < last_final
    assert loop.time() >= ended_at[-1]


async def test_an_end_that_fails_does_not_change_the_answer():
    surface = EndingSurface(end_budget=Budget(rate=1.0, burst=1, reserve=0), fail_end=True)
    outcome = await relay(surface, ScriptedSource(words(POEM), delay=0.01).stream())
    assert outcome.end is EndReason.STOP
    assert surface.final_texts() == [POEM] and surface.unfinished() == []
    assert surface.end_attempts == 1
