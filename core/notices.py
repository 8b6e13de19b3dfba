"""The short italic notices that end an answer which did not finish normally.

CONTRACT.md: the text so far, a blank line, then one short notice in italics. They are
Markdown; each surface renders them with the rest of the text.
"""

from __future__ import annotations

import re

from core.models import EndReason, ErrorKind, StreamError

_MODEL_FAILED = "_(the model failed: {detail} — ask again)_"

QUESTION_TOO_LONG = "the question is too long for the model's context — ask something shorter"


def notice_for(end: EndReason, *, detail: str = "", by: str = "", limit: int | None = None) -> str | None:
    """Return the notice for an end, or None for a normal `stop`.

    `limit` is the answer cap trickle sent, for a `length` end: naming it and the setting
    that raises it tells the reader the answer was cut on purpose, not lost.
    """
    match end:
        case EndReason.STOP:
            return None
        case EndReason.LENGTH:
            if limit is not None:
                return f"_(cut short at the {limit}-token limit — TRICKLE_MAX_TOKENS raises it)_"
            return "_(cut short: the answer reached the length limit)_"
        case EndReason.CONTENT_FILTER:
            return "_(stopped by the model's content filter)_"
        case EndReason.TIMEOUT:
            return _MODEL_FAILED.format(detail="timeout")
        case EndReason.ERROR:
            return _MODEL_FAILED.format(detail=detail or "error")
        case EndReason.STOPPED:
            return f"_(stopped by {by})_" if by else "_(stopped)_"
        case EndReason.INTERRUPTED:
            return "_(interrupted by a restart — ask again)_"
        case EndReason.PLATFORM_ERROR:
            return f"_(this message could not be updated: {detail or 'platform error'} — ask again)_"
        case EndReason.REFUSED:
            return f"_({detail or 'refused'})_"
    return None


def error_notice(error: StreamError) -> str:
    """The fixed notice for a failed stream, chosen by its kind.

    The server's own words never appear: they may echo the API key or name hosts behind
    a proxy, and people in a chat can act on the cause, not on a stack of HTTP details.
    Setup causes name the setting to check; only transient ones say "ask again".
    """
    detail = error.message
    match error.kind:
        case ErrorKind.AUTH:
            return "_(the model refused the credentials — check OPENAI_API_KEY)_"
        case ErrorKind.NOT_FOUND if detail:
            return f'_(model "{detail}" not found at the endpoint — check TRICKLE_MODEL / OPENAI_BASE_URL)_'
        case ErrorKind.NOT_FOUND:
            return "_(no chat endpoint at OPENAI_BASE_URL — check it: it usually ends in /v1)_"
        case ErrorKind.REQUEST:
            status = f" (HTTP {detail})" if detail else ""
            return f"_(the model refused the request{status} — check the settings)_"
        case ErrorKind.CONFIG:
            return f"_(the model is not set up: {detail or 'see the log'})_"
        case ErrorKind.RATE_LIMITED:
            return "_(the model is rate limited — ask again in a minute)_"
        case ErrorKind.CONTEXT:
            return "_(the conversation is too long for the model's context — start a new thread)_"
        case ErrorKind.EMPTY:
            return "_(the model sent nothing — the prompt may exceed its context)_"
        case ErrorKind.CONNECTION:
            return "_(the model endpoint is unreachable — ask again)_"
        case ErrorKind.TIMEOUT:
            return _MODEL_FAILED.format(detail="timeout")
        case ErrorKind.LOST:
            return _MODEL_FAILED.format(detail=detail or "connection lost")
    return _MODEL_FAILED.format(detail="server error")


def end_for_error(kind: ErrorKind) -> EndReason:
    """Map a stream failure to how the answer ends."""
    return EndReason.TIMEOUT if kind is ErrorKind.TIMEOUT else EndReason.ERROR


_TRAILING_NOTICE = re.compile(r"(?:\A|\n\n)_\([^\n]*\)_\Z")


def without_notice(text: str) -> str:
    """An earlier answer as the model should read it back: without its closing notice.

    A model that sees `_(stopped by Ada)_` at the end of its past answers learns to write
    such notices itself, and a fake notice reads like a real one.
    """
    return _TRAILING_NOTICE.sub("", text)


def with_notice(text: str, notice: str | None) -> str:
    """The final visible text: the answer, then a blank line and the notice.

    The answer is kept to the last character, trailing spaces included: pages already
    show it, and a final text that took any of it back would not extend what they show
    (the pager refuses that, and the message would be left unfinished).
    """
    if not notice:
        return text
    if not text.strip():
        return f"{text}\n\n{notice}" if text else notice
    blank_line = "" if text.endswith("\n\n") else "\n" if text.endswith("\n") else "\n\n"
    return f"{text}{blank_line}{notice}"
