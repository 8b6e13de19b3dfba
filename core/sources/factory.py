"""Choose and build the completion source the settings describe."""

from __future__ import annotations

from core.settings import Settings
from core.sources.base import CompletionSource


def build_source(settings: Settings) -> CompletionSource:
    """The embedded model when neither a key nor a base URL is set, else the endpoint."""
    if settings.uses_local_model:
        from core.sources.local_source import LocalSource

        # Unset means the embedded model's own default, not None (llama.cpp needs a number).
        tuned = {} if settings.temperature is None else {"temperature": settings.temperature}
        return LocalSource(
            max_tokens=settings.max_tokens or 512,
            idle_timeout=settings.idle_timeout,
            **tuned,
        )
    from core.sources.openai_source import OpenAISource, build_openai_client

    client = build_openai_client(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        idle_timeout=settings.idle_timeout,
    )
    return OpenAISource(
        client,
        model=settings.model,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        idle_timeout=settings.idle_timeout,
    )
