"""Display names for Slack user ids, cached so a busy thread does not call `users.info`
on every message.

Names appear in "stopped by Ada" and in the history the model reads ("Ada: ..."). A name
that cannot be looked up falls back to the id: never worth failing an answer over.

Lookups are bounded, because they come before the placeholder and anyone can write a
message: one naming a thousand people (`<@U…>` a thousand times) gets its first
`MAX_NAMED` distinct people looked up and the rest shown as ids; at most
`LOOKUP_CONCURRENCY` `users.info` calls run at once in the process; and an id Slack could
not name is not asked about again for `MISS_TTL` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.state.store import StateStore

log = logging.getLogger("trickle.slack")

NAME_TTL = 24 * 3600.0
MAX_NAMED = 20  # distinct people one `names` call looks up; the rest stay ids
LOOKUP_CONCURRENCY = 4  # users.info calls at once, per process (Tier 4: 100+ a minute)
MISS_TTL = 60.0  # an id Slack could not name is not asked about again this soon
MAX_MISSES = 4096  # remembered misses; the oldest are forgotten first
_LOOKUP_TIMEOUT = 5.0  # one lookup, and all of one `names` call together


class People:
    """Looks display names up through `users.info` and keeps them in the state store.

    Names are shared through the state store (replicas too); misses are kept here only,
    briefly, so a burst of unknown or failing ids costs one call each, not one a message.
    """

    __slots__ = ("_client", "_state", "_lookups", "_misses", "_clock", "miss_ttl")

    def __init__(
        self,
        client: AsyncWebClient,
        state: StateStore,
        *,
        concurrency: int = LOOKUP_CONCURRENCY,
        miss_ttl: float = MISS_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._state = state
        self._lookups = asyncio.Semaphore(concurrency)
        self._misses: OrderedDict[str, float] = OrderedDict()  # key -> when to ask again
        self._clock = clock
        self.miss_ttl = miss_ttl

    def __repr__(self) -> str:
        return f"<People state={self._state!r} misses={len(self._misses)}>"

    async def name(self, team: str, user: str) -> str:
        """The name Slack shows for `user` (display name, else real name, else handle)."""
        key = f"slack:user:{team}:{user}"
        cached = await self._state.get(key)
        if cached is not None:
            return cached
        if self._missed(key):
            return user
        async with self._lookups:
            try:
                async with asyncio.timeout(_LOOKUP_TIMEOUT):
                    response = await self._client.users_info(user=user)
            except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("users.info for %s failed (%s); using the id as the name", user, _why(exc))
                self._miss(key)
                return user
        name = display_name(response.get("user") or {}) or user
        await self._state.put(key, name, NAME_TTL)
        return name

    async def names(self, team: str, users: Iterable[str], *, limit: int = MAX_NAMED) -> dict[str, str]:
        """Names for the first `limit` distinct users, looked up concurrently (within
        the process's lookup limit); users left out, or not named in time, are absent."""
        unique = list(dict.fromkeys(users))[:limit]
        if not unique:
            return {}
        lookups = {asyncio.ensure_future(self.name(team, user)): user for user in unique}
        try:
            done, late = await asyncio.wait(lookups, timeout=_LOOKUP_TIMEOUT)
        finally:  # late, or the question itself was cancelled: no lookup outlives it
            for task in lookups:
                task.cancel()
        if late:
            log.info("named %d of %d people in time; the rest are shown as ids", len(done), len(unique))
        found: dict[str, str] = {}
        for task in done:
            if (error := task.exception()) is not None:  # e.g. the state store is away
                log.warning("could not name %s: %r", lookups[task], error)
            else:
                found[lookups[task]] = task.result()
        return found

    def _missed(self, key: str) -> bool:
        until = self._misses.get(key)
        if until is None:
            return False
        if self._clock() < until:
            return True
        del self._misses[key]
        return False

    def _miss(self, key: str) -> None:
        self._misses[key] = self._clock() + self.miss_ttl
        self._misses.move_to_end(key)
        while len(self._misses) > MAX_MISSES:
            self._misses.popitem(last=False)


def display_name(user: dict[str, Any]) -> str:
    """The most human name in a `users.info` user object."""
    profile = user.get("profile") or {}
    for candidate in (profile.get("display_name"), profile.get("real_name"), user.get("real_name"), user.get("name")):
        if candidate and str(candidate).strip():
            return str(candidate).strip()
    return ""


def _why(exc: Exception) -> str:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error"))
    return type(exc).__name__
