"""Core's settings: what the assistant itself reads, typed, from the environment and `.env`.

Names and defaults are fixed by CONTRACT.md. A bad value stops the start with one
`SettingsError` naming the variable, what was typed (masked) and what is accepted, rather
than failing later mid-answer. The platforms' settings (tokens, API URLs, shards, HTTP,
logging, shared state) extend `CoreSettings` in `bots/settings.py`; core is handed that
object typed as `CoreSettings`, so it sees only its own fields.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from core.privacy.masking import mask_secrets
from core.privacy.redaction import parse_redact

DEFAULT_SYSTEM_PROMPT = (
    "You are trickle, a helpful assistant in a team chat. Answer clearly and concisely; use Markdown when it helps."
)
DEFAULT_MODEL = "gpt-4o-mini"
MODEL_NAME_LIMIT = 100  # Discord's longest choice name and value


class SettingsError(ValueError):
    """A setting has a value trickle cannot use; the message names it.

    Messages quote what was typed, and what was typed may hold a password (a Redis URL)
    or a token pasted into the wrong variable: they are masked here, once, for every
    message, since they are printed at start before logging (and its redaction) exists.
    """

    def __init__(self, message: str) -> None:
        super().__init__(mask_secrets(message))


def env(name: str, default: Any = None, **rules: Any) -> Any:
    """A field read from the variable `name`; code may still set it by its field name."""
    return Field(default, validation_alias=name, **rules)


# --- how one variable's text becomes a value -------------------------------------------
# Each takes what `from_mapping` read (a stripped string) and passes values set in code
# through. A ValueError's text is what follows `NAME='value' ` in the SettingsError.


def split(text: str) -> list[str]:
    """`a, b,,c` as ["a", "b", "c"]."""
    return [part.strip() for part in text.split(",") if part.strip()]


def comma_separated(value: object) -> object:
    return split(value) if isinstance(value, str) else value


def lowercase(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def uppercase(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def url_of(*schemes: str) -> Callable[[str | None], str | None]:
    """A check that a URL has one of `schemes`, a host and a port that is a number."""
    accepted = " or ".join(f"{s}://..." for s in schemes)

    def check(raw: str | None) -> str | None:
        if raw is None:
            return None
        scheme, sep, rest = raw.partition("://")
        if not sep or scheme.lower() not in schemes or not rest:
            raise ValueError(f"is not a URL (accepted: {accepted})")
        try:  # checked now, not when the first answer connects
            parts = urlsplit(raw)
            parts.port  # noqa: B018 - raises ValueError for a port that is not one
        except ValueError:
            raise ValueError(f"has a bad host or port (accepted: {accepted})") from None
        if not parts.hostname and scheme.lower() != "unix":
            raise ValueError(f"has no host (accepted: {accepted})")
        return raw

    return check


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Slack U0123ABC, C0123ABC; Discord snowflakes
_ROLE = re.compile(r"[0-9]{1,20}")


def _ids(pattern: re.Pattern[str], kind: str, example: str) -> Callable[[object], object]:
    """Comma-separated platform ids. Ids, not names: a name (`#general`, `@ada`) would never
    match what the platform sends, and an allow list that matches nobody locks everyone out."""

    def check(value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = split(value)
        for part in parts:
            if not pattern.fullmatch(part):
                raise ValueError(
                    f"has {part!r}, which is not an id (accepted: comma-separated {kind}, "
                    f"e.g. {example}; names and mentions never match)"
                )
        return parts

    return check


def _on_off(value: object) -> object:
    if isinstance(value, str):
        if value.lower() not in ("on", "off"):
            raise ValueError("is not accepted (accepted: on, off)")
        return value.lower() == "on"
    return value


def _model_names(value: object) -> object:
    """TRICKLE_MODELS: in order, each once."""
    if isinstance(value, str):
        models = list(dict.fromkeys(split(value)))
        if not models or any(len(m) > MODEL_NAME_LIMIT for m in models):
            raise ValueError(
                "is not a list of model names "
                f"(accepted: e.g. gpt-4o-mini,gpt-4o; each at most {MODEL_NAME_LIMIT} characters)"
            )
        return models
    return value


def _redact(value: object) -> object:
    """TRICKLE_REDACT: what is taken out of questions and history before the model sees them."""
    if isinstance(value, str):
        try:
            return parse_redact(value)
        except ValueError as exc:
            raise ValueError(f"names {exc}") from None
    return value


Ids = Annotated[
    frozenset[str], BeforeValidator(_ids(_ID, "user or channel ids", "U0123ABCD,C0123ABCD or 123456789012345678"))
]
RoleIds = Annotated[frozenset[str], BeforeValidator(_ids(_ROLE, "Discord role ids (digits)", "123456789012345678"))]
WebUrl = Annotated[str | None, AfterValidator(url_of("http", "https"))]


class CoreSettings(BaseSettings):
    """What core reads. Build with `load()` (the environment and `.env`) or `from_mapping`.

    Constructed by field name, as tests do, it reads nothing but its arguments: the one
    source is the arguments (see `settings_customise_sources`), and only `load()` reads
    the process environment. Frozen: settings do not change while trickle runs.
    """

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True, allow_inf_nan=False
    )

    openai_api_key: str | None = env("OPENAI_API_KEY")
    openai_base_url: WebUrl = env("OPENAI_BASE_URL")
    model: str = env("TRICKLE_MODEL", DEFAULT_MODEL)
    # What anyone who can reach the bot may pick (`/ask model:`); holds `model`. Unset, only
    # the operator's own model, so nobody runs a pricier one on the operator's key.
    models: Annotated[tuple[str, ...], BeforeValidator(_model_names)] = env("TRICKLE_MODELS", (), validate_default=True)
    system_prompt: str = env("TRICKLE_SYSTEM_PROMPT", DEFAULT_SYSTEM_PROMPT)
    max_tokens: int | None = env("TRICKLE_MAX_TOKENS", None, ge=1, le=1_000_000)
    context_tokens: int | None = env(
        "TRICKLE_CONTEXT_TOKENS", None, ge=1, le=100_000_000
    )  # core/conversation/context.py
    temperature: float | None = env("TRICKLE_TEMPERATURE", None, ge=0.0, le=2.0)
    # Kinds of personal data the model is not sent; core/privacy/redaction.py
    redact: Annotated[tuple[str, ...], BeforeValidator(_redact)] = env("TRICKLE_REDACT", ())
    # Whether images go to the model; core/attachments
    vision: Annotated[Literal["auto", "on", "off"], BeforeValidator(lowercase)] = env("TRICKLE_VISION", "auto")
    edit_interval: float = env("TRICKLE_EDIT_INTERVAL", 0.5, ge=0.05, le=60.0)
    idle_timeout: float = env("TRICKLE_IDLE_TIMEOUT", 60.0, ge=0.1, le=3600.0)
    admins: Annotated[frozenset[str], BeforeValidator(comma_separated)] = env("TRICKLE_ADMINS", frozenset())
    # Who may ask where (core/team/access.py): ids; an empty allow list lets everyone in.
    allow_users: Ids = env("TRICKLE_ALLOW_USERS", frozenset())
    deny_users: Ids = env("TRICKLE_DENY_USERS", frozenset())
    allow_channels: Ids = env("TRICKLE_ALLOW_CHANNELS", frozenset())
    deny_channels: Ids = env("TRICKLE_DENY_CHANNELS", frozenset())
    allow_roles: RoleIds = env("TRICKLE_ALLOW_ROLES", frozenset())  # Discord role ids
    deny_roles: RoleIds = env("TRICKLE_DENY_ROLES", frozenset())
    dms: Annotated[bool, BeforeValidator(_on_off)] = env("TRICKLE_DMS", True)  # whether DMs are answered
    # What someone refused by the lists is told
    denied_reply: Annotated[Literal["say", "silent"], BeforeValidator(lowercase)] = env("TRICKLE_DENIED_REPLY", "say")
    user_concurrency: int = env("TRICKLE_USER_CONCURRENCY", 1, ge=1, le=100)
    # Answers one person may have waiting beyond `user_concurrency`; the next is refused
    # at once, in one message, instead of adding a placeholder (and its edits) to a queue.
    user_queue: int = env("TRICKLE_USER_QUEUE", 3, ge=0, le=100)
    model_concurrency: int = env("TRICKLE_MODEL_CONCURRENCY", 128, ge=1, le=10_000)
    # Questions a minute per person. Well below Slack's workspace budget of about 50
    # `chat.update` a minute (CONTRACT.md), which every answer draws several edits from:
    # at 60 one person could spend all of it and leave everyone else's answers waiting
    # for their final edits (measured: 44.5 s). At 10, one person takes a share at most.
    user_rpm: int = env("TRICKLE_USER_RPM", 10, ge=1, le=100_000)
    channel_rpm: int = env("TRICKLE_CHANNEL_RPM", 600, ge=1, le=100_000)
    heartbeat_interval: float = env("TRICKLE_HEARTBEAT_INTERVAL", 5.0, ge=0.1, le=300.0)
    history_tokens: int = env("TRICKLE_HISTORY_TOKENS", 3000, ge=100, le=1_000_000)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The arguments only. pydantic-settings' own environment source would make every
        construction read the process environment (tests would not be hermetic), and it
        reads lists as JSON where ours are comma-separated: `load()` reads instead."""
        return (init_settings,)

    @field_validator("models")
    @classmethod
    def _models_default_to_model(cls, models: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return models or (info.data.get("model", DEFAULT_MODEL),)

    @model_validator(mode="after")
    def _check_together(self) -> Self:
        """Settings that are each fine but not together: a default model nobody may choose,
        or an answer cap that fills the whole context and leaves no room for any question."""
        if self.model not in self.models:
            raise ValueError(
                f"TRICKLE_MODEL={self.model!r} is not in TRICKLE_MODELS={','.join(self.models)!r} "
                "(the default model must be one people may choose: add it to TRICKLE_MODELS)"
            )
        cap, context = self.max_tokens, self.context_tokens
        if cap is not None and context is not None and cap >= context:
            raise ValueError(
                f"TRICKLE_MAX_TOKENS={cap} leaves no room for the question in "
                f"TRICKLE_CONTEXT_TOKENS={context} (accepted: a cap below the context, e.g. {context // 4})"
            )
        return self

    @property
    def uses_local_model(self) -> bool:
        """With neither a key nor a base URL, the embedded model answers."""
        return not self.openai_api_key and not self.openai_base_url

    def redacted(self) -> dict[str, object]:
        """The settings with every secret masked, safe to log."""
        secret = ("_key", "_token", "_secret")  # not `history_tokens` or `discord_token_ttl`
        return {
            name: ("***" if value and name.endswith(secret) else value)
            for name, value in ((f, getattr(self, f)) for f in type(self).model_fields)
        }

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, *, env_file: str | Path | None = ".env") -> Self:
        """Read settings from `.env` (if present) overlaid by the environment."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Self:
        """Parse and validate; raises one SettingsError naming the first bad variable.

        Only this class's variables are taken (a stray lowercase `model` in the
        environment is not a setting), stripped; a blank one is unset.
        """
        given = {name: value.strip() for name in _variables(cls) if (value := env.get(name)) and value.strip()}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise SettingsError(_explain(cls, exc.errors(include_url=False)[0], given)) from None


def _variables(cls: type[CoreSettings]) -> list[str]:
    return [str(field.validation_alias) for field in cls.model_fields.values()]


def _explain(cls: type[CoreSettings], error: ErrorDetails, given: Mapping[str, str]) -> str:
    """One of pydantic's errors as `NAME='value' is not ... (accepted: ...)`."""
    if not error["loc"]:  # a check across settings: its message names them
        return str(error.get("ctx", {}).get("error", error["msg"]))
    key = error["loc"][0]
    field = cls.model_fields.get(str(key)) or next(f for f in cls.model_fields.values() if f.validation_alias == key)
    name = str(field.validation_alias)
    return f"{name}={given.get(name, error['input'])!r} {_why(field, error)}"


def _why(field: FieldInfo, error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    types = get_args(field.annotation) or (field.annotation,)
    if kind == "literal_error":
        return f"is not accepted (accepted: {', '.join(map(str, types))})"
    low = next((rule.ge for rule in field.metadata if hasattr(rule, "ge")), None)
    high = next((rule.le for rule in field.metadata if hasattr(rule, "le")), None)
    what = "a whole number" if int in types else "a number"
    if low is None or high is None:
        return f"is not accepted ({error['msg']})"
    if kind in ("greater_than_equal", "less_than_equal", "finite_number"):
        return f"is out of range (accepted: {what} from {low:g} to {high:g})"
    return f"is not {what} (accepted: {low:g} to {high:g})"
