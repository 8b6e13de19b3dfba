"""One platform call of an answer, retried until it goes through or cannot.

Every post and edit of an answer goes through here so that all of them are paced and
retried the same way: drawn from the budget of their scope, limited in time, waiting out
429s without limit (the platform said when to come back), and retrying transient failures
with backoff: a bounded number of times for interim calls (the next edit carries the text
anyway), and for a final edit until the relay's finish timeout, because nothing comes
after it to take a placeholder's "thinking…" away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from core.observer import NullObserver, RelayObserver
from core.pacing.budget import Budget
from core.pacing.candidates import Outlook
from core.surface import RateLimited, SurfaceError

__all__ = ["PlatformCalls", "paced"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PlatformCalls:
    """How one answer calls its platform; `stale_since` ranks it within a shared budget.

    Frozen: it holds only the answer's policy and reporting hooks, while each call keeps
    its own count of failures.
    """

    timeout: float
    attempts: int
    stale_since: Callable[[], float]
    observer: RelayObserver
    log: logging.LoggerAdapter[Any]
    outlook: Outlook | None = None

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        budget: Budget | None,
        *,
        final: Callable[[], bool],
        persist: bool = False,
        first: bool = False,
    ) -> T:
        """Run one platform call under its budget, waiting out 429s without limit.

        `final` ranks the call in its budget (it may turn true while waiting); `persist`
        lifts the cap on transient retries, for the final edit, whose caller bounds it
        with the finish timeout. `first` marks the answer's first message.
        """
        failures = 0
        while True:
            if budget is not None:
                await budget.acquire(stale_since=self.stale_since, final=final, first=first, outlook=self.outlook)
            try:
                async with asyncio.timeout(self.timeout):
                    result = await call()
            except RateLimited as limited:
                self.observer.rate_limited()
                self.log.warning("rate limited, retry after %.3gs", limited.retry_after)
                if budget is not None:
                    budget.rate_limited(limited.retry_after)
                else:
                    await asyncio.sleep(limited.retry_after)
                continue
            except (SurfaceError, TimeoutError, OSError) as exc:
                failures += 1
                self.observer.surface_error(getattr(exc, "code", type(exc).__name__))
                permanent = isinstance(exc, SurfaceError) and not exc.transient
                if permanent or (failures >= self.attempts and not persist):
                    raise
                self.log.warning("platform call failed (%s), retrying", exc)
                await asyncio.sleep(min(8.0, 0.25 * 2**failures))
                continue
            if budget is not None:
                budget.succeeded()
            return result


async def paced(
    call: Callable[[], Awaitable[T]],
    budget: Budget | None,
    *,
    log: logging.Logger,
    attempts: int = 3,
    timeout: float = 30.0,
) -> T:
    """One write that belongs to no streaming answer (a reply, a hint, an orphan's final,
    a rescue), through the same path as an answer's: ranked with finals, 429s waited
    out, transient failures retried `attempts` times."""
    born = asyncio.get_running_loop().time()
    calls = PlatformCalls(
        timeout=timeout,
        attempts=attempts,
        stale_since=lambda: born,
        observer=NullObserver(),
        log=logging.LoggerAdapter(log, {}),
    )
    return await calls.run(call, budget, final=lambda: True)
