"""Which models people may pick, and how a chat platform should offer them.

The model is the operator's cost: anyone who can reach the bot must not be able to run
the most expensive model on the operator's key by typing its name. `TRICKLE_MODELS` is
the list; a name outside it is refused (with the list, so the asker can pick again)
before any model call or shared budget is spent. Pure functions: the adapters decide
how a refusal is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

CHOICE_LIMIT = 25  # Discord: at most 25 fixed choices, and 25 autocomplete results
REFUSAL_CHARS = 1800  # a Discord message holds 2,000


def refusal(model: str | None, allowed: Sequence[str], *, max_chars: int = REFUSAL_CHARS) -> str | None:
    """Why `model` may not be used, or None when it may (None = the default model).

    The refusal names the models that may be chosen, as many as fit in one message.
    """
    if model is None or model in allowed:
        return None
    text = f"`{_shown(model)}` is not a model you can choose here. Choose one of: "
    for index, name in enumerate(allowed):
        left = len(allowed) - index - 1  # still to list after this one
        item = f"{', ' if index else ''}`{name}`"
        tail = f" and {left} more." if left else "."
        if index and len(text) + len(item) + len(tail) > max_chars:
            return text + f" and {left + 1} more."
        text += item
    return text + "."


def as_fixed_choices(allowed: Sequence[str]) -> bool:
    """Whether the platform can list every model as a fixed choice (else: autocomplete)."""
    return len(allowed) <= CHOICE_LIMIT


def suggestions(allowed: Sequence[str], typed: str, *, limit: int = CHOICE_LIMIT) -> list[str]:
    """The allowed models starting with what was typed so far (case-insensitive), in the
    operator's order; everything, up to `limit`, when nothing is typed."""
    prefix = typed.strip().casefold()
    return [m for m in allowed if m.casefold().startswith(prefix)][:limit]


def _shown(model: str) -> str:
    """The refused name, short and without backticks, so the refusal stays readable."""
    cleaned = model.replace("`", "'").strip()
    return cleaned if len(cleaned) <= 60 else cleaned[:59] + "…"
