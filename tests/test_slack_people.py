"""Naming the people a message mentions, without letting one message fan out unbounded.

Lookups happen before the placeholder, and anyone can write a message naming a thousand
people: only the first few are looked up, a few at a time, and failures are remembered
briefly. Unit tests use a stub client; the last test runs the real adapter on FakeSlack.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.errors import SlackApiError

from bots.slack.people import LOOKUP_CONCURRENCY, MAX_NAMED, People
from core.state.store import MemoryState
from tests.fakes.openai_server import script_from_text
from tests.slack_harness import wait_until


class StubClient:
    """`users_info` that counts calls and how many run at once; ids starting with X fail."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.calls: list[str] = []
        self.running = 0
        self.most = 0

    async def users_info(self, *, user: str) -> dict[str, Any]:
        self.calls.append(user)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.running -= 1
        if user.startswith("X"):
            raise SlackApiError("user_not_found", {"ok": False, "error": "user_not_found"})
        return {"user": {"id": user, "profile": {"display_name": f"name-{user}"}}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def people(client: StubClient, clock: Clock | None = None) -> People:
    return People(client, MemoryState(), clock=clock or Clock())  # type: ignore[arg-type]


async def test_only_the_first_distinct_people_of_a_message_are_looked_up():
    client = StubClient()
    ids = [f"U{n:04d}" for n in range(1000)] * 2
    names = await people(client).names("T1", ids)
    assert len(client.calls) == MAX_NAMED
    assert names == {f"U{n:04d}": f"name-U{n:04d}" for n in range(MAX_NAMED)}


async def test_no_more_than_a_few_lookups_run_at_once_even_across_messages():
    client = StubClient(delay=0.02)
    directory = people(client)
    batches = [[f"U{b}-{n}" for n in range(MAX_NAMED)] for b in range(5)]
    await asyncio.gather(*(directory.names("T1", batch) for batch in batches))
    assert len(client.calls) == 5 * MAX_NAMED
    assert client.most == LOOKUP_CONCURRENCY


async def test_a_failed_lookup_is_not_repeated_until_the_miss_expires():
    client, clock = StubClient(), Clock()
    directory = people(client, clock)
    assert await directory.name("T1", "XGONE") == "XGONE"
    assert await directory.names("T1", ["XGONE", "XGONE"]) == {"XGONE": "XGONE"}
    assert client.calls == ["XGONE"]
    clock.now += directory.miss_ttl + 1
    assert await directory.name("T1", "XGONE") == "XGONE"
    assert client.calls == ["XGONE", "XGONE"]


async def test_found_names_are_not_looked_up_again():
    client = StubClient()
    directory = people(client)
    await directory.names("T1", ["U1", "U2"])
    await directory.names("T1", ["U2", "U1"])
    assert sorted(client.calls) == ["U1", "U2"]


async def test_a_message_naming_a_thousand_people_stays_bounded_and_is_answered(slack_bot):
    h = await slack_bot()
    h.fake.latency = 0.01  # every call takes a moment, so concurrent lookups overlap
    h.model.default = script_from_text("That is a lot of people.", delay=0.01)
    crowd = " ".join(f"<@UX{n:04d}>" for n in range(1000))
    event = h.fake.mention_event("UALICE", f"who are {crowd}?", "C1")
    await h.deliver(event)
    await wait_until(lambda: any(m.visible == "That is a lot of people." for m in h.pages("C1", event["ts"])), 20)
    await h.settle()

    looked_up = [c.params.get("user") for c in h.fake.calls_to("users.info")]
    assert len(looked_up) <= MAX_NAMED + 1  # the mentioned few, and perhaps the asker
    assert h.fake.max_in_flight["users.info"] <= LOOKUP_CONCURRENCY
    assert h.fake.messages("C1")  # the placeholder went up, and the answer with it
    question = h.model.requests[0]["messages"][-1]["content"]
    assert "@User UX0000" in question and "@UX0999" in question  # named, then left as ids
