"""Socket Mode: the WebSocket the app connects to, envelopes out and acks in.

Like Slack, the fake says hello, sends each envelope to ONE open connection
(round-robin), records every ack and when it came, can ask connections to reconnect,
and, when asked, sends an events_api envelope again when its ack does not come in time.
`apps.connections.open`, the Web API method that hands out the socket URL, lives here too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.slack_server.api import Params
from tests.fakes.slack_server.payloads import Payloads

_log = logging.getLogger(__name__)


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


class SocketMode(Payloads):
    """Open connections, envelopes sent and their acks; a mixin of `FakeSlack`."""

    def _init_socket_mode(self, *, retry_unacked: bool, ack_timeout: float, retry_delays: Sequence[float]) -> None:
        """No connection yet; how Slack retries an unacked event (when `retry_unacked`)."""
        self.retry_unacked = retry_unacked
        self.ack_timeout = ack_timeout
        self.retry_delays = tuple(retry_delays)
        self.envelopes: dict[str, SentEnvelope] = {}
        self.unknown_acks: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self.connections_opened = 0
        self._round_robin = 0
        self._socket_change: asyncio.Condition | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Any) -> None:
        """Run `coro` in the background; `stop()` cancels what is left."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _apps_connections_open(self, params: Params) -> dict[str, Any]:
        ticket = uuid.uuid4()
        return {"ok": True, "url": f"{self.socket_url}?ticket={ticket}&app_id={self.app_id}"}

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
