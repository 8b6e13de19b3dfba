"""A third relaxation of the PROVEN LOWER BOUND: where Discord's edit windows open.

The timeline's stretches (`benchmarks.floor.timeline`, fact 2) each count the calls a
fixed window allows in [a, c + S] (`WindowShape.writes`), and for a short stretch that
is two windows' worth: the end of one and the start of the next. True for one stretch,
but disjoint stretches may each claim the same window's calls, and their losses add:
one answer alone on Discord got a floor of 0.67 s where the best schedule gives 0.84 s
(`tests/test_floor.py` has it). Here the windows themselves are placed, so each call
is counted once: that proves 0.83 s.

It applies to a group of answers (one Discord channel) that stream the same workload,
whose messages are opened by one limit with one call each (the creates), and whose every
other write is on one `WindowShape` limit (the edits): n calls per window of p seconds,
a window opening at its first call. Facts, for a candidate staleness S, about any
schedule (a write at t shows within S only tokens emitted in [t - S, t], at most
`per_write` of them, all of one answer):

1. **Windows.** The edit calls fall in windows opened at w_1 < w_2 < ..., w_1 >= 0 (the
   limit is fresh at the question), w_(j+1) >= w_j + p (the next window opens with the
   first call at or after the previous one's end), window j's calls in [w_j, w_j + p),
   at most n, one of them at w_j itself (the call that opened it).
2. **Per window.** So window j's calls show only tokens emitted in [w_j - S, w_j + p),
   and its opening call only those in [w_j - S, w_j]. Together they show at most the
   best allocation (`best_shown`) of n calls over the answers' tokens there, and at
   most the opening call's best plus the best of the other n - 1.
3. **Creates.** The r-th message to be created comes no sooner than the opening limit
   allows r calls, at o_r = `earliest(r)`, and with trickle's promise no later than
   o_r + hold. The answers stream the same workload, so which one is r-th does not
   matter: the r-th create shows only tokens emitted from o_r - S on (with the promise,
   by o_r + hold), and the r-th answer's edits come after its create, so a window's
   calls show it only tokens emitted from max(w_j, o_r) - S on. The first edit (at w_1) edits a message already
   there, say the r-th: the first create comes by w_1, and so does the r-th, and the
   r-th create and that edit together show only its tokens emitted in [o_r - S, w_1].
4. **Sum.** Every token shown within S is shown by a create or by some window's call.
   Adding up what each can show counts a token shown twice twice, and the tokens near a
   window's edge in both neighbours' sums: that only raises the count, so the tokens
   not counted are lost in any schedule whose windows open there.
5. **Grid.** The openings are searched on a grid of h = p / `GRID_STEPS`. A schedule's
   w_j lies in [g_j, g_j + h) for g_j = h floor(w_j / h), and the g_j are at least p
   apart (g_(j+1) > w_(j+1) - h >= w_j + p - h >= g_j + p - h, and p is a whole number
   of steps). Counting window j on [g_j - S, g_j + p + h), its opening call on
   [g_j - S, g_j + h] and the first edit by g_1 + h only widens every range, so the
   count for the g_j is at least the schedule's. The most, over every chain of grid
   openings (a dynamic programme), is then at least what any schedule shows: the
   tokens it leaves are lost in every schedule.

Where it is still loose: a window's calls are pooled over its answers, as the counting
half pools writes (each call really shows one answer's S-long stretch, and an answer's
stretches must meet to show it all), a token near a window's edge counts in both
neighbours (fact 4), and the grid widens each range by h. With one answer the calls'
`per_write` caps every window before any of that matters (0.83 s proven, 0.84 s
reached); with two to ten answers in one channel the best schedules
`benchmarks.floor.search` finds sit 5-30% above it. Trickle's edit interval is left
out (leaving out a rule only lowers the bound); the hold is the one
`benchmarks.floor.timeline` uses, and the timeline takes, per group, the larger of
this loss and its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.floor.bound import Allowance, Shape, WindowShape, best_shown
from benchmarks.floor.workload import EPS, Workload

GRID_STEPS = 100  # window openings are searched on multiples of period / GRID_STEPS


@dataclass(frozen=True, slots=True)
class WindowedGroup:
    """A group this bound applies to: `count` answers streaming `workload`, opened one
    call each as `opening` allows, edited on `edits`. Channels alike compare equal, so
    a caller can count one for all."""

    workload: Workload
    count: int
    opening: Shape
    edits: WindowShape


def windowed(answers: Sequence[Workload], allowances: Sequence[Allowance]) -> WindowedGroup | None:
    """The group's shape if its limits are one opening call per answer and one fixed
    window for every other write (Discord's channel), else None: the facts hold only so."""
    if not answers or len(set(answers)) != 1:
        return None
    openings = [a for a in allowances if a.opens]
    others = [a for a in allowances if not a.opens]
    if len(openings) != 1 or len(others) != 1:
        return None
    opening, edits = openings[0], others[0]
    if opening.per_answer != 1 or opening.gate is not None or len(opening.members) != len(answers):
        return None
    if not isinstance(edits.shape, WindowShape) or edits.gate is not None or edits.shape.limit < 1:
        return None
    return WindowedGroup(answers[0], len(answers), opening.opening_shape, edits.shape)


def window_lost(group: WindowedGroup, stale: float, hold: float | None = None) -> int:
    """The fewest of the group's tokens any schedule fails to show within `stale`.

    Answers are counted by class (those whose messages can open at the same time, with
    the same deadline), at most as many of a class as a window has calls: `best_shown`
    gives a window's calls to the answers with the most to show, so more copies of one
    count never change it.
    """
    workload, edits = group.workload, group.edits
    calls = edits.limit
    per_write = workload.per_write(stale)
    step = edits.period / GRID_STEPS
    ranks = [group.opening.earliest(r) for r in range(1, group.count + 1)]
    # (opens at the soonest, opens at the latest, how many): the first class holds the first create.
    classes = [(o, o + hold if hold is not None else math.inf, ranks.count(o)) for o in sorted(set(ranks))]

    def shows(lo: float, hi: float) -> int:
        return min(per_write, _tokens_in(workload, lo, hi))

    def window(at: float) -> tuple[int, int]:
        """What all the calls, and all but the opening one, of a window opened in
        [at, at + step) show (facts 2, 3 and 5)."""
        ends = at + edits.period + step
        counts: list[int] = []
        for o, _, many in classes:
            if o < ends + EPS:
                counts += [_tokens_in(workload, max(at, o) - stale, ends)] * min(many, calls)
        same = [per_write] * len(counts)
        return best_shown(counts, same, calls), best_shown(counts, same, calls - 1)

    def first(at: float, full: int, rest: int) -> int:
        """What the creates and the first window, opened in [at, at + step), show (facts 2, 3, 5).

        The first create comes by the window's opening call; so does the create of the
        answer that call edits, and those two writes show only that answer's tokens
        emitted from its o_r - S to the call.
        """
        by = at + step
        o1, d1, _ = classes[0]
        creates = sum(many * shows(o - stale, d) for o, d, many in classes)
        creates += shows(o1 - stale, min(d1, by)) - shows(o1 - stale, d1)  # the first, by the call
        # Which answer the opening call edits: the first created, or one of a class.
        edited = [(o1, d1, shows(o1 - stale, min(d1, by)))]
        edited += [(o, d, shows(o - stale, d)) for i, (o, d, many) in enumerate(classes) if many > (i == 0)]
        joint = max(
            (
                min(shows(o - stale, min(d, by)) + shows(max(at, o) - stale, by), _tokens_in(workload, o - stale, by))
                - alone
                for o, d, alone in edited
                if o < by + EPS
            ),
            default=0,  # no message can be there to edit yet: no schedule opens a window here
        )
        return creates + min(joint + rest, full)

    def later(at: float, full: int, rest: int) -> int:
        """What a window opened in [at, at + step) after the first shows (facts 2 and 5)."""
        opener = max((shows(max(at, o) - stale, at + step) for o, _, _ in classes if o < at + step + EPS), default=0)
        return min(full, opener + rest)

    # Past this, a window's calls come more than `stale` after the last token.
    span = math.ceil((workload.last + stale) / step) + 1
    windows = [window(k * step) for k in range(span)]
    # after[k]: the most windows opened at grid index k or later show (a chain, GRID_STEPS apart).
    after = [0] * (span + GRID_STEPS + 1)
    for k in range(span - 1, -1, -1):
        after[k] = max(after[k + 1], later(k * step, *windows[k]) + after[k + GRID_STEPS])
    no_edits = sum(many * shows(o - stale, d) for o, d, many in classes)
    best = max([no_edits] + [first(k * step, *windows[k]) + after[k + GRID_STEPS] for k in range(span)])
    # No answer shows a token emitted before its message could open, less S.
    tokens = sum(many * _tokens_in(workload, o - stale, math.inf) for o, _, many in classes)
    return group.count * workload.tokens - min(best, tokens)


def _tokens_in(workload: Workload, lo: float, hi: float) -> int:
    """How many of the answer's tokens were emitted in [lo, hi] (both ends counted: the
    side that raises what can be shown, so lowers the bound)."""
    first = math.ceil((lo - workload.first) * workload.rate - EPS) if lo > -math.inf else 0
    last = math.floor((hi - workload.first) * workload.rate + EPS) if hi < math.inf else workload.tokens - 1
    return max(0, min(workload.tokens - 1, last) - max(0, first) + 1)
