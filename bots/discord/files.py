"""Discord attachments as the files of a question (issue 13).

A question carries the files of its own message and of the conversation before it (the
reply chain, or the thread), llmcord-style: someone replies to a message holding an
image or a PDF and asks about it. The assistant downloads and reads them once the
placeholder is up; this module only says where each one is and how to fetch it.

Downloads go through discord.py's own HTTP session (`Attachment.read`), so a proxy
configured there applies. Discord's CDN links are signed and expire, and a deleted
message takes its files with it: those refusals become a short `FetchFailed` reason
that the placeholder shows, and the question is answered without the file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aiohttp
import discord

from core.attachments import FetchFailed, RemoteFile

log = logging.getLogger("trickle.discord")


def remote_file(attachment: discord.Attachment) -> RemoteFile:
    """One attachment, to be downloaded when the assistant reads it."""

    async def fetch(cap: int) -> bytes:
        # Discord declares every file's size, and its CDN serves exactly that many bytes:
        # checked here as well as by the assistant, so that nothing larger is read.
        if attachment.size > cap:
            raise FetchFailed("it is too large")
        try:
            data = await attachment.read()
        except discord.HTTPException as exc:  # NotFound, Forbidden: an expired link, a deleted message
            raise FetchFailed(str(exc.status)) from exc
        except aiohttp.ClientError as exc:
            log.info("downloading attachment %s failed: %r", attachment.id, exc)
            raise FetchFailed("the connection failed") from exc
        return data[: cap + 1]

    return RemoteFile(attachment.filename, fetch, mime=attachment.content_type or "", size=attachment.size)


def question_files(message: discord.Message, earlier: Sequence[discord.Message] = ()) -> list[RemoteFile]:
    """The files of `message`, then those of `earlier` (oldest first, as the conversation
    is walked) newest first: the nearer a file is to the question, the likelier it is
    what the question is about, and the assistant reads only so many. Each file once (a
    thread's starter message can be reached twice)."""
    seen: set[int] = set()
    files: list[RemoteFile] = []
    for source in (message, *reversed(earlier)):
        for attachment in source.attachments:
            if attachment.id not in seen:
                seen.add(attachment.id)
                files.append(remote_file(attachment))
    return files
