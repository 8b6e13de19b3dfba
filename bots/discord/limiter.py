"""discord.py's own rate limiter stands aside for the message writes `DiscordBudgets` paces.

discord.py holds a call while its bucket is spent, and it holds the call that spends the
last count of a window until the window resets: `Ratelimit.__aexit__` sleeps before it
returns. For an answer that is a placeholder which Discord accepted at once but which
its relay sees only seconds later. It also keys its limiter by the bucket's name, and
Discord names one bucket for creating and editing a channel's messages while counting
them apart (discord-api-docs #1442, #8073), so spent creates would hold every edit.

`DiscordBudgets` already plans these writes from the same headers (creates and edits
apart) and the relay handles a 429 itself, so for channel message creates and edits
discord.py gets a limiter that never holds a call. Every other route keeps discord.py's.

`/ask` answers are written through the interaction's webhook, where discord.py's webhook
adapter does the same: the call that spends a window's last count returns only when the
window resets. An answer alone spends every count of its windows, so each window's
last edit held the next one back by the edit interval past the reset (staleness p95
1.09 s for one `/ask` against 0.95 s for one mention, `python -m benchmarks.discord`).
Those writes are paced by the interaction's budget, so that hold goes too.
"""

from __future__ import annotations

from typing import Any

import discord
import discord.http
import discord.webhook.async_

_MARK = "+paced-by-trickle"  # ends the limiter key of the routes our budgets pace


class _PacedRoute(discord.http.Route):
    """A route whose limiter key says the budgets pace it."""

    @property
    def major_parameters(self) -> str:
        return super().major_parameters + _MARK


class _Unheld(discord.http.Ratelimit):
    """A limiter that lets every call through at once; discord.py still records the
    headers on it and still retries a 429 after its Retry-After."""

    async def __aenter__(self) -> _Unheld:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _UndelayedLock(discord.webhook.async_.AsyncDeferredLock):
    """discord.py's per-webhook lock, which still serialises the calls of one token but
    no longer sleeps out a spent window before letting the call return."""

    def delay_by(self, delta: float) -> None:
        return None


def pace_message_writes_ourselves(client: discord.Client) -> None:
    """Give `client`'s channel message creates and edits the limiter that never holds,
    and interaction webhooks a lock that never holds either.

    Must be called inside the event loop (discord.py's limiters bind to it). The webhook
    adapter is discord.py's one for the whole process (it has no per-client hook); every
    trickle client in a process paces its webhook writes, so that is what they all want.
    """
    discord.webhook.async_.AsyncDeferredLock = _UndelayedLock  # type: ignore[misc]  # no per-client hook; see above
    http = client.http
    unheld = _Unheld(http.max_ratelimit_timeout)  # holds nothing, so one serves every route
    own_limiter = http.get_ratelimit

    def get_ratelimit(key: str) -> discord.http.Ratelimit:
        return unheld if key.endswith(_MARK) else own_limiter(key)

    def send_message(channel_id: Any, *, params: Any) -> Any:
        return _request(http, _PacedRoute("POST", "/channels/{channel_id}/messages", channel_id=channel_id), params)

    def edit_message(channel_id: Any, message_id: Any, *, params: Any) -> Any:
        route = _PacedRoute(
            "PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id, message_id=message_id
        )
        return _request(http, route, params)

    http.get_ratelimit = get_ratelimit  # type: ignore[method-assign]  # this client's HTTPClient only; discord.py has no hook
    http.send_message = send_message  # type: ignore[method-assign]  # this client's HTTPClient only; discord.py has no hook
    http.edit_message = edit_message  # type: ignore[method-assign]  # this client's HTTPClient only; discord.py has no hook


def _request(http: discord.http.HTTPClient, route: discord.http.Route, params: Any) -> Any:
    """What discord.py's own `send_message`/`edit_message` do with their route."""
    if params.files:
        return http.request(route, files=params.files, form=params.multipart)
    return http.request(route, json=params.payload)
