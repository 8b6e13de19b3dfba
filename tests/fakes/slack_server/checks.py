"""The checks Web API methods make before they change anything.

Slack refuses with an error name, so these do too: channel access (`channel_not_found`,
`not_in_channel`), size limits (`msg_too_long`, `invalid_blocks` with the
`response_metadata.messages` Slack explains itself with), metadata shape, ownership
(`cant_update_message`) and whether a native stream is still live. Each limit is a
public attribute so a test can change it mid-run.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from tests.fakes.slack_server.api import ApiError
from tests.fakes.slack_server.messages import Block, FakeMessage, as_ts, block_texts
from tests.fakes.slack_server.state import Workspace
from tests.fakes.slack_shapes import Refusal, check_context_actions


class MethodChecks(Workspace):
    """Limits and the checks that enforce them; a mixin of the Web API method families."""

    def _init_checks(
        self,
        *,
        max_text: int,
        max_markdown_text: int,
        max_section_text: int,
        max_blocks: int,
        not_in_channels: Iterable[str],
        unknown_channels: Iterable[str],
        stream_ttl: float,
        strict_stream_updates: bool,
    ) -> None:
        """Slack's limits, and the channels the bot cannot see or write to."""
        self.max_text = max_text
        self.max_markdown_text = max_markdown_text
        self.max_section_text = max_section_text
        self.max_blocks = max_blocks
        self.not_in_channels: set[str] = set(not_in_channels)
        self.unknown_channels: set[str] = set(unknown_channels)
        # Block types this workspace does not know (as a Slack without the AI features
        # refuses `context_actions`): any message holding one is `invalid_blocks`.
        self.unknown_block_types: set[str] = set()
        self.stream_ttl = stream_ttl
        self.strict_stream_updates = strict_stream_updates

    def _check_channel(self, channel: Any) -> str:
        """The channel id, or Slack's error for a channel the bot cannot write to."""
        if not channel:
            raise ApiError("channel_not_found")
        channel = str(channel)
        if channel in self.unknown_channels:
            raise ApiError("channel_not_found")
        if channel in self.not_in_channels:
            raise ApiError("not_in_channel")
        return channel

    def _check_content(self, text: str | None, blocks: Any) -> list[Block] | None:
        """Enforce the size limits; returns the blocks (None for none)."""
        if text is not None and len(text) > self.max_text:
            raise ApiError("msg_too_long")
        if blocks is None or blocks == []:
            return None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
            raise ApiError("invalid_blocks", extra={"response_metadata": {"messages": ["[ERROR] invalid blocks"]}})
        if len(blocks) > self.max_blocks:
            raise ApiError(
                "invalid_blocks",
                extra={"response_metadata": {"messages": [f"[ERROR] no more than {self.max_blocks} items allowed"]}},
            )
        markdown, _ = block_texts(blocks)
        for i, block in enumerate(blocks):
            if block.get("type") in self.unknown_block_types:
                raise ApiError(
                    "invalid_blocks",
                    extra={
                        "response_metadata": {
                            "messages": [f"[ERROR] unsupported type: {block['type']} [json-pointer:/blocks/{i}/type]"]
                        }
                    },
                )
            if block.get("type") == "context_actions":
                try:
                    check_context_actions(block, i)
                except Refusal as refusal:
                    raise ApiError.of(refusal) from refusal
            inner = block.get("text")
            if (
                block.get("type") == "section"
                and isinstance(inner, Mapping)
                and len(str(inner.get("text", ""))) > self.max_section_text
            ):
                message = (
                    f"[ERROR] must be less than {self.max_section_text + 1} characters "
                    f"[json-pointer:/blocks/{i}/text/text]"
                )
                raise ApiError("invalid_blocks", extra={"response_metadata": {"messages": [message]}})
        if sum(len(t) for t in markdown) > self.max_markdown_text:
            raise ApiError("msg_too_long")
        return copy.deepcopy(blocks)

    @staticmethod
    def _check_metadata(metadata: Any) -> dict[str, Any] | None:
        """Message metadata: `{"event_type": str, "event_payload": object}` or nothing."""
        if metadata is None:
            return None
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not metadata["event_type"]
            or not isinstance(metadata.get("event_payload"), (dict, type(None)))
        ):
            raise ApiError("invalid_metadata_format")
        return copy.deepcopy(metadata)

    def _bot_message(self, channel: str, ts: Any, *, verb: str) -> FakeMessage:
        """The live message `ts`, which must be the bot's (`cant_<verb>_message` otherwise)."""
        msg = self.message(channel, as_ts(ts) or "")
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        if not msg.is_bot:
            raise ApiError(f"cant_{verb}_message")
        return msg

    def _stream_state(self, msg: FakeMessage) -> str:
        """ "streaming", "stopped" or "expired" (older than `stream_ttl` by the clock)."""
        if msg.stream_stopped or msg.stream_started is None:
            return "stopped"
        if self._clock() - msg.stream_started > self.stream_ttl:
            return "expired"
        return "streaming"
