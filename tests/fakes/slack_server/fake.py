"""`FakeSlack`: the pieces of the fake put together as one workspace object.

Tests and benchmarks hold one object and read everything off it, so the pieces are
mixins that share its state; each lives in its own module with the state it owns.
This module only says which pieces there are and sets each one up from the arguments.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tests.fakes.slack_server.clock import Clock
from tests.fakes.slack_server.transport import Transport


class FakeSlack(Transport):
    """One fake Slack workspace served on 127.0.0.1 (a random free port).

    Point `AsyncWebClient(base_url=fake.api_url, token="xoxb-...")` at it; Socket Mode
    clients get `ws://127.0.0.1:PORT/socket` from `apps.connections.open`. What happened
    is public state: `calls`, `rate_limited`, `messages()`, `thread()`, `envelopes`,
    `ephemerals`, `statuses`, `responses`, `http_deliveries`, `max_in_flight`. Behaviour switches
    (`not_in_channels`, `unknown_channels`, `revoked_tokens`, `assistant_scope`,
    `native_streaming`, `unknown_block_types`, limits...) are public attributes and may change mid-test.

    The agent surface ("Agents & AI apps", slash commands, shortcuts, modals) adds:

    * `statuses` / `titles` / `suggested_prompts`: every successful
      `assistant.threads.setStatus` / `setTitle` / `setSuggestedPrompts`, as dicts with
      `time` (the clock), `channel_id`, `thread_ts` and the values sent (`status` and
      `loading_messages`; `title`; `prompts` and `title`). `statuses` keeps `channel` too.
      Each method has its own Tier-4 bucket (burst 20, 100/min) in `method_buckets`,
      which `method_limits` overrides, like `conversations.replies` / `.history` buckets;
    * `dm_channels`: user id -> the id of their DM with the bot (`dm_channel(user)`),
      where assistant threads live;
    * `commands`: every slash command payload sent (`send_command` / `post_command`);
      a command's ack body is applied as Slack shows it (`ephemerals` for ephemeral,
      a new message for `in_channel`) and recorded in `responses` with `via: "ack"`;
    * `views`: the modals `views.open` opened (as returned, with their `V...` id);
      `trigger_ttl` (3 s by the clock) is how long a `trigger_id` stays usable, once;
    * `response_url_ttl` (30 min) and `response_url_max_uses` (5) bound each
      `response_url`, as Slack does; `responses` records every POST to one;
    * `history_default_limit` / `history_max_limit` (100 / 999) and
      `replies_default_limit` / `replies_max_limit` (1000 / 1000): page sizes of
      `conversations.history` / `conversations.replies`.
    """

    def __init__(
        self,
        *,
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        update_rate_per_min: float = 50,
        update_burst: int = 10,
        post_rate_per_s: float = 1.0,
        post_burst: int = 5,
        max_text: int = 4000,
        clock: Clock = time.monotonic,
        signing_secret: str = "secret",
        app_id: str = "A1",
        team_name: str = "Fake Workspace",
        team_domain: str = "fake",
        users: Mapping[str, str | Mapping[str, Any]] | None = None,
        revoked_tokens: Iterable[str] = (),
        not_in_channels: Iterable[str] = (),
        unknown_channels: Iterable[str] = (),
        assistant_scope: bool = True,
        native_streaming: bool = True,
        stream_ttl: float = 300.0,
        append_rate_per_min: float = 100,
        append_burst: int = 20,
        max_append_text: int = 12_000,
        max_markdown_text: int = 12_000,
        max_section_text: int = 3_000,
        max_blocks: int = 50,
        strict_stream_updates: bool = True,
        method_limits: Mapping[str, tuple[int, float]] | None = None,
        latency: float = 0.0,
        echo_events: bool = False,
        events_url: str | None = None,
        retry_unacked: bool = False,
        ack_timeout: float = 3.0,
        retry_delays: Sequence[float] = (0.0, 60.0, 300.0),
    ) -> None:
        """Configure the workspace; nothing listens until `start()`.

        Beyond the brief's arguments: `max_markdown_text` (12,000: the total of `markdown`
        blocks, else `msg_too_long`), `max_section_text` / `max_blocks` (3,000 / 50, else
        `invalid_blocks`), `strict_stream_updates` (`chat.update` on a stream that is
        still live answers `streaming_state_conflict`), `method_limits` (extra
        per-workspace buckets, `{"conversations.replies": (1, 1.0)}` = burst 1, 1/min; the
        three `assistant.threads.*` methods have Tier-4 ones, `(20, 100)`, and
        `chat.startStream` / `chat.stopStream` Tier-2 ones, `(5, 20)`, unless overridden),
        `latency` (seconds each API call takes), `echo_events` (the bot's own posts and
        edits come back as `message` / `message_changed` events, over Socket Mode or to
        `events_url`), `retry_unacked` (an events_api envelope not acked within
        `ack_timeout` is sent again after `retry_delays[n]` with `retry_attempt` n+1).
        """
        self._init_workspace(
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            team_name=team_name,
            team_domain=team_domain,
            users=users,
            revoked_tokens=revoked_tokens,
            assistant_scope=assistant_scope,
            clock=clock,
        )
        self._init_checks(
            max_text=max_text,
            max_markdown_text=max_markdown_text,
            max_section_text=max_section_text,
            max_blocks=max_blocks,
            not_in_channels=not_in_channels,
            unknown_channels=unknown_channels,
            stream_ttl=stream_ttl,
            strict_stream_updates=strict_stream_updates,
        )
        self._init_streams(native_streaming=native_streaming, max_append_text=max_append_text)
        self._init_files()
        self._init_limits(
            update_rate_per_min=update_rate_per_min,
            update_burst=update_burst,
            post_rate_per_s=post_rate_per_s,
            post_burst=post_burst,
            append_rate_per_min=append_rate_per_min,
            append_burst=append_burst,
            method_limits=method_limits,
        )
        self._init_inspection()
        self._init_assistant()
        self._init_interactions()
        self._init_conversations()
        self._init_chat(echo_events=echo_events)
        self._init_http_events(events_url=events_url, signing_secret=signing_secret)
        self._init_socket_mode(retry_unacked=retry_unacked, ack_timeout=ack_timeout, retry_delays=retry_delays)
        self._init_transport(latency=latency)
