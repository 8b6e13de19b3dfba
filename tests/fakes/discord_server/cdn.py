"""Discord's CDN and media proxy, in miniature: the files messages and `/ask` options carry.

Why the fake serves files itself: the adapter downloads attachments from the signed URLs
Discord hands out, and what goes wrong there (an expired link's 403, a deleted message's
404, a download that never answers) is not a REST error; it needs its own server paths,
its own record of downloads apart from REST ``calls``, and no bot token.
"""

from __future__ import annotations

import asyncio
import mimetypes
import secrets
import time
import urllib.parse
from collections.abc import Callable

from aiohttp import web

from .records import Call, FakeAttachment, Fault


def guess_content_type(filename: str, data: bytes) -> str | None:
    """What Discord labels an upload: by its name, text as UTF-8 text, else nothing."""
    guessed = mimetypes.guess_type(filename)[0]
    if guessed is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        guessed = "text/plain"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


class CDN:
    """The uploaded files by id, their faults, and every download asked of them.

    ``origin`` names the running server (it raises until the fake is started, since an
    attachment's URL must point somewhere); ``next_id`` is the world's snowflake source.
    """

    def __init__(self, *, origin: Callable[[], str], next_id: Callable[[], str], clock: Callable[[], float]) -> None:
        self._origin = origin
        self._next_id = next_id
        self._clock = clock
        self.attachments: dict[str, FakeAttachment] = {}  # by id
        self.calls: list[Call] = []  # downloads, apart from REST `calls`
        self._closing = asyncio.Event()  # releases downloads held by a "hang" fault

    def __repr__(self) -> str:
        faulty = sum(1 for a in self.attachments.values() if a.fault is not None)
        return f"<CDN attachments={len(self.attachments)} faulty={faulty} downloads={len(self.calls)}>"

    def mount(self, app: web.Application) -> None:
        """Discord's CDN (cdn.discordapp.com) and its media proxy (media.discordapp.net)."""
        for prefix in ("", "/media"):
            for folder in ("attachments", "ephemeral-attachments"):
                path = f"{prefix}/{folder}/{{channel_id}}/{{attachment_id}}/{{filename}}"
                app.router.add_get(path, self.handle)

    def close(self) -> None:
        self._closing.set()

    def add(
        self,
        filename: str,
        data: bytes,
        *,
        channel_id: str,
        content_type: str | None = "",
        size: int | None = None,
        ephemeral: bool = False,
    ) -> FakeAttachment:
        """Upload a file to a channel; see `FakeDiscord.add_attachment`."""
        base = self._origin()  # the URL names this server
        aid = self._next_id()
        if content_type == "":
            content_type = guess_content_type(filename, data)
        folder = "ephemeral-attachments" if ephemeral else "attachments"
        path = f"/{folder}/{channel_id}/{aid}/{urllib.parse.quote(filename)}"
        issued = int(time.time())
        signed = f"?ex={issued + 86_400:x}&is={issued:x}&hm={secrets.token_hex(32)}&"
        attachment = FakeAttachment(
            id=aid,
            channel_id=channel_id,
            filename=filename,
            data=data,
            content_type=content_type,
            size=len(data) if size is None else size,
            url=f"{base}{path}{signed}",
            proxy_url=f"{base}/media{path}{signed}",
            ephemeral=ephemeral,
        )
        self.attachments[aid] = attachment
        return attachment

    def fail(self, target: FakeAttachment | int | str, fault: Fault | None) -> None:
        """Set or clear an attachment's fault; see `FakeDiscord.fail_attachment`."""
        if isinstance(target, FakeAttachment):
            attachment = target
        else:
            key = str(target)
            attachment = self.attachments.get(key) or next(
                a for a in self.attachments.values() if key in (a.url, a.proxy_url)
            )
        attachment.fault = fault

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """An attachment's bytes, or its fault; no bot token needed (the URL is signed)."""
        call = Call("GET", request.path, dict(request.query), None, 0, self._clock())
        self.calls.append(call)
        attachment = self.attachments.get(request.match_info["attachment_id"])
        if (
            attachment is None
            or attachment.channel_id != request.match_info["channel_id"]
            or attachment.filename != request.match_info["filename"]
        ):
            call.status = 404
            return web.Response(status=404, text="Not Found")
        if attachment.fault == "hang":
            await self._closing.wait()  # until the fake stops; the client gives up first
            call.status = 503
            return web.Response(status=503)
        if attachment.fault is not None:
            call.status = attachment.fault
            # Discord's CDN answers an expired or unknown link with a short text page.
            return web.Response(status=attachment.fault, text="This content is no longer available.")
        attachment.downloads += 1
        call.status = 200
        headers = {"Content-Type": attachment.content_type or "application/octet-stream"}
        return web.Response(body=attachment.data, headers=headers)
