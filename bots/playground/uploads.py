"""A message with files, as a tab posts it: read within a size cap, kept in memory.

Why HTTP and not the WebSocket: a socket frame is capped small (64 KB) so that no tab can
make the server buffer much, and an oversize frame can only close the connection. An
HTTP request says its size up front and can be refused with a `413` and a sentence,
before anything is read. The cap is the app's `client_max_size`, read here for every
request, so one number bounds every body the playground accepts.

Nothing about a file touches the disk: its name is a label (cleaned, and never a path),
its bytes stay in memory until the assistant reads them through a `RemoteFile`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, MultipartReader, web

from core.attachments import RemoteFile
from core.attachments.limits import AttachmentLimits, readable_size

MAX_UPLOAD_BYTES = 25_000_000  # per message, every file and field together
# An absolute safety cap: the assistant reads `AttachmentLimits.max_files` of them and
# says that it left the rest out, so it must stay above that number.
MAX_FILES = 2 * AttachmentLimits().max_files
MAX_FIELD_BYTES = 64 * 1024  # `name` and `text` (the text itself is capped in characters)
MAX_PARTS = MAX_FILES + 8
MAX_NAME = 120
KEY_HEADER = "X-Trickle-Key"
FILE_FIELD = "file"
MALFORMED = "The message could not be read (a malformed form)."

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+")


class UploadRefused(Exception):
    """Why a posted message was not taken: an HTTP status and a sentence for the person."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text

    def response(self) -> web.Response:
        # `Connection: close`: a refused body may still be on its way, and reading it only
        # to throw it away would cost as much as taking it.
        headers = {"Connection": "close"} if self.status == 413 else None
        return web.json_response({"error": self.text}, status=self.status, headers=headers)


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One attached file, in memory: `name` is a cleaned label, `mime` as the browser said."""

    name: str
    mime: str
    data: bytes = field(repr=False)

    def remote(self) -> RemoteFile:
        """The file as the assistant downloads it: at most `cap + 1` bytes, as promised."""
        data = self.data

        async def fetch(cap: int) -> bytes:
            return data[: cap + 1]

        return RemoteFile(self.name, fetch, self.mime, len(data))


@dataclass(frozen=True, slots=True)
class Upload:
    """What a tab posted: the shown name, the text, and its files (maybe none)."""

    name: str
    text: str
    files: tuple[UploadedFile, ...] = ()


def file_label(raw: str | None) -> str:
    """A file name as the channel shows it: the last part of any path, on one line.

    Browsers send bare names; a path in one is a script's or a hostile one, and since the
    name is only ever shown (and escaped by the page), cutting it to its last part is all
    it takes. Direction overrides and line breaks go, so a name cannot disguise itself.
    """
    name = _UNPRINTABLE.sub(" ", raw or "")
    name = posixpath.basename(name.replace("\\", "/"))
    name = " ".join(name.split()).strip(". ") or "file"
    if len(name) <= MAX_NAME:
        return name
    stem, dot, ext = name.rpartition(".")
    keep = f".{ext}" if dot and stem and len(ext) <= 12 else ""
    return name[: MAX_NAME - len(keep) - 1] + "…" + keep


def too_large(limit: int, size: int | None = None) -> UploadRefused:
    shown = f" (this one is {size / 1_000_000:.1f} MB)" if size else ""
    return UploadRefused(
        413, f"That message is too large to send: its files may come to {readable_size(limit)} at most{shown}."
    )


async def read_upload(request: web.Request) -> Upload:
    """The message in a `multipart/form-data` request; `UploadRefused` says why not.

    Fields: `name`, `text`, and any number of `file` parts (up to `MAX_FILES`). Counted
    as they arrive, so a body that lies about its length (or sends none) is cut off at
    the cap as well.
    """
    limit = request.client_max_size or MAX_UPLOAD_BYTES  # aiohttp's 0 means no cap at all
    if request.content_type != "multipart/form-data":
        raise UploadRefused(415, "Send a message with files as multipart/form-data.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit, request.content_length)
    try:
        reader = await request.multipart()
    except ValueError as exc:  # no boundary
        raise UploadRefused(400, MALFORMED) from exc
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    total = parts = 0
    while (part := await _next_part(reader)) is not None:
        parts += 1
        if parts > MAX_PARTS:
            raise UploadRefused(413, f"That message has too many parts (files: {MAX_FILES} at most).")
        is_file = part.name == FILE_FIELD and part.filename is not None
        cap = limit - total if is_file else MAX_FIELD_BYTES
        data = await _read_part(part, cap)
        total += len(data)
        if total > limit:
            raise too_large(limit)
        if len(data) > cap:
            raise UploadRefused(413, f"The {part.name or 'unnamed'} field is too long.")
        if is_file and not part.filename and not data:
            continue  # what a browser sends for a file field left empty
        if is_file:
            if len(files) == MAX_FILES:
                raise UploadRefused(413, f"That message has too many files: {MAX_FILES} at most.")
            mime = part.headers.get("Content-Type", "")
            files.append(UploadedFile(file_label(part.filename), mime, data))
        elif part.name in ("name", "text"):
            fields[part.name] = data.decode("utf-8", errors="replace")
    return Upload(name=fields.get("name", ""), text=fields.get("text", ""), files=tuple(files))


async def _next_part(reader: MultipartReader) -> BodyPartReader | None:
    try:
        part = await reader.next()
    except ValueError as exc:  # a malformed body: no boundary, broken headers
        raise UploadRefused(400, MALFORMED) from exc
    if part is not None and not isinstance(part, BodyPartReader):
        raise UploadRefused(400, "The message could not be read (nested forms are not taken).")
    return part


async def _read_part(part: BodyPartReader, cap: int) -> bytes:
    """At most `cap + 1` bytes of one part: enough to know it is too long."""
    data = bytearray()
    try:
        while chunk := await part.read_chunk():
            data.extend(chunk)
            if len(data) > cap:
                break
    except ValueError as exc:  # the body ended inside the part
        raise UploadRefused(400, MALFORMED) from exc
    return bytes(data)
