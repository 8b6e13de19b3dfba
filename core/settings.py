"""One settings object, read once at start from the environment and `.env`.

Names and defaults are fixed by CONTRACT.md. A bad value stops the start with a message
naming the variable and what it accepts, rather than failing later mid-answer.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values

from core.hostnames import normalize_host
from core.privacy.masking import mask_secrets
from core.privacy.redaction import parse_redact
from core.conversation.suggestions import DEFAULT_PROMPTS, SuggestedPrompt, parse_prompts

T = TypeVar("T")

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Slack U0123ABC, C0123ABC; Discord snowflakes
_ROLE = re.compile(r"[0-9]{1,20}")

DEFAULT_SYSTEM_PROMPT = (
    "You are trickle, a helpful assistant in a team chat. Answer clearly and concisely; "
    "use Markdown when it helps."
)


class SettingsError(ValueError):
    """A setting has a value trickle cannot use; the message names it.

    Messages quote what was typed, and what was typed may hold a password (a Redis URL)
    or a token pasted into the wrong variable: they are masked here, once, for every
    message, since they are printed at start before logging (and its redaction) exists.
    """

    def __init__(self, message: str) -> None:
        super().__init__(mask_secrets(message))


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob trickle has. Build with `Settings.load()`; tests pass a mapping."""

    openai_api_key: str | None = None
    openai_base_url: str | None = None
    model: str = "gpt-4o-mini"
    models: tuple[str, ...] = ("gpt-4o-mini",)  # what people may choose; holds `model`
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_tokens: int | None = None
    context_tokens: int | None = None  # the model's context; see core/conversation/context.py
    temperature: float | None = None
    redact: tuple[str, ...] = ()  # kinds of personal data the model is not sent; core/privacy/redaction.py
    vision: str = "auto"  # auto | on | off: whether images go to the model; core/attachments
    edit_interval: float = 0.5
    idle_timeout: float = 60.0
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    playground_hosts: tuple[str, ...] = ()  # besides loopback and `--host`
    log_format: str = "text"
    log_level: str = "INFO"
    admins: frozenset[str] = field(default_factory=frozenset)
    # Who may ask where (core/team/access.py): ids; an empty allow list lets everyone in.
    allow_users: frozenset[str] = field(default_factory=frozenset)
    deny_users: frozenset[str] = field(default_factory=frozenset)
    allow_channels: frozenset[str] = field(default_factory=frozenset)
    deny_channels: frozenset[str] = field(default_factory=frozenset)
    allow_roles: frozenset[str] = field(default_factory=frozenset)  # Discord role ids
    deny_roles: frozenset[str] = field(default_factory=frozenset)
    dms: bool = True  # whether direct messages are answered
    denied_reply: str = "say"  # say | silent: what someone refused by the lists is told
    user_concurrency: int = 1
    # Answers one person may have waiting beyond `user_concurrency`; the next is refused
    # at once, in one message, instead of adding a placeholder (and its edits) to a queue.
    user_queue: int = 3
    model_concurrency: int = 128
    # Questions a minute per person. Well below Slack's workspace budget of about 50
    # `chat.update` a minute (CONTRACT.md), which every answer draws several edits from:
    # at 60 one person could spend all of it and leave everyone else's answers waiting
    # for their final edits (measured: 44.5 s). At 10, one person takes a share at most.
    user_rpm: int = 10
    channel_rpm: int = 600
    redis_url: str | None = None
    state_path: str | None = None
    heartbeat_interval: float = 5.0
    history_tokens: int = 3000
    suggested_prompts: tuple[SuggestedPrompt, ...] = DEFAULT_PROMPTS
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_stream: str = "edit"
    discord_bot_token: str | None = None
    discord_guild_id: int | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str | None = None
    discord_token_ttl: float = 840.0
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    @property
    def uses_local_model(self) -> bool:
        """With neither a key nor a base URL, the embedded model answers."""
        return not self.openai_api_key and not self.openai_base_url

    def redacted(self) -> dict[str, object]:
        """The settings with every secret masked, safe to log."""
        secret = ("key", "token", "secret")
        return {
            name: ("***" if value and any(s in name for s in secret) else value)
            for name, value in ((f, getattr(self, f)) for f in self.__dataclass_fields__)
        }

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, *, env_file: str | Path | None = ".env"
    ) -> Settings:
        """Read settings from `.env` (if present) overlaid by the environment."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        """Parse and validate; raises SettingsError naming the first bad variable."""
        r = _Reader(env)
        return cls(
            openai_api_key=r.text("OPENAI_API_KEY"),
            openai_base_url=r.url("OPENAI_BASE_URL"),
            **_models(r),
            system_prompt=r.text("TRICKLE_SYSTEM_PROMPT") or DEFAULT_SYSTEM_PROMPT,
            **_answer_limits(r),
            temperature=r.number("TRICKLE_TEMPERATURE", float, low=0.0, high=2.0),
            redact=_redact(r),
            vision=r.choice("TRICKLE_VISION", ("auto", "on", "off")) or "auto",
            edit_interval=r.number("TRICKLE_EDIT_INTERVAL", float, low=0.05, high=60.0) or 0.5,
            idle_timeout=r.number("TRICKLE_IDLE_TIMEOUT", float, low=0.1, high=3600.0) or 60.0,
            http_host=r.text("TRICKLE_HTTP_HOST") or "127.0.0.1",
            http_port=_default(r.number("TRICKLE_HTTP_PORT", int, low=0, high=65535), 3000),
            playground_hosts=_playground_hosts(r),
            log_format=r.choice("TRICKLE_LOG_FORMAT", ("text", "json")) or "text",
            log_level=r.choice("TRICKLE_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), upper=True)
            or "INFO",
            admins=frozenset(
                part.strip() for part in (r.text("TRICKLE_ADMINS") or "").split(",") if part.strip()
            ),
            **_access(r),
            user_concurrency=_default(r.number("TRICKLE_USER_CONCURRENCY", int, low=1, high=100), 1),
            user_queue=_default(r.number("TRICKLE_USER_QUEUE", int, low=0, high=100), 3),
            model_concurrency=_default(
                r.number("TRICKLE_MODEL_CONCURRENCY", int, low=1, high=10_000), 128
            ),
            user_rpm=_default(r.number("TRICKLE_USER_RPM", int, low=1, high=100_000), 10),
            channel_rpm=_default(r.number("TRICKLE_CHANNEL_RPM", int, low=1, high=100_000), 600),
            redis_url=r.url("TRICKLE_REDIS_URL", schemes=("redis", "rediss", "unix")),
            state_path=r.text("TRICKLE_STATE_PATH"),
            heartbeat_interval=r.number("TRICKLE_HEARTBEAT_INTERVAL", float, low=0.1, high=300.0)
            or 5.0,
            history_tokens=_default(
                r.number("TRICKLE_HISTORY_TOKENS", int, low=100, high=1_000_000), 3000
            ),
            suggested_prompts=_suggested_prompts(r),
            slack_bot_token=r.text("SLACK_BOT_TOKEN"),
            slack_app_token=r.text("SLACK_APP_TOKEN"),
            slack_signing_secret=r.text("SLACK_SIGNING_SECRET"),
            slack_api_url=_with_slash(r.url("SLACK_API_URL") or "https://slack.com/api/"),
            slack_stream=r.choice("TRICKLE_SLACK_STREAM", ("edit", "native")) or "edit",
            discord_bot_token=r.text("DISCORD_BOT_TOKEN"),
            discord_guild_id=r.number("DISCORD_GUILD_ID", int, low=1, high=2**64),
            discord_api_url=(r.url("DISCORD_API_URL") or "https://discord.com/api/v10").rstrip("/"),
            discord_gateway_url=r.url("DISCORD_GATEWAY_URL", schemes=("ws", "wss")),
            discord_token_ttl=r.number("TRICKLE_DISCORD_TOKEN_TTL", float, low=0.5, high=900.0) or 840.0,
            **_shards(r),
        )


def _suggested_prompts(r: _Reader) -> tuple[SuggestedPrompt, ...]:
    """TRICKLE_SUGGESTED_PROMPTS: what a new conversation offers (see core/conversation/suggestions.py)."""
    raw = r.text("TRICKLE_SUGGESTED_PROMPTS")
    if raw is None:
        return DEFAULT_PROMPTS
    try:
        return parse_prompts(raw)
    except ValueError as exc:
        raise SettingsError(
            f"TRICKLE_SUGGESTED_PROMPTS={raw!r} is not a list of prompts ({exc}; accepted: "
            '"Title | question; Title | question" or [{"title": ..., "message": ...}], at most 4)'
        ) from None


def _redact(r: _Reader) -> tuple[str, ...]:
    """TRICKLE_REDACT: what is taken out of questions and history before the model sees them."""
    raw = r.text("TRICKLE_REDACT")
    try:
        return parse_redact(raw or "")
    except ValueError as exc:
        raise SettingsError(f"TRICKLE_REDACT={raw!r} names {exc}") from None


def _access(r: _Reader) -> dict[str, object]:
    """Who may ask where: TRICKLE_ALLOW_*/TRICKLE_DENY_*, TRICKLE_DMS, TRICKLE_DENIED_REPLY.

    Ids, not names: a name (`#general`, `@ada`) would never match what the platform sends,
    and an allow list that silently matches nobody locks everyone out.
    """
    return {
        "allow_users": r.ids("TRICKLE_ALLOW_USERS"),
        "deny_users": r.ids("TRICKLE_DENY_USERS"),
        "allow_channels": r.ids("TRICKLE_ALLOW_CHANNELS"),
        "deny_channels": r.ids("TRICKLE_DENY_CHANNELS"),
        "allow_roles": r.ids("TRICKLE_ALLOW_ROLES", digits=True),
        "deny_roles": r.ids("TRICKLE_DENY_ROLES", digits=True),
        "dms": (r.choice("TRICKLE_DMS", ("on", "off")) or "on") == "on",
        "denied_reply": r.choice("TRICKLE_DENIED_REPLY", ("say", "silent")) or "say",
    }


MODEL_NAME_LIMIT = 100  # Discord's longest choice name and value


def _models(r: _Reader) -> dict[str, object]:
    """TRICKLE_MODEL and TRICKLE_MODELS, checked against each other.

    The list is what anyone who can reach the bot may pick (`/ask model:`): unset, only
    the operator's own model, so nobody runs a pricier one on the operator's key.
    """
    model = r.text("TRICKLE_MODEL") or "gpt-4o-mini"
    raw = r.text("TRICKLE_MODELS")
    if raw is None:
        return {"model": model, "models": (model,)}
    models = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    too_long = [m for m in models if len(m) > MODEL_NAME_LIMIT]
    if not models or too_long:
        raise SettingsError(
            f"TRICKLE_MODELS={raw!r} is not a list of model names "
            f"(accepted: e.g. gpt-4o-mini,gpt-4o; each at most {MODEL_NAME_LIMIT} characters)"
        )
    if model not in models:
        raise SettingsError(
            f"TRICKLE_MODEL={model!r} is not in TRICKLE_MODELS={raw!r} "
            "(the default model must be one people may choose: add it to TRICKLE_MODELS)"
        )
    return {"model": model, "models": models}


def _answer_limits(r: _Reader) -> dict[str, object]:
    """TRICKLE_MAX_TOKENS and TRICKLE_CONTEXT_TOKENS, checked against each other.

    An answer cap that fills the whole context leaves no room for any question: every
    one would be refused, so that is a bad setting, not a runtime surprise.
    """
    max_tokens = r.number("TRICKLE_MAX_TOKENS", int, low=1, high=1_000_000)
    context = r.number("TRICKLE_CONTEXT_TOKENS", int, low=1, high=100_000_000)
    if max_tokens is not None and context is not None and max_tokens >= context:
        raise SettingsError(
            f"TRICKLE_MAX_TOKENS={max_tokens} leaves no room for the question in "
            f"TRICKLE_CONTEXT_TOKENS={context} (accepted: a cap below the context, e.g. {context // 4})"
        )
    return {"max_tokens": max_tokens, "context_tokens": context}


def _shards(r: _Reader) -> dict[str, object]:
    """TRICKLE_SHARD_COUNT and TRICKLE_SHARD_IDS, checked against each other."""
    count = r.number("TRICKLE_SHARD_COUNT", int, low=1, high=100_000)
    raw = r.text("TRICKLE_SHARD_IDS")
    if raw is None:
        return {"shard_count": count, "shard_ids": None}
    if count is None:
        raise SettingsError("TRICKLE_SHARD_IDS is set without TRICKLE_SHARD_COUNT (accepted: both, or neither)")
    try:
        ids = tuple(sorted({int(part) for part in raw.split(",") if part.strip()}))
    except ValueError:
        raise SettingsError(f"TRICKLE_SHARD_IDS={raw!r} is not a list of shard numbers (accepted: e.g. 0,1)") from None
    if not ids or not all(0 <= i < count for i in ids):
        raise SettingsError(f"TRICKLE_SHARD_IDS={raw!r} must name shards from 0 to {count - 1}")
    return {"shard_count": count, "shard_ids": ids}


def _playground_hosts(r: _Reader) -> tuple[str, ...]:
    """TRICKLE_PLAYGROUND_HOSTS: the extra names the playground answers to.

    Names only, as a browser's `Host` header carries them: a scheme or a port here would
    never match, and a wildcard would undo the DNS-rebinding check it feeds.
    """
    raw = r.text("TRICKLE_PLAYGROUND_HOSTS")
    names: list[str] = []
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        name = normalize_host(part)
        if name is None:
            raise SettingsError(
                f"TRICKLE_PLAYGROUND_HOSTS has {part.strip()!r}, which is not a host name "
                "(accepted: comma-separated names or IP addresses, without scheme or port, "
                "e.g. chat.example.com,192.168.1.20)"
            )
        names.append(name)
    return tuple(dict.fromkeys(names))


def _default(value: T | None, default: T) -> T:
    return default if value is None else value


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class _Reader:
    """Reads one variable at a time and explains what was wrong with it."""

    __slots__ = ("env",)

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str) -> str | None:
        value = self.env.get(name)
        return value.strip() or None if value is not None else None

    def number(
        self, name: str, kind: Callable[[str], T], *, low: float, high: float
    ) -> T | None:
        raw = self.text(name)
        if raw is None:
            return None
        what = "a whole number" if kind is int else "a number"
        try:
            value = kind(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not {what} (accepted: {low:g} to {high:g})")
        if isinstance(value, float) and not math.isfinite(value) or not low <= value <= high:  # type: ignore[operator]
            raise SettingsError(f"{name}={raw!r} is out of range (accepted: {what} from {low:g} to {high:g})")
        return value

    def ids(self, name: str, *, digits: bool = False) -> frozenset[str]:
        """A comma-separated list of platform ids (Slack `U0123ABC`, Discord snowflakes)."""
        raw = self.text(name)
        parts = [part.strip() for part in (raw or "").split(",") if part.strip()]
        for part in parts:
            if not (_ROLE if digits else _ID).fullmatch(part):
                example = "123456789012345678" if digits else "U0123ABCD,C0123ABCD or 123456789012345678"
                kind = "Discord role ids (digits)" if digits else "user or channel ids"
                raise SettingsError(
                    f"{name} has {part!r}, which is not an id (accepted: comma-separated {kind}, "
                    f"e.g. {example}; names and mentions never match)"
                )
        return frozenset(parts)

    def choice(self, name: str, options: tuple[str, ...], *, upper: bool = False) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            raise SettingsError(f"{name}={raw!r} is not accepted (accepted: {', '.join(options)})")
        return value

    def url(self, name: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        scheme, sep, rest = raw.partition("://")
        accepted = " or ".join(f"{s}://..." for s in schemes)
        if not sep or scheme.lower() not in schemes or not rest:
            raise SettingsError(f"{name}={raw!r} is not a URL (accepted: {accepted})")
        try:  # checked now, not when the first answer connects
            parts = urlsplit(raw)
            parts.port  # noqa: B018 - raises ValueError for a port that is not one
        except ValueError:
            raise SettingsError(f"{name}={raw!r} has a bad host or port (accepted: {accepted})") from None
        if not parts.hostname and scheme.lower() != "unix":
            raise SettingsError(f"{name}={raw!r} has no host (accepted: {accepted})")
        return raw
