"""The arithmetic of one Discord rate-limit window, as a `TokenBucket` the relay can use.

Discord counts calls in fixed windows and says so in its headers ("2 left, reset in
3.2 s"); the core's token bucket refills continuously. `WindowBucket` keeps the token
bucket (for the rate and for 429 back-off) and adds what the window knows. Pure: time
is passed in, so tests drive it with plain numbers.
"""

from __future__ import annotations

import math

from core.pacing.bucket import TokenBucket

MAX_RATE = 50.0  # Discord's global limit per bot: no bucket may go faster
FINAL_SLOTS = 1  # calls of each window that only final edits (and placeholders) may take
RECHECK = 0.05  # seconds between looks while only a final edit could go
FINAL_SLOT_RELEASE = 0.25  # seconds before a window ends when its final slots go to interims
_NEW_WINDOW_SLACK = 0.25  # a reset this much later than the known one means a new window


class WindowBucket(TokenBucket):
    """A token bucket that never outruns, and evenly spreads, the server's window.

    Why each rule:
    - *Cap*: after an idle second a token bucket believes it may burst again, and
      concurrent answers in one channel would spend calls the window no longer has (429).
      While a window we were told about is open, grants are capped by its remaining count.
    - *Final slots*: interim edits (`need > 1`, the relay's reserve) leave `FINAL_SLOTS`
      of each window: an interim edit already on its way when the stream ends must not
      make the final edit wait for the reset. One is enough, since a grant that comes
      after the end carries the final text; each more would idle a fifth of the window.
      In the window's last `FINAL_SLOT_RELEASE` seconds they go to interims too: a
      final then waits at most that long for the reset, and the slot is not lost.
    - *Alone*: an answer alone on the window (its `Budget` counts one tenant) keeps no
      slot back from the spread, and its last interim goes one call's share of the
      window (1 s of 5) before the reset. Only its own final can then wait, once and
      for at most that long, while every interim comes a quarter sooner: the slot held
      back made its edits 1.25 s apart where the window allows 1 s (staleness p95 1.16
      -> 0.94 s, `benchmarks.floor`). Answers sharing the window keep the slot, since
      their finals come together.
    - *Reset*: when the window ends the server holds `limit` fresh calls at once. The
      token bucket alone would trickle them back at `rate` (a 429 or an empty window
      pauses it until the reset, then starts from nothing), so placeholders and finals
      queued behind a full window would go one a second instead of together.
    - *Spread*: the interim slots left are spread over the time left, so one answer
      updates every ~1.7 s rather than three times at once and then not for 4 s.
    - *Next window*: once the window's length is known, a call after a reset opens the
      next window at once (the headers confirm it), so the cap holds from its first call.
    - *No idle gap*: while answers stream, a window not opened is time lost: every later
      window, and the finals it will hold, comes that much later (`wasted_by`). So the
      planner spends a call as soon as a window can open, and the windows stay in step.
    - *Recheck*: a waiting interim edit turns final when its stream ends, but `Budget`
      re-decides only when its timer fires; while a final could go, it fires soon.
    The rate and the window's length are learned from the window's first call.
    """

    __slots__ = ("window_left", "window_end", "period", "last_interim", "_refilled_for", "_guessed")

    def __init__(self, *, rate: float, burst: float, now: float) -> None:
        super().__init__(rate=rate, burst=burst, now=now)
        self.window_left = math.inf
        self.window_end = -math.inf
        # Until the headers say otherwise, a window is `burst` calls at `rate`: what
        # Discord's message buckets allow (5 per 5 s), so plans made before the first
        # call already know that calls come in windows.
        self.period: float | None = burst / rate
        self.last_interim = -math.inf
        self._refilled_for = -math.inf  # the window end whose reset was already granted
        self._guessed: int | None = None  # calls counted in a window we opened, unconfirmed

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]} window_left={self.window_left:g} until={self.window_end:.3f}>"

    def refill(self, now: float) -> None:
        reset = -math.inf < self.window_end <= now and self.window_end != self._refilled_for
        if reset and now >= self.paused_until:
            self._refilled_for = self.window_end
            self.tokens = self.burst  # a new window: all of its calls are there at once
            self.updated_at = max(self.updated_at, now)
        super().refill(now)

    def ready_at(self, now: float, *, need: float = 1.0) -> float:
        at = super().ready_at(now, need=need)
        if now < self.window_end:
            at = min(at, max(self.window_end, self.paused_until))  # full again at the reset
            interim = need > 1.0
            if self.window_left < (max(need, 1.0 + FINAL_SLOTS) if interim else need):
                at = max(at, self.window_end)
                if interim and self.window_left >= 1.0:
                    at = min(at, max(now, self.window_end - self._release_lead(), self.paused_until))
            elif interim:
                at = max(at, self._spread_slot())
        if at > now and need > 1.0 and self._final_could_go(now):
            at = min(at, now + RECHECK)
        return at

    def wasted_by(self, now: float, until: float) -> float:
        """Calls lost if none is made until `until`: the open window's calls left, if it
        ends by then. A window not yet opened loses time instead: it opens with a call,
        so every window after it (and the finals they will hold) comes as much later, as
        if a window's worth of calls per period were lost meanwhile."""
        if now < self.window_end <= until:
            return max(0.0, self.window_left)
        if now >= self.window_end and self.period and until > now:
            return max(1.0, self.burst * (until - now) / self.period)
        return 0.0

    def _alone(self) -> bool:
        return self.tenants == 1

    def _release_lead(self) -> float:
        """How long before the reset the final slots go to interims (see *Alone*)."""
        if self._alone() and self.period:
            return max(FINAL_SLOT_RELEASE, self.period / self.burst)
        return FINAL_SLOT_RELEASE

    def _spread_slot(self) -> float:
        """When the next interim call may go: the slots left, evenly over the time left."""
        slots = self.window_left - (0 if self._alone() else FINAL_SLOTS)
        start = self.window_end - self.period if self.period is not None else -math.inf
        last = max(self.last_interim, start)
        return (last * slots + self.window_end) / (slots + 1) if last > -math.inf else -math.inf

    def _final_could_go(self, now: float) -> bool:
        open_window = now < self.window_end
        return super().ready_at(now, need=1.0) <= now and not (open_window and self.window_left < 1.0)

    def try_take(self, now: float, *, need: float = 1.0) -> bool:
        if not super().try_take(now, need=need):
            return False
        if now >= self.window_end and self.period is not None:
            # Discord opens a window with the first call after a reset: count this one
            # in it now, not when its headers come back, so that a plan made meanwhile
            # (or on a copy, by the planner) knows the window holds `burst` calls. The
            # first headers of the window replace this guess.
            self.window_end, self.window_left = now + self.period, self.burst
            self._guessed = 0
        if now < self.window_end:
            self.window_left -= 1
            if self._guessed is not None:
                self._guessed += 1
        if need > 1.0:
            self.last_interim = now
        return True

    def observe(self, now: float, *, remaining: int, reset_after: float, limit: int | None) -> None:
        end = now + reset_after
        guessed = self._guessed is not None  # the window we opened: the server's figures win
        if guessed or now >= self.window_end or end > self.window_end + _NEW_WINDOW_SLACK:
            # ... less the calls we already sent in it after this one
            sent_after = max(0, (self._guessed or 0) - 1)
            self.window_end, self.window_left = end, float(remaining - sent_after)
            self._guessed = None
            if limit and remaining == limit - 1 and reset_after > 0:  # the window's first call
                self.period = reset_after
                self._learn_rate(limit / reset_after)
        else:
            self.window_left = min(self.window_left, float(remaining))
        super().observe(now, remaining=remaining, reset_after=reset_after, limit=limit)

    def _learn_rate(self, rate: float) -> None:
        rate = min(rate, MAX_RATE)
        recovering = self.rate < self.base_rate  # still slowed down after a 429
        self.base_rate, self.min_rate = rate, rate / 8
        self.rate = min(self.rate, rate) if recovering else rate
