"""The `assistant.threads.*` methods: status, title and suggested prompts.

Each needs the `assistant:write` scope (`missing_scope` otherwise, with what is needed
and provided), checks its arguments as Slack does (tests/fakes/slack_shapes.py) and is
recorded with the clock in `statuses`, `titles` or `suggested_prompts`.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_server.api import ApiError, Params
from tests.fakes.slack_server.checks import MethodChecks
from tests.fakes.slack_server.messages import as_ts
from tests.fakes.slack_shapes import (
    Refusal,
    check_loading_messages,
    check_prompts,
    missing,
)


class AssistantMethods(MethodChecks):
    """The "Agents & AI apps" thread methods and their record; a mixin of `FakeSlack`."""

    def _init_assistant(self) -> None:
        """Nothing set yet."""
        self.statuses: list[dict[str, Any]] = []
        self.titles: list[dict[str, Any]] = []
        self.suggested_prompts: list[dict[str, Any]] = []

    def _assistant_ok(self, params: Params) -> dict[str, Any]:
        """The scope check every `assistant.threads.*` method makes first."""
        if not self.assistant_scope:
            raise ApiError("missing_scope", extra={"needed": "assistant:write", "provided": ",".join(self.scopes)})
        return {"ok": True}

    def _assistant_thread(self, params: Params) -> tuple[str, str]:
        """The scope, then `channel_id` and `thread_ts` (both required), as Slack checks them."""
        self._assistant_ok(params)
        if not params.get("channel_id"):
            raise ApiError.of(missing("channel_id"))
        channel = self._check_channel(params.get("channel_id"))
        thread_ts = as_ts(params.get("thread_ts"))
        if not thread_ts:
            raise ApiError.of(missing("thread_ts"))
        return channel, thread_ts

    def _assistant_set_status(self, params: Params) -> dict[str, Any]:
        channel, thread_ts = self._assistant_thread(params)
        status = params.get("status")
        if status is None:
            raise ApiError.of(missing("status"))
        try:
            loading = check_loading_messages(params.get("loading_messages"))
        except Refusal as refusal:
            raise ApiError.of(refusal) from refusal
        self.statuses.append(
            {
                "time": self._clock(),
                "channel": channel,
                "channel_id": channel,
                "thread_ts": thread_ts,
                "status": str(status),
                "loading_messages": loading,
            }
        )
        return {"ok": True}

    def _assistant_set_title(self, params: Params) -> dict[str, Any]:
        channel, thread_ts = self._assistant_thread(params)
        title = params.get("title")
        if not title:
            raise ApiError.of(missing("title"))
        self.titles.append({"time": self._clock(), "channel_id": channel, "thread_ts": thread_ts, "title": str(title)})
        parent = self.message(channel, thread_ts)
        if parent is not None and "assistant_app_thread" in parent.extra:
            parent.extra["assistant_app_thread"]["title"] = str(title)
        return {"ok": True}

    def _assistant_set_suggested_prompts(self, params: Params) -> dict[str, Any]:
        channel, thread_ts = self._assistant_thread(params)
        title = params.get("title")
        try:
            prompts = check_prompts(params.get("prompts"))
            if title is not None and not isinstance(title, str):
                raise Refusal("invalid_arguments", "[ERROR] expected string [json-pointer:/title]")
        except Refusal as refusal:
            raise ApiError.of(refusal) from refusal
        self.suggested_prompts.append(
            {"time": self._clock(), "channel_id": channel, "thread_ts": thread_ts, "prompts": prompts, "title": title}
        )
        return {"ok": True}
