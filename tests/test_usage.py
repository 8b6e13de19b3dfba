"""Token usage per person and channel: counted per answer (reported by the endpoint, else
estimated), kept in daily counters in the state store, reported over days and people."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bots.metrics import Metrics
from bots.settings import Settings
from core.assistant import Assistant
from core.conversation.history import MESSAGE_OVERHEAD, estimate_tokens
from core.models import ChatMessage, EndReason, Usage
from core.question import Asker, Question
from core.sources.factory import build_source
from core.state.sqlite_store import SqliteState
from core.state.store import MemoryState
from core.team.usage import Counted, UsageLedger, count_answer, format_report
from tests.fakes.openai_server import FakeOpenAI, script_from_text
from tests.fakes.surface import FakeSurface

ADA, BO = Asker("U1", "Ada"), Asker("U2", "Bo")
DAY = 86_400.0
MONDAY = dt.datetime(2025, 3, 3, 12, tzinfo=dt.UTC).timestamp()


class Clock:
    def __init__(self, now: float = MONDAY) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sample(metrics: Metrics, **labels: str) -> float | None:
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            if s.name == "trickle_model_tokens_total" and s.labels == labels:
                return s.value
    return None


# -- what one answer cost -----------------------------------------------------------------
SENT = [ChatMessage("system", "Be brief."), ChatMessage("user", "what is a monad?")]


def test_the_endpoints_report_wins_over_any_estimate():
    assert count_answer(Usage(120, 30), SENT, "A burrito.") == Counted(120, 30, "reported")


def test_without_a_report_the_sent_messages_and_the_answer_are_estimated():
    prompt = sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD for m in SENT)
    assert count_answer(None, SENT, "A burrito.") == Counted(prompt, estimate_tokens("A burrito."), "estimated")


@pytest.mark.parametrize("sent, text", [(None, ""), (None, "text from nowhere"), (SENT, "")])
def test_an_answer_that_never_reached_the_model_or_got_nothing_back_costs_nothing(sent, text):
    assert count_answer(None, sent, text) is None


# -- through the assistant ----------------------------------------------------------------
async def ask(fake: FakeOpenAI, ledger: UsageLedger, *questions: Question, **env: str):
    s = Settings.from_mapping({"OPENAI_BASE_URL": fake.base_url, "TRICKLE_EDIT_INTERVAL": "0.05", **env})
    source = build_source(s)
    outcomes = []
    try:
        assistant = Assistant(source=source, settings=s, usage=ledger)
        for question in questions:
            surface = FakeSurface()
            outcomes.append((await assistant.answer(surface, question), surface))
    finally:
        await source.aclose()
    return outcomes


async def test_reported_usage_is_recorded_for_the_person_and_the_channel(fake_openai):
    metrics = Metrics()
    ledger = UsageLedger(MemoryState(), meter=metrics, clock=Clock())
    fake_openai.script_queue.append(script_from_text("A monad is a burrito."))
    [(outcome, surface)] = await ask(fake_openai, ledger, Question("what is a monad?", ADA, place="slack:C1"))
    sent = fake_openai.requests[-1]
    prompt = sum(len(m["content"].split()) for m in sent["messages"])  # how the fake counts
    completion = len(script_from_text("A monad is a burrito.").tokens)
    assert sent["stream_options"] == {"include_usage": True}
    assert outcome.usage == Usage(prompt, completion)
    report = await ledger.report()
    assert [(t.name, t.prompt, t.completion) for t in report.channels] == [("slack:C1", prompt, completion)]
    assert [(t.platform, t.name, t.tokens) for t in report.people] == [("slack", "U1", prompt + completion)]
    assert sample(metrics, platform="slack", kind="prompt", source="reported") == prompt
    assert sample(metrics, platform="slack", kind="completion", source="reported") == completion
    assert sample(metrics, platform="slack", kind="prompt", source="estimated") is None
    # counting changes nothing anyone sees: the final text is exactly the model's
    assert surface.messages[-1].text == outcome.text == "A monad is a burrito."


async def test_without_a_usage_chunk_the_tokens_are_estimated(fake_openai):
    metrics = Metrics()
    ledger = UsageLedger(MemoryState(), meter=metrics, clock=Clock())
    fake_openai.script_queue.append(script_from_text("A monad is a burrito.", usage=False))
    [(outcome, _)] = await ask(fake_openai, ledger, Question("what is a monad?", ADA, place="discord:42"))
    assert outcome.usage is None
    sent = [ChatMessage(m["role"], m["content"]) for m in fake_openai.requests[-1]["messages"]]
    expected = count_answer(None, sent, "A monad is a burrito.")
    assert expected is not None and expected.source == "estimated"
    report = await ledger.report()
    assert (report.prompt, report.completion) == (expected.prompt, expected.completion)
    assert report.people[0].platform == "discord"
    assert sample(metrics, platform="discord", kind="completion", source="estimated") == expected.completion
    assert sample(metrics, platform="discord", kind="completion", source="reported") is None


async def test_a_question_refused_before_the_model_counts_nothing(fake_openai):
    ledger = UsageLedger(MemoryState(), clock=Clock())
    outcomes = await ask(
        fake_openai,
        ledger,
        Question("one", ADA, place="slack:C1"),
        Question("two", ADA, place="slack:C1"),
        TRICKLE_USER_RPM="1",
    )
    assert [o.end for o, _ in outcomes] == [EndReason.STOP, EndReason.REFUSED]
    assert len(fake_openai.requests) == 1
    usage = outcomes[0][0].usage
    assert (await ledger.report()).tokens == usage.prompt_tokens + usage.completion_tokens


# -- the ledger ---------------------------------------------------------------------------
async def test_the_report_adds_up_days_people_and_channels_within_its_window():
    clock = Clock()
    ledger = UsageLedger(MemoryState(), clock=clock)
    await ledger.record(place="slack:C1", person="U1", counted=Counted(100, 10, "reported"))
    clock.now += DAY
    await ledger.record(place="slack:C1", person="U2", counted=Counted(50, 5, "estimated"))
    await ledger.record(place="slack:C2", person="U1", counted=Counted(7, 3, "reported"))
    await ledger.record(place="discord:9", person="U1", counted=Counted(1000, 1, "reported"))
    report = await ledger.report(days=30)
    assert (report.prompt, report.completion) == (1157, 19)
    assert [(t.name, t.tokens) for t in report.channels] == [("discord:9", 1001), ("slack:C1", 165), ("slack:C2", 10)]
    # the same id on two platforms is two people
    assert [(t.platform, t.name, t.tokens) for t in report.people] == [
        ("discord", "U1", 1001),
        ("slack", "U1", 120),
        ("slack", "U2", 55),
    ]
    slack = await ledger.report(platform="slack")
    assert (slack.prompt, slack.completion, len(slack.people)) == (157, 18, 2)
    # a one-day report sees only today
    assert (await ledger.report(days=1)).tokens == 55 + 10 + 1001
    # thirty days later the first day has left the window
    clock.now += 29 * DAY
    assert (await ledger.report(days=30)).tokens == 55 + 10 + 1001
    later = await ledger.report(days=30)
    assert (later.since, later.until) == (dt.date(2025, 3, 4), dt.date(2025, 4, 2))


async def test_counters_outlive_a_30_day_report_and_then_expire():
    clock, monotonic = Clock(), Clock(0.0)
    state = MemoryState(clock=monotonic)
    ledger = UsageLedger(state, clock=clock)
    await ledger.record(place="slack:C1", person="U1", counted=Counted(5, 5, "reported"))
    monotonic.now += 31 * DAY
    assert len(await state.scan("usage:*")) == 2
    monotonic.now += 5 * DAY
    assert await state.scan("usage:*") == {}


async def test_ids_with_colons_or_glob_characters_stay_in_their_own_counters():
    ledger = UsageLedger(MemoryState(), clock=Clock())
    await ledger.record(place="playground", person="tab:1*", counted=Counted(3, 4, "estimated"))
    await ledger.record(place="slack:C[1]", person="U?", counted=Counted(1, 1, "estimated"))
    report = await ledger.report()
    assert {(t.platform, t.name) for t in report.people} == {("playground", "tab:1*"), ("slack", "U?")}
    assert {t.name for t in report.channels} == {"playground", "slack:C[1]"}


async def test_two_replicas_on_one_store_add_up():
    state = MemoryState()
    one, two = UsageLedger(state, clock=Clock()), UsageLedger(state, clock=Clock())
    for ledger in (one, two, one):
        await ledger.record(place="slack:C1", person="U1", counted=Counted(10, 1, "reported"))
    assert (await two.report()).channels[0].tokens == 33


def test_the_text_report_shows_totals_and_the_top_ten():
    from core.team.usage import Total, UsageReport

    channels = [Total(f"slack:C{n}", "slack", 1000 * (12 - n), n) for n in range(12)]
    people = [Total("U1", "slack", 12_000, 5), Total("U2", "slack", 54_000, 61)]
    report = UsageReport(dt.date(2025, 2, 2), dt.date(2025, 3, 3), "slack", channels, people, 66_000, 66)
    text = format_report(report, person_name=lambda t: f"@{t.name}")
    lines = text.splitlines()
    assert lines[0] == "Tokens 2025-02-02 to 2025-03-03 on slack: 66,066 (66,000 prompt, 66 completion)"
    assert "slack:C0" in text and "slack:C9" in text and "slack:C10" not in text
    assert "… and 2 more" in lines
    row = next(line for line in lines if line.startswith("@U1"))
    assert row.split() == ["@U1", "12,005", "12,000", "5"]
    header = next(line for line in lines if line.startswith("person"))
    assert len(header) == len(row)  # a table: columns line up


def test_an_empty_report_says_so():
    from core.team.usage import UsageReport

    report = UsageReport(dt.date(2025, 2, 2), dt.date(2025, 3, 3), None, [], [], 0, 0)
    assert format_report(report).endswith("Nothing counted yet.")


# -- incr on the in-process and SQLite stores ---------------------------------------------
async def test_memory_incr_counts_and_starts_again_after_expiry():
    clock = Clock(0.0)
    state = MemoryState(clock=clock)
    assert await state.incr("n", 5, ttl=10) == 5
    assert await state.incr("n", 2, ttl=10) == 7
    clock.now += 9
    assert await state.incr("n", 1, ttl=10) == 8  # each increment keeps it another ttl
    clock.now += 9.5
    assert await state.get("n") == "8"
    clock.now += 1
    assert await state.incr("n", 1, ttl=10) == 1


async def test_sqlite_incr_counts_survives_a_restart_and_expires(tmp_path):
    clock = Clock(1000.0)
    path = tmp_path / "state.db"
    state = SqliteState(path, clock=clock)
    assert await state.incr("usage:x", 40, ttl=60) == 40
    assert await state.incr("usage:x", 2, ttl=60) == 42
    await state.aclose()
    state = SqliteState(path, clock=clock)
    assert await state.incr("usage:x", 1, ttl=60) == 43
    assert await state.scan("usage:*") == {"usage:x": "43"}
    clock.now += 61
    assert await state.get("usage:x") is None
    assert await state.incr("usage:x", 3, ttl=60) == 3
    await state.aclose()


async def test_a_ledger_on_sqlite_reports_what_was_recorded(tmp_path):
    state = SqliteState(tmp_path / "state.db")
    ledger = UsageLedger(state)
    await ledger.record(place="slack:C1", person="U1", counted=Counted(10, 2, "reported"))
    await ledger.record(place="slack:C1", person="U1", counted=Counted(5, 1, "reported"))
    report = await ledger.report()
    assert [(t.name, t.prompt, t.completion) for t in report.people] == [("U1", 15, 3)]
    await state.aclose()
