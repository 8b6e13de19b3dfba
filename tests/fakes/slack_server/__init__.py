"""A fake Slack on loopback: Web API, Socket Mode and signed HTTP events.

Tests and benchmarks drive it with the *real* `slack_sdk.web.async_client.AsyncWebClient`,
`slack_sdk.socket_mode.aiohttp.SocketModeClient` and slack_bolt `AsyncApp`, so the SDK's
own request encoding (JSON for `chat.*`, forms and query strings for the rest), error
mapping (`SlackApiError` with the HTTP status and headers) and Socket Mode acks are
exercised rather than mocked away.

It behaves like Slack where a streaming bot can get it wrong:

* rate limits are token buckets with Slack's shape: `chat.update` one bucket for the whole
  workspace (Tier 3), `chat.postMessage` one per channel, `chat.appendStream` one per
  workspace (Tier 4), `chat.startStream` and `chat.stopStream` one each (Tier 2); a refusal is HTTP 429 with an integer `Retry-After` and
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

Where things are (`FakeSlack` is one object made of one mixin per job, fake.py):

* state.py: the workspace's identity, messages and how Slack serializes them;
* messages.py: a message, its versions and what a user sees (`visible_text`, `unescape`);
* transport.py: listening on loopback, routing and one Web API call's path;
* limits.py: token buckets and 429s; clock.py: the injectable clock;
* checks.py: channel, size, metadata, ownership and stream checks methods share;
* methods/: the Web API by family (chat, streams, reactions, conversations, users,
  assistant, views);
* socket_mode.py and http_events.py: the two ways events reach the app;
* payloads.py: the events and interaction payloads Slack sends;
* interactions.py: trigger ids, response URLs and the replies posted to them;
* files.py: shared files and their downloads;
* inspection.py: the calls tests read and the faults and history they script.
"""

from __future__ import annotations

from tests.fakes.slack_server.api import Params
from tests.fakes.slack_server.clock import Clock, ManualClock
from tests.fakes.slack_server.fake import FakeSlack
from tests.fakes.slack_server.http_events import HttpDelivery
from tests.fakes.slack_server.inspection import FakeCall
from tests.fakes.slack_server.limits import TokenBucket
from tests.fakes.slack_server.messages import (
    Block,
    FakeMessage,
    Version,
    unescape,
    visible_text,
)
from tests.fakes.slack_server.socket_mode import SentEnvelope

__all__ = [
    "Block",
    "Clock",
    "FakeCall",
    "FakeMessage",
    "FakeSlack",
    "HttpDelivery",
    "ManualClock",
    "Params",
    "SentEnvelope",
    "TokenBucket",
    "Version",
    "unescape",
    "visible_text",
]
