"""What a model endpoint's refusal means, in trickle's own words.

Pure, so every status and body shape a server sends is a one-line test. The server's own
words decide the cause (a 400 about the context is not a 400 about a parameter) but never
reach the resulting `StreamError`: an error body may echo the API key, or name the hosts
behind a proxy, and chat shows the notice to everyone in the channel. The source logs
the words, where the log's redaction masks secrets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.models import ErrorKind, StreamError

__all__ = ["classify", "error_code", "server_words"]

WORDS_LIMIT = 500  # characters of the server's words kept for the log

# How servers say "the prompt does not fit": OpenAI and vLLM ("maximum context length"),
# llama.cpp ("exceeds the available context size"), llama-cpp-python ("exceed context
# window"), Anthropic-style proxies ("prompt is too long").
_CONTEXT_WORDS = re.compile(
    r"context[ _-]?(length|window|size)|maximum context|too many tokens|"
    r"exceeds? (the )?(available )?context|(prompt|input) is too long",
    re.IGNORECASE,
)
_CONTEXT_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error"})
_VERSIONED_PATH = re.compile(r"/v\d")


def server_words(body: object, fallback: str = "") -> str:
    """The server's explanation, whichever shape its error body has.

    OpenAI nests it (`{"error": {"message"}}`; the SDK hands over the inner dict), others
    put `message` at the top, and FastAPI-based servers (llama-cpp-python, many proxies)
    use `detail`: a string, or a list of `{"msg": ...}` for a validation error. Without
    any of them the SDK's message is only `Error code: 401`, hence reading all three.
    """
    words = _words(body)
    words = " ".join((words or fallback).split())
    return words if len(words) <= WORDS_LIMIT else words[: WORDS_LIMIT - 1] + "…"


def _words(body: object) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(w for w in (_words(item) for item in body) if w)
    if not isinstance(body, Mapping):
        return ""
    for key in ("error", "message", "detail", "msg"):
        value = body.get(key)
        if value and (words := _words(value)):
            return words
    return ""


def error_code(body: object) -> str | None:
    """The machine-readable code (`context_length_exceeded`), where a body carries one."""
    if isinstance(body, Mapping):
        for key in ("code", "type"):
            if isinstance(code := body.get(key), str):
                return code
        return error_code(body.get("error"))
    return None


def classify(
    status: int | None, words: str, *, code: str | None = None, model: str, base_path: str = "/v1"
) -> StreamError:
    """The failure a status (None for an error sent mid-stream) and the server's words mean.

    401/403/404 and other 4xx are setup errors: asking again fails the same way. A 404
    whose words do not mention a model, at a base URL without a version in its path, is
    the classic `http://host:8000` for `http://host:8000/v1`.
    """
    if status in (401, 403):
        return StreamError(ErrorKind.AUTH, "the credentials were refused")
    if status == 429:  # before the context words: "too many tokens" per minute is a rate
        return StreamError(ErrorKind.RATE_LIMITED, "rate limited by the model")
    if code in _CONTEXT_CODES or _CONTEXT_WORDS.search(words) or status == 413:
        return StreamError(ErrorKind.CONTEXT, "the prompt exceeds the model's context")
    if status == 404:
        about_model = "model" in words.lower() or (model and model in words)
        if not about_model and not _VERSIONED_PATH.search(base_path):
            return StreamError(ErrorKind.NOT_FOUND, "")
        return StreamError(ErrorKind.NOT_FOUND, model)
    if status == 408:
        return StreamError(ErrorKind.TIMEOUT, "the model took too long to answer")
    if status is not None and 400 <= status < 500:
        return StreamError(ErrorKind.REQUEST, str(status))
    return StreamError(ErrorKind.API, "server error")
