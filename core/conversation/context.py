"""The model's context: how long an answer may be, and what of a conversation fits.

Two failures motivate it, both seen with llama.cpp's server: a prompt past the context is
answered with 200 and an empty body, and an answer with no `max_tokens` runs until the
context is full and then dies mid-stream. Knowing the context (`TRICKLE_CONTEXT_TOKENS`,
or the embedded model's own) lets trickle cut the oldest history, or refuse a question
that cannot fit, before sending anything; a cap on answers keeps them inside it.

Pure: settings and messages in, numbers and messages out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.conversation.history import MESSAGE_OVERHEAD, estimate_tokens, trim_history, trim_question
from core.models import ChatMessage
from core.settings import CoreSettings

__all__ = [
    "LOCAL_ANSWER_TOKENS",
    "LOCAL_CONTEXT_TOKENS",
    "SERVER_ANSWER_TOKENS",
    "Fitted",
    "answer_cap",
    "answer_tokens",
    "context_tokens",
    "fit_conversation",
]

LOCAL_CONTEXT_TOKENS = 2048  # n_ctx the embedded model is loaded with by default
LOCAL_ANSWER_TOKENS = 512  # a 135M model has little to say that is worth more
SERVER_ANSWER_TOKENS = 1024
ANSWER_PRIMING = 16  # tokens a chat template adds after the last message to start the answer


def context_tokens(settings: CoreSettings) -> int | None:
    """The model's context in tokens: the setting, else the embedded model's own, else unknown."""
    if settings.context_tokens is not None:
        return settings.context_tokens
    return LOCAL_CONTEXT_TOKENS if settings.uses_local_model else None


def answer_tokens(settings: CoreSettings) -> int | None:
    """The `max_tokens` the request carries: TRICKLE_MAX_TOKENS, else the embedded model's.

    CONTRACT.md keeps the model's own default when TRICKLE_MAX_TOKENS is unset, so a
    remote endpoint gets no `max_tokens` it was not asked to get (OpenAI's reasoning
    models refuse it); `answer_cap` bounds such answers while reading instead. The
    embedded model's default is ours to choose. Within the embedded model's own context
    an explicit cap takes at most half of it, so a question still fits.
    """
    if settings.max_tokens is not None:
        if settings.uses_local_model and settings.context_tokens is None:
            return min(settings.max_tokens, LOCAL_CONTEXT_TOKENS // 2)
        return settings.max_tokens
    if settings.uses_local_model:
        context = context_tokens(settings) or LOCAL_CONTEXT_TOKENS
        return max(1, min(LOCAL_ANSWER_TOKENS, context // 2))
    return None


def answer_cap(settings: CoreSettings) -> int | None:
    """The longest answer trickle lets through, in tokens, whether or not it was sent.

    llama.cpp's server, asked without `max_tokens`, generates until its context is full
    and then fails mid-stream. So an answer from a server at `OPENAI_BASE_URL`, or from
    any model whose context is known, is ended by trickle after `SERVER_ANSWER_TOKENS`
    (some 700 words, at most half a known context) with a notice that names the limit;
    closing the stream makes the server stop generating. OpenAI itself (a key and no
    base URL) ends long answers properly and keeps its own default.
    """
    sent = answer_tokens(settings)
    if sent is not None:
        return sent
    if settings.openai_base_url is None and settings.context_tokens is None:
        return None
    context = context_tokens(settings)
    return SERVER_ANSWER_TOKENS if context is None else max(1, min(SERVER_ANSWER_TOKENS, context // 2))


@dataclass(frozen=True, slots=True)
class Fitted:
    """A conversation made to fit: the messages to send, whether anything was cut, and
    whether the question alone is too long (then nothing is sent)."""

    messages: list[ChatMessage]
    trimmed: bool = False
    too_long: bool = False


def fit_conversation(
    system_prompt: str,
    history: Sequence[ChatMessage],
    question: str,
    *,
    history_tokens: int | None,
    context: int | None,
    answer: int | None,
) -> Fitted:
    """The system prompt, the newest history that fits, and the question.

    `history_tokens` (TRICKLE_HISTORY_TOKENS; None for no such budget) bounds history and
    question as before; a known `context` bounds them further, after the system prompt
    and the answer's cap. A question that does not fit the context even alone is not cut
    in the middle: the model would answer a question nobody asked.
    """
    system = [ChatMessage("system", system_prompt)] if system_prompt else []
    room = history_tokens
    if context is not None:
        fixed = sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD for m in system)
        left = context - (answer or 0) - fixed - ANSWER_PRIMING
        if estimate_tokens(question) + MESSAGE_OVERHEAD > left:
            return Fitted([*system, ChatMessage("user", question)], too_long=True)
        room = left if room is None else min(room, left)
    if room is None:
        return Fitted([*system, *history, ChatMessage("user", question)])
    text, cut_question = trim_question(question, room)
    kept, cut_history = trim_history(history, max(0, room - estimate_tokens(text) - MESSAGE_OVERHEAD))
    return Fitted([*system, *kept, ChatMessage("user", text)], trimmed=cut_question or cut_history)
