"""Shared rate budgets: who may call the platform next, and when.

A platform allows far fewer edits than a model produces tokens, and the allowance is
shared (Slack's `chat.update` per workspace, Discord's buckets per channel or interaction
token). `TokenBucket` (`core.pacing.bucket`) is the pure arithmetic of one such allowance;
`Budget` wraps it for the many concurrent answers drawing on it: it grants permits
stalest-first, keeps a little headroom for final edits, and slows down when the platform
pushes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict, Unpack

from core.pacing.bucket import RemoteBucket, TokenBucket
from core.pacing.candidates import Candidate, Outlook, Urgency
from core.pacing.planner import Planner
from core.pacing.stats import BudgetLevel, BudgetStats


@dataclass(eq=False, slots=True)
class _Waiter:
    future: asyncio.Future[None]
    stale_since: Callable[[], float]
    is_final: Callable[[], bool]
    order: int
    first: bool = False
    outlook: Outlook | None = None
    asked_at: float = 0.0

    def candidate(self) -> Candidate:
        """How the planner sees this write now (it may have turned final meanwhile)."""
        urgency = Urgency.FINAL if self.is_final() else Urgency.FIRST if self.first else Urgency.INTERIM
        person = self.outlook.person if self.outlook is not None else ""
        return Candidate(self, urgency, person, self.stale_since(), self.order, self.outlook, self.asked_at)


class _BudgetOptions(TypedDict, total=False):
    """What `Budget.per_minute` passes on to `Budget` besides the rate and burst."""

    reserve: float
    clock: Callable[[], float] | None
    remote: RemoteBucket | None
    bucket_type: type[TokenBucket]


class Budget:
    """A platform allowance shared fairly by every answer that draws on it.

    Unlike a lock or a plain limiter, it chooses *who* goes next and when, by asking its
    `Planner` (see `core.pacing.planner`): finals and first messages before interim edits,
    people before answers, interims only where they show more than they delay the finals
    to come. Interim edits also leave `reserve` tokens in the bucket. Answers that say
    what they are (`outlook`) are remembered as tenants until their stream ends, waiting
    or not, because their finals will want tokens. Waiters are woken by a single timer,
    never by a polling task.
    """

    __slots__ = (
        "name",
        "bucket",
        "reserve",
        "remote",
        "planner",
        "_clock",
        "_waiters",
        "_timer",
        "_order",
        "stats",
        "_background",
        "_tenants",
    )

    def __init__(
        self,
        *,
        rate: float,
        burst: float,
        reserve: float = 1.0,
        name: str = "",
        clock: Callable[[], float] | None = None,
        remote: RemoteBucket | None = None,
        bucket_type: type[TokenBucket] = TokenBucket,
    ) -> None:
        # `bucket_type`: how the platform counts (Discord's fixed windows need a
        # bucket that also follows the window's headers, `bots/discord/windows.py`).
        self.name = name
        self.remote = remote
        self._background: set[asyncio.Task[None]] = set()
        self._clock = clock
        self.bucket = bucket_type(rate=rate, burst=burst, now=self._now())
        self.reserve = min(reserve, max(0.0, burst - 1))
        self._waiters: list[_Waiter] = []
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._order = 0
        self.stats = BudgetStats()
        self.planner = Planner()
        self._tenants: dict[int, Outlook] = {}

    @classmethod
    def per_minute(cls, count: float, *, burst: float, name: str = "", **kwargs: Unpack[_BudgetOptions]) -> Budget:
        """A budget stated the way platforms document them (N calls a minute)."""
        return cls(rate=count / 60.0, burst=burst, name=name, **kwargs)

    def __repr__(self) -> str:
        return f"<Budget {self.name!r} {self.bucket!r} waiting={len(self._waiters)}>"

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()

    async def acquire(
        self,
        *,
        stale_since: Callable[[], float] | float,
        final: Callable[[], bool] | bool = False,
        first: bool = False,
        outlook: Outlook | None = None,
    ) -> None:
        """Wait for a permit. `stale_since` and `final` may change while waiting.

        `first` marks an answer's first message; `outlook` is the answer's own account
        of itself, which lets the planner reserve for its final and share by person.
        """
        since = stale_since if callable(stale_since) else (lambda: stale_since)
        is_final = final if callable(final) else (lambda: final)
        loop = asyncio.get_running_loop()
        self._order += 1
        waiter = _Waiter(loop.create_future(), since, is_final, self._order, first, outlook, self._now())
        if outlook is not None:
            self.join(outlook)
        self._waiters.append(waiter)
        self.stats.waiting_peak = max(self.stats.waiting_peak, len(self._waiters))
        started = self._now()
        if self._timer is None:
            # Decide on the next loop iteration, so that every answer asking in this
            # tick competes for the permit, not just the first to ask.
            self._timer = loop.call_soon(self._dispatch)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                # Granted just as we were cancelled: give the token back to the others.
                self.bucket.tokens += 1.0
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            self._dispatch()
            raise
        if self.remote is not None:
            # Replicas: the local grant kept this process fair; Redis keeps all of them
            # together inside the platform's budget.
            need = 1.0 if is_final() else 1.0 + self.reserve
            # The shared bucket says how long to wait; no local event could say it sooner.
            while (wait := await self.remote.take(need)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
        self.stats.granted += 1
        self.stats.waits.append(self._now() - started)
        if len(self.stats.waits) > 4096:
            del self.stats.waits[:2048]

    async def take_now(self) -> bool:
        """A permit now, without waiting, or False.

        For a caller with another way to go when this allowance is spent (a Slack answer
        streams with `chat.update` when no `chat.startStream` is free), so that nobody
        queues here. Queued callers keep their turn: while any waits, the answer is no.
        """
        if any(not w.future.done() for w in self._waiters) or not self.bucket.try_take(self._now()):
            return False
        if self.remote is not None:
            try:
                shared = await self.remote.take(1.0)
            except BaseException:
                self.bucket.tokens += 1.0  # not taken after all (cancelled, Redis away)
                raise
            if shared > 0:
                self.bucket.tokens += 1.0  # the replicas together spent it: not ours after all
                return False
        self.stats.granted += 1
        return True

    def join(self, outlook: Outlook) -> None:
        """Count on `outlook`'s writes before it asks: its final will want a token."""
        if not outlook.done:
            self._tenants[id(outlook)] = outlook

    def rate_limited(self, retry_after: float) -> None:
        """The platform answered 429 for a call drawn from this budget."""
        self.stats.rate_limited += 1
        self.bucket.rate_limited(self._now(), retry_after)
        if self.remote is not None:
            task = asyncio.get_running_loop().create_task(self.remote.pause(retry_after))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        self._dispatch()

    def succeeded(self) -> None:
        """A call drawn from this budget went through."""
        self.bucket.succeeded()

    def observe(self, *, remaining: int, reset_after: float, limit: int | None = None) -> None:
        """Feed the platform's own rate-limit headers into the bucket."""
        self.bucket.observe(self._now(), remaining=remaining, reset_after=reset_after, limit=limit)
        self._dispatch()

    def level(self) -> BudgetLevel:
        """Tokens left now and calls waiting, for metrics read at scrape time.

        The bucket is refilled to now first, as the next grant would do anyway; a
        shared (Redis) budget reports this process's view only.
        """
        self.bucket.refill(self._now())
        waiting = sum(1 for w in self._waiters if not w.future.done())
        return BudgetLevel(tokens=self.bucket.tokens, waiting=waiting)

    def _live_tenants(self) -> list[Outlook]:
        """The answers still streaming; those that ended teach the planner their length."""
        ended = [key for key, outlook in self._tenants.items() if outlook.done]
        for key in ended:
            self.planner.prior.learn(self._tenants.pop(key).length)
        return list(self._tenants.values())

    def _dispatch(self) -> None:
        """Grant permits as the planner decides while tokens last; else arm one timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._now()
        while self._waiters:
            self._waiters = [w for w in self._waiters if not w.future.done()]
            if not self._waiters:
                break
            tenants = self._live_tenants()
            self.bucket.tenants = len(tenants)
            decision = self.planner.decide(
                now,
                self.bucket,
                [w.candidate() for w in self._waiters],
                tenants,
                interim_need=1.0 + self.reserve,
            )
            chosen = decision.grant
            need = 1.0 if chosen is None or chosen.urgency < Urgency.INTERIM else 1.0 + self.reserve
            if chosen is None or not self.bucket.try_take(now, need=need):
                wake = decision.wake_at if chosen is None else self.bucket.ready_at(now, need=need)
                if wake is not None:
                    loop = asyncio.get_running_loop()
                    self._timer = loop.call_at(loop.time() + max(0.0, wake - now) + 1e-4, self._dispatch)
                return
            waiter = chosen.key
            assert isinstance(waiter, _Waiter)  # the planner hands back the key it was given
            self.planner.granted(now, chosen.person)
            self._waiters.remove(waiter)
            waiter.future.set_result(None)
