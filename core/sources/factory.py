"""Choose and build the completion source the settings describe."""

from __future__ import annotations

from core.conversation.context import answer_cap, answer_tokens, context_tokens
from core.settings import CoreSettings
from core.sources.base import CompletionSource


def build_source(settings: CoreSettings) -> CompletionSource:
    """The embedded model when neither a key nor a base URL is set, else the endpoint.

    Both get the answer cap of `core.conversation.context` (sent as `max_tokens` where the settings
    ask for one, enforced while reading where they do not); the embedded model is loaded
    with the context trickle trims conversations to, so the two agree.
    """
    if settings.uses_local_model:
        from core.sources.local_source import LocalSource

        return LocalSource(
            max_tokens=answer_tokens(settings) or 512,
            n_ctx=context_tokens(settings) or 2048,
            temperature=settings.temperature,
            idle_timeout=settings.idle_timeout,
        )
    from core.sources.openai_client import build_openai_client
    from core.sources.openai_source import OpenAISource

    client = build_openai_client(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        idle_timeout=settings.idle_timeout,
    )
    return OpenAISource(
        client,
        model=settings.model,
        max_tokens=answer_tokens(settings),
        cut_after=answer_cap(settings),
        temperature=settings.temperature,
        idle_timeout=settings.idle_timeout,
    )
