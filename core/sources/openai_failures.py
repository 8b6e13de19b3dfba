"""What an OpenAI-compatible endpoint's failure becomes: a `StreamError` and one log line.

The SDK's exceptions (timeouts, lost connections, refusals before or mid-stream) and a
body that ends before the model finished each map to a fixed `StreamError` in trickle's
own words, since chat only ever shows a fixed notice. The server's words go to the
`trickle.model` log, one line a failure naming the client's base URL, where the log's
formatter redacts them.
"""

from __future__ import annotations

import logging

import openai
from openai import AsyncOpenAI

from core.models import ErrorKind, StreamError
from core.sources.failures import classify, error_code, server_words

_log = logging.getLogger(__name__)
# What the endpoint said when it failed: one line a failure, the server's words (redacted
# by the log's formatter), since chat only ever shows a fixed notice.
_model_log = logging.getLogger("trickle.model")

_UNFINISHED = "the stream ended before the model finished"


def unfinished(client: AsyncOpenAI, model: str, *, texted: bool) -> StreamError:
    """A body that ended without a finish: cut mid-answer, or empty from the start.

    llama.cpp's server answers a streaming request whose prompt exceeds its context
    with 200 and an empty body, so "nothing at all" most likely means that.
    """
    url = client.base_url
    if texted:
        _model_log.warning("%s ended the answer of model %r before it finished", url, model)
        return StreamError(ErrorKind.LOST, _UNFINISHED)
    _model_log.warning(
        "%s sent an empty answer for model %r: the prompt may exceed the model's context "
        "(set TRICKLE_CONTEXT_TOKENS to trim conversations to it)",
        url,
        model,
    )
    return StreamError(ErrorKind.EMPTY, "the model sent nothing")


def failure(err: Exception, client: AsyncOpenAI, model: str, *, started: bool) -> StreamError:
    """Map an SDK exception to a `StreamError` of trickle's own words; log the server's."""
    url = client.base_url
    if isinstance(err, openai.APITimeoutError):  # before APIConnectionError: it subclasses it
        _model_log.warning("%s timed out for model %r", url, model)
        return StreamError(ErrorKind.TIMEOUT, "the model took too long to answer")
    if isinstance(err, openai.APIConnectionError):
        cause = err.__cause__ or err
        if started:
            _model_log.warning("connection to %s lost mid-answer: %s", url, cause)
            return StreamError(ErrorKind.LOST, "connection lost")
        _model_log.warning("could not connect to %s: %s", url, cause)
        return StreamError(ErrorKind.CONNECTION, "could not connect to the model endpoint")
    if isinstance(err, openai.APIError):
        status = err.status_code if isinstance(err, openai.APIStatusError) else None
        words = server_words(err.body)
        _model_log.warning(
            "%s answered %s for model %r: %s",
            url,
            status or "with an error mid-stream",
            model,
            words or "(no reason given)",
        )
        return classify(status, words, code=error_code(err.body), model=model, base_path=url.path)
    _log.exception("unexpected error from the OpenAI stream")
    return StreamError(ErrorKind.API, f"unexpected {type(err).__name__}")
