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
    """One turn of a conversation as the model sees it."""

    role: Role
    content: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text, in the order the model produced it."""

    text: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The model's `finish_reason` (`stop`, `length`, `content_filter`, ...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, when the endpoint reports them (never waited for)."""

    prompt_tokens: int
    completion_tokens: int


class ErrorKind(str, enum.Enum):
    """Why a stream failed, coarse enough to pick a notice and a metric label."""

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    CONNECTION = "connection"
    API = "api"
    CONFIG = "config"


@dataclass(frozen=True, slots=True)
class StreamError:
    """The stream failed; text already yielded stays valid."""

    kind: ErrorKind
    message: str


@dataclass(frozen=True, slots=True)
class Waiting:
    """Nothing to show yet, and why (rate limited, queued); a status, not answer text."""

    seconds: float
    why: str = "waiting for the model"


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
