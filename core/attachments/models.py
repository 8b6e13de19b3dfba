"""The values that go into and come out of reading attachments.

Frozen dataclasses, like `core.models`: a prepared question is built in a worker thread
and handed back to the event loop, and nothing should change it on the way.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Attachment:
    """One file as a platform handed it over, already downloaded.

    `mime` is whatever the platform claimed and may be empty or wrong: the bytes decide.
    `failed` is set instead of `data` when the download itself failed (an expired URL,
    a 403, a timeout), so the person still hears which file the answer could not see.
    """

    name: str
    mime: str = ""
    data: bytes = b""
    failed: str | None = None

    def __repr__(self) -> str:
        state = f"failed={self.failed!r}" if self.failed is not None else f"{len(self.data)} bytes"
        return f"<Attachment {self.name!r} {self.mime or '?'} {state}>"


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """An image re-encoded within the limits, ready to be one image part of a request.

    Always re-encoded, never passed through: that applies the EXIF rotation the model
    would otherwise ignore and drops the metadata (a phone photo's GPS position) that
    nobody meant to send to a model provider.
    """

    name: str
    mime: str
    data: bytes = field(repr=False)
    width: int
    height: int

    @property
    def data_url(self) -> str:
        """`data:image/png;base64,...`: what an OpenAI `image_url` part accepts inline."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def content_part(self) -> dict[str, Any]:
        """The OpenAI chat content part carrying this image."""
        return {"type": "image_url", "image_url": {"url": self.data_url}}


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the model receives from a question's files, and what was cut on the way.

    `text_blocks` are ready to append to the question (a name line, then a fenced block);
    `images` go as image parts; `notices` are short sentences for the person asking, so
    that nothing is left out silently.
    """

    text_blocks: tuple[str, ...] = ()
    images: tuple[PreparedImage, ...] = ()
    notices: tuple[str, ...] = ()

    def summary_notice(self, *, max_chars: int = 300) -> str | None:
        """All notices on one line for the placeholder, or None when nothing was cut.

        Past `max_chars` the rest is counted rather than dropped ("and 2 more"): a line
        that silently stopped listing would read as if everything else got through.
        """
        if not self.notices:
            return None
        shown: list[str] = []
        for i, notice in enumerate(self.notices):
            rest = len(self.notices) - i - 1
            tail = f"; and {rest} more" if rest else ""
            if shown and len("; ".join([*shown, notice]) + tail) > max_chars:
                break
            shown.append(notice)
        line = "; ".join(shown)
        hidden = len(self.notices) - len(shown)
        return f"{line}; and {hidden} more" if hidden else line


class Unreadable(Exception):
    """A file that cannot be read, with the reason as the end of a sentence.

    The reason follows the file's name in the notice ("report.pdf" + "is
    password-protected"), so it is trickle's own words, never a parser's message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
