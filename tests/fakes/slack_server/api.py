"""The Web API's vocabulary, shared by the transport and every method family.

A handler takes the merged params of one call and returns Slack's success body, or raises
`ApiError`, which the transport turns into `{"ok": false, "error": ...}` with the status
and headers Slack would send. One exception for every refusal keeps the methods free of
HTTP, and one place decodes the odd ways slack_sdk sends a boolean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tests.fakes.slack_shapes import Refusal

Params = dict[str, Any]
Handler = Callable[[Params], dict[str, Any]]


class ApiError(Exception):
    """Raised by handlers: becomes `{"ok": false, "error": ...}` with `status` and headers."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @classmethod
    def of(cls, refusal: Refusal) -> ApiError:
        """The API error for a `Refusal` from slack_shapes, with its explanations."""
        extra = {"response_metadata": {"messages": refusal.messages}} if refusal.messages else None
        return cls(refusal.error, extra=extra)


def flag(value: Any) -> bool:
    """A boolean param as slack_sdk sends it (`True`, "1", "true")."""
    return value is True or str(value).lower() in ("1", "true")
