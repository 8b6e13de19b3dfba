"""Core's settings: what the assistant itself reads, typed, from the environment and `.env`.

Names and defaults are fixed by CONTRACT.md. A bad value stops the start with one
`SettingsError` naming the variable, what was typed (masked) and what is accepted, rather
than failing later mid-answer (each variable's check is in `core.settings_values`). The
platforms' settings (tokens, API URLs, shards, HTTP, logging, shared state) extend
`CoreSettings` in `bots/settings.py`; core is handed that object typed as `CoreSettings`,
so it sees only its own fields.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from dotenv import dotenv_values
from pydantic import (
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
from core.settings_values import Ids, RoleIds, WebUrl, comma_separated, lowercase, model_names, on_off, redact_kinds

DEFAULT_SYSTEM_PROMPT = (
    "You are trickle, a helpful assistant in a team chat. Answer clearly and concisely; use Markdown when it helps."
)
DEFAULT_MODEL = "gpt-4o-mini"


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
    models: Annotated[tuple[str, ...], BeforeValidator(model_names)] = env("TRICKLE_MODELS", (), validate_default=True)
    system_prompt: str = env("TRICKLE_SYSTEM_PROMPT", DEFAULT_SYSTEM_PROMPT)
    max_tokens: int | None = env("TRICKLE_MAX_TOKENS", None, ge=1, le=1_000_000)
    context_tokens: int | None = env(
        "TRICKLE_CONTEXT_TOKENS", None, ge=1, le=100_000_000
    )  # core/conversation/context.py
    temperature: float | None = env("TRICKLE_TEMPERATURE", None, ge=0.0, le=2.0)
    # Kinds of personal data the model is not sent; core/privacy/redaction.py
    redact: Annotated[tuple[str, ...], BeforeValidator(redact_kinds)] = env("TRICKLE_REDACT", ())
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
    dms: Annotated[bool, BeforeValidator(on_off)] = env("TRICKLE_DMS", True)  # whether DMs are answered
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
        _check_whole_numbers(cls, given)
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise SettingsError(_explain(cls, exc.errors(include_url=False)[0], given)) from None


def _variables(cls: type[CoreSettings]) -> list[str]:
    return [str(field.validation_alias) for field in cls.model_fields.values()]


_WHOLE = re.compile(r"[+-]?[0-9]+")


def _check_whole_numbers(cls: type[CoreSettings], given: Mapping[str, str]) -> None:
    """A whole-number setting is written in digits: pydantic alone would take `3000.0`
    for a port, which is more likely a mistake than a wish."""
    for field in cls.model_fields.values():
        name = str(field.validation_alias)
        value = given.get(name)
        types = get_args(field.annotation) or (field.annotation,)
        if value is not None and int in types and not _WHOLE.fullmatch(value):
            error = ErrorDetails(type="int_parsing", loc=(name,), msg="not a whole number", input=value)
            raise SettingsError(f"{name}={value!r} {_why(field, error)}")


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
