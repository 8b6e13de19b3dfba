"""Discord budgets: headers routed to the right budget, and fixed windows never outrun.

Pure arithmetic on a hand-driven clock: no loop, no sleeping.
"""

from __future__ import annotations

import pytest

from bots.discord.budgets import DiscordBudgets, budget_key, parse_headers
from bots.discord.windows import FINAL_SLOT_RELEASE, RECHECK, WindowBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def headers(remaining: int, reset_after: float, limit: int = 5, **extra: str) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": "abc",
        **extra,
    }


def test_paths_name_the_channel_or_the_interaction_token() -> None:
    assert budget_key("/api/v10/channels/42/messages", "POST") == "create:42"
    assert budget_key("/api/v10/channels/42/messages/7", "PATCH") == "channel:42"
    assert budget_key("/api/v10/channels/42/messages/7", "DELETE") == "channel:42"
    assert budget_key("/api/v10/webhooks/1/tok-en_/messages/@original") == "webhook:tok-en_"
    assert budget_key("/api/v10/webhooks/1/tok-en_") == "webhook:tok-en_"
    assert budget_key("/api/v10/interactions/9/tok/callback") is None
    assert budget_key("/api/v10/channels/42/messages/7/reactions/x/@me") is None


def test_headers_are_read_and_a_429_carries_its_precise_wait() -> None:
    ok = parse_headers(200, headers(3, 2.5))
    assert ok is not None and (ok.remaining, ok.reset_after, ok.limit, ok.retry_after) == (3, 2.5, 5, None)
    limited = parse_headers(429, headers(0, 1.234, **{"Retry-After": "2"}))
    assert limited is not None and limited.retry_after == 1.234
    assert parse_headers(429, headers(0, 1.0, **{"X-RateLimit-Global": "true"})) is None
    assert parse_headers(200, {"Content-Type": "application/json"}) is None


def test_a_partly_spent_window_caps_grants_even_when_tokens_refill() -> None:
    bucket = WindowBucket(rate=1.0, burst=5, now=0.0)
    bucket.observe(0.0, remaining=2, reset_after=3.0, limit=5)  # someone spent 3 of 5
    later = 2.5  # the token bucket alone would hold 4.5 tokens by now
    assert bucket.try_take(later) and bucket.try_take(later)
    assert not bucket.try_take(later)  # the window has nothing left until its reset
    assert bucket.ready_at(later) == 3.0
    assert bucket.try_take(3.1)  # a new window: the continuous rate applies again


def test_interim_calls_are_spread_over_the_window_and_leave_the_final_slot() -> None:
    bucket = WindowBucket(rate=1.0, burst=5, now=0.0)
    assert bucket.try_take(0.0, need=2.0)  # the first edit opens the window at once
    bucket.observe(0.0, remaining=4, reset_after=5.0, limit=5)
    assert not bucket.try_take(1.0, need=2.0)
    assert bucket.try_take(1.25, need=2.0)  # three interim slots left over 5 s: one every 1.25 s
    assert not bucket.try_take(2.0, need=2.0)
    assert bucket.try_take(2.5, need=2.0)
    assert bucket.try_take(3.75, need=2.0)
    assert not bucket.try_take(4.0, need=2.0)  # the last call is for a final edit
    assert bucket.try_take(4.0, need=1.0)
    assert not bucket.try_take(4.5, need=1.0)  # and nothing more until the reset
    assert bucket.try_take(5.1, need=2.0)


def test_a_final_slot_no_final_took_goes_to_an_interim_as_the_window_closes() -> None:
    bucket = WindowBucket(rate=1.0, burst=5, now=0.0)
    assert bucket.try_take(0.0, need=2.0)
    bucket.observe(0.0, remaining=4, reset_after=5.0, limit=5)
    for at in (1.25, 2.5, 3.75):
        assert bucket.try_take(at, need=2.0)
    assert not bucket.try_take(4.5, need=2.0)  # kept for a final while one may still come
    assert not bucket.try_take(4.7, need=2.0)
    assert bucket.try_take(5.0 - FINAL_SLOT_RELEASE, need=2.0)  # else it would be lost at the reset
    assert not bucket.try_take(4.9, need=1.0)  # the window is spent
    # A 429's pause holds the released slot too.
    paused = WindowBucket(rate=1.0, burst=5, now=0.0)
    paused.observe(0.0, remaining=1, reset_after=5.0, limit=5)
    paused.rate_limited(4.0, retry_after=0.9)
    assert paused.ready_at(4.8, need=2.0) >= 4.9


def test_an_answer_alone_spreads_every_call_of_the_window() -> None:
    bucket = WindowBucket(rate=1.0, burst=5, now=0.0)
    bucket.tenants = 1  # its Budget counts one answer drawing on it
    assert bucket.try_take(0.0, need=2.0)
    bucket.observe(0.0, remaining=4, reset_after=5.0, limit=5)
    for at in (1.0, 2.0, 3.0):  # four slots left over 5 s, none held back: one a second
        assert not bucket.try_take(at - 0.1, need=2.0)
        assert bucket.try_take(at, need=2.0)
    assert not bucket.try_take(3.9, need=2.0)
    assert bucket.try_take(4.0, need=2.0)  # the last goes one call's share before the reset
    assert not bucket.try_take(4.5, need=1.0)  # so its own final may wait for the reset
    assert bucket.try_take(5.0, need=1.0)
    # Two answers on the window keep the final slot until its last quarter second.
    shared = WindowBucket(rate=1.0, burst=5, now=0.0)
    shared.tenants = 2
    assert shared.try_take(0.0, need=2.0)
    shared.observe(0.0, remaining=4, reset_after=5.0, limit=5)
    assert not shared.try_take(1.0, need=2.0)
    assert shared.try_take(1.25, need=2.0)


def test_while_answers_stream_a_window_not_opened_is_time_lost() -> None:
    bucket = WindowBucket(rate=1.0, burst=5, now=0.0)
    # Nothing open: waiting a quarter second moves every later window as much.
    assert bucket.wasted_by(0.0, 0.25) >= 1.0
    assert bucket.wasted_by(0.0, 0.0) == 0.0
    assert bucket.try_take(0.0, need=2.0)
    assert bucket.wasted_by(1.0, 1.25) == 0.0  # open, and not closing by then
    assert bucket.wasted_by(4.9, 5.1) == 4.0  # closing with four calls unspent


def test_while_only_a_final_could_go_the_budget_looks_again_soon() -> None:
    # A waiting interim edit turns final when its stream ends.
    bucket = WindowBucket(rate=1.0, burst=5, now=0.0)
    bucket.observe(0.0, remaining=1, reset_after=5.0, limit=5)
    assert bucket.ready_at(1.0, need=2.0) == 1.0 + RECHECK


def test_the_rate_is_learned_from_the_first_call_of_a_window() -> None:
    bucket = WindowBucket(rate=1.0, burst=5, now=0.0)
    bucket.observe(0.0, remaining=49, reset_after=1.0, limit=50)
    assert bucket.rate == bucket.base_rate == 50.0
    assert bucket.burst == 50


def test_responses_feed_the_budget_their_path_names() -> None:
    clock = Clock()
    budgets = DiscordBudgets(clock=clock)
    budgets.observe(method="PATCH", path="/api/v10/channels/42/messages/1", status=200, headers=headers(0, 4.0))
    channel = budgets.channel(42)
    assert channel.bucket.ready_at(clock.now) >= clock.now + 4.0  # exhausted until the reset
    assert budgets.channel(43).bucket.ready_at(clock.now) == clock.now  # other channels unaffected
    # Creates are counted apart from edits (one bucket hash, two counts at Discord).
    assert budgets.creates(42).bucket.ready_at(clock.now) == clock.now
    budgets.observe(method="POST", path="/api/v10/channels/42/messages", status=200, headers=headers(0, 3.0))
    assert budgets.creates(42).bucket.ready_at(clock.now) >= clock.now + 3.0

    budgets.observe(
        method="PATCH", path="/api/v10/webhooks/1/SECRET-TOKEN/messages/@original", status=429, headers=headers(0, 2.0)
    )
    token = budgets.interaction("SECRET-TOKEN")
    assert token.stats.rate_limited == 1 and token.bucket.rate < 1.0
    assert "SECRET-TOKEN" not in repr(token)  # interaction tokens are secrets: never in logs


def test_interaction_budgets_are_forgotten_with_their_tokens() -> None:
    clock = Clock()
    budgets = DiscordBudgets(clock=clock)
    first = budgets.interaction("old")
    clock.now += 901
    budgets.interaction("new")
    assert budgets.interaction("old") is not first


def test_a_call_after_a_reset_opens_the_next_window_until_the_headers_say_otherwise() -> None:
    bucket = WindowBucket(rate=1.0, burst=5, now=0.0)
    assert bucket.try_take(0.0)
    # Counted in a window of five from its first call: the planner's copies see it.
    assert bucket.window_end == 5.0 and bucket.window_left == 4
    assert bucket.wasted_by(0.0, 4.0) == 0.0 and bucket.wasted_by(0.0, 6.0) == 4
    assert bucket.try_take(0.0)
    # The first response of the window: Discord's figures replace the guess, less the
    # other call already sent in it.
    bucket.observe(0.1, remaining=49, reset_after=1.0, limit=50)
    assert bucket.window_end == pytest.approx(1.1) and bucket.window_left == 48
    assert bucket.period == 1.0 and bucket.rate == 50.0
    bucket.observe(0.1, remaining=48, reset_after=1.0, limit=50)
    assert bucket.window_left == 48
