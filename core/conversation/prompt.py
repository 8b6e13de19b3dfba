"""The conversation a question sends the model: redacted, then fitted to the context.

Redacted before it is cut, so the context is measured on what is sent; the system prompt
(the operator's, or the channel's) is sent as written. A past answer is sent without its
notice: the model should continue the conversation, not imitate trickle's footnotes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from core.attachments.question_files import ReadFiles
from core.conversation.context import Fitted, answer_cap, context_tokens, fit_conversation
from core.conversation.history import TRIMMED_STATUS
from core.models import ChatMessage
from core.notices import without_notice
from core.privacy.redaction import Redactor
from core.question import Question
from core.settings import CoreSettings

__all__ = ["FILES_TOO_LONG", "PromptBuilder", "tally"]

FILES_TOO_LONG = "the files were too long for the model's context, so they were left out"


def tally(redacted: Counter[str]) -> str:
    """What TRICKLE_REDACT took out, as counts only: what was taken must not reach the log."""
    return ", ".join(f"{n} {kind}" for kind, n in sorted(redacted.items()))


class PromptBuilder:
    """Builds the messages for a question under TRICKLE_REDACT, TRICKLE_HISTORY_TOKENS
    and the model's context."""

    __slots__ = ("_settings", "_redactor")

    def __init__(self, settings: CoreSettings) -> None:
        self._settings = settings
        self._redactor = Redactor(settings.redact)

    def __repr__(self) -> str:
        return f"<PromptBuilder history_tokens={self._settings.history_tokens}>"

    def fit(self, question: Question) -> tuple[Fitted, Counter[str]]:
        """The conversation cut to TRICKLE_HISTORY_TOKENS and to the model's context, and
        how many of each kind TRICKLE_REDACT took out of the question and history."""
        redacted: Counter[str] = Counter()
        past = [self.sendable(m, redacted) for m in question.history]
        text, found = self._redactor.redact_counting(question.text)
        redacted.update(found)
        fitted = fit_conversation(
            question.system_prompt or self._settings.system_prompt,
            past,
            text,
            history_tokens=None if question.whole_history else self._settings.history_tokens,
            context=context_tokens(self._settings),
            answer=answer_cap(self._settings),
        )
        return fitted, redacted

    def sendable(self, message: ChatMessage, redacted: Counter[str]) -> ChatMessage:
        """A past message as the model reads it: an answer without its notice, and text
        redacted (counted into `redacted`). Content that is not text is left as it is."""
        content = message.content
        if not isinstance(content, str):
            return message
        if message.role == "assistant":
            content = without_notice(content)
        content, found = self._redactor.redact_counting(content)
        redacted.update(found)
        return message if content == message.content else ChatMessage(message.role, content, message.name)

    def with_files(
        self, question: Question, fitted: Fitted, read: ReadFiles
    ) -> tuple[list[ChatMessage], list[str], Counter[str]]:
        """The conversation with the question's files in it, what to say was cut, and
        what redaction took out of the whole question.

        File text joins the question (so it is redacted and fitted like the question);
        images ride on the question's message. Files that would not fit the context even
        with no history at all are left out, and that is said.
        """
        notices = list(read.notices)
        text = f"{question.text}\n\n{read.text}" if read.text else question.text
        with_files, redacted = self.fit(replace(question, text=text, files=()))
        if with_files.too_long:
            notices.append(FILES_TOO_LONG)
            with_files, redacted = fitted, Counter()
        messages = list(with_files.messages)
        if read.images and not with_files.too_long:
            messages[-1] = replace(messages[-1], images=read.images)
        if with_files.trimmed:
            notices.append(TRIMMED_STATUS)
        return messages, notices, redacted
