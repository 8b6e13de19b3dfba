"""slack_sdk's failures, translated into what the relay knows how to handle.

slack_sdk raises one `SlackApiError` for everything, with the HTTP status and Slack's
error name inside; the relay needs to tell "wait and retry" (`RateLimited`) from "waiting
will not help" (`SurfaceError`) from "the network blinked" (`OSError`, retried a few
times). Each refusal gets one log line saying what it means for the operator.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError

from core.surface import RateLimited, SurfaceError

T = TypeVar("T")

log = logging.getLogger("trickle.slack")

_HINTS = {
    "not_in_channel": "invite the bot to the channel (/invite @trickle)",
    "channel_not_found": "the channel is gone or private to the bot; invite it",
    "msg_too_long": "the message was over Slack's size limit",
    "invalid_auth": "check SLACK_BOT_TOKEN",
    "token_revoked": "the app was uninstalled or its token rotated; reinstall it",
    "missing_scope": "add the scope to the app (see bots/slack/manifest.yaml) and reinstall",
    "message_not_found": "the message was deleted",
    "is_archived": "the channel is archived",
}


# Slack's own server-side failures: a retry a moment later usually goes through.
_TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


def retry_after(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """Slack's `Retry-After` in seconds (whole seconds on Slack; anything numeric here)."""
    if not headers:
        return default
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else default
    except (TypeError, ValueError):
        return default


def translate(exc: SlackApiError, method: str, where: str) -> Exception:
    """The relay's exception for a failed Slack call, logged once."""
    response = exc.response
    if getattr(response, "status_code", None) == 429:
        return RateLimited(retry_after(getattr(response, "headers", None)), f"{method} rate limited")
    code = str(response.get("error") or "unknown_error") if response is not None else "unknown_error"
    transient = (getattr(response, "status_code", 200) or 200) >= 500 or code in _TRANSIENT
    hint = _HINTS.get(code)
    log.error("Slack refused %s in %s: %s%s", method, where, code, f" ({hint})" if hint else "")
    return SurfaceError(code, method, transient=transient)


async def call_slack(call: Awaitable[T], *, method: str, where: str) -> T:
    """Await a slack_sdk call, raising `RateLimited`, `SurfaceError` or `ConnectionError`."""
    try:
        return await call
    except SlackApiError as exc:
        raise translate(exc, method, where) from exc
    except aiohttp.ClientError as exc:  # the relay retries OSErrors a few times
        raise ConnectionError(f"{method} in {where}: {type(exc).__name__}: {exc}") from exc
