"""Display names for Slack user ids, cached so a busy thread does not call `users.info`
on every message.

Names appear in "stopped by Ada" and in the history the model reads ("Ada: ..."). A name
that cannot be looked up falls back to the id: never worth failing an answer over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.state import StateStore

log = logging.getLogger("trickle.slack")

NAME_TTL = 24 * 3600.0
_LOOKUP_TIMEOUT = 5.0


class People:
    """Looks display names up through `users.info` and keeps them in the state store."""

    __slots__ = ("_client", "_state")

    def __init__(self, client: AsyncWebClient, state: StateStore) -> None:
        self._client = client
        self._state = state

    def __repr__(self) -> str:
        return f"<People state={self._state!r}>"

    async def name(self, team: str, user: str) -> str:
        """The name Slack shows for `user` (display name, else real name, else handle)."""
        key = f"slack:user:{team}:{user}"
        cached = await self._state.get(key)
        if cached is not None:
            return cached
        try:
            async with asyncio.timeout(_LOOKUP_TIMEOUT):
                response = await self._client.users_info(user=user)
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("users.info for %s failed (%s); using the id as the name", user, _why(exc))
            return user
        name = display_name(response.get("user") or {}) or user
        await self._state.put(key, name, NAME_TTL)
        return name

    async def names(self, team: str, users: Iterable[str]) -> dict[str, str]:
        """Names for several users, looked up concurrently."""
        unique = list(dict.fromkeys(users))
        found = await asyncio.gather(*(self.name(team, user) for user in unique))
        return dict(zip(unique, found))


def display_name(user: dict) -> str:  # type: ignore[type-arg]
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
