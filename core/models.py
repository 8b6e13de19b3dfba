"""Value types shared by every part of trickle.

They are small frozen dataclasses so that they can be passed between tasks, compared in
tests and logged without anyone mutating them behind the relay's back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation as the model sees it.

    `images` are `data:` URLs sent beside the text as image parts, for a model that sees
    (only a question carries them; see `core.attachments`).
    """

    role: Role
    content: str
    name: str | None = None
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text, in the order the model produced it."""

    text: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The model's `finish_reason` (`stop`, `length`, `content_filter`, ...).

    `limit` is the answer cap trickle sent, on a `length` finish only: the notice can then
    say which limit was reached and which setting raises it.
    """

    reason: str
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, when the endpoint reports them (never waited for)."""

    prompt_tokens: int
    completion_tokens: int


class ErrorKind(str, enum.Enum):
    """Why a stream failed, coarse enough to pick a notice and a metric label.

    Each kind has one fixed notice (`core.notices.error_notice`). Setup kinds will fail
    the same way every time until someone fixes the settings, so their notice says which
    setting to check; asking again is the advice only for the transient ones.
    """

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    CONNECTION = "connection"  # the endpoint could not be reached at all
    LOST = "lost"  # the stream broke or ended early, after it had started
    API = "api"  # the server failed (5xx, an error event mid-stream)
    EMPTY = "empty"  # the stream ended with nothing in it (llama.cpp past its context)
    CONTEXT = "context"  # the prompt does not fit the model's context
    AUTH = "auth"  # 401/403: the credentials were refused
    NOT_FOUND = "not_found"  # 404: no such model, or no chat endpoint at the base URL
    REQUEST = "request"  # another 4xx: the server refused what was asked
    CONFIG = "config"  # trickle's own set-up (the embedded model is missing)

    @property
    def is_setup(self) -> bool:
        """True when asking again cannot help: the settings must change first."""
        return self in _SETUP_KINDS


_SETUP_KINDS = frozenset({ErrorKind.AUTH, ErrorKind.NOT_FOUND, ErrorKind.REQUEST, ErrorKind.CONFIG})


@dataclass(frozen=True, slots=True)
class StreamError:
    """The stream failed; text already yielded stays valid.

    `message` is always trickle's own words, never the server's: some notices show it
    (the model's name, an HTTP status), and a server's error body may echo the API key or
    name hosts behind a proxy. Sources write the server's words to the log instead.
    """

    kind: ErrorKind
    message: str


@dataclass(frozen=True, slots=True)
class Waiting:
    """Nothing to show yet, and why (rate limited, queued); a status, not answer text.

    A `notice` says what was cut or left out of the question (files, history): unlike
    a status, which gives way to the answer's first words, it is shown before them,
    since the final text must stay exactly the model's and so cannot carry it.
    """

    seconds: float
    why: str = "waiting for the model"
    notice: bool = False


StreamEvent = TextDelta | Finish | Usage | StreamError | Waiting


class EndReason(str, enum.Enum):
    """How an answer ended; everything but STOP adds a notice to the message."""

    STOP = "stop"
    LENGTH = "length"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"
    TIMEOUT = "timeout"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    REFUSED = "refused"
    PLATFORM_ERROR = "platform_error"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one answer came to: the model's text and how it ended."""

    text: str
    end: EndReason
    notice: str | None = None
    usage: Usage | None = None
    edits: int = 0
    pages: int = 1
