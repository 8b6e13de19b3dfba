"""Slack's argument checks for the fake's agent surface, as pure functions.

`FakeSlack` (tests/fakes/slack_server/) calls these for the assistant thread methods,
`views.open`, `context_actions` blocks and history cursors. They live apart because they
need no server state: each takes what the client sent and either returns it cleaned up or
raises `Refusal` with the error name and the `response_metadata.messages` Slack explains
itself with (`[ERROR] ... [json-pointer:/...]`), so a client's error handling meets the
same shapes it meets in production.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

MAX_PROMPTS = 4
MAX_LOADING_MESSAGES = 10
MAX_VIEW_TITLE = 24
MAX_VIEW_BUTTON = 24
MAX_VIEW_BLOCKS = 100
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
MAX_VIEW_BYTES = 250_000
MAX_CONTEXT_ACTIONS = 5
MAX_FEEDBACK_TEXT = 75
MAX_FEEDBACK_VALUE = 2000
MAX_ACTION_ID = 255
_CURSOR_PREFIX = "next_ts:"


class Refusal(Exception):
    """A call Slack refuses: `error` (its name) and the `messages` that explain it."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)


def missing(field: str, *, error: str = "invalid_arguments") -> Refusal:
    """The refusal for a required argument that was not sent (or sent empty)."""
    return Refusal(error, f"[ERROR] missing required field: {field}")


def _too_long(pointer: str, limit: int, error: str) -> Refusal:
    """Slack's wording for a string over its limit ("must be less than N+1 characters")."""
    return Refusal(error, f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]")


def _not_type(pointer: str, expected: str, error: str) -> Refusal:
    """Slack's wording for a value of the wrong JSON type."""
    return Refusal(error, f"[ERROR] expected {expected} [json-pointer:{pointer}]")


def _check_string(value: Any, pointer: str, *, limit: int, error: str, required: bool = True) -> None:
    """A non-empty string of at most `limit` characters (absent is fine when not required)."""
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise _not_type(pointer, "string", error)
    if not value and required:
        raise Refusal(error, f"[ERROR] must be more than 0 characters [json-pointer:{pointer}]")
    if len(value) > limit:
        raise _too_long(pointer, limit, error)


def check_plain_text(obj: Any, pointer: str, *, limit: int, error: str = "invalid_arguments") -> None:
    """A `plain_text` text object whose `text` is 1..`limit` characters.

    Why plain_text only: modal titles, modal buttons and feedback buttons refuse `mrkdwn`.
    """
    if not isinstance(obj, Mapping):
        raise _not_type(pointer, "object", error)
    if obj.get("type") != "plain_text":
        raise Refusal(error, f"[ERROR] must be one of the following: plain_text [json-pointer:{pointer}/type]")
    _check_string(obj.get("text"), f"{pointer}/text", limit=limit, error=error)


# ---------------------------------------------------------------- assistant threads


def check_prompts(prompts: Any) -> list[dict[str, str]]:
    """`assistant.threads.setSuggestedPrompts`'s `prompts`: 1..4 `{"title", "message"}` objects."""
    if prompts is None or prompts == "":
        raise missing("prompts")
    if not isinstance(prompts, list):
        raise _not_type("/prompts", "array", "invalid_arguments")
    if not prompts:
        raise Refusal("invalid_arguments", "[ERROR] must provide at least 1 items [json-pointer:/prompts]")
    if len(prompts) > MAX_PROMPTS:
        raise Refusal("invalid_arguments", f"[ERROR] no more than {MAX_PROMPTS} items allowed [json-pointer:/prompts]")
    cleaned: list[dict[str, str]] = []
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, Mapping):
            raise _not_type(f"/prompts/{i}", "object", "invalid_arguments")
        for key in ("title", "message"):
            if not prompt.get(key):
                raise missing(f"/prompts/{i}/{key}")
            if not isinstance(prompt[key], str):
                raise _not_type(f"/prompts/{i}/{key}", "string", "invalid_arguments")
        cleaned.append({"title": prompt["title"], "message": prompt["message"]})
    return cleaned


def check_loading_messages(value: Any) -> list[str] | None:
    """`assistant.threads.setStatus`'s optional `loading_messages`: at most 10 strings."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        raise _not_type("/loading_messages", "array of strings", "invalid_arguments")
    if len(value) > MAX_LOADING_MESSAGES:
        raise Refusal(
            "invalid_arguments",
            f"[ERROR] no more than {MAX_LOADING_MESSAGES} items allowed [json-pointer:/loading_messages]",
        )
    return list(value)


# ---------------------------------------------------------------- blocks


def check_context_actions(block: Mapping[str, Any], index: int) -> None:
    """A `context_actions` block: 1..5 `feedback_buttons` / `icon_button` elements.

    Raises `invalid_blocks`, as `chat.postMessage` does for any malformed block, so a bot
    that builds its feedback row wrong learns it from the fake rather than from users.
    """
    base = f"/blocks/{index}"
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        raise Refusal("invalid_blocks", f"[ERROR] missing required field: elements [json-pointer:{base}]")
    if len(elements) > MAX_CONTEXT_ACTIONS:
        raise Refusal(
            "invalid_blocks",
            f"[ERROR] no more than {MAX_CONTEXT_ACTIONS} items allowed [json-pointer:{base}/elements]",
        )
    for j, element in enumerate(elements):
        pointer = f"{base}/elements/{j}"
        if not isinstance(element, Mapping):
            raise _not_type(pointer, "object", "invalid_blocks")
        kind = element.get("type")
        _check_string(
            element.get("action_id"),
            f"{pointer}/action_id",
            limit=MAX_ACTION_ID,
            error="invalid_blocks",
            required=False,
        )
        if kind == "feedback_buttons":
            for side in ("positive_button", "negative_button"):
                button = element.get(side)
                if not isinstance(button, Mapping):
                    raise Refusal("invalid_blocks", f"[ERROR] missing required field: {side} [json-pointer:{pointer}]")
                check_plain_text(
                    button.get("text"), f"{pointer}/{side}/text", limit=MAX_FEEDBACK_TEXT, error="invalid_blocks"
                )
                _check_string(
                    button.get("value"), f"{pointer}/{side}/value", limit=MAX_FEEDBACK_VALUE, error="invalid_blocks"
                )
        elif kind == "icon_button":
            _check_string(element.get("icon"), f"{pointer}/icon", limit=MAX_ACTION_ID, error="invalid_blocks")
            check_plain_text(element.get("text"), f"{pointer}/text", limit=MAX_FEEDBACK_TEXT, error="invalid_blocks")
        else:
            raise Refusal(
                "invalid_blocks",
                f"[ERROR] must be one of the following: feedback_buttons, icon_button [json-pointer:{pointer}/type]",
            )


# ---------------------------------------------------------------- views


def check_view(view: Any) -> dict[str, Any]:
    """A modal for `views.open`; returns a copy with Slack's defaults filled in.

    Checks what Slack checks before it shows anything: the type, the title and button
    texts (plain_text, 24 characters), the blocks, `callback_id` / `private_metadata` /
    `external_id` lengths, a submit button when there are inputs, and the total size
    (`view_too_large`).
    """
    if view is None or view == "":
        raise missing("view")
    if not isinstance(view, Mapping):
        raise _not_type("/view", "object", "invalid_arguments")
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise Refusal("view_too_large")
    if view.get("type") != "modal":
        raise Refusal("invalid_arguments", "[ERROR] must be one of the following: modal [json-pointer:/view/type]")
    if view.get("title") is None:
        raise missing("/view/title")
    check_plain_text(view.get("title"), "/view/title", limit=MAX_VIEW_TITLE)
    for key in ("submit", "close"):
        if view.get(key) is not None:
            check_plain_text(view.get(key), f"/view/{key}", limit=MAX_VIEW_BUTTON)
    blocks = view.get("blocks")
    if blocks is None:
        raise missing("/view/blocks")
    if not isinstance(blocks, list):
        raise _not_type("/view/blocks", "array", "invalid_arguments")
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise Refusal(
            "invalid_arguments", f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]"
        )
    for i, block in enumerate(blocks):
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise Refusal("invalid_arguments", f"[ERROR] missing required field: type [json-pointer:/view/blocks/{i}]")
    if view.get("submit") is None and any(b.get("type") == "input" for b in blocks):
        raise Refusal(
            "invalid_arguments",
            "[ERROR] submit is required when an input block is within the blocks array [json-pointer:/view/submit]",
        )
    _check_string(
        view.get("callback_id"), "/view/callback_id", limit=MAX_CALLBACK_ID, error="invalid_arguments", required=False
    )
    _check_string(
        view.get("external_id"), "/view/external_id", limit=MAX_CALLBACK_ID, error="invalid_arguments", required=False
    )
    metadata = view.get("private_metadata")
    if metadata is not None:
        if not isinstance(metadata, str):
            raise _not_type("/view/private_metadata", "string", "invalid_arguments")
        if len(metadata) > MAX_PRIVATE_METADATA:
            raise _too_long("/view/private_metadata", MAX_PRIVATE_METADATA, "invalid_arguments")
    cleaned = json.loads(json.dumps(view))  # a deep copy the caller cannot alter later
    cleaned.setdefault("callback_id", "")
    cleaned.setdefault("private_metadata", "")
    cleaned.setdefault("external_id", "")
    cleaned.setdefault("clear_on_close", False)
    cleaned.setdefault("notify_on_close", False)
    return cleaned


# ---------------------------------------------------------------- cursors


def encode_cursor(ts: str) -> str:
    """An opaque cursor naming the first message of the next page, shaped like Slack's.

    Slack's cursors are base64 of `next_ts:<ts>`; naming a message rather than an offset
    keeps paging right when messages arrive between two pages.
    """
    return base64.b64encode(f"{_CURSOR_PREFIX}{ts}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The ts a cursor from `encode_cursor` names; `invalid_cursor` for anything else."""
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise Refusal("invalid_cursor") from e
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :]:
        raise Refusal("invalid_cursor")
    return text[len(_CURSOR_PREFIX) :]
