"""Every setting trickle has: core's, plus what only the platforms and the process read.

Slack and Discord tokens and URLs, shards, the HTTP listener and the playground's host
names, logging, the shared state and the suggested prompts live here, not in core. Names
stay flat (`settings.slack_bot_token`), and `load()` / `from_mapping()` come from
`CoreSettings`, as do the error messages that name the variable.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BeforeValidator, model_validator

from core.conversation.suggestions import (
    DEFAULT_PROMPTS,
    SuggestedPrompt,
    parse_prompts,
)
from core.hostnames import normalize_host
from core.settings import CoreSettings, env
from core.settings_values import lowercase, split, uppercase, url_of


def _playground_hosts(value: object) -> object:
    """TRICKLE_PLAYGROUND_HOSTS: the extra names the playground answers to, in one spelling.

    Names only, as a browser's `Host` header carries them: a scheme or a port here would
    never match, and a wildcard would undo the DNS-rebinding check it feeds.
    """
    if not isinstance(value, str):
        return value
    names: list[str] = []
    for part in split(value):
        name = normalize_host(part)
        if name is None:
            raise ValueError(
                f"has {part!r}, which is not a host name (accepted: comma-separated names or "
                "IP addresses, without scheme or port, e.g. chat.example.com,192.168.1.20)"
            )
        names.append(name)
    return tuple(dict.fromkeys(names))


def _suggested_prompts(value: object) -> object:
    """TRICKLE_SUGGESTED_PROMPTS: what a new conversation offers (core/conversation/suggestions.py)."""
    if not isinstance(value, str):
        return value
    try:
        return parse_prompts(value)
    except ValueError as exc:
        raise ValueError(
            f"is not a list of prompts ({exc}; accepted: "
            '"Title | question; Title | question" or [{"title": ..., "message": ...}], at most 4)'
        ) from None


def _shard_numbers(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return sorted({int(part) for part in split(value)})
    except ValueError:
        raise ValueError("is not a list of shard numbers (accepted: e.g. 0,1)") from None


def _with_slash(url: str | None) -> str | None:
    return url if url is None or url.endswith("/") else url + "/"


def _without_slash(url: str | None) -> str | None:
    return None if url is None else url.rstrip("/")


class Settings(CoreSettings):
    """Every knob trickle has. Build with `Settings.load()`; tests pass a mapping."""

    http_host: str = env("TRICKLE_HTTP_HOST", "127.0.0.1")
    http_port: int = env("TRICKLE_HTTP_PORT", 3000, ge=0, le=65535)
    # Besides loopback and `--host`
    playground_hosts: Annotated[tuple[str, ...], BeforeValidator(_playground_hosts)] = env(
        "TRICKLE_PLAYGROUND_HOSTS", ()
    )
    log_format: Annotated[Literal["text", "json"], BeforeValidator(lowercase)] = env("TRICKLE_LOG_FORMAT", "text")
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(uppercase)] = env(
        "TRICKLE_LOG_LEVEL", "INFO"
    )
    redis_url: Annotated[str | None, AfterValidator(url_of("redis", "rediss", "unix"))] = env("TRICKLE_REDIS_URL")
    state_path: str | None = env("TRICKLE_STATE_PATH")
    # On SIGTERM: answers finish for two thirds of it, the rest are interrupted and
    # write their finals in the last third (`core.answer_tasks`).
    shutdown_timeout: float = env("TRICKLE_SHUTDOWN_TIMEOUT", 30.0, ge=1.0, le=3600.0)
    suggested_prompts: Annotated[tuple[SuggestedPrompt, ...], BeforeValidator(_suggested_prompts)] = env(
        "TRICKLE_SUGGESTED_PROMPTS", DEFAULT_PROMPTS
    )
    slack_bot_token: str | None = env("SLACK_BOT_TOKEN")
    slack_app_token: str | None = env("SLACK_APP_TOKEN")
    slack_signing_secret: str | None = env("SLACK_SIGNING_SECRET")
    slack_api_url: Annotated[str, AfterValidator(url_of("http", "https")), AfterValidator(_with_slash)] = env(
        "SLACK_API_URL", "https://slack.com/api/"
    )
    slack_stream: Annotated[Literal["edit", "native"], BeforeValidator(lowercase)] = env("TRICKLE_SLACK_STREAM", "edit")
    discord_bot_token: str | None = env("DISCORD_BOT_TOKEN")
    discord_guild_id: int | None = env("DISCORD_GUILD_ID", None, ge=1, le=2**64)
    discord_api_url: Annotated[str, AfterValidator(url_of("http", "https")), AfterValidator(_without_slash)] = env(
        "DISCORD_API_URL", "https://discord.com/api/v10"
    )
    discord_gateway_url: Annotated[str | None, AfterValidator(url_of("ws", "wss"))] = env("DISCORD_GATEWAY_URL")
    discord_token_ttl: float = env("TRICKLE_DISCORD_TOKEN_TTL", 840.0, ge=0.5, le=900.0)
    shard_count: int | None = env("TRICKLE_SHARD_COUNT", None, ge=1, le=100_000)
    shard_ids: Annotated[tuple[int, ...] | None, BeforeValidator(_shard_numbers)] = env("TRICKLE_SHARD_IDS")

    @model_validator(mode="after")
    def _check_shards(self) -> Self:
        """TRICKLE_SHARD_IDS names shards of TRICKLE_SHARD_COUNT, so it needs it."""
        if self.shard_ids is None:
            return self
        if self.shard_count is None:
            raise ValueError("TRICKLE_SHARD_IDS is set without TRICKLE_SHARD_COUNT (accepted: both, or neither)")
        if not self.shard_ids or not all(0 <= i < self.shard_count for i in self.shard_ids):
            shown = ",".join(map(str, self.shard_ids))
            raise ValueError(f"TRICKLE_SHARD_IDS={shown!r} must name shards from 0 to {self.shard_count - 1}")
        return self
