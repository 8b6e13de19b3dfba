"""The planner's rules, decided on plain numbers: who a shared budget serves next."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.pacing.bucket import TokenBucket
from core.pacing.candidates import Candidate, Urgency
from core.pacing.forecast import LengthPrior, final_delays, forecast_end
from core.pacing.planner import FAIR_QUANTUM, Planner


@dataclass
class Answer:
    """An answer as the planner sees it (`core.pacing.candidates.Outlook`)."""

    person: str
    started: float = 0.0  # when its first text came
    length: int = 0
    done: bool = False
    since: float | None = None  # oldest unshown text
    shown: bool = True
    rate: float | None = 200.0
    posted: bool = True

    def unshown_since(self) -> float | None:
        return self.since

    def anything_shown(self) -> bool:
        return self.shown

    def pace(self, now: float) -> float | None:
        return self.rate


def write(
    answer: Answer | None, urgency: Urgency = Urgency.INTERIM, *, since: float = 0.0, order: int = 0
) -> Candidate:
    person = answer.person if answer is not None else ""
    return Candidate(object(), urgency, person, since, order, answer)


def test_finals_go_before_first_messages_and_those_before_interims():
    planner = Planner()
    bucket = TokenBucket(rate=1.0, burst=5, now=0.0)
    a, b, c = Answer("a"), Answer("b"), Answer("c")
    waiting = [write(a, Urgency.INTERIM, order=1), write(b, Urgency.FIRST, order=2), write(c, Urgency.FINAL, order=3)]
    assert planner.decide(0.0, bucket, waiting, [a, b, c]).grant is waiting[2]
    assert planner.decide(0.0, bucket, waiting[:2], [a, b]).grant is waiting[1]


def test_the_person_granted_least_lately_goes_first_even_before_a_final():
    planner = Planner(memory=60.0)
    for _ in range(5):
        planner.granted(1.0, "busy")
    bucket = TokenBucket(rate=1.0, burst=5, now=0.0)
    busy, other = Answer("busy"), Answer("other")
    waiting = [write(busy, Urgency.FINAL, since=0.0, order=1), write(other, Urgency.FINAL, since=5.0, order=2)]
    assert planner.decide(10.0, bucket, waiting, []).grant is waiting[1]
    # A minute later the busy person's grants no longer count against them.
    assert planner.decide(70.0, bucket, waiting, []).grant is waiting[0]


def test_an_urgent_write_waits_for_a_token_and_says_when():
    bucket = TokenBucket(rate=2.0, burst=1, now=0.0)
    assert bucket.try_take(0.0)
    decision = Planner().decide(0.0, bucket, [write(Answer("a"), Urgency.FINAL)], [])
    assert decision.grant is None and decision.wake_at == pytest.approx(0.5)


def test_final_delays_follow_the_bucket_and_do_not_touch_it():
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    # Three finals at t=5: two from the full bucket, the third a second later.
    assert final_delays(bucket, 0.0, [5.0, 5.0, 5.0]) == pytest.approx([0.0, 0.0, 1.0])
    # A token taken now refills by t=5: it delays nothing.
    assert final_delays(bucket, 0.0, [5.0, 5.0, 5.0], spend_now=1) == pytest.approx([0.0, 0.0, 1.0])
    # Finals at t=0.5 cannot wait for the refill: one taken now makes the last one later.
    # (1 left + 0.5 earned: the first goes at 0.5, the second when 0.5 more is earned.)
    assert final_delays(bucket, 0.0, [0.5, 0.5], spend_now=1) == pytest.approx([0.0, 0.5])
    assert bucket.tokens == 2


def test_forecast_uses_the_prior_then_the_length_so_far():
    prior = LengthPrior(1000.0)
    assert forecast_end(Answer("a", length=200, rate=100.0), 3.0, prior) == pytest.approx(3.0 + 8.0)
    # Already longer than the prior: a quarter more is expected.
    assert forecast_end(Answer("a", length=2000, rate=100.0), 3.0, prior) == pytest.approx(3.0 + 5.0)
    assert forecast_end(Answer("a", length=2000, done=True), 3.0, prior) == 3.0
    prior.learn(2000)
    assert prior.chars == pytest.approx(1200.0)


def test_a_lone_answer_shows_its_first_words_at_once():
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    alone = Answer("a", length=5, since=0.5, shown=False)
    first = write(alone, since=0.5)
    assert Planner().decide(0.5, bucket, [first], [alone]).grant is first


def test_ten_answers_starting_together_do_not_spend_the_burst_on_first_words():
    planner = Planner()
    bucket = TokenBucket(rate=1.0, burst=5, now=0.0)
    answers = [Answer(f"p{i}", length=5, since=0.5, shown=False) for i in range(10)]
    waiting = [write(a, since=0.5, order=i) for i, a in enumerate(answers)]
    # The greedy rule granted five first words here. The planner grants only the token
    # the full bucket would lose by waiting (it refills past its burst), keeps the
    # others for interims that show more, and looks again soon.
    granted = []
    while (decision := planner.decide(0.5, bucket, waiting, answers)).grant is not None:
        assert bucket.try_take(0.5)
        granted.append(decision.grant)
        waiting.remove(decision.grant)
    assert len(granted) == 1
    assert decision.wake_at is not None and 0.5 < decision.wake_at <= 0.5 + 0.25


def test_first_words_count_only_the_answers_whose_first_message_is_out():
    """Ten mentions in one Discord channel: one was posted empty at once, the others wait
    for the next create window and will post with their words; its first words are
    the only ones this edit budget must pay for, so they go now."""
    bucket = TokenBucket(rate=1.0, burst=5, now=0.0)
    posted = Answer("p0", length=5, since=0.05, shown=False)
    waiting = [Answer(f"p{i}", length=5, since=0.05, shown=False, posted=False) for i in range(1, 10)]
    first = write(posted, since=0.05)
    assert Planner().decide(0.05, bucket, [first], [posted, *waiting]).grant is first


@dataclass
class Growing(Answer):
    """An answer whose text grows with the (test's) clock at `rate` characters a second."""

    clock: list[float] | None = None

    def __post_init__(self) -> None:
        self.base = self.length

    def grow(self) -> None:
        assert self.clock is not None and self.rate is not None
        self.length = self.base + int(self.rate * (self.clock[0] - self.started))


def test_an_interim_waits_until_due_and_then_goes_to_the_person_served_least():
    clock = [0.5]
    planner = Planner(prior=LengthPrior(1600.0))
    bucket = TokenBucket(rate=0.75, burst=8, now=0.0)
    answers = [Growing(f"p{i % 5}", started=0.5, since=0.5, clock=clock) for i in range(10)]

    def decide_at(now: float):
        clock[0] = now
        for answer in answers:
            answer.grow()
        return planner.decide(now, bucket, [write(a, since=0.5, order=i) for i, a in enumerate(answers)], answers)

    # The bucket is full at 1.0 s and overflows if nobody writes: that token is free.
    overflow = decide_at(1.0)
    assert overflow.grant is not None and bucket.try_take(1.0)
    early = decide_at(1.0)
    assert early.grant is None  # text half a second old: an interim now shows little
    # Ten answers forecast to end 8 s after their start share what the bucket earns
    # beyond their ten finals: about one interim each, due halfway through.
    later = decide_at(4.6)
    assert later.grant is not None
    for _ in range(FAIR_QUANTUM):  # served clearly more than the others now
        planner.granted(4.6, later.grant.person)
    following = decide_at(4.6)
    assert following.grant is not None and following.grant.person != later.grant.person


def test_people_served_about_as_much_go_by_how_long_their_text_waited():
    """One grant more or less is no reason to keep older text waiting: ten people in one
    channel each got one or two writes, and the final whose text waited longest goes."""
    planner = Planner()
    for _ in range(2):
        planner.granted(1.0, "older")
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    older, newer = Answer("older", done=True), Answer("newer", done=True)
    waiting = [write(newer, Urgency.FINAL, since=5.0, order=1), write(older, Urgency.FINAL, since=3.5, order=2)]
    assert planner.decide(8.5, bucket, waiting, [older, newer]).grant is waiting[1]
    for _ in range(FAIR_QUANTUM - 2):  # now a whole step ahead of the other: the other goes
        planner.granted(8.5, "older")
    assert planner.decide(8.5, bucket, waiting, [older, newer]).grant is waiting[0]


def test_a_write_without_an_outlook_is_served_like_before():
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    lone = write(None, since=0.0)
    assert Planner().decide(0.0, bucket, [lone], [], interim_need=2.0).grant is lone


def first(answer: Answer, *, order: int, asked_at: float = 0.0) -> Candidate:
    return Candidate(object(), Urgency.FIRST, answer.person, 0.0, order, answer, asked_at)


def test_a_busy_channel_posts_first_messages_with_words_rather_than_empty():
    planner = Planner()
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    quiet = [Answer(f"p{i}", length=0, shown=False) for i in range(3)]
    waiting = [first(a, order=i) for i, a in enumerate(quiet)]
    held = planner.decide(0.1, bucket, waiting, quiet)
    assert held.grant is None and 0.1 < held.wake_at <= 0.15 + 1e-9
    # The model's first words arrive for one of them: it goes with them.
    quiet[2].length = 4
    assert planner.decide(0.2, bucket, waiting, quiet).grant is waiting[2]
    # Nobody waits for words for long.
    assert planner.decide(1.6, bucket, waiting[:2], quiet).grant is not None


def test_a_first_message_the_budget_can_post_at_once_is_not_held():
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    alone = Answer("a", length=0, shown=False)
    only = first(alone, order=0)
    assert Planner().decide(0.0, bucket, [only], [alone]).grant is only


def test_between_equally_served_people_the_one_asking_least_goes_first():
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    busy = [Answer("busy", length=50, since=0.5, shown=False) for _ in range(40)]
    other = Answer("other", length=5, since=1.5, shown=False)
    waiting = [write(a, since=0.5, order=i) for i, a in enumerate(busy)] + [write(other, since=1.5, order=99)]
    # Two people with silent answers and two tokens: first words for one answer each,
    # and the person with one question goes before the one with forty.
    decision = Planner().decide(1.5, bucket, waiting, [*busy, other])
    assert decision.grant is waiting[-1]


def test_first_words_of_an_unserved_person_rank_with_first_messages():
    planner = Planner()
    for _ in range(5):
        planner.granted(1.0, "busy")
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)  # no room for the reserve
    busy = [Answer("busy", length=500, since=0.5) for _ in range(5)]
    other = Answer("other", length=5, since=1.5, shown=False)
    waiting = [write(a, since=0.5, order=i) for i, a in enumerate(busy)] + [write(other, since=1.5, order=99)]
    decision = planner.decide(1.5, bucket, waiting, [*busy, other], interim_need=2.0)
    assert decision.grant is not None and decision.grant.person == "other"
    assert decision.grant.urgency is Urgency.FIRST  # one token is enough for it
