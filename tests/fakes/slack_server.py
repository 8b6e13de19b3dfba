"""A fake Slack on loopback: Web API, Socket Mode and signed HTTP events.

Tests and benchmarks drive it with the *real* `slack_sdk.web.async_client.AsyncWebClient`,
`slack_sdk.socket_mode.aiohttp.SocketModeClient` and slack_bolt `AsyncApp`, so the SDK's
own request encoding (JSON for `chat.*`, forms and query strings for the rest), error
mapping (`SlackApiError` with the HTTP status and headers) and Socket Mode acks are
exercised rather than mocked away.

It behaves like Slack where a streaming bot can get it wrong:

* rate limits are token buckets with Slack's shape: `chat.update` one bucket for the whole
  workspace (Tier 3), `chat.postMessage` one per channel, `chat.appendStream` one per
  workspace (Tier 4); a refusal is HTTP 429 with an integer `Retry-After` and
  `{"ok": false, "error": "ratelimited"}`, and it does not change the message;
* size limits (`msg_too_long`, `invalid_blocks`), ownership (`cant_update_message`),
  membership (`not_in_channel`), token types, missing scopes and stream expiry answer
  with Slack's error names;
* every message keeps the history of what it showed and when (by the injectable
  `clock`), so a benchmark can tell how stale the text on screen was;
* events reach the app over Socket Mode (one connection per envelope, round-robin, acks
  recorded, optional retries of unacked events) or over signed HTTP POSTs, and the
  user's messages sent that way land in the channel so `conversations.replies` shows them;
* the "Agents & AI apps" surface is there too: assistant thread events and methods,
  slash commands, message shortcuts, modals (`views.open`, trigger expiry, view
  submissions) and feedback buttons, with Slack's payload shapes (argument checks live
  in tests/fakes/slack_shapes.py).

Numbers follow /work/shared/PLATFORM_FACTS.md and CONTRACT.md; every one is a
constructor argument or a public attribute, because Slack does not publish most of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_shapes import (
    Refusal,
    check_context_actions,
    check_loading_messages,
    check_prompts,
    check_view,
    decode_cursor,
    encode_cursor,
    missing,
)

Clock = Callable[[], float]
Block = dict[str, Any]
Params = dict[str, Any]

_log = logging.getLogger(__name__)

_FIRST_TS = 1_700_000_000_000_100  # microseconds: the first ts is "1700000000.000100"
_TS_STEP = 100  # microseconds between two generated ts, like Slack's "...000100", "...000200"
_STREAM_METHODS = frozenset({"chat.startStream", "chat.appendStream", "chat.stopStream"})
_ASSISTANT_METHODS = (
    "assistant.threads.setStatus",
    "assistant.threads.setTitle",
    "assistant.threads.setSuggestedPrompts",
)
_TIER4 = (20, 100.0)  # burst, per minute: Slack's "100+ per minute" with room for a burst
_JSON_PARAMS = ("blocks", "attachments", "chunks", "metadata", "view", "prompts", "loading_messages")
_DEFAULT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "chat:write",
    "reactions:write",
    "users:read",
)


def unescape(s: str) -> str:
    """Undo Slack's text escaping (`&amp;` `&lt;` `&gt;`), `&amp;` last so it stays exact."""
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_texts(blocks: Sequence[Block] | None) -> tuple[list[str], list[str]]:
    """The texts of `markdown` blocks and of `section` blocks, in order."""
    markdown: list[str] = []
    sections: list[str] = []
    for block in blocks or ():
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "markdown":
            markdown.append(str(block.get("text", "")))
        elif block.get("type") == "section":
            inner = block.get("text")
            if isinstance(inner, Mapping):
                sections.append(str(inner.get("text", "")))
    return markdown, sections


def _visible(text: str, blocks: Sequence[Block] | None, *, section_sep: str = "\n") -> str:
    """What Slack shows for a message holding `text` and `blocks` (see `visible_text`)."""
    markdown, sections = _block_texts(blocks)
    if markdown:
        return "\n".join(markdown)
    if sections:
        return section_sep.join(sections)
    return text


def visible_text(msg: FakeMessage | Mapping[str, Any], *, section_sep: str = "\n") -> str:
    """The text a user sees in `msg` (a `FakeMessage` or a Slack-shaped message dict).

    With blocks Slack shows the blocks and keeps `text` for notifications, so: the
    `markdown` block's text if there is one, else the `section` texts joined by
    `section_sep` (each section renders on its own line), else `text`. A natively
    streamed message shows its streamed Markdown (kept in `text`); blocks given to
    `chat.stopStream` render below it and are not part of the answer. Escaping is kept:
    pass the result through `unescape` to compare with the model's text.
    """
    if isinstance(msg, FakeMessage):
        if msg.streamed:
            return msg.text
        return _visible(msg.text, msg.blocks, section_sep=section_sep)
    return _visible(str(msg.get("text", "")), msg.get("blocks"), section_sep=section_sep)


def _ts_key(ts: str) -> tuple[int, int]:
    """Sort key for Slack ts strings ("1700000000.000100"), numeric on both halves."""
    head, _, tail = ts.partition(".")
    try:
        return int(head), int(tail.ljust(6, "0")[:6])
    except ValueError:
        return 0, 0


def _as_ts(value: Any) -> str | None:
    """A ts param as Slack's canonical string, whatever type the client sent it as."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


class Version(NamedTuple):
    """One state a message showed: from `time` (the fake's clock) until the next version."""

    time: float
    text: str
    blocks: list[Block] | None


@dataclass(slots=True)
class FakeMessage:
    """A message as the fake stores it; `history` holds every version it showed.

    `history[0]` is the post (or the user's event), then one entry per successful
    `chat.update`, stream append and stream stop, each stamped with the fake's clock, so
    "when did this text first become visible" is `first_visible(text)`. `metadata` is the
    message metadata the app attached (bolt's assistant keeps thread context there);
    `extra` holds fields Slack adds to special messages (an assistant thread's parent
    carries `assistant_app_thread` with its title).
    """

    channel: str
    ts: str
    text: str
    user: str | None
    bot_id: str | None = None
    thread_ts: str | None = None
    blocks: list[Block] | None = None
    history: list[Version] = field(default_factory=list)
    subtype: str | None = None
    edited: dict[str, str] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    deleted: bool = False
    streamed: bool = False
    stream_started: float | None = None
    stream_stopped: bool = False
    stream_recipient: tuple[str | None, str | None] | None = None
    stream_versions: int = 0
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_bot(self) -> bool:
        """True for messages the bot posted (the only ones it may update or delete)."""
        return self.bot_id is not None

    @property
    def is_reply(self) -> bool:
        """True for a reply inside a thread (not the thread's parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def visible(self) -> str:
        """`visible_text(self)`: what the message shows now."""
        return visible_text(self)

    def record(self, at: float) -> None:
        """Append the current state to `history` (copied, so later edits cannot alter it)."""
        self.history.append(Version(at, self.text, copy.deepcopy(self.blocks)))
        if self.streamed:
            self.stream_versions = len(self.history)

    def visible_history(self, *, section_sep: str = "\n") -> list[tuple[float, str]]:
        """`(time, visible text)` for every version, oldest first.

        Versions written by native streaming show their streamed text (see `visible_text`).
        """
        return [
            (v.time, v.text if i < self.stream_versions else _visible(v.text, v.blocks, section_sep=section_sep))
            for i, v in enumerate(self.history)
        ]

    def first_visible(self, needle: str) -> float | None:
        """The clock time of the first version whose visible text contains `needle`."""
        for at, text in self.visible_history():
            if needle in text:
                return at
        return None


@dataclass(slots=True)
class FakeCall:
    """One Web API call as the fake saw it (params without the token)."""

    method: str
    params: Params
    time: float
    status: int
    error: str | None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.error is None


@dataclass(slots=True)
class SentEnvelope:
    """A Socket Mode envelope the fake sent, and its ack once the client sent one."""

    envelope_id: str
    type: str
    body: dict[str, Any]
    sent_at: float
    connection: int
    acked_at: float | None = None
    ack: dict[str, Any] | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class HttpDelivery:
    """One signed HTTP POST the fake made to the app, and how the app answered."""

    kind: str
    event_id: str | None
    status: int
    body: str
    elapsed: float


@dataclass(slots=True)
class _Injected:
    """A scripted failure for the next `times` calls of one method (see `FakeSlack.fail`)."""

    error: str
    status: int
    retry_after: int | None
    times: int


@dataclass(slots=True)
class _Trigger:
    """A `trigger_id` the fake handed out: when, and whether a view was opened with it."""

    issued_at: float
    used: bool = False


@dataclass(slots=True)
class _ResponseUrl:
    """A `response_url` the fake handed out: where its replies go and how often it was used.

    `message_ts` is None for a slash command's (no message: replies go to the channel).
    """

    channel: str
    message_ts: str | None
    user: str | None
    issued_at: float
    uses: int = 0


class _ApiError(Exception):
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
    def of(cls, refusal: Refusal) -> _ApiError:
        """The API error for a `Refusal` from slack_shapes, with its explanations."""
        extra = {"response_metadata": {"messages": refusal.messages}} if refusal.messages else None
        return cls(refusal.error, extra=extra)


class TokenBucket:
    """A token bucket on an injectable clock: `burst` tokens, refilled at `per_second`.

    Slack publishes its limits as "about N per minute, short bursts ok"; a bucket is the
    shape that matches both halves, and what CONTRACT.md asks bots to design for.
    """

    def __init__(self, *, burst: float, per_second: float, clock: Clock) -> None:
        self.capacity = float(burst)
        self.rate = float(per_second)
        self.tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def _refill(self) -> None:
        """Add the tokens earned since the last look (never above `capacity`)."""
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)

    def try_take(self) -> float:
        """Take one token and return 0.0, or return the seconds until one is available."""
        self._refill()
        if self.tokens >= 1.0 - 1e-9:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate


class ManualClock:
    """A clock tests move by hand, for deterministic bucket and staleness checks."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`."""
        self.now += seconds


class FakeSlack:
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
        three `assistant.threads.*` methods have Tier-4 ones, `(20, 100)`, unless overridden),
        `latency` (seconds each API call takes), `echo_events` (the bot's own posts and
        edits come back as `message` / `message_changed` events, over Socket Mode or to
        `events_url`), `retry_unacked` (an events_api envelope not acked within
        `ack_timeout` is sent again after `retry_delays[n]` with `retry_attempt` n+1).
        """
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.signing_secret = signing_secret
        self.max_text = max_text
        self.max_append_text = max_append_text
        self.max_markdown_text = max_markdown_text
        self.max_section_text = max_section_text
        self.max_blocks = max_blocks
        self.users: dict[str, str | Mapping[str, Any]] = dict(users or {})
        self.revoked_tokens: set[str] = set(revoked_tokens)
        self.not_in_channels: set[str] = set(not_in_channels)
        self.unknown_channels: set[str] = set(unknown_channels)
        # Block types this workspace does not know (as a Slack without the AI features
        # refuses `context_actions`): any message holding one is `invalid_blocks`.
        self.unknown_block_types: set[str] = set()
        # Files people shared (`add_file`), served at their `url_private_download` to a
        # bot token with `files:read`; without it Slack answers 200 with its sign-in
        # page (HTML), as it does. `file_errors`: file id -> HTTP status to answer
        # instead; `file_delay`: seconds before any file is served. `file_downloads`
        # counts the downloads per file id.
        self.files: dict[str, dict[str, Any]] = {}
        self._file_bytes: dict[str, bytes] = {}
        self.files_scope = True
        self.file_errors: dict[str, int] = {}
        self.file_delay = 0.0
        self.file_downloads: Counter[str] = Counter()
        self.assistant_scope = assistant_scope
        self.native_streaming = native_streaming
        self.stream_ttl = stream_ttl
        self.strict_stream_updates = strict_stream_updates
        self.latency = latency
        self.echo_events = echo_events
        self.events_url = events_url
        self.retry_unacked = retry_unacked
        self.ack_timeout = ack_timeout
        self.retry_delays = tuple(retry_delays)
        self._clock = clock

        self.post_rate_per_s = post_rate_per_s
        self.post_burst = post_burst
        self.update_bucket = TokenBucket(burst=update_burst, per_second=update_rate_per_min / 60.0, clock=clock)
        self.append_bucket = TokenBucket(burst=append_burst, per_second=append_rate_per_min / 60.0, clock=clock)
        self.post_buckets: dict[str, TokenBucket] = {}
        limits = {**dict.fromkeys(_ASSISTANT_METHODS, _TIER4), **(method_limits or {})}
        self.method_buckets: dict[str, TokenBucket] = {
            name: TokenBucket(burst=burst, per_second=per_min / 60.0, clock=clock)
            for name, (burst, per_min) in limits.items()
        }

        self.calls: list[FakeCall] = []
        self.rate_limited: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()  # calls of each method being served now
        self.max_in_flight: Counter[str] = Counter()  # the most ever served at once
        self.ephemerals: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.titles: list[dict[str, Any]] = []
        self.suggested_prompts: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.commands: list[dict[str, str]] = []
        self.views: list[dict[str, Any]] = []
        self.dm_channels: dict[str, str] = {}
        self.trigger_ttl = 3.0
        self.response_url_ttl = 1800.0
        self.response_url_max_uses = 5
        self.history_default_limit = 100
        self.history_max_limit = 999
        self.replies_default_limit = 1000
        self.replies_max_limit = 1000
        self.envelopes: dict[str, SentEnvelope] = {}
        self.unknown_acks: list[dict[str, Any]] = []
        self.http_deliveries: list[HttpDelivery] = []
        self._channels: dict[str, dict[str, FakeMessage]] = {}
        self._injected: dict[str, list[_Injected]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._ts = itertools.count(_FIRST_TS, _TS_STEP)
        self._ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self.connections_opened = 0
        self._round_robin = 0
        self._socket_change: asyncio.Condition | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port (loopback only: tests must not be reachable)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/socket", self._handle_socket)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_get("/files-pri/{fid}/{name}", self._handle_file)
        self._socket_change = asyncio.Condition()
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close sockets, cancel background work and stop listening."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"fake slack stopping")
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base for `AsyncWebClient(base_url=...)`, with its trailing slash."""
        return f"{self.base_url}/api/"

    @property
    def socket_url(self) -> str:
        """The Socket Mode WebSocket URL (what `apps.connections.open` hands out)."""
        return f"ws://127.0.0.1:{self._port}/socket"

    @property
    def scopes(self) -> list[str]:
        """The bot scopes the token "has" (sent as `x-oauth-scopes`, like Slack does)."""
        return [
            *_DEFAULT_SCOPES,
            *(["assistant:write"] if self.assistant_scope else []),
            *(["files:read"] if self.files_scope else []),
        ]

    # ------------------------------------------------------------------ store helpers

    def next_ts(self) -> str:
        """A fresh message ts, unique and increasing ("1700000000.000100", ...000200...)."""
        n = next(self._ts)
        return f"{n // 1_000_000}.{n % 1_000_000:06d}"

    def now(self) -> float:
        """The fake's clock (the one `history` and the buckets use)."""
        return self._clock()

    def messages(self, channel: str) -> list[FakeMessage]:
        """Every live message in `channel` (parents and replies, users' and the bot's), by ts."""
        msgs = [m for m in self._channels.get(channel, {}).values() if not m.deleted]
        return sorted(msgs, key=lambda m: _ts_key(m.ts))

    def thread(self, channel: str, thread_ts: str) -> list[FakeMessage]:
        """The bot's replies in the thread `thread_ts`, in order (the answer's pages)."""
        return [m for m in self.messages(channel) if m.is_bot and m.thread_ts == thread_ts and m.ts != thread_ts]

    def message(self, channel: str, ts: str) -> FakeMessage | None:
        """The message `ts` in `channel`, deleted ones included, or None."""
        return self._channels.get(channel, {}).get(ts)

    @staticmethod
    def visible_text(msg: FakeMessage | Mapping[str, Any], *, section_sep: str = "\n") -> str:
        """See the module-level `visible_text`."""
        return visible_text(msg, section_sep=section_sep)

    @staticmethod
    def unescape(s: str) -> str:
        """See the module-level `unescape`."""
        return unescape(s)

    def calls_to(self, method: str) -> list[FakeCall]:
        """The recorded calls of one method, in order."""
        return [c for c in self.calls if c.method == method]

    def fail(
        self, method: str, error: str = "internal_error", *, status: int = 200, times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail with `error` (after the auth check).

        For faults the real service has but a fake would not reach on its own: a 500, a
        `ratelimited` 429 with a chosen `Retry-After`, `channel_not_found`...
        """
        self._injected.setdefault(method, []).append(_Injected(error, status, retry_after, times))

    def _store(self, msg: FakeMessage) -> None:
        """Keep `msg` in its channel, unless a message with that ts is already there."""
        channel = self._channels.setdefault(msg.channel, {})
        if msg.ts not in channel:
            channel[msg.ts] = msg

    def store_event(self, event: Mapping[str, Any]) -> None:
        """Put a user's `message` / `app_mention` in its channel, as Slack already has it.

        `send_event` / `post_event` do this themselves; call it directly to seed history
        without delivering anything. A mention in a followed thread comes twice (both
        types, same ts); it is stored once. An `assistant_thread_started` creates the
        thread's parent in the user's DM (subtype `assistant_app_thread`), as Slack does
        when the user opens the assistant container.
        """
        if event.get("type") == "assistant_thread_started":
            self._store_assistant_thread(event)
            return
        if event.get("type") not in ("message", "app_mention") or event.get("subtype") not in (None, "file_share"):
            return
        channel, ts = event.get("channel"), _as_ts(event.get("ts"))
        if not channel or not ts or ts in self._channels.get(str(channel), {}):
            return
        msg = FakeMessage(
            channel=str(channel),
            ts=ts,
            text=str(event.get("text", "")),
            user=event.get("user"),
            bot_id=event.get("bot_id"),
            thread_ts=_as_ts(event.get("thread_ts")),
            blocks=copy.deepcopy(event.get("blocks")),
            subtype=event.get("subtype"),
            extra={"files": copy.deepcopy(event["files"])} if event.get("files") else {},
        )
        msg.record(self._clock())
        self._store(msg)

    def _store_assistant_thread(self, event: Mapping[str, Any]) -> None:
        """Store the parent message of a new assistant thread (once)."""
        thread = event.get("assistant_thread")
        if not isinstance(thread, Mapping):
            return
        channel, ts = thread.get("channel_id"), _as_ts(thread.get("thread_ts"))
        if not channel or not ts or ts in self._channels.get(str(channel), {}):
            return
        parent = FakeMessage(
            channel=str(channel),
            ts=ts,
            text="",
            user=self.bot_user_id,
            thread_ts=ts,
            subtype="assistant_app_thread",
            extra={"assistant_app_thread": {"title": "", "title_blocks": [], "artifacts": []}},
        )
        parent.record(self._clock())
        self._store(parent)

    def _serialize(
        self,
        msg: FakeMessage,
        replies: Mapping[str, list[FakeMessage]] | None = None,
        *,
        metadata: bool = False,
    ) -> dict[str, Any]:
        """`msg` in the shape `conversations.*` and events carry it.

        `metadata`: include the message metadata (Slack sends it only when asked for,
        e.g. `include_all_metadata`, and in the message a post returns).
        """
        out: dict[str, Any] = {"type": "message", "text": msg.text, "ts": msg.ts, "team": self.team_id}
        if msg.subtype:
            out["subtype"] = msg.subtype
        out.update(copy.deepcopy(msg.extra))
        if metadata and msg.metadata is not None:
            out["metadata"] = copy.deepcopy(msg.metadata)
        if msg.user:
            out["user"] = msg.user
        if msg.bot_id:
            out["bot_id"] = msg.bot_id
            out["app_id"] = self.app_id
            out["bot_profile"] = {
                "id": msg.bot_id, "app_id": self.app_id, "name": "trickle", "team_id": self.team_id
            }
        if msg.blocks:
            out["blocks"] = copy.deepcopy(msg.blocks)
        elif msg.text and not msg.streamed:
            # Slack gives a text-only message the rich_text blocks its clients render;
            # bolt's assistant re-sends them when it saves thread context.
            out["blocks"] = _rich_text_blocks(msg.text, block_id=msg.ts.replace(".", "")[-5:])
        if msg.edited:
            out["edited"] = dict(msg.edited)
        if msg.reactions:
            out["reactions"] = [{"name": n, "users": list(u), "count": len(u)} for n, u in msg.reactions.items()]
        if msg.is_reply:
            out["thread_ts"] = msg.thread_ts
            parent = self.message(msg.channel, msg.thread_ts or "")
            if parent is not None and parent.user:
                out["parent_user_id"] = parent.user
            return out
        # A parent: Slack gives it `thread_ts` (its own ts) once the thread exists.
        if replies is not None:
            kids = replies.get(msg.ts, [])
        else:
            kids = [m for m in self.messages(msg.channel) if m.is_reply and m.thread_ts == msg.ts]
        if kids or msg.thread_ts:
            out["thread_ts"] = msg.ts
        if kids:
            users = sorted({k.user or "" for k in kids})
            out.update(
                reply_count=len(kids), reply_users=users, reply_users_count=len(users), latest_reply=kids[-1].ts
            )
        return out

    # ------------------------------------------------------------------ Web API plumbing

    async def _read_params(self, request: web.Request) -> Params:
        """Merge query string, form body and JSON body; decode JSON-in-form fields."""
        params: Params = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as e:
                    raise _ApiError("invalid_json") from e
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_PARAMS:
            value = params.get(key)
            if isinstance(value, str):
                if value.strip() == "":
                    params[key] = None
                    continue
                try:
                    params[key] = json.loads(value)
                except ValueError as e:
                    raise _ApiError("invalid_blocks" if key == "blocks" else "invalid_arguments") from e
        return params

    def _handlers(self) -> dict[str, Callable[[Params], dict[str, Any]]]:
        """Method name -> handler. Handlers return the success body or raise `_ApiError`."""
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "assistant.threads.setStatus": self._assistant_set_status,
            "assistant.threads.setTitle": self._assistant_set_title,
            "assistant.threads.setSuggestedPrompts": self._assistant_set_suggested_prompts,
            "views.open": self._views_open,
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "apps.connections.open": self._apps_connections_open,
        }

    async def _handle_api(self, request: web.Request) -> web.Response:
        """Run one Web API call: method, auth, injected faults, rate limits, then the handler."""
        method = request.match_info["method"]
        self.in_flight[method] += 1
        self.max_in_flight[method] = max(self.max_in_flight[method], self.in_flight[method])
        try:
            return await self._serve_api(request, method)
        finally:
            self.in_flight[method] -= 1

    async def _serve_api(self, request: web.Request, method: str) -> web.Response:
        params: Params = {}
        headers: dict[str, str] = {"x-oauth-scopes": ",".join(self.scopes)}
        try:
            params = await self._read_params(request)
            token = self._token(request, params)
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            handler = self._handlers().get(method)
            if handler is None or (method in _STREAM_METHODS and not self.native_streaming):
                raise _ApiError("unknown_method")
            self._check_auth(method, token)
            self._check_injected(method)
            self._check_rate(method, params)
            body = handler(params)
            status, error = 200, None
        except _ApiError as e:
            body = {"ok": False, "error": e.error, **e.extra}
            status, error = e.status, e.error
            headers.update(e.headers)
        self.calls.append(FakeCall(method, params, self._clock(), status, error))
        if status == 429:
            self.rate_limited[method] += 1
        return web.json_response(body, status=status, headers=headers)

    @staticmethod
    def _token(request: web.Request, params: Params) -> str | None:
        """The bearer token (slack_sdk's way) or a `token` param (also accepted by Slack)."""
        body_token = params.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :].strip() or None
        return str(body_token) if body_token else None

    def _check_auth(self, method: str, token: str | None) -> None:
        """Bot methods need `xoxb-`, `apps.connections.open` needs `xapp-`, as on Slack."""
        if not token:
            raise _ApiError("invalid_auth")
        if token in self.revoked_tokens:
            raise _ApiError("token_revoked")
        wanted, other = ("xapp-", "xoxb-") if method == "apps.connections.open" else ("xoxb-", "xapp-")
        if token.startswith(other):
            raise _ApiError("not_allowed_token_type")
        if not token.startswith(wanted) or len(token) <= len(wanted):
            raise _ApiError("invalid_auth")

    def _check_injected(self, method: str) -> None:
        """Raise the next scripted failure for `method`, if any."""
        queue = self._injected.get(method)
        if not queue:
            return
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.status == 429 and not headers:
            headers = {"Retry-After": "1"}
        raise _ApiError(fault.error, status=fault.status, headers=headers)

    def _check_rate(self, method: str, params: Params) -> None:
        """Take a token from the method's bucket, or refuse with 429 + Retry-After."""
        bucket: TokenBucket | None = self.method_buckets.get(method)
        if method == "chat.update":
            bucket = self.update_bucket
        elif method == "chat.appendStream":
            bucket = self.append_bucket
        elif method == "chat.postMessage":
            channel = str(params.get("channel") or "")
            bucket = self.post_buckets.get(channel)
            if bucket is None:
                bucket = TokenBucket(burst=self.post_burst, per_second=self.post_rate_per_s, clock=self._clock)
                self.post_buckets[channel] = bucket
        if bucket is None:
            return
        wait = bucket.try_take()
        if wait > 0:
            retry_after = 60 if math.isinf(wait) else max(1, math.ceil(wait))
            raise _ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})

    def _check_channel(self, channel: Any) -> str:
        """The channel id, or Slack's error for a channel the bot cannot write to."""
        if not channel:
            raise _ApiError("channel_not_found")
        channel = str(channel)
        if channel in self.unknown_channels:
            raise _ApiError("channel_not_found")
        if channel in self.not_in_channels:
            raise _ApiError("not_in_channel")
        return channel

    def _check_content(self, text: str | None, blocks: Any) -> list[Block] | None:
        """Enforce the size limits; returns the blocks (None for none)."""
        if text is not None and len(text) > self.max_text:
            raise _ApiError("msg_too_long")
        if blocks is None or blocks == []:
            return None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
            raise _ApiError(
                "invalid_blocks", extra={"response_metadata": {"messages": ["[ERROR] invalid blocks"]}}
            )
        if len(blocks) > self.max_blocks:
            raise _ApiError(
                "invalid_blocks",
                extra={
                    "response_metadata": {"messages": [f"[ERROR] no more than {self.max_blocks} items allowed"]}
                },
            )
        markdown, _ = _block_texts(blocks)
        for i, block in enumerate(blocks):
            if block.get("type") in self.unknown_block_types:
                raise _ApiError(
                    "invalid_blocks",
                    extra={"response_metadata": {"messages": [f"[ERROR] unsupported type: {block['type']} [json-pointer:/blocks/{i}/type]"]}},
                )
            if block.get("type") == "context_actions":
                try:
                    check_context_actions(block, i)
                except Refusal as refusal:
                    raise _ApiError.of(refusal) from refusal
            inner = block.get("text")
            if block.get("type") == "section" and isinstance(inner, Mapping):
                if len(str(inner.get("text", ""))) > self.max_section_text:
                    message = (
                        f"[ERROR] must be less than {self.max_section_text + 1} characters "
                        f"[json-pointer:/blocks/{i}/text/text]"
                    )
                    raise _ApiError("invalid_blocks", extra={"response_metadata": {"messages": [message]}})
        if sum(len(t) for t in markdown) > self.max_markdown_text:
            raise _ApiError("msg_too_long")
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
            raise _ApiError("invalid_metadata_format")
        return copy.deepcopy(metadata)

    def _bot_message(self, channel: str, ts: Any, *, verb: str) -> FakeMessage:
        """The live message `ts`, which must be the bot's (`cant_<verb>_message` otherwise)."""
        msg = self.message(channel, _as_ts(ts) or "")
        if msg is None or msg.deleted:
            raise _ApiError("message_not_found")
        if not msg.is_bot:
            raise _ApiError(f"cant_{verb}_message")
        return msg

    @staticmethod
    def _stream_text(params: Params) -> str:
        """`markdown_text` plus the text of `markdown_text` chunks (slack_sdk's chat_stream)."""
        text = str(params.get("markdown_text") or "")
        for chunk in params.get("chunks") or ():
            if isinstance(chunk, Mapping) and chunk.get("type") == "markdown_text":
                text += str(chunk.get("text", ""))
        return text

    def _stream_state(self, msg: FakeMessage) -> str:
        """"streaming", "stopped" or "expired" (older than `stream_ttl` by the clock)."""
        if msg.stream_stopped or msg.stream_started is None:
            return "stopped"
        if self._clock() - msg.stream_started > self.stream_ttl:
            return "expired"
        return "streaming"

    def _spawn(self, coro: Any) -> None:
        """Run `coro` in the background; `stop()` cancels what is left."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _echo(self, event: dict[str, Any]) -> None:
        """Send the bot's own activity back as an event, as Slack does, when asked to."""
        if not self.echo_events:
            return
        if self._sockets:
            self._spawn(self.send_event(event))
        elif self.events_url:
            self._spawn(self.post_event(self.events_url, event))

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, params: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": "trickle",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: Params) -> dict[str, Any]:
        channel = self._check_channel(params.get("channel"))
        text = params.get("text")
        text = None if text is None else str(text)
        blocks = self._check_content(text, params.get("blocks"))
        if not text and not blocks:
            raise _ApiError("no_text")
        msg = FakeMessage(
            channel=channel,
            ts=self.next_ts(),
            text=text or "",
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=_as_ts(params.get("thread_ts")),
            blocks=blocks,
            metadata=self._check_metadata(params.get("metadata")),
        )
        msg.record(self._clock())
        self._store(msg)
        body = self._serialize(msg, metadata=True)
        self._echo({**body, "channel": channel, "event_ts": msg.ts, "channel_type": _channel_type(channel)})
        return {"ok": True, "channel": channel, "ts": msg.ts, "message": body}

    def _chat_update(self, params: Params) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        msg = self._bot_message(channel, params.get("ts"), verb="update")
        if self.strict_stream_updates and self._stream_state(msg) == "streaming":
            raise _ApiError("streaming_state_conflict")
        text = params.get("text")
        if text is None and not params.get("blocks"):
            raise _ApiError("no_text")
        new_text = msg.text if text is None else str(text)
        new_blocks = msg.blocks if "blocks" not in params else self._check_content(None, params.get("blocks"))
        self._check_content(new_text, None)
        if params.get("metadata") is not None:
            msg.metadata = self._check_metadata(params.get("metadata"))
        previous = self._serialize(msg)
        msg.text, msg.blocks, msg.streamed = new_text, new_blocks, False
        msg.edited = {"user": self.bot_user_id, "ts": self.next_ts()}
        msg.record(self._clock())
        body = self._serialize(msg)
        self._echo(
            {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": channel,
                "channel_type": _channel_type(channel),
                "ts": msg.edited["ts"],
                "event_ts": msg.edited["ts"],
                "message": body,
                "previous_message": previous,
            }
        )
        return {
            "ok": True, "channel": channel, "ts": msg.ts, "text": msg.text,
            "message": self._serialize(msg, metadata=True),
        }

    def _chat_post_ephemeral(self, params: Params) -> dict[str, Any]:
        channel = self._check_channel(params.get("channel"))
        if not params.get("user"):
            raise _ApiError("user_not_in_channel")
        text = params.get("text")
        blocks = self._check_content(None if text is None else str(text), params.get("blocks"))
        if not text and not blocks:
            raise _ApiError("no_text")
        message_ts = self.next_ts()
        self.ephemerals.append(
            {
                "time": self._clock(),
                "channel": channel,
                "user": params.get("user"),
                "text": text or "",
                "blocks": blocks,
                "thread_ts": _as_ts(params.get("thread_ts")),
                "message_ts": message_ts,
            }
        )
        return {"ok": True, "message_ts": message_ts}

    def _chat_delete(self, params: Params) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        msg = self._bot_message(channel, params.get("ts"), verb="delete")
        msg.deleted = True
        return {"ok": True, "channel": channel, "ts": msg.ts}

    def _reaction_target(self, params: Params) -> tuple[FakeMessage, str]:
        msg = self.message(str(params.get("channel") or ""), _as_ts(params.get("timestamp")) or "")
        if msg is None or msg.deleted:
            raise _ApiError("message_not_found")
        name = str(params.get("name") or "")
        if not name:
            raise _ApiError("invalid_name")
        return msg, name

    def _reactions_add(self, params: Params) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        users = msg.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise _ApiError("already_reacted")
        users.append(self.bot_user_id)
        return {"ok": True}

    def _reactions_remove(self, params: Params) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        users = msg.reactions.get(name, [])
        if self.bot_user_id not in users:
            raise _ApiError("no_reaction")
        users.remove(self.bot_user_id)
        if not users:
            del msg.reactions[name]
        return {"ok": True}

    @staticmethod
    def _bound(value: Any, error: str) -> tuple[int, int] | None:
        """An `oldest` / `latest` param as a ts sort key (None when absent)."""
        ts = _as_ts(value)
        if ts is None:
            return None
        head, _, tail = ts.partition(".")
        if not head.isdigit() or (tail and not tail.isdigit()):
            raise _ApiError(error)
        return _ts_key(ts)

    def _window(self, msgs: list[FakeMessage], params: Params) -> list[FakeMessage]:
        """Keep the messages between `oldest` and `latest` (`inclusive` keeps the ends)."""
        oldest = self._bound(params.get("oldest"), "invalid_ts_oldest")
        latest = self._bound(params.get("latest"), "invalid_ts_latest")
        inclusive = _flag(params.get("inclusive"))

        def inside(m: FakeMessage) -> bool:
            key = _ts_key(m.ts)
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
            raise _ApiError("invalid_arguments") from e
        limit = default if limit <= 0 else min(limit, maximum)
        start = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                key = self._bound(decode_cursor(str(cursor)), "invalid_cursor")
            except Refusal as refusal:
                raise _ApiError.of(refusal) from refusal
            assert key is not None
            start = next(
                (i for i, m in enumerate(msgs) if (_ts_key(m.ts) <= key if newest_first else _ts_key(m.ts) >= key)),
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
        ts = _as_ts(params.get("ts"))
        if not ts:
            raise _ApiError("thread_not_found")
        found = self.message(channel, ts)
        root = found.thread_ts if found is not None and found.thread_ts else ts
        msgs = [m for m in self.messages(channel) if m.ts == root or m.thread_ts == root]
        if not msgs:
            raise _ApiError("thread_not_found")
        replies = {root: [m for m in msgs if m.is_reply]}
        page, paging = self._page(
            self._window(msgs, params), params,
            default=self.replies_default_limit, maximum=self.replies_max_limit, newest_first=False,
        )
        with_metadata = _flag(params.get("include_all_metadata"))
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
            self._window(top, params), params,
            default=self.history_default_limit, maximum=self.history_max_limit, newest_first=True,
        )
        with_metadata = _flag(params.get("include_all_metadata"))
        messages = [self._serialize(m, replies, metadata=with_metadata) for m in page]
        return {"ok": True, "pin_count": 0, "messages": messages, **paging}

    def _conversations_open(self, params: Params) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) > 1:
            raise _ApiError("not_supported")  # group DMs are beyond this fake
        return {"ok": True, "channel": {"id": self.dm_channel(users[0])}}

    def _users_info(self, params: Params) -> dict[str, Any]:
        user_id = str(params.get("user") or "")
        if not user_id:
            raise _ApiError("user_not_found")
        seeded = self.users.get(user_id)
        if isinstance(seeded, Mapping):
            name = str(seeded.get("name", user_id.lower()))
            real = str(seeded.get("real_name", name))
            display = str(seeded.get("display_name", real))
        else:
            real = seeded or f"User {user_id}"
            name = (seeded or user_id).lower().replace(" ", ".")
            display = real
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "real_name": real,
                "deleted": False,
                "is_bot": user_id == self.bot_user_id,
                "tz": "Europe/London",
                "profile": {"display_name": display, "real_name": real, "real_name_normalized": real},
            },
        }

    def _assistant_ok(self, params: Params) -> dict[str, Any]:
        """The scope check every `assistant.threads.*` method makes first."""
        if not self.assistant_scope:
            raise _ApiError(
                "missing_scope", extra={"needed": "assistant:write", "provided": ",".join(self.scopes)}
            )
        return {"ok": True}

    def _assistant_thread(self, params: Params) -> tuple[str, str]:
        """The scope, then `channel_id` and `thread_ts` (both required), as Slack checks them."""
        self._assistant_ok(params)
        if not params.get("channel_id"):
            raise _ApiError.of(missing("channel_id"))
        channel = self._check_channel(params.get("channel_id"))
        thread_ts = _as_ts(params.get("thread_ts"))
        if not thread_ts:
            raise _ApiError.of(missing("thread_ts"))
        return channel, thread_ts

    def _assistant_set_status(self, params: Params) -> dict[str, Any]:
        channel, thread_ts = self._assistant_thread(params)
        status = params.get("status")
        if status is None:
            raise _ApiError.of(missing("status"))
        try:
            loading = check_loading_messages(params.get("loading_messages"))
        except Refusal as refusal:
            raise _ApiError.of(refusal) from refusal
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
            raise _ApiError.of(missing("title"))
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
            raise _ApiError.of(refusal) from refusal
        self.suggested_prompts.append(
            {"time": self._clock(), "channel_id": channel, "thread_ts": thread_ts, "prompts": prompts, "title": title}
        )
        return {"ok": True}

    def _chat_start_stream(self, params: Params) -> dict[str, Any]:
        channel = self._check_channel(params.get("channel"))
        thread_ts = _as_ts(params.get("thread_ts"))
        if not thread_ts:
            raise _ApiError(
                "invalid_arguments", extra={"response_metadata": {"messages": ["thread_ts is required"]}}
            )
        if not channel.startswith("D"):
            if not params.get("recipient_user_id"):
                raise _ApiError("missing_recipient_user_id")
            if not params.get("recipient_team_id"):
                raise _ApiError("missing_recipient_team_id")
        text = self._stream_text(params)
        if len(text) > self.max_append_text:
            raise _ApiError("msg_too_long")
        now = self._clock()
        msg = FakeMessage(
            channel=channel,
            ts=self.next_ts(),
            text=text,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=thread_ts,
            streamed=True,
            stream_started=now,
            stream_recipient=(params.get("recipient_user_id"), params.get("recipient_team_id")),
        )
        msg.record(now)
        self._store(msg)
        return {"ok": True, "channel": channel, "ts": msg.ts}

    def _live_stream(self, params: Params) -> FakeMessage:
        msg = self._bot_message(str(params.get("channel") or ""), params.get("ts"), verb="update")
        if not msg.streamed or self._stream_state(msg) != "streaming":
            raise _ApiError("message_not_in_streaming_state")
        return msg

    def _chat_append_stream(self, params: Params) -> dict[str, Any]:
        msg = self._live_stream(params)
        text = self._stream_text(params)
        if len(text) > self.max_append_text:
            raise _ApiError("msg_too_long")
        if text:
            msg.text += text
            msg.record(self._clock())
        return {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def _chat_stop_stream(self, params: Params) -> dict[str, Any]:
        msg = self._live_stream(params)
        text = self._stream_text(params)
        if len(text) > self.max_append_text:
            raise _ApiError("msg_too_long")
        blocks = self._check_content(None, params.get("blocks")) if params.get("blocks") else msg.blocks
        msg.text += text
        msg.blocks = blocks
        msg.stream_stopped = True
        msg.record(self._clock())
        return {"ok": True, "channel": msg.channel, "ts": msg.ts, "message": self._serialize(msg)}

    def _apps_connections_open(self, params: Params) -> dict[str, Any]:
        ticket = uuid.uuid4()
        return {"ok": True, "url": f"{self.socket_url}?ticket={ticket}&app_id={self.app_id}"}

    def _views_open(self, params: Params) -> dict[str, Any]:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise _ApiError.of(missing("trigger_id"))
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None:
            raise _ApiError("invalid_trigger_id")
        if trigger.used:
            raise _ApiError("exchanged_trigger_id")
        if self._clock() - trigger.issued_at > self.trigger_ttl:
            raise _ApiError("expired_trigger_id")
        try:
            view = check_view(params.get("view"))
        except Refusal as refusal:
            raise _ApiError.of(refusal) from refusal
        trigger.used = True
        view_id = f"V{next(self._ids):010d}"
        view.update(
            id=view_id,
            team_id=self.team_id,
            state={"values": {}},
            hash=f"{int(self._clock())}.{uuid.uuid4().hex[:8]}",
            previous_view_id=None,
            root_view_id=view_id,
            app_id=self.app_id,
            app_installed_team_id=self.team_id,
            bot_id=self.bot_id,
        )
        self.views.append(view)
        return {"ok": True, "view": copy.deepcopy(view)}

    # ------------------------------------------------------------------ files

    def add_file(self, name: str, data: bytes, *, mimetype: str = "", user: str = "U1") -> dict[str, Any]:
        """Share a file as `user` would; Slack's file object, to put in an event's `files`."""
        fid = f"F{next(self._ids):010d}"
        url = f"{self.base_url}/files-pri/{self.team_id}-{fid}/{quote(name)}"
        info = {
            "id": fid,
            "created": int(self._clock()),
            "name": name,
            "title": name,
            "mimetype": mimetype or "application/octet-stream",
            "filetype": name.rpartition(".")[2].lower() if "." in name else "binary",
            "user": user,
            "size": len(data),
            "mode": "hosted",
            "is_external": False,
            "url_private": url,
            "url_private_download": f"{url}?download=1",
            "permalink": f"https://{self.team_domain}.slack.com/files/{user}/{fid}/{quote(name)}",
        }
        self.files[fid] = info
        self._file_bytes[fid] = data
        return copy.deepcopy(info)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        fid = request.match_info["fid"].rpartition("-")[2]
        if self.file_delay:
            await asyncio.sleep(self.file_delay)
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
        if not token.startswith("xoxb-") or token in self.revoked_tokens or not self.files_scope:
            # Slack does not answer 401 here: it sends its sign-in page.
            return web.Response(text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>", content_type="text/html")
        if fid not in self._file_bytes:
            return web.Response(status=404, text="file not found")
        if fid in self.file_errors:
            return web.Response(status=self.file_errors[fid], text="refused")
        self.file_downloads[fid] += 1
        return web.Response(body=self._file_bytes[fid], content_type=self.files[fid]["mimetype"])

    # ------------------------------------------------------------------ triggers, response_url

    def _issue_trigger(self) -> str:
        """A fresh `trigger_id`, usable once by `views.open` for `trigger_ttl` seconds."""
        trigger_id = f"{next(self._ids)}.{self.team_id}.{uuid.uuid4().hex[:16]}"
        self._triggers[trigger_id] = _Trigger(issued_at=self._clock())
        return trigger_id

    def _issue_response_url(self, channel: str, message_ts: str | None, user: str | None) -> str:
        """A fresh `response_url` on this fake, replying about `message_ts` (None: a command)."""
        rid = uuid.uuid4().hex
        self._response_urls[rid] = _ResponseUrl(channel, message_ts, user, self._clock())
        return f"{self.base_url}/response/{rid}"

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """A POST to a `response_url`: Slack's limits (unknown, expired, used up), then apply it."""
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_json")
        rid = request.match_info["rid"]
        target = self._response_urls.get(rid)
        if target is None:
            return web.Response(status=404, text="invalid_url")
        if self._clock() - target.issued_at > self.response_url_ttl:
            return web.Response(status=404, text="expired_url")
        if target.uses >= self.response_url_max_uses:
            return web.Response(status=404, text="used_url")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        if not body.get("delete_original") and not any(body.get(k) for k in ("text", "blocks", "attachments")):
            return web.Response(status=400, text="no_text")
        target.uses += 1
        self._apply_response(rid, target, body, via="response_url")
        return web.json_response({"ok": True})

    def _apply_response(self, rid: str, target: _ResponseUrl, body: dict[str, Any], *, via: str) -> None:
        """Show a reply as Slack would: replace / delete the message, post in channel, or
        show it to the user alone (`ephemerals`). `via` is "response_url" or "ack"."""
        self.responses.append({"time": self._clock(), "id": rid, "body": body, "via": via})
        msg = self.message(target.channel, target.message_ts) if target.message_ts else None
        if msg is not None and body.get("delete_original"):
            msg.deleted = True
        elif msg is not None and body.get("replace_original"):
            msg.text = str(body.get("text", msg.text))
            if "blocks" in body:
                msg.blocks = body.get("blocks") or None
            msg.record(self._clock())
        elif body.get("response_type") == "in_channel":
            reply = FakeMessage(
                channel=target.channel, ts=self.next_ts(), text=str(body.get("text", "")),
                user=self.bot_user_id, bot_id=self.bot_id, thread_ts=msg.thread_ts if msg else None,
                blocks=body.get("blocks"),
            )
            reply.record(self._clock())
            self._store(reply)
        else:
            self.ephemerals.append(
                {"time": self._clock(), "channel": target.channel, "user": target.user, "response_url": rid,
                 "via": via, **body}
            )

    def _apply_command_ack(self, payload: Mapping[str, Any], ack_body: Any) -> None:
        """A slash command's ack body is the app's immediate reply: show it (see `_apply_response`)."""
        if isinstance(ack_body, str):
            ack_body = {"text": ack_body}
        if not isinstance(ack_body, dict) or not ack_body:
            return
        rid = str(payload.get("response_url", "")).rsplit("/", 1)[-1]
        target = self._response_urls.get(rid)
        if target is not None:
            self._apply_response(rid, target, ack_body, via="ack")

    # ------------------------------------------------------------------ Socket Mode

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        """One Socket Mode connection: say hello, then read acks until it closes."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connections_opened += 1
        await self._notify_sockets()
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {"host": "fake", "build_number": 1, "approximate_connection_time": 18060},
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        try:
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    self._on_socket_text(frame.data)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            await self._notify_sockets()
        return ws

    async def _notify_sockets(self) -> None:
        if self._socket_change is not None:
            async with self._socket_change:
                self._socket_change.notify_all()

    def _on_socket_text(self, data: str) -> None:
        """Record an ack (`{"envelope_id": ..., "payload"?: ...}`)."""
        try:
            ack = json.loads(data)
        except ValueError:
            self.unknown_acks.append({"raw": data})
            return
        envelope = self.envelopes.get(str(ack.get("envelope_id"))) if isinstance(ack, dict) else None
        if envelope is None:
            self.unknown_acks.append(ack if isinstance(ack, dict) else {"raw": data})
            return
        if envelope.ack is None:
            envelope.ack = ack
            envelope.acked_at = self._clock()
            envelope.acked.set()
            if envelope.type == "slash_commands" and ack.get("payload"):
                self._apply_command_ack(envelope.body.get("payload") or {}, ack["payload"])

    @property
    def connections(self) -> int:
        """How many Socket Mode connections are open now."""
        return len(self._sockets)

    async def wait_connected(self, n: int = 1, timeout: float = 5) -> None:
        """Wait until at least `n` Socket Mode connections are open."""
        if self._socket_change is None:
            raise RuntimeError("FakeSlack is not started")
        cond = self._socket_change

        async def _wait() -> None:
            async with cond:
                await cond.wait_for(lambda: len(self._sockets) >= n)

        await asyncio.wait_for(_wait(), timeout)

    async def _send_envelope(self, envelope: dict[str, Any]) -> str:
        """Send to ONE open connection, round-robin, as Slack spreads envelopes."""
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise RuntimeError("no Socket Mode connection is open")
        index = self._round_robin % len(open_sockets)
        self._round_robin += 1
        envelope_id = str(envelope["envelope_id"])
        self.envelopes[envelope_id] = SentEnvelope(
            envelope_id=envelope_id,
            type=str(envelope["type"]),
            body=envelope,
            sent_at=self._clock(),
            connection=index,
        )
        await open_sockets[index].send_str(json.dumps(envelope))
        return envelope_id

    def event_callback(self, event: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """The `event_callback` body Slack wraps an event in (HTTP body / envelope payload)."""
        return {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or self.new_event_id(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-fake-{self.team_id}",
        }

    def new_event_id(self) -> str:
        """A fresh `Ev...` id."""
        return f"Ev{next(self._ids):08d}FAKE"

    async def send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int = 0,
        retry_reason: str | None = None,
    ) -> str:
        """Deliver `event` over Socket Mode in an `events_api` envelope; returns its envelope_id.

        The user's message is stored first, as it is in Slack before the event leaves.
        """
        self.store_event(event)
        event_id = event_id or self.new_event_id()
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": retry_num,
            "retry_reason": retry_reason if retry_reason is not None else ("timeout" if retry_num else ""),
            "payload": self.event_callback(event, event_id=event_id),
        }
        envelope_id = await self._send_envelope(envelope)
        if self.retry_unacked and retry_num < len(self.retry_delays):
            self._spawn(self._retry_if_unacked(event, event_id, envelope_id, retry_num))
        return envelope_id

    async def _retry_if_unacked(self, event: dict[str, Any], event_id: str, envelope_id: str, attempt: int) -> None:
        """Slack's retry: no ack within `ack_timeout` -> the same event_id again, attempt+1."""
        try:
            await self.wait_ack(envelope_id, self.ack_timeout)
            return
        except TimeoutError:
            pass
        await asyncio.sleep(self.retry_delays[attempt])
        try:
            await self.send_event(event, event_id=event_id, retry_num=attempt + 1, retry_reason="timeout")
        except RuntimeError:
            _log.warning("fake slack: no connection to retry event %s on", event_id)

    async def send_interaction(self, payload: dict[str, Any]) -> str:
        """Deliver an `interactive` envelope (e.g. `block_action_payload(...)`); returns its id.

        Works for every interaction builder here (`block_action_payload`,
        `message_shortcut_payload`, `view_submission_payload`, `feedback_click_payload`). A
        view submission's envelope accepts a response payload, as Slack's does: the app's
        `response_action` comes back in the ack (`wait_ack(id)["payload"]`).
        """
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": "interactive",
            "accepts_response_payload": payload.get("type") in ("view_submission", "block_suggestion"),
            "payload": payload,
        }
        return await self._send_envelope(envelope)

    async def send_command(self, command: str, text: str = "", *, user: str, channel: str) -> str:
        """Run a slash command over Socket Mode (a `slash_commands` envelope); returns its id.

        The app's ack payload is its immediate reply: read it with `wait_ack(id)["payload"]`;
        it is also shown like Slack shows it (`ephemerals`, or a message for `in_channel`).
        The payload sent is appended to `commands`.
        """
        payload = self.command_payload(command, text, user=user, channel=channel)
        self.commands.append(payload)
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": payload,
        }
        return await self._send_envelope(envelope)

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every connection to reconnect, as Slack does before recycling a socket."""
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
        for ws in [ws for ws in self._sockets if not ws.closed]:
            await ws.send_str(message)

    async def wait_ack(self, envelope_id: str, timeout: float = 5) -> dict[str, Any]:
        """Wait for the client's ack of `envelope_id` and return it (TimeoutError if none)."""
        envelope = self.envelopes.get(envelope_id)
        if envelope is None:
            raise KeyError(envelope_id)
        await asyncio.wait_for(envelope.acked.wait(), timeout)
        assert envelope.ack is not None
        return envelope.ack

    # ------------------------------------------------------------------ HTTP events

    def _signed_headers(self, body: str, secret: str | None, timestamp: int | str | None) -> dict[str, str]:
        """`X-Slack-Request-Timestamp` and `X-Slack-Signature` the way Slack computes them."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(secret if secret is not None else self.signing_secret)
        signature = verifier.generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}

    async def _post(self, kind: str, event_id: str | None, url: str, body: str, headers: dict[str, str]) -> int:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        started = time.monotonic()
        async with self._session.post(url, data=body.encode(), headers=headers) as resp:
            text = await resp.text()
            status = resp.status
        self.http_deliveries.append(HttpDelivery(kind, event_id, status, text, time.monotonic() - started))
        return status

    async def post_event(
        self,
        app_url: str,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        secret: str | None = None,
        timestamp: int | str | None = None,
    ) -> int:
        """POST `event` to the app as a signed `event_callback`; returns the HTTP status.

        `secret` / `timestamp` override the signing (to test rejection); `retry_num` adds
        `X-Slack-Retry-Num` and `X-Slack-Retry-Reason` (default `http_timeout`).
        """
        self.store_event(event)
        event_id = event_id or self.new_event_id()
        body = json.dumps(self.event_callback(event, event_id=event_id))
        headers = {"Content-Type": "application/json", **self._signed_headers(body, secret, timestamp)}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return await self._post("event", event_id, app_url, body, headers)

    async def post_interaction(
        self, app_url: str, payload: dict[str, Any], *, secret: str | None = None, timestamp: int | str | None = None
    ) -> int:
        """POST an interaction as Slack does (form field `payload=<json>`, signed).

        The app's answer (e.g. a view submission's `response_action`) is the body of the
        delivery recorded last in `http_deliveries`.
        """
        body = urlencode({"payload": json.dumps(payload)})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **self._signed_headers(body, secret, timestamp),
        }
        return await self._post("interaction", None, app_url, body, headers)

    async def post_command(
        self,
        command: str,
        text: str = "",
        *,
        user: str,
        channel: str,
        app_url: str | None = None,
        secret: str | None = None,
        timestamp: int | str | None = None,
    ) -> int:
        """POST a slash command as Slack does (signed form fields) to `app_url` or `events_url`.

        Returns the HTTP status. The response body is the app's immediate reply: it is in
        `http_deliveries[-1].body` and shown like Slack shows it (see `send_command`).
        """
        url = app_url or self.events_url
        if not url:
            raise RuntimeError("post_command needs app_url or FakeSlack(events_url=...)")
        payload = self.command_payload(command, text, user=user, channel=channel)
        self.commands.append(payload)
        body = urlencode(payload)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **self._signed_headers(body, secret, timestamp),
        }
        status = await self._post("command", None, url, body, headers)
        answer = self.http_deliveries[-1].body
        if status == 200 and answer.strip():
            try:
                parsed: Any = json.loads(answer)
            except ValueError:
                parsed = answer
            self._apply_command_ack(payload, parsed)
        return status

    # ------------------------------------------------------------------ event builders

    def mention_event(
        self, user: str, text: str, channel: str, ts: str | None = None, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """An `app_mention` whose text is `<@BOT> text` (ts fresh unless given)."""
        event = self.message_event(user, f"<@{self.bot_user_id}> {text}", channel, ts=ts, thread_ts=thread_ts)
        event["type"] = "app_mention"
        event.pop("channel_type", None)
        return event

    def message_event(
        self,
        user: str,
        text: str,
        channel: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        *,
        channel_type: str | None = None,
    ) -> dict[str, Any]:
        """A user's `message` event (channel_type from the id: D -> im, G -> group)."""
        ts = ts or self.next_ts()
        event: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "team": self.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "channel_type": channel_type or _channel_type(channel),
            "blocks": _rich_text_blocks(text, block_id=uuid.uuid4().hex[:5]),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def block_action_payload(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str,
        *,
        block_id: str = "actions",
        text: str = "Stop",
    ) -> dict[str, Any]:
        """A `block_actions` payload for a button click on `message_ts` (as Slack sends it).

        Its `response_url` points back at this fake (recorded in `responses`).
        """
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": text, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        return self._block_actions(user, channel, message_ts, action)

    def _block_actions(self, user: str, channel: str, message_ts: str, action: dict[str, Any]) -> dict[str, Any]:
        """The `block_actions` payload around one `action` on a message (any element type)."""
        msg = self.message(channel, message_ts)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if msg is not None and msg.thread_ts:
            container["thread_ts"] = msg.thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_ref(user),
            "api_app_id": self.app_id,
            "token": "fake-verification-token",
            "container": container,
            "trigger_id": self._issue_trigger(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": _channel_name(channel)},
            "state": {"values": {}},
            "response_url": self._issue_response_url(channel, message_ts, user),
            "actions": [action],
        }
        if msg is not None:
            payload["message"] = self._serialize(msg)
        return payload

    def _user_ref(self, user: str) -> dict[str, str]:
        """The `user` object interaction payloads carry."""
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id}

    def feedback_click_payload(
        self, channel: str, message_ts: str, *, user: str, value: str, action_id: str
    ) -> dict[str, Any]:
        """The `block_actions` payload Slack sends when `user` clicks a feedback button.

        The message must show a `context_actions` block with a `feedback_buttons` element
        `action_id` whose positive or negative button has `value` (ValueError otherwise: a
        button that is not on screen cannot be clicked). The action is
        `{"type": "feedback_buttons", "action_id", "block_id", "value", "text", "action_ts"}`.
        """
        msg = self.message(channel, message_ts)
        if msg is None or msg.deleted:
            raise ValueError(f"no message {message_ts} in {channel}")
        for index, block in enumerate(msg.blocks or ()):
            if block.get("type") != "context_actions":
                continue
            for element in block.get("elements") or ():
                if element.get("type") != "feedback_buttons" or element.get("action_id") != action_id:
                    continue
                for side in ("positive_button", "negative_button"):
                    button = element.get(side) or {}
                    if button.get("value") == value:
                        action = {
                            "type": "feedback_buttons",
                            "action_id": action_id,
                            "block_id": block.get("block_id") or f"context_actions_{index}",
                            "value": value,
                            "text": {**button.get("text", {}), "emoji": True},
                            "action_ts": f"{time.time():.6f}",
                        }
                        return self._block_actions(user, channel, message_ts, action)
        raise ValueError(f"message {message_ts} has no feedback button {action_id!r} with value {value!r}")

    def message_shortcut_payload(self, callback_id: str, *, channel: str, message_ts: str, user: str) -> dict[str, Any]:
        """The `message_action` payload of `user` running the shortcut `callback_id` on a message.

        The message must exist (ValueError otherwise). It carries a fresh `trigger_id`
        (for `views.open`, `trigger_ttl` seconds, once) and a `response_url` on this fake.
        """
        msg = self.message(channel, message_ts)
        if msg is None or msg.deleted:
            raise ValueError(f"no message {message_ts} in {channel}")
        return {
            "type": "message_action",
            "token": "fake-verification-token",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user_ref(user),
            "channel": {"id": channel, "name": _channel_name(channel)},
            "is_enterprise_install": False,
            "enterprise": None,
            "api_app_id": self.app_id,
            "callback_id": callback_id,
            "trigger_id": self._issue_trigger(),
            "response_url": self._issue_response_url(channel, message_ts, user),
            "message_ts": message_ts,
            "message": self._serialize(msg),
        }

    def view_submission_payload(
        self, view_id: str, values: Mapping[str, Mapping[str, Any]], *, user: str
    ) -> dict[str, Any]:
        """The `view_submission` payload of `user` submitting the modal `view_id` (from `views`).

        `values` is `view.state.values`: `{block_id: {action_id: state}}`, where a plain
        string stands for a `plain_text_input` holding it. KeyError for an unknown view.
        """
        view = next((v for v in self.views if v["id"] == view_id), None)
        if view is None:
            raise KeyError(view_id)
        state = {
            block_id: {
                action_id: {"type": "plain_text_input", "value": v} if isinstance(v, str) else dict(v)
                for action_id, v in actions.items()
            }
            for block_id, actions in values.items()
        }
        submitted = copy.deepcopy(view)
        submitted["state"] = {"values": state}
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user_ref(user),
            "api_app_id": self.app_id,
            "token": "fake-verification-token",
            "trigger_id": self._issue_trigger(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def command_payload(self, command: str, text: str = "", *, user: str, channel: str) -> dict[str, str]:
        """A slash command's payload, every value a string as Slack's form fields are.

        It carries a fresh `trigger_id` and a `response_url` on this fake (replies go to
        `channel`; ephemeral ones to `user`). `send_command` / `post_command` build it.
        """
        if not command.startswith("/") or len(command) < 2:
            raise ValueError(f"a slash command starts with '/': {command!r}")
        return {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel,
            "channel_name": _channel_name(channel),
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self._issue_response_url(channel, None, user),
            "trigger_id": self._issue_trigger(),
        }

    # ------------------------------------------------------------------ assistant threads

    def dm_channel(self, user: str) -> str:
        """The id of `user`'s DM with the bot ("D..."), the same every time (see `dm_channels`)."""
        channel = self.dm_channels.get(user)
        if channel is None:
            channel = f"D{len(self.dm_channels) + 1:04d}{user.removeprefix('U')}"
            self.dm_channels[user] = channel
        return channel

    def _assistant_thread_body(
        self, user: str, channel: str, thread_ts: str, context_channel: str | None
    ) -> dict[str, Any]:
        """The `assistant_thread` object both assistant events carry."""
        context: dict[str, Any] = {}
        if context_channel:
            context = {"channel_id": context_channel, "team_id": self.team_id, "enterprise_id": None}
        return {"user_id": user, "context": context, "channel_id": channel, "thread_ts": thread_ts}

    def assistant_thread_started_event(self, user: str, *, context_channel: str | None = None) -> dict[str, Any]:
        """`user` opens a new assistant thread (in their DM with the bot, a fresh thread_ts).

        `context_channel` is the channel they were viewing (`context` is `{}` without one).
        Delivering it (`send_event` / `post_event` / `store_event`) creates the thread's
        parent message; the user's messages in it are `message_event(user, text,
        event["assistant_thread"]["channel_id"], thread_ts=...)`.
        """
        channel = self.dm_channel(user)
        thread_ts = self.next_ts()
        return {
            "type": "assistant_thread_started",
            "assistant_thread": self._assistant_thread_body(user, channel, thread_ts, context_channel),
            "event_ts": self.next_ts(),
        }

    def assistant_thread_context_changed_event(
        self, channel: str, thread_ts: str, user: str, *, context_channel: str
    ) -> dict[str, Any]:
        """`user` switched to `context_channel` with the assistant thread `thread_ts` open."""
        return {
            "type": "assistant_thread_context_changed",
            "assistant_thread": self._assistant_thread_body(user, channel, thread_ts, context_channel),
            "event_ts": self.next_ts(),
        }

    # ------------------------------------------------------------------ seeding history

    def seed_messages(
        self,
        channel: str,
        n: int,
        *,
        users: Sequence[str] = ("U1", "U2"),
        thread_ts: str | None = None,
        text: str = "message {i}",
        first: int = 0,
    ) -> list[str]:
        """Store `n` people's messages in `channel` at once (replies when `thread_ts` is given).

        No events, no API calls: history as it already was. Message `i` (from `first`)
        is by `users[i % len(users)]` and says `text.format(i=i, user=...)`. Returns the
        new messages' ts, oldest first.
        """
        if not users:
            raise ValueError("users must name at least one author")
        stored: list[str] = []
        now = self._clock()
        for i in range(first, first + n):
            user = users[i % len(users)]
            msg = FakeMessage(
                channel=channel, ts=self.next_ts(), text=text.format(i=i, user=user), user=user, thread_ts=thread_ts
            )
            msg.record(now)
            self._store(msg)
            stored.append(msg.ts)
        return stored

    def seed_thread(
        self, channel: str, n: int, *, users: Sequence[str] = ("U1", "U2"), text: str = "message {i}"
    ) -> str:
        """A thread of `n` people's messages in `channel` (the parent and n-1 replies); its thread_ts.

        For summaries and paging: `seed_thread("C1", 200)` is a 200-message thread whose
        messages say "message 0" .. "message 199".
        """
        if n < 1:
            raise ValueError("a thread has at least its parent message")
        (parent,) = self.seed_messages(channel, 1, users=users, text=text)
        self.seed_messages(channel, n - 1, users=users, thread_ts=parent, text=text, first=1)
        return parent


def _rich_text_blocks(text: str, *, block_id: str) -> list[Block]:
    """The `rich_text` rendering Slack attaches to a plain-text message."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": block_id, "elements": [section]}]


def _flag(value: Any) -> bool:
    """A boolean param as slack_sdk sends it (`True`, "1", "true")."""
    return value is True or str(value).lower() in ("1", "true")


def _channel_name(channel: str) -> str:
    """The `channel_name` Slack puts in payloads: "directmessage" for a DM, else a name."""
    return "directmessage" if channel.startswith("D") else channel.lower()


def _channel_type(channel: str) -> str:
    """Slack's `channel_type` for an id: D -> im, G -> group (private), else channel."""
    if channel.startswith("D"):
        return "im"
    if channel.startswith("G"):
        return "group"
    return "channel"
