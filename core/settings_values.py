"""How one settings variable's text becomes a value: the checks `CoreSettings` and `Settings` share.

Each takes what `CoreSettings.from_mapping` read (a stripped string) and passes values
set in code through. A ValueError's text is what follows `NAME='value' ` in the
`SettingsError`, so each says what was wrong and what is accepted. Platform settings
(`bots/settings.py`) build on the same helpers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator

from core.privacy.redaction import parse_redact

MODEL_NAME_LIMIT = 100  # Discord's longest choice name and value


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


def on_off(value: object) -> object:
    if isinstance(value, str):
        if value.lower() not in ("on", "off"):
            raise ValueError("is not accepted (accepted: on, off)")
        return value.lower() == "on"
    return value


def model_names(value: object) -> object:
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


def redact_kinds(value: object) -> object:
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
