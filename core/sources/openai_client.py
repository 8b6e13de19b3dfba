"""The `AsyncOpenAI` client that `OpenAISource` expects, built once by the entry point.

The SDK's own defaults are wrong for a chat bot: it retries a 429 silently inside
`create()`, so nobody can tell the user "waiting for the model" (the source retries
instead, see `core.sources.rate_limit_retry`), and its 600 s read timeout leaves a stalled
answer hanging for ten minutes. The client is passed in rather than built inside the
source, so tests and benchmarks can aim the real SDK at a fake server.
"""

from __future__ import annotations

import openai
from openai import AsyncOpenAI

PLACEHOLDER_API_KEY = "sk-no-key-needed"


def build_openai_client(*, api_key: str | None, base_url: str | None, idle_timeout: float = 60.0) -> AsyncOpenAI:
    """The client `OpenAISource` expects: no SDK retries, no 10-minute read timeout.

    Local servers (llama.cpp, Ollama, vLLM) need no key, but the SDK refuses to start
    without one, hence the placeholder when a base URL is given alone. The read timeout is
    a backstop a little above the source's idle timeout, which does the real work.
    """
    if api_key is None and base_url is not None:
        api_key = PLACEHOLDER_API_KEY
    timeout = openai.Timeout(connect=10.0, read=idle_timeout + 5.0, write=30.0, pool=30.0)
    return AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)
