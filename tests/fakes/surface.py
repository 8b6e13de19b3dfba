"""An in-memory surface for relay tests and core benchmarks.

It records every post and edit with the loop time, can answer 429 on demand, and checks
the rules a real platform would: no edit past the page limit, no edit of a finished page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from core.pacing.budget import Budget
from core.surface import RateLimited, SurfaceError

PLACEHOLDER = "…"
INDICATOR = " ▌"


@dataclass(slots=True)
class FakeMessage:
    """One message: what it shows now and every version it went through."""

    id: int
    text: str
    final: bool = False
    versions: list[tuple[float, str, bool]] = field(default_factory=list)


class FakeSurface:
    """A surface whose messages live in a list; see the module docstring."""

    def __init__(
        self,
        *,
        page_limit: int = 2000,
        edit_budget: Budget | None = None,
        post_budget: Budget | None = None,
        latency: float = 0.0,
        rate_limit_edits: int = 0,
        retry_after: float = 0.2,
        fail_placeholder: str | None = None,
        leave_after: float | None = None,
    ) -> None:
        self.page_limit = page_limit
        self.messages: list[FakeMessage] = []
        self.edits = 0
        self.rate_limited = 0
        self.errors: list[str] = []
        self._edit_budget = edit_budget
        self._post_budget = post_budget
        self._latency = latency
        self._rate_limit_edits = rate_limit_edits
        self._retry_after = retry_after
        self._fail_placeholder = fail_placeholder
        self._leave_after = leave_after
        self._in_flight: set[int] = set()
        self.overlapping_edits = 0

    def measure(self, text: str) -> int:
        return len(text)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _write(self, message: FakeMessage, text: str, final: bool) -> None:
        if message.id in self._in_flight:
            self.overlapping_edits += 1
        self._in_flight.add(message.id)
        try:
            if self._latency:
                await asyncio.sleep(self._latency)
        finally:
            self._in_flight.discard(message.id)
        shown = text if final else text + INDICATOR
        if len(text) > self.page_limit:
            self.errors.append("msg_too_long")
            raise SurfaceError("msg_too_long")
        if message.final:
            self.errors.append("edit_after_final")
        message.text = shown
        message.final = final
        message.versions.append((self._now(), shown, final))

    async def post_placeholder(self) -> FakeMessage:
        if self._latency:
            await asyncio.sleep(self._latency)
        if self._fail_placeholder:
            raise SurfaceError(self._fail_placeholder)
        message = FakeMessage(id=len(self.messages), text=PLACEHOLDER)
        message.versions.append((self._now(), PLACEHOLDER, False))
        self.messages.append(message)
        return message

    async def post_page(self, text: str, *, final: bool) -> FakeMessage:
        message = FakeMessage(id=len(self.messages), text="")
        self.messages.append(message)
        await self._write(message, text, final)
        return message

    async def edit(self, ref: FakeMessage, text: str, *, final: bool) -> None:
        if self._rate_limit_edits > 0:
            self._rate_limit_edits -= 1
            self.rate_limited += 1
            raise RateLimited(self._retry_after)
        self.edits += 1
        await self._write(ref, text, final)

    def post_budget(self) -> Budget | None:
        return self._post_budget

    def edit_budget(self, ref: FakeMessage) -> Budget | None:
        return self._edit_budget

    def must_leave(self, ref: FakeMessage) -> bool:
        if self._leave_after is None or not ref.versions:
            return False
        return self._now() - ref.versions[0][0] > self._leave_after

    # -- what tests look at ----------------------------------------------------------
    def final_texts(self) -> list[str]:
        return [m.text for m in self.messages]

    def unfinished(self) -> list[FakeMessage]:
        return [m for m in self.messages if not m.final]
