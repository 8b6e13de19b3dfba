"""A model endpoint's refusals: fixed notices by cause in chat, the server's words in the log.

Driven through the real SDK against the loopback fake, and through the relay into the fake
surface, because the leak this guards against (a 401 body echoing the key, a proxy naming
its internal hosts) happened on exactly that path.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from bots.logs import configure_logging
from bots.settings import Settings
from core.models import EndReason, ErrorKind, StreamError
from core.relay.answer import relay
from core.sources.failures import classify, server_words
from core.sources.openai_client import build_openai_client
from core.sources.openai_source import OpenAISource
from tests.fakes.openai_server import FakeOpenAI, Script, words
from tests.fakes.surface import FakeSurface

CANARY_KEY = "sk-canary-7f3a9c1e5b2d4f60"
INTERNAL_HOST = "llm-gw-7.corp.internal"
ECHOING_401 = {
    "error": {
        "message": f"Incorrect API key provided: {CANARY_KEY}. Rejected by {INTERNAL_HOST}:8443.",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
}


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Logs as trickle writes them (text format, the configured key redacted)."""
    settings = Settings.from_mapping({"OPENAI_API_KEY": CANARY_KEY})
    stream = io.StringIO()
    handler = configure_logging(settings, stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


@pytest.fixture
async def source(fake_openai: FakeOpenAI) -> AsyncIterator[OpenAISource]:
    client = build_openai_client(api_key=CANARY_KEY, base_url=fake_openai.base_url)
    source = OpenAISource(client, model="fake-model", max_tokens=1024)
    yield source
    await source.aclose()


async def answer_with(source: OpenAISource, script: Script, fake: FakeOpenAI) -> tuple[EndReason, str]:
    fake.script_queue.append(script)
    surface = FakeSurface()
    outcome = await relay(surface, source.stream([]))
    assert surface.unfinished() == []
    return outcome.end, surface.final_texts()[0]


async def test_a_401_echoing_the_key_and_a_host_shows_neither_in_chat_and_logs_them_redacted(
    fake_openai: FakeOpenAI, source: OpenAISource, log_output: io.StringIO
):
    script = Script(tokens=[], fail="http_error", status=401, error_body=ECHOING_401)
    end, shown = await answer_with(source, script, fake_openai)
    assert end is EndReason.ERROR
    assert shown == "_(the model refused the credentials — check OPENAI_API_KEY)_"
    assert CANARY_KEY not in shown and INTERNAL_HOST not in shown
    log = log_output.getvalue()
    assert CANARY_KEY not in log
    assert f"answered 401 for model 'fake-model': Incorrect API key provided: ***. Rejected by {INTERNAL_HOST}" in log


@pytest.mark.parametrize(
    ("status", "body", "notice"),
    [
        (401, {"detail": "Invalid API key"}, "_(the model refused the credentials — check OPENAI_API_KEY)_"),
        (403, "Forbidden", "_(the model refused the credentials — check OPENAI_API_KEY)_"),
        (
            404,
            {"object": "error", "message": "The model `fake-model` does not exist.", "code": 404},
            '_(model "fake-model" not found at the endpoint — check TRICKLE_MODEL / OPENAI_BASE_URL)_',
        ),
        (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 4096 tokens.",
                    "code": "context_length_exceeded",
                }
            },
            "_(the conversation is too long for the model's context — start a new thread)_",
        ),
        (
            422,
            {"detail": [{"loc": ["body", "messages"], "msg": "field required", "type": "missing"}]},
            "_(the model refused the request (HTTP 422) — check the settings)_",
        ),
        (502, f"<html>bad gateway at {INTERNAL_HOST}</html>", "_(the model failed: server error — ask again)_"),
    ],
)
async def test_each_refusal_gets_the_fixed_notice_of_its_cause(
    status, body, notice, fake_openai: FakeOpenAI, source: OpenAISource, log_output: io.StringIO
):
    script = Script(tokens=[], fail="http_error", status=status, error_body=body)
    _, shown = await answer_with(source, script, fake_openai)
    assert shown == notice
    said = server_words(body)
    assert said and said in log_output.getvalue()  # `detail`, nested `msg` and plain text too


async def test_a_base_url_without_v1_is_named_as_the_likely_mistake(fake_openai: FakeOpenAI):
    client = build_openai_client(api_key=None, base_url=fake_openai.base_url.removesuffix("/v1"))
    source = OpenAISource(client, model="fake-model")
    try:
        surface = FakeSurface()
        await relay(surface, source.stream([]))
    finally:
        await source.aclose()
    assert surface.final_texts() == ["_(no chat endpoint at OPENAI_BASE_URL — check it: it usually ends in /v1)_"]


async def test_an_error_event_mid_stream_keeps_the_text_and_not_the_servers_words(
    fake_openai: FakeOpenAI, source: OpenAISource
):
    crash = {"error": {"message": f"upstream {INTERNAL_HOST} reset", "type": "server_error"}}
    script = Script(tokens=words("one two three"), fail="error_event", fail_after=2, error_body=crash)
    _, shown = await answer_with(source, script, fake_openai)
    assert shown == "one two\n\n_(the model failed: server error — ask again)_"


async def test_an_empty_stream_names_the_context_as_the_likely_cause(
    fake_openai: FakeOpenAI, source: OpenAISource, log_output: io.StringIO
):
    end, shown = await answer_with(source, Script(tokens=[], fail="empty"), fake_openai)
    assert end is EndReason.ERROR
    assert shown == "_(the model sent nothing — the prompt may exceed its context)_"
    assert "TRICKLE_CONTEXT_TOKENS" in log_output.getvalue()


async def test_an_answer_cut_at_the_cap_names_the_limit_and_the_setting(fake_openai: FakeOpenAI, source: OpenAISource):
    end, shown = await answer_with(source, Script(tokens=words("so far"), finish_reason="length"), fake_openai)
    assert end is EndReason.LENGTH
    assert shown == "so far\n\n_(cut short at the 1024-token limit — TRICKLE_MAX_TOKENS raises it)_"
    assert fake_openai.requests[-1]["max_tokens"] == 1024


async def test_an_answer_sent_without_a_cap_is_ended_by_trickle_at_it(fake_openai: FakeOpenAI):
    client = build_openai_client(api_key=None, base_url=fake_openai.base_url)
    source = OpenAISource(client, model="fake-model", cut_after=5)
    try:
        end, shown = await answer_with(source, Script(tokens=["a ", "b ", "c ", "d ", "e ", "f ", "g "]), fake_openai)
    finally:
        await source.aclose()
    assert end is EndReason.LENGTH
    assert shown == "a b c d e \n\n_(cut short at the 5-token limit — TRICKLE_MAX_TOKENS raises it)_"
    assert "max_tokens" not in fake_openai.requests[-1]


@pytest.mark.parametrize(
    ("status", "said", "expected"),
    [
        (401, "", StreamError(ErrorKind.AUTH, "the credentials were refused")),
        (429, "too many tokens per minute", StreamError(ErrorKind.RATE_LIMITED, "rate limited by the model")),
        (404, "Not Found", StreamError(ErrorKind.NOT_FOUND, "m")),  # the path has /v1: the model, then
        (408, "", StreamError(ErrorKind.TIMEOUT, "the model took too long to answer")),
        (413, "", StreamError(ErrorKind.CONTEXT, "the prompt exceeds the model's context")),
        (
            400,
            "the request exceeds the available context size",
            StreamError(ErrorKind.CONTEXT, "the prompt exceeds the model's context"),
        ),
        (
            None,
            "Requested tokens (3000) exceed context window of 2048",
            StreamError(ErrorKind.CONTEXT, "the prompt exceeds the model's context"),
        ),
        (400, "Unsupported parameter: 'max_tokens'", StreamError(ErrorKind.REQUEST, "400")),
        (503, "", StreamError(ErrorKind.API, "server error")),
    ],
)
def test_statuses_and_words_map_to_causes(status, said, expected):
    assert classify(status, said, model="m", base_path="/v1/") == expected


def test_setup_causes_are_told_from_transient_ones():
    setup = {kind for kind in ErrorKind if kind.is_setup}
    assert setup == {ErrorKind.AUTH, ErrorKind.NOT_FOUND, ErrorKind.REQUEST, ErrorKind.CONFIG}
