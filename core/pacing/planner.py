"""Which waiting write a shared budget serves next, and when: the planner.

Granting every write as soon as a token exists (the greedy rule) spends a small budget on
the least useful writes: ten answers starting together take a whole Discord window, or
Slack's burst, for their first words, and their ten finals then queue for two windows.
The planner decides with what is known about every answer drawing on the budget:

- *Urgent writes go first*: a final (the text people wait for), and a first message
  (a placeholder or an opening: a person waits to see anything at all). In a channel
  that cannot post all its first messages now, one that would show nothing waits up to
  `FIRST_WORDS_WAIT` for the model's first words, so the post says something.
- *People before answers*: among writes of the same urgency, the person granted fewest
  writes lately goes first (max-min fairness, counted in steps of `FAIR_QUANTUM`: one
  write more or less is no reason to keep older text waiting), then, on a tie, the
  person asking least at once, then the answer whose unshown text is oldest; the first words of a person
  the budget has not served while it served others rank with first messages. So one
  person's forty questions cannot take everybody's edits.
- *Finals are reserved for*: an interim edit is granted only if the finals it would delay
  lose less than it shows sooner (`core.pacing.forecast` forecasts when every answer
  ends and prices the delay in token-seconds of staleness).
- *Interims are spread*: an answer's interim is due once its unshown text has waited
  its share of the answer's remaining span, the share given by the interims the budget
  can afford each answer before it ends (at most one: halfway). First words go at once
  where every person with a silent message out can have them; and a token that waiting
  would lose (a full bucket overflowing, a window closing unspent) goes to the stalest.

Everything here is pure: time is passed in and the bucket is copied before it is tried,
so the rules are tested with plain numbers.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from core.pacing.bucket import Bucket
from core.pacing.candidates import Candidate, Decision, Outlook, Urgency
from core.pacing.forecast import DEFAULT_PACE, LengthPrior, cost_to_finals, forecast_end

__all__ = ["Planner"]

RECHECK = 0.25  # at most this long between looks while interims wait to ripen
FIRST_WORDS_WAIT = 1.5  # the longest a first message waits for words in a busy channel
FIRST_WORDS_LOOK = 0.05  # how often a held first message looks for them
FAIR_QUANTUM = 4  # grants per person counted in steps of this: small gaps go by staleness
UNSERVED_AFTER = 3  # writes granted to someone else before an unserved person jumps ahead


class Planner:
    """The rules above; one per budget, holding only the recent grants per person."""

    __slots__ = ("memory", "prior", "_grants")

    def __init__(self, *, memory: float = 60.0, prior: LengthPrior | None = None) -> None:
        self.memory = memory  # how far back a person's grants count against them
        self.prior = prior or LengthPrior()
        self._grants: list[tuple[float, str]] = []

    def granted(self, now: float, person: str) -> None:
        """Remember that `person` was granted a write at `now`."""
        self._grants.append((now, person))

    def recent(self, now: float) -> dict[str, int]:
        """Writes granted per person within `memory`."""
        horizon = now - self.memory
        if self._grants and self._grants[0][0] < horizon:
            self._grants = [g for g in self._grants if g[0] >= horizon]
        counts: dict[str, int] = {}
        for _, person in self._grants:
            counts[person] = counts.get(person, 0) + 1
        return counts

    def decide(
        self,
        now: float,
        bucket: Bucket,
        waiting: Sequence[Candidate],
        tenants: Iterable[Outlook],
        *,
        interim_need: float = 1.0,
    ) -> Decision:
        """The write to grant now, or when to look again.

        `tenants` are every answer drawing on the budget, waiting or not (an answer
        between two edits still ends, and its final will want a token). `interim_need`
        is the level an interim must leave (the budget's reserve plus one).
        """
        if not waiting:
            return Decision(None)
        recent = self.recent(now)

        tenants = list(tenants)
        answers_of: dict[str, int] = {}
        for tenant in tenants:
            answers_of[tenant.person] = answers_of.get(tenant.person, 0) + 1

        def rank(c: Candidate) -> tuple[int, int, int, float, int]:
            # The person served least lately, then (a tie) the one asking least at once.
            return (
                recent.get(c.person, 0) // FAIR_QUANTUM,
                c.urgency,
                answers_of.get(c.person, 0),
                c.stale_since,
                c.order,
            )

        # Max-min between people: the first words of someone the budget has not served
        # lately, while it served others, rank with first messages.
        served = max(recent.values(), default=0)
        promoted = {
            id(c): replace(c, urgency=Urgency.FIRST)
            for c in waiting
            if c.urgency == Urgency.INTERIM
            and served >= UNSERVED_AFTER
            and recent.get(c.person, 0) == 0
            and c.outlook is not None
            and not c.outlook.anything_shown()
        }
        waiting = [promoted.get(id(c), c) for c in waiting]
        urgent = [c for c in waiting if c.urgency < Urgency.INTERIM]
        urgent, held_until = self._hold_empty_firsts(now, bucket, urgent)
        if urgent:
            ready = bucket.ready_at(now)
            if ready > now:
                return Decision(None, min(ready, held_until))
            return Decision(min(urgent, key=rank))
        interims = [c for c in waiting if c.urgency == Urgency.INTERIM]
        if not interims:
            return Decision(None, held_until if held_until < math.inf else None)
        ready = bucket.ready_at(now, need=interim_need)
        if ready > now:
            return Decision(None, min(ready, held_until))
        decision = self._interim(now, bucket, interims, list(tenants), rank)
        if decision.grant is None and decision.wake_at is not None:
            return Decision(None, min(decision.wake_at, held_until))
        return decision

    @staticmethod
    def _hold_empty_firsts(now: float, bucket: Bucket, urgent: list[Candidate]) -> tuple[list[Candidate], float]:
        """First messages that would show nothing wait a little for the model's first
        words while the budget cannot post them all now: a busy channel's post (five a
        window on Discord) is better spent on a message that already says something.
        Returns the writes that may go, and when a held one must be looked at again."""
        firsts = [c for c in urgent if c.urgency == Urgency.FIRST]
        if not firsts or bucket.ready_at(now, need=float(len(firsts))) <= now:
            return urgent, math.inf
        held = [
            c for c in firsts if c.outlook is not None and c.outlook.length == 0 and now - c.asked_at < FIRST_WORDS_WAIT
        ]
        if not held:
            return urgent, math.inf
        wake = min(min(c.asked_at + FIRST_WORDS_WAIT for c in held), now + FIRST_WORDS_LOOK)
        return [c for c in urgent if c not in held], wake

    def _interim(
        self,
        now: float,
        bucket: Bucket,
        waiting: Sequence[Candidate],
        tenants: Sequence[Outlook],
        rank: Callable[[Candidate], tuple[int, int, int, float, int]],
    ) -> Decision:
        ends = [forecast_end(t, now, self.prior) for t in tenants]
        cost = cost_to_finals(bucket, now, tenants, ends)
        harmless = cost <= 1e-9
        # Plenty: first words now for one silent answer of every person who has one out
        # (an answer not yet posted will say its first words in its post).
        silent = len({t.person for t in tenants if t.posted and not t.anything_shown()})
        plenty = bucket.ready_at(now, need=max(1.0, float(silent))) <= now
        share = max(1.0, self._share(now, bucket, ends))
        ripe: list[Candidate] = []
        due_at: dict[int, float] = {}
        for c in waiting:
            outlook = c.outlook
            if outlook is None:  # a write that tells nothing about its answer: no planning
                ripe.append(c)
                continue
            end = forecast_end(outlook, now, self.prior)
            # Spread: at least halfway through the text it leaves unshown, sooner when
            # the budget affords this answer more than one more interim.
            due = c.stale_since + max(0.0, end - c.stale_since) / (share + 1.0)
            benefit = (now - c.stale_since) * max(0.0, end - now) * (outlook.pace(now) or DEFAULT_PACE)
            if not outlook.anything_shown() and harmless and plenty:
                ripe.append(c)  # first words, where every silent answer can have them
            elif now >= due and (harmless or benefit > cost):
                ripe.append(c)
            else:
                due_at[id(c)] = max(due, now + 0.01)
        if ripe:
            return Decision(min(ripe, key=rank))
        wake = min(due_at.values(), default=math.inf)
        # Waiting would lose a token (a full bucket overflows, a window closes with calls
        # unspent): the stalest write may have it. A full bucket loses one token each
        # 1/rate seconds, never one within a look or two: so look that far ahead.
        if harmless and bucket.wasted_by(now, min(wake, now + max(RECHECK, 1.0 / bucket.rate))) >= 1.0:
            return Decision(min(waiting, key=rank))
        return Decision(None, min(wake, now + RECHECK))

    @staticmethod
    def _share(now: float, bucket: Bucket, ends: Sequence[float]) -> float:
        """Interims the budget can afford each answer before the answers end: the tokens
        it will hold by the last forecast end, less one final each, shared equally."""
        if not ends:
            return math.inf
        horizon = max(ends)
        trial = copy.copy(bucket)
        spendable = 0
        at = now
        # Count the tokens the bucket yields up to the horizon (bounded: a budget gives
        # at most one token per 1/rate seconds, and a burst).
        while spendable < 1000:
            at = max(at, trial.ready_at(at))
            if at > horizon:
                break
            trial.try_take(at)
            spendable += 1
        return max(0.0, (spendable - len(ends)) / len(ends))
