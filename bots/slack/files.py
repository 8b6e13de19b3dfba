"""Files shared with a question on Slack, as the assistant's `RemoteFile`s.

Slack describes the files on the event; each is downloaded from its
`url_private_download` with the bot token (scope `files:read`), on the adapter's one
HTTP session. Two Slack habits shape this:

- The token is a key to the workspace, so it is only ever sent to Slack's file host
  or to the host SLACK_API_URL names (a proxy, a test server). A file whose URL points
  anywhere else is reported as not downloaded.
- Without `files:read`, Slack does not answer 403: it answers 200 with its sign-in page.
  Read as the file, that page would reach the model as "the log"; it is said instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from urllib.parse import urlsplit

import aiohttp

from bots.slack.triggers import SlackFile
from core.attachments import FetchFailed, RemoteFile

log = logging.getLogger("trickle.slack")

SLACK_FILE_HOST = "files.slack.com"
SIGN_IN_PAGE = "Slack sent its sign-in page instead: the app needs the files:read scope"
_CHUNK = 64 * 1024


class SlackFiles:
    """Turns a trigger's `SlackFile`s into `RemoteFile`s that download themselves."""

    __slots__ = ("_session", "_token", "_hosts")

    def __init__(self, session: aiohttp.ClientSession | None, token: str | None, api_url: str) -> None:
        self._session = session
        self._token = token or ""
        self._hosts = frozenset({SLACK_FILE_HOST, urlsplit(api_url).netloc})

    def __repr__(self) -> str:
        return f"<SlackFiles hosts={sorted(self._hosts)}>"

    def remote(self, files: Sequence[SlackFile]) -> list[RemoteFile]:
        return [RemoteFile(f.name, partial(self._download, f), f.mimetype, f.size) for f in files]

    async def _download(self, file: SlackFile, cap: int) -> bytes:
        if urlsplit(file.url).netloc not in self._hosts:
            log.warning("not sending the bot token to %s for %r", urlsplit(file.url).netloc, file.name)
            raise FetchFailed("it is not on Slack's file host")
        if self._session is None or self._session.closed:
            raise FetchFailed("the bot is shutting down")
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.get(file.url, headers=headers) as response:
                if response.status != 200:
                    raise FetchFailed(f"Slack answered {response.status}")
                if response.content_type == "text/html" and "html" not in file.mimetype:
                    raise FetchFailed(SIGN_IN_PAGE)
                return await _read_at_most(response, cap + 1)
        except aiohttp.ClientError as exc:
            raise FetchFailed(type(exc).__name__) from exc


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or its first `limit` bytes: a file past the cap is not read whole."""
    data = bytearray()
    while len(data) < limit:
        chunk = await response.content.read(min(_CHUNK, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)
