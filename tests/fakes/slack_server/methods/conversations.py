"""`conversations.replies`, `conversations.history` and `conversations.open`.

Reading history the way Slack pages it: `oldest` / `latest` windows, `limit` cut to
the method's maximum, opaque cursors and `has_more`, newest first for history and
oldest first for replies, so a bot that summarises a long thread has to page.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_server.api import ApiError, Params, flag
from tests.fakes.slack_server.checks import MethodChecks
from tests.fakes.slack_server.messages import FakeMessage, as_ts, ts_key
from tests.fakes.slack_shapes import Refusal, decode_cursor, encode_cursor


class ConversationMethods(MethodChecks):
    """The `conversations.*` methods and their page sizes; a mixin of `FakeSlack`."""

    def _init_conversations(self) -> None:
        """Slack's page sizes: history 100 (at most 999), replies 1000 (at most 1000)."""
        self.history_default_limit = 100
        self.history_max_limit = 999
        self.replies_default_limit = 1000
        self.replies_max_limit = 1000

    @staticmethod
    def _bound(value: Any, error: str) -> tuple[int, int] | None:
        """An `oldest` / `latest` param as a ts sort key (None when absent)."""
        ts = as_ts(value)
        if ts is None:
            return None
        head, _, tail = ts.partition(".")
        if not head.isdigit() or (tail and not tail.isdigit()):
            raise ApiError(error)
        return ts_key(ts)

    def _window(self, msgs: list[FakeMessage], params: Params) -> list[FakeMessage]:
        """Keep the messages between `oldest` and `latest` (`inclusive` keeps the ends)."""
        oldest = self._bound(params.get("oldest"), "invalid_ts_oldest")
        latest = self._bound(params.get("latest"), "invalid_ts_latest")
        inclusive = flag(params.get("inclusive"))

        def inside(m: FakeMessage) -> bool:
            key = ts_key(m.ts)
            if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
                return False
            return latest is None or key < latest or (key == latest and inclusive)

        return [m for m in msgs if inside(m)]

    def _page(
        self, msgs: list[FakeMessage], params: Params, *, default: int, maximum: int, newest_first: bool
    ) -> tuple[list[FakeMessage], dict[str, Any]]:
        """One page of `msgs` (already in the order Slack returns them) and its paging fields.

        Like Slack: `limit` (default `default`, at most `maximum`, larger asks are cut),
        `cursor` from the previous page's `response_metadata.next_cursor`, `has_more`.
        """
        try:
            limit = int(params.get("limit") or 0)
        except (TypeError, ValueError) as e:
            raise ApiError("invalid_arguments") from e
        limit = default if limit <= 0 else min(limit, maximum)
        start = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                key = self._bound(decode_cursor(str(cursor)), "invalid_cursor")
            except Refusal as refusal:
                raise ApiError.of(refusal) from refusal
            assert key is not None
            start = next(
                (i for i, m in enumerate(msgs) if (ts_key(m.ts) <= key if newest_first else ts_key(m.ts) >= key)),
                len(msgs),
            )
        page = msgs[start : start + limit]
        more = start + limit < len(msgs)
        paging = {
            "has_more": more,
            "response_metadata": {"next_cursor": encode_cursor(msgs[start + limit].ts) if more else ""},
        }
        return page, paging

    def _conversations_replies(self, params: Params) -> dict[str, Any]:
        channel = self._check_channel(params.get("channel"))
        ts = as_ts(params.get("ts"))
        if not ts:
            raise ApiError("thread_not_found")
        found = self.message(channel, ts)
        root = found.thread_ts if found is not None and found.thread_ts else ts
        msgs = [m for m in self.messages(channel) if m.ts == root or m.thread_ts == root]
        if not msgs:
            raise ApiError("thread_not_found")
        replies = {root: [m for m in msgs if m.is_reply]}
        page, paging = self._page(
            self._window(msgs, params),
            params,
            default=self.replies_default_limit,
            maximum=self.replies_max_limit,
            newest_first=False,
        )
        with_metadata = flag(params.get("include_all_metadata"))
        return {"ok": True, "messages": [self._serialize(m, replies, metadata=with_metadata) for m in page], **paging}

    def _conversations_history(self, params: Params) -> dict[str, Any]:
        channel = self._check_channel(params.get("channel"))
        all_msgs = self.messages(channel)
        replies: dict[str, list[FakeMessage]] = {}
        for m in all_msgs:
            if m.is_reply:
                replies.setdefault(m.thread_ts or "", []).append(m)
        top = [m for m in reversed(all_msgs) if not m.is_reply]
        page, paging = self._page(
            self._window(top, params),
            params,
            default=self.history_default_limit,
            maximum=self.history_max_limit,
            newest_first=True,
        )
        with_metadata = flag(params.get("include_all_metadata"))
        messages = [self._serialize(m, replies, metadata=with_metadata) for m in page]
        return {"ok": True, "pin_count": 0, "messages": messages, **paging}

    def _conversations_open(self, params: Params) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) > 1:
            raise ApiError("not_supported")  # group DMs are beyond this fake
        return {"ok": True, "channel": {"id": self.dm_channel(users[0])}}
