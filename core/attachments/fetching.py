"""Downloading a question's files, each within a size cap and a deadline.

Adapters know where a platform keeps a file and which credentials fetch it; they hand
over a `RemoteFile` whose `fetch` does that. What can go wrong here (an expired link, a
403, a timeout, a file too large to be worth the download) becomes an `Attachment`
that says why, so the question is still answered and the notice names the file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from core.attachments.limits import AttachmentLimits, readable_size
from core.attachments.models import Attachment

log = logging.getLogger("trickle.files")

FETCH_TIMEOUT = 15.0  # seconds per file; a slower download is said, not waited for


class FetchFailed(Exception):
    """A download the platform refused; `reason` is short and safe to show ("403")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A file attached to a question, not downloaded yet.

    `fetch(cap)` returns the file's bytes, or at most `cap + 1` of them (enough to know it
    is too large), and raises `FetchFailed` when it cannot (adapters turn their HTTP
    client's errors into it; an `OSError` or a timeout is caught here too).
    """

    name: str
    fetch: Callable[[int], Awaitable[bytes]] = field(repr=False)
    mime: str = ""
    size: int | None = None  # as the platform declares it, when it does


async def fetch_all(
    files: Sequence[RemoteFile], *, limits: AttachmentLimits, timeout: float = FETCH_TIMEOUT
) -> list[Attachment]:
    """Every file of `files` as an `Attachment`, in order, downloaded concurrently.

    Files past `limits.max_files` are not downloaded (the reader counts them out loud),
    nor is one whose declared size is over `limits.max_file_bytes`.
    """
    wanted = list(files[: limits.max_files])
    fetched = await asyncio.gather(*(_fetch_one(f, limits.max_file_bytes, timeout) for f in wanted))
    return [*fetched, *(Attachment(f.name, f.mime) for f in files[limits.max_files :])]


async def _fetch_one(file: RemoteFile, cap: int, timeout: float) -> Attachment:
    if file.size is not None and file.size > cap:
        return Attachment(
            file.name, file.mime, failed=f"it is larger than {readable_size(cap)}, so it was not downloaded"
        )
    try:
        async with asyncio.timeout(timeout):
            data = await file.fetch(cap)
    except FetchFailed as exc:
        log.info("could not download %r: %s", file.name, exc.reason)
        return Attachment(file.name, file.mime, failed=exc.reason)
    except TimeoutError:
        log.info("downloading %r took longer than %g s", file.name, timeout)
        return Attachment(file.name, file.mime, failed="it took too long")
    except OSError as exc:
        log.info("could not download %r: %r", file.name, exc)
        return Attachment(file.name, file.mime, failed="the connection failed")
    return Attachment(file.name, file.mime, data)
