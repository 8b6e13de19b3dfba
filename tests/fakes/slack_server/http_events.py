"""Events over HTTP: signed POSTs from the fake to the app, and what the app answered.

The other way Slack reaches an app (besides Socket Mode): each event, interaction and
slash command is POSTed with `X-Slack-Signature` computed as Slack computes it, so the
app's signature check and its answers (a command's immediate reply, a view's
`response_action`) are exercised, not mocked.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_server.payloads import Payloads


@dataclass(slots=True)
class HttpDelivery:
    """One signed HTTP POST the fake made to the app, and how the app answered."""

    kind: str
    event_id: str | None
    status: int
    body: str
    elapsed: float


class HttpEvents(Payloads):
    """Signed deliveries and their record (`http_deliveries`); a mixin of `FakeSlack`."""

    def _init_http_events(self, *, events_url: str | None, signing_secret: str) -> None:
        """Where the app listens (if anywhere) and the secret it checks; nothing delivered yet."""
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.http_deliveries: list[HttpDelivery] = []
        self._session: aiohttp.ClientSession | None = None

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
