"""How an answer ended, and the notice its final text carries.

Pure: the relay asks this whenever it settles the final text or reports the outcome, and
the answer must be described the same way each time, so it depends only on what it is
given (an abort, a stream error, the model's finish reason and its text).
"""

from __future__ import annotations

from core.models import EndReason, StreamError
from core.notices import end_for_error, error_notice, notice_for

__all__ = ["answer_end"]

_FINISH_ENDS = {"length": EndReason.LENGTH, "content_filter": EndReason.CONTENT_FILTER}


def answer_end(
    *,
    override: tuple[EndReason, str] | None,
    error: StreamError | None,
    finish_reason: str | None,
    text: str,
    limit: int | None = None,
) -> tuple[EndReason, str | None]:
    """The end and its notice: an abort wins over a stream error, which wins over Finish.

    A stream that finished normally without any text is an error: people would otherwise
    see an empty message and no reason for it. `limit` is the answer cap that a `length`
    finish reached, when trickle sent one.
    """
    if override is not None:
        end, detail = override
        if end is EndReason.STOPPED:
            return end, notice_for(end, by=detail)
        return end, notice_for(end, detail=detail)
    if error is not None:
        return end_for_error(error.kind), error_notice(error)
    end = _FINISH_ENDS.get(finish_reason or "stop", EndReason.STOP)
    if end is EndReason.STOP and not text.strip():
        return EndReason.ERROR, notice_for(EndReason.ERROR, detail="it returned no text")
    return end, notice_for(end, limit=limit)
